/**
 * The simulated world's deny list as a history of versions (docs/simulator.md "The deny list"):
 * first some cards that were listed for a declined debt and taken off again once it was
 * recovered (one version per add, then one per removal), then the cards listed now (one version
 * each). Terminals with the current list refuse the listed cards; stale terminals run the list as
 * it was before the current cards were added. Every change is one version, as the store's deny
 * list counts them, so the demo can replay the history into a store and get the same numbers.
 */
import { Rng } from "./prng.ts";

/** Why a card was listed (the reasons of docs/denylist.md). */
export type DenyReason = "ODA_FAILED" | "CRYPTOGRAM_FAILED" | "CARD_EXPIRED" | "DEBT_DECLINED";

/** One change of the list. */
export interface DenyChange {
  readonly version: number;
  readonly action: "add" | "remove";
  /** Card index in the world. */
  readonly card: number;
  readonly reason: DenyReason | "DEBT_RECOVERED";
}

/** The whole history and what follows from it. */
export interface DenyHistory {
  readonly changes: readonly DenyChange[];
  /** The version after the last change (the terminals' current list). */
  readonly current: number;
  /** The version stale terminals run: before the currently listed cards were added. */
  readonly stale: number;
  /** Cards listed in the current version, by index, with the version that added them. */
  readonly listed: ReadonlyMap<number, number>;
}

const REASONS: readonly DenyReason[] = [
  "DEBT_DECLINED",
  "DEBT_DECLINED",
  "ODA_FAILED",
  "CARD_EXPIRED",
  "CRYPTOGRAM_FAILED",
];

/**
 * True when card `c` is on the current list. The first draw of the card's `deny/c` stream; the
 * day's walk (day.ts) and the history agree on it.
 */
export function isListed(seed: string, c: number, rate: number): boolean {
  return rate > 0 && new Rng(seed, `deny/${c}`).chance(rate);
}

/**
 * The history for `cards` cards with `rate` of them listed now and about half as many listed
 * once and recovered. One pass over the cards (a hash per card).
 */
export function denyHistory(seed: string, cards: number, rate: number): DenyHistory {
  const now: { card: number; reason: DenyReason }[] = [];
  const recovered: number[] = [];
  if (rate > 0) {
    for (let c = 0; c < cards; c++) {
      const r = new Rng(seed, `deny/${c}`);
      if (r.chance(rate)) now.push({ card: c, reason: r.pick(REASONS) });
      else if (r.chance(rate / 2)) recovered.push(c);
    }
  }
  const changes: DenyChange[] = [];
  let v = 0;
  for (const card of recovered) {
    changes.push({ version: ++v, action: "add", card, reason: "DEBT_DECLINED" });
  }
  for (const card of recovered) {
    changes.push({ version: ++v, action: "remove", card, reason: "DEBT_RECOVERED" });
  }
  const stale = v;
  const listed = new Map<number, number>();
  for (const { card, reason } of now) {
    changes.push({ version: ++v, action: "add", card, reason });
    listed.set(card, v);
  }
  return { changes, current: v, stale, listed };
}
