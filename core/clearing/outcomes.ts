/**
 * The outcome table: what each verified record of a settlement day becomes when it is cleared,
 * in one place (docs/clearing.md, "Verdict → outcome"). Every verified record is decided once,
 * by `decideOutcome`, into exactly one of
 *
 * - `CLEARED`   presented to the issuer in the day's clearing file (an EC TC, or a card-approved
 *               offline TC on an ODA terminal); the issuer owes the fare;
 * - `DEBT`      ODA model: an ARQC whose offline data authentication passed, a deferred
 *               authorisation to collect; it ends `RECOVERED` or `WRITTEN_OFF` (core/debts);
 * - `EXCEPTION` not presented, with a reason: the verdict's status (`AC_MISMATCH`,
 *               `ODA_FAILED`, `DENYLISTED`, …), `EC_ARQC` (an ARQC on an electronic-cash
 *               terminal: the card refused offline; not revenue), `ODA_NOT_VERIFIED` (an ARQC
 *               on an ODA terminal without a passed ODA), `NO_CRYPTOGRAM_TYPE`, or `LATE`
 *               (outside the presentment window);
 * - `DUPLICATE` an exact duplicate of an earlier record: acknowledged, never cleared twice.
 *
 * Statuses are read by name, so a status the verification engine adds later (for example
 * `CARD_EXPIRED`, `IDD_MAC_MISMATCH`, `DENYLISTED`) has its row here before it exists, and a
 * status nobody listed is an exception under its own name with no deny-list action.
 *
 * Each row also says the deny-list action (`add` with a reason, or none) and the ledger effect
 * (`core/clearing/ledger.ts`): `receivable` (issuer owes; bus company payable net of the fee),
 * `debt` (debts receivable; bus company payable net of the fee), `loss` (the acquirer's loss:
 * bus company still paid, write-off), or `none`.
 *
 * A record with an `OK` verdict whose cryptogram icfare could not check (`no-key`,
 * `unsupported`) is cleared (or becomes a debt) like any other and is flagged
 * `issuerVerifies`: its issuer verifies the cryptogram on presentment. The summaries count
 * these apart.
 */
import type { DenyReason } from "../denylist/journal.ts";

/** The four outcomes of clearing, and the two final states of a debt. */
export const OUTCOMES = ["CLEARED", "DEBT", "EXCEPTION", "DUPLICATE"] as const;
export type Outcome = typeof OUTCOMES[number];
export const DEBT_FINAL = ["RECOVERED", "WRITTEN_OFF"] as const;
/** A record's final state: its clearing outcome, or for a debt how it ended. */
export type FinalState = Outcome | typeof DEBT_FINAL[number];

/** The model a record was taken under (docs/clearing.md, "The two models"). */
export type Model = "EC" | "ODA";

/** What the ledger does with a row (see `core/clearing/ledger.ts`). */
export type LedgerEffect = "receivable" | "debt" | "loss" | "none";

/** One row of the table: the outcome, its reason code, the deny-list action, the ledger effect. */
export interface OutcomeRow {
  readonly outcome: Outcome;
  /**
   * For an exception its reason code; otherwise what kind of presentment it is: `EC_TC`,
   * `OFFLINE_TC` (a TC on an ODA terminal), `ODA_ARQC`, or `DUPLICATE`.
   */
  readonly reason: string;
  /** Add the card to the deny list for this reason; null: no action. */
  readonly deny: DenyReason | null;
  readonly ledger: LedgerEffect;
}

/** What `decideOutcome` reads of a record: its verdict (by name) and how it was taken. */
export interface OutcomeInput {
  /** The stored verdict status (`OK`, `AC_MISMATCH`, …). */
  readonly status: string;
  readonly model: Model;
  /** The cryptogram flag: `ok`, `mismatch`, `no-key`, `unsupported`. */
  readonly cryptogram: string;
  /** The ODA flag: `ok`, `failed`, `absent`, `no-capk`, … */
  readonly oda: string;
  /** `TC`, `ARQC`, `AAC` (from the CVR, or 9F27), absent when it could not be told. */
  readonly cryptogramType?: string;
  /** The failed ODA check, when there is one. */
  readonly odaCheck?: string;
  /** Received after the presentment window of its tap day closed. */
  readonly late: boolean;
}

/** A decided record: its table row, the rule that chose it, and the issuer-verifies flag. */
export interface Decision extends OutcomeRow {
  /** Name of the table row (`status:AC_MISMATCH`, `EC:TC`, `late`, …). */
  readonly rule: string;
  /** The cryptogram was not checked here (`no-key`, `unsupported`): the issuer checks it. */
  readonly issuerVerifies: boolean;
}

const ex = (reason: string, deny: DenyReason | null = null): OutcomeRow => ({
  outcome: "EXCEPTION",
  reason,
  deny,
  ledger: "none",
});

/**
 * Verdict statuses other than `OK` (docs/verification.md, "Statuses and their precedence").
 * The card goes on the deny list where the card itself is at fault (its cryptogram, its ODA,
 * its expiry, a cloned counter); not where the terminal or icfare's configuration is
 * (malformed data, a fare the terminal got wrong, an unknown CA key, an expired CA key).
 */
