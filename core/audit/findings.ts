/**
 * What an audit finds (docs/archive.md, "What audit names"): each finding has a stable code,
 * says what it concerns (segment, line, record and field where it can) and whether it makes
 * the archive unclean (`fail`) or only says what was not checked (`note`).
 */

/** Every finding code, in the order the documentation lists them. */
export const FINDING_CODES = {
  NOT_AN_ARCHIVE: "the file does not start with an icfare-archive/1 header",
  LINE_MALFORMED: "a line that is not UTF-8 JSON of a known kind",
  LINE_ALTERED: "a line other than a record differs from what its seal indexed",
  RECORD_ALTERED: "a record differs from what its seal indexed (the fields named)",
  RECORDS_REORDERED: "records stand in another order than their seal indexed",
  RECORD_REMOVED: "a record the seal indexed is missing",
  RECORD_ADDED: "a record the seal did not index",
  SEAL_ALTERED: "a seal line whose hash does not match its bytes",
  CHAIN_BROKEN: "a seal that does not name the previous seal's hash",
  TRUNCATED: "the archive ends before its signed head, or the head counts more than is there",
  HEAD_MISMATCH: "the head does not describe the segments read",
  SIGNATURE_INVALID: "the head's signature does not verify with the archive's signing key",
  SIGNER_UNEXPECTED: "signed by another key than the one trusted",
  PREVIOUS_DAY_LINK: "the head does not chain to the previous day's archive",
  DATA_AFTER_HEAD: "bytes after the signed head",
  ORDER_BROKEN: "records out of the archive's order, or positions not consecutive",
  EVIDENCE_UNOPENED: "sealed evidence that does not open with the auditor's key",
  EVIDENCE_MISMATCH: "a field in clear that differs from the sealed raw record",
  CAPK_INVALID: "an archived CA public key whose checksum does not match",
  VERDICT_MISMATCH: "a verdict that does not re-derive (the field named)",
  DUPLICATE_MISMATCH: "a duplicate or replay finding that does not re-derive",
  DENYLIST_MISMATCH: "a DENYLISTED finding that does not re-derive from the deny-list events",
  CLEARING_MISMATCH: "a clearing line that does not re-derive from its verdict",
  LEDGER_MISMATCH: "ledger postings that do not re-derive or do not balance",
  TOTALS_MISMATCH: "a figure of the day's summary that does not re-derive",
  TRAILER_MISMATCH: "the clearing file's trailer or a detail line that does not re-derive",
  // notes: what the audit could not check, never a failure
  NOT_CHECKED: "what this audit could not check, and what it needs",
  KERNEL_DIFFERS: "the archive was verified by another kernel than the one re-deriving",
} as const;

export type FindingCode = keyof typeof FINDING_CODES;

const NOTES = new Set<FindingCode>(["NOT_CHECKED", "KERNEL_DIFFERS"]);

export interface Finding {
  readonly code: FindingCode;
  readonly severity: "fail" | "note";
  readonly message: string;
  readonly day?: string;
  readonly segment?: number;
  /** 1-based line number in the file. */
  readonly line?: number;
  /** The record concerned: its position and its `terminal/batchNo/seq`. */
  readonly record?: { readonly n: number; readonly ref: string };
  readonly field?: string;
}

/** Keeps findings, at most `perCode` of each code (the rest counted). */
export class Findings {
  readonly list: Finding[] = [];
  readonly counts = new Map<FindingCode, number>();

  constructor(public day: string, readonly perCode = 200) {}

  add(code: FindingCode, message: string, at: Omit<Finding, "code" | "severity" | "message"> = {}) {
    const n = (this.counts.get(code) ?? 0) + 1;
    this.counts.set(code, n);
    if (n > this.perCode) return;
    this.list.push({
      code,
      severity: NOTES.has(code) ? "note" : "fail",
      message,
      day: this.day,
      ...at,
    });
  }

  /** Findings that make the archive unclean. */
  get failures(): number {
    let n = 0;
    for (const [c, k] of this.counts) if (!NOTES.has(c)) n += k;
    return n;
  }

  /** How many findings of each code were left out of the list. */
  omitted(): Record<string, number> {
    const o: Record<string, number> = {};
    for (const [c, k] of this.counts) if (k > this.perCode) o[c] = k - this.perCode;
    return o;
  }
}
