/**
 * What each card's issuer answers to a deferred authorisation in the simulated world
 * (docs/simulator.md "Issuer answers"): the truth the ODA model's debts end on, written into
 * truth.jsonl and served to the simulated acquirer host (`sim/acquirer/`, docs/iso8583.md
 * "Simulated host") through `worldIssuerTruth`.
 *
 * Per card (a stream of its own, so nothing else in the world moves): a share of cards is blocked
 * (`62`) and a share expired on the issuer's books (`54`: reissued, the old card closed); per tap,
 * a share of the rest finds the account short (`51`); everything else is approved (`00`). The
 * answer is a pure function of (seed, card, ATC): a retry gets the same answer, so a declined
 * debt stays declined until it is written off.
 */
import { Rng } from "./prng.ts";
import type { Card, World } from "./world.ts";
import type { AuthorisationQuery, IssuerTruth } from "./acquirer/truth.ts";

/** The four answers of the world's issuers. */
export type IssuerAnswer = "approved" | "insufficient-funds" | "card-blocked" | "expired";

/** ISO 8583 field 39 of each answer (docs/iso8583.md "Response codes"). */
export const ANSWER_CODES: Readonly<Record<IssuerAnswer, string>> = {
  "approved": "00",
  "insufficient-funds": "51",
  "card-blocked": "62",
  "expired": "54",
};

/** `14` (invalid card number): a PAN the world never issued, or another PSN. */
export const UNKNOWN_CARD = "14";

/** Shares of the issuers' declines. */
export interface IssuerRates {
  /** Per ODA tap: the account cannot pay the fare. */
  readonly insufficientFunds: number;
  /** Per card: blocked by its issuer. */
  readonly blockedCards: number;
  /** Per card: expired on the issuer's books. */
  readonly expiredCards: number;
}

/** The issuer's answer for tap `atc` of `card`. */
export function issuerAnswer(
  seed: string,
  rates: IssuerRates,
  card: Card,
  atc: number,
): IssuerAnswer {
  const cr = new Rng(seed, `issuer-card/${card.index}`);
  const u = cr.float();
  if (u < rates.blockedCards) return "card-blocked";
  if (u < rates.blockedCards + rates.expiredCards) return "expired";
  if (new Rng(seed, `issuer-tap/${card.index}/${atc}`).chance(rates.insufficientFunds)) {
    return "insufficient-funds";
  }
  return "approved";
}

/**
 * The world's issuers as the acquirer host's truth function: the card found by its PAN (and
 * PSN), the ATC read from the chip data; `14` for a card the world does not know.
 */
export function worldIssuerTruth(world: World, rates: IssuerRates): IssuerTruth {
  return (q: AuthorisationQuery) => {
    const card = world.cardByPan(q.pan);
    if (!card || (q.psn !== undefined && q.psn !== card.psn) || q.atc === undefined) {
      return UNKNOWN_CARD;
    }
    return ANSWER_CODES[issuerAnswer(world.options.seed, rates, card, parseInt(q.atc, 16))];
  };
}
