/**
 * What each record of the simulated day must become in clearing (docs/clearing.md, the verdict →
 * outcome table), decided here from what the simulator did — the model of the terminal, the
 * cryptogram type the card chose, the expected verdict and the issuer's answer — and written into
 * truth.jsonl, so the demo can hold every cleared record, debt and exception against it.
 *
 * This is the simulator's own reading of the rules, not a copy of `core/clearing/`: where the two
 * disagree the demo's money check says so.
 */
import type { Expected } from "./faults.ts";
import type { Model } from "./world.ts";
import { ANSWER_CODES, type IssuerAnswer } from "./issuer_answers.ts";

/** The outcome codes of docs/clearing.md, plus `REJECTED` for a record the upload refused. */
export type Outcome = "CLEARED" | "DEBT" | "EXCEPTION" | "DUPLICATE" | "REJECTED";

/** The money truth of one record. */
export interface MoneyTruth {
  outcome: Outcome;
  /** EXCEPTION and REJECTED: why (the verdict status, `EC_ARQC`, `DENYLISTED`, …). */
  reason?: string;
  /** DEBT: what the issuer answers to the deferred authorisation, and its field 39. */
  issuer?: IssuerAnswer;
  responseCode?: string;
  /** DEBT: how it ends once collected (an approval recovers it; a decline stands, written off). */
  debtEnd?: "RECOVERED" | "WRITTEN_OFF";
}

/** What the outcome follows from. */
export interface OutcomeFacts {
  readonly expected: Expected;
  readonly uploadRejected: boolean;
  readonly model: Model;
  /** The card approved offline (TC); false for an ARQC. */
  readonly tc: boolean;
  /** The issuer's answer, asked only for a debt. */
  readonly issuer: () => IssuerAnswer;
}

/** The outcome of one record. */
export function expectedOutcome(f: OutcomeFacts): MoneyTruth {
  const status = f.expected.status;
  if (f.uploadRejected) return { outcome: "REJECTED", reason: status };
  if (status === "DUPLICATE") return { outcome: "DUPLICATE" };
  if (status !== "OK") return { outcome: "EXCEPTION", reason: status };
  if (f.tc) return { outcome: "CLEARED" };
  // An ARQC on an electronic-cash terminal: the card refused to approve offline.
  if (f.model === "EC") return { outcome: "EXCEPTION", reason: "EC_ARQC" };
  const issuer = f.issuer();
  return {
    outcome: "DEBT",
    issuer,
    responseCode: ANSWER_CODES[issuer],
    debtEnd: issuer === "approved" ? "RECOVERED" : "WRITTEN_OFF",
  };
}
