/**
 * What the simulated issuer answers to a deferred authorisation (docs/iso8583.md,
 * "Simulated host"): a truth function the simulated world provides. The default decides per
 * tap from a seeded PRNG (the same tap always gets the same answer) and refuses expired
 * cards by the dates in the message.
 */
import { Rng } from "../prng.ts";

/** What the issuer knows of one authorisation request. */
export interface AuthorisationQuery {
  readonly pan: string;
  readonly psn?: string;
  /** ATC (9F36) as hex, when the chip data carries it. */
  readonly atc?: string;
  readonly amountFen: number;
  /** Card expiry YYMM (track 2). */
  readonly expiry: string;
  /** Transaction date YYMMDD (9A), when present. */
  readonly txnDate?: string;
  readonly terminalId: string;
  readonly stan: string;
}

/** The issuer's answer: a field-39 response code (`00` approves). */
export type IssuerTruth = (q: AuthorisationQuery) => string;

/** Shares of the declines the default truth gives (the rest is approved). */
export interface TruthRates {
  /** `51` insufficient funds. */
  readonly insufficientFunds: number;
  /** `62` restricted (blocked) card. */
  readonly blocked: number;
  /** `41` lost card. */
  readonly lost: number;
}

export const DEFAULT_TRUTH_RATES: TruthRates = {
  insufficientFunds: 0.04,
  blocked: 0.02,
  lost: 0.01,
};

/** `54` when the card expired before the transaction month (EMV: valid through its month). */
export function expiredAt(expiry: string, txnDate: string | undefined): boolean {
  return txnDate !== undefined && /^[0-9]{4}$/.test(expiry) && expiry < txnDate.slice(0, 4);
}

/** The default issuer: deterministic per (seed, PAN, PSN, ATC). */
export function seededTruth(seed: string, rates: TruthRates = DEFAULT_TRUTH_RATES): IssuerTruth {
  return (q) => {
    if (expiredAt(q.expiry, q.txnDate)) return "54";
    const u = new Rng(seed, `issuer/${q.pan}/${q.psn ?? ""}/${q.atc ?? ""}`).float();
    if (u < rates.insufficientFunds) return "51";
    if (u < rates.insufficientFunds + rates.blocked) return "62";
    if (u < rates.insufficientFunds + rates.blocked + rates.lost) return "41";
    return "00";
  };
}