export const STATUS_ROWS: Readonly<Record<string, OutcomeRow>> = {
  MALFORMED_TLV: ex("MALFORMED_TLV"),
  MISSING_DATA: ex("MISSING_DATA"),
  FARE_MISMATCH: ex("FARE_MISMATCH"),
  /** Same card and ATC with another cryptogram or amount: a clone or replay suspect. */
  REPLAY_SUSPECT: ex("REPLAY_SUSPECT", "CRYPTOGRAM_FAILED"),
  DUPLICATE: { outcome: "DUPLICATE", reason: "DUPLICATE", deny: null, ledger: "none" },
  DENYLISTED: ex("DENYLISTED"),
  AC_MISMATCH: ex("AC_MISMATCH", "CRYPTOGRAM_FAILED"),
  IDD_MAC_MISMATCH: ex("IDD_MAC_MISMATCH", "CRYPTOGRAM_FAILED"),
  CERT_REVOKED: ex("CERT_REVOKED", "ODA_FAILED"),
  /** Refined by the ODA check: an expired CA key is icfare's configuration, not the card. */
  CERT_EXPIRED: ex("CERT_EXPIRED", "ODA_FAILED"),
  CARD_EXPIRED: ex("CARD_EXPIRED", "CARD_EXPIRED"),
  ODA_FAILED: ex("ODA_FAILED", "ODA_FAILED"),
  CAPK_UNKNOWN: ex("CAPK_UNKNOWN"),
  /** The card declined (AAC): no money moved, and the card did nothing wrong. */
  CARD_DECLINED: ex("CARD_DECLINED"),
};

/** ODA checks whose failure is icfare's configuration rather than the card's. */
const NOT_THE_CARDS = new Set(["CAPK_EXPIRED", "CAPK_UNKNOWN"]);

/** `OK` verdicts by model and cryptogram type. */
export const OK_ROWS: Readonly<Record<string, OutcomeRow>> = {
  "EC:TC": { outcome: "CLEARED", reason: "EC_TC", deny: null, ledger: "receivable" },
  /** The card refused offline approval on an EC terminal: the fare was never taken. */
  "EC:ARQC": ex("EC_ARQC"),
  "ODA:TC": { outcome: "CLEARED", reason: "OFFLINE_TC", deny: null, ledger: "receivable" },
  /** The normal ODA case, once ODA passed: a deferred authorisation to collect. */
  "ODA:ARQC": { outcome: "DEBT", reason: "ODA_ARQC", deny: null, ledger: "debt" },
};

/** An ARQC on an ODA terminal whose ODA did not pass (absent, no CA key, certificates only). */
export const ODA_NOT_VERIFIED: OutcomeRow = ex("ODA_NOT_VERIFIED");
/** An `OK` verdict whose cryptogram type could not be told (or is RFU). */
export const NO_CRYPTOGRAM_TYPE: OutcomeRow = ex("NO_CRYPTOGRAM_TYPE");
/**
 * Would be cleared or a debt, but reached icfare after the presentment window: not presented,
 * and the acquirer's loss (the bus company is still paid; docs/clearing.md, "Late and closed
 * days").
 */
export const LATE: OutcomeRow = {
  outcome: "EXCEPTION",
  reason: "LATE",
  deny: null,
  ledger: "loss",
};

/** How a debt ends, for the same table in the documentation. */
export const DEBT_ENDS = {
  RECOVERED: { deny: "remove (when no other debt of the card is unpaid)", ledger: "recovery" },
  WRITTEN_OFF: { deny: "stays listed (added at the first decline)", ledger: "write-off" },
} as const;

/** Decides one verified record's outcome by the table. Pure; never throws for a verdict. */
export function decideOutcome(r: OutcomeInput): Decision {
  const issuerVerifies = r.cryptogram === "no-key" || r.cryptogram === "unsupported";
  if (r.status !== "OK") {
    const row = STATUS_ROWS[r.status];
    if (!row) return { ...ex(r.status), rule: "status:unlisted", issuerVerifies };
    if (r.status === "CERT_EXPIRED" && r.odaCheck && NOT_THE_CARDS.has(r.odaCheck)) {
      return { ...row, deny: null, rule: `status:CERT_EXPIRED:${r.odaCheck}`, issuerVerifies };
    }
    return { ...row, rule: `status:${r.status}`, issuerVerifies };
  }
  const key = `${r.model}:${r.cryptogramType ?? "-"}`;
  let row = OK_ROWS[key];
  let rule = key;
  if (!row) {
    row = NO_CRYPTOGRAM_TYPE;
    rule = `${r.model}:no-type`;
  } else if (row.outcome === "DEBT" && r.oda !== "ok") {
    row = ODA_NOT_VERIFIED;
    rule = `${key}:oda-${r.oda}`;
  }
  if (r.late && (row.outcome === "CLEARED" || row.outcome === "DEBT")) {
    return { ...LATE, rule: `${rule}:late`, issuerVerifies };
  }
  return { ...row, rule, issuerVerifies };
}

/** Every exception reason the table can give for the statuses it lists (for documentation). */
export function exceptionReasons(): string[] {
  const out = new Set<string>();
  for (const r of Object.values(STATUS_ROWS)) if (r.outcome === "EXCEPTION") out.add(r.reason);
  for (const r of Object.values(OK_ROWS)) if (r.outcome === "EXCEPTION") out.add(r.reason);
  out.add(ODA_NOT_VERIFIED.reason);
  out.add(NO_CRYPTOGRAM_TYPE.reason);
  out.add(LATE.reason);
  return [...out];
}
