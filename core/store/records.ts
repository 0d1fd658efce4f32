/**
 * What operators and auditors ask the store (docs/cli.md, `icfare records`): stored records and
 * their verdicts, filtered by tap date, terminal, status and card. A card is found by the keyed
 * hash of its PAN and PSN (`PanProtector.hash`), so the clear PAN is needed only for as long as
 * the hashes take to compute and never reaches the store; every record carries only its masked
 * PAN.
 *
 * Read-only queries on the back office's connection (`SqlDb`: SQLite or PostgreSQL); the upload
 * and verify paths do not use them.
 */
import type { SqlDb } from "./sql.ts";
import type { Store } from "./store.ts";
import type { TapRecord } from "../emv/verify.ts";
import { openSealed } from "./pan.ts";

/** Filters; absent ones do not filter. Dates are the tap's local date, YYYY-MM-DD, inclusive. */
export interface RecordFilter {
  readonly from?: string;
  readonly to?: string;
  /** The settlement day (YYYY-MM-DD) the record was stamped with at ingest. */
  readonly day?: string;
  readonly terminalId?: string;
  /**
   * `pending`, `rejected` or `verified` (the record's state), or a status code: a verdict
   * (`OK`, `AC_MISMATCH`, …) or an upload rejection (`MISSING_TAG`, `TLV_…`).
   */
  readonly status?: string;
  /** Keyed hashes of the card (one per PSN tried); matches any. */
  readonly cardHashes?: readonly Uint8Array[];
  /**
   * The clearing outcome (`CLEARED`, `DEBT`, `EXCEPTION`, `DUPLICATE`) and, optionally, its
   * reason: only records with such a clearing line, listed by record id (docs/clearing.md).
   */
  readonly outcome?: string;
  readonly reason?: string;
  /** Most records returned (0: all). Default 1,000. */
  readonly limit?: number;
  /** Records skipped before the first returned (paging). Default 0. */
  readonly offset?: number;
}

/** One stored record as operators see it: never a clear PAN, never a key. */
export interface StoredRecord {
  readonly id: number;
  readonly tappedAt: string;
  readonly terminalId: string;
  readonly batchNo: number;
  readonly seq: number;
  readonly line: string;
  readonly vehicle: string;
  readonly stop: string | null;
  readonly fare: number;
  /** First 6 and last 4 digits. */
  readonly pan: string | null;
  readonly psn: string | null;
  /** 9F36 as 4 hex digits. */
  readonly atc: string | null;
  readonly state: "pending" | "rejected" | "verified";
  /** The verdict's status, the upload rejection's code, or `PENDING`. */
  readonly status: string;
  readonly cryptogram: string | null;
  readonly oda: string | null;
  readonly message: string | null;
  readonly receivedAt: string;
}

/** Where a stored record's evidence is: its batch's sealed body, entry `index`. */
export interface RecordLocation {
  readonly record: StoredRecord;
  readonly batchId: number;
  readonly index: number;
}

const STATES = new Set(["pending", "rejected", "verified"]);

const SELECT = `SELECT r.id, r.tapped_at, r.terminal_id, r.batch_no, r.seq, r.line, r.vehicle,
  r.stop, r.fare, r.pan_masked, r.psn, r.atc, r.status, r.reject_code, r.reject_message,
  r.verification, r.batch_id, r.body_index, b.received_at
  FROM records r JOIN batches b ON b.id = r.batch_id`;

type Row = Record<string, unknown>;

/** The WHERE clause and its parameters for a filter. */
function where(f: RecordFilter): { sql: string; params: (string | number | Uint8Array)[] } {
  const parts: string[] = [];
  const params: (string | number | Uint8Array)[] = [];
  if (f.from !== undefined) (parts.push("substr(r.tapped_at, 1, 10) >= ?"), params.push(f.from));
  if (f.to !== undefined) (parts.push("substr(r.tapped_at, 1, 10) <= ?"), params.push(f.to));
  if (f.day !== undefined) (parts.push("r.settlement_day = ?"), params.push(f.day));
  if (f.terminalId !== undefined) (parts.push("r.terminal_id = ?"), params.push(f.terminalId));
  if (f.status !== undefined) {
    if (STATES.has(f.status)) (parts.push("r.status = ?"), params.push(f.status));
    else {
      // the verdict column (schema step 4): the verification's status or the rejection's code
      parts.push("r.verdict = ?");
      params.push(f.status);
    }
  }
  if (f.reason !== undefined && f.outcome === undefined) {
    throw new RangeError("a clearing reason needs its outcome");
  }
  if (f.outcome !== undefined) (parts.push("c.outcome = ?"), params.push(f.outcome));
  if (f.reason !== undefined) (parts.push("c.reason = ?"), params.push(f.reason));
  if (f.outcome !== undefined && f.day !== undefined) {
    (parts.push("c.settlement_day = ?"), params.push(f.day));
  }
  if (f.cardHashes !== undefined) {
    if (f.cardHashes.length === 0) parts.push("1 = 0");
    else {
      parts.push(`r.card_hash IN (${f.cardHashes.map(() => "?").join(", ")})`);
      params.push(...f.cardHashes);
    }
  }
  return { sql: parts.length ? ` WHERE ${parts.join(" AND ")}` : "", params };
}

function text(v: unknown): string | null {
  return v == null ? null : String(v);
}

/** A row as a `StoredRecord`. */
function recordOf(r: Row): StoredRecord {
  const v = r.verification == null ? null : JSON.parse(String(r.verification)) as {
    status: string;
    detail?: { cryptogram?: string; oda?: string; message?: string };
  };
  const state = String(r.status) as StoredRecord["state"];
  return {
    id: Number(r.id),
    tappedAt: String(r.tapped_at),
    terminalId: String(r.terminal_id),
    batchNo: Number(r.batch_no),
    seq: Number(r.seq),
    line: String(r.line),
    vehicle: String(r.vehicle),
    stop: text(r.stop),
    fare: Number(r.fare),
    pan: text(r.pan_masked),
    psn: text(r.psn),
    atc: r.atc == null ? null : Number(r.atc).toString(16).toUpperCase().padStart(4, "0"),
    state,
    status: v?.status ?? (state === "rejected" ? String(r.reject_code) : "PENDING"),
    cryptogram: v?.detail?.cryptogram ?? null,
    oda: v?.detail?.oda ?? null,
    message: v?.detail?.message ?? text(r.reject_message),
    receivedAt: String(r.received_at),
  };
}

/** Records matching `f`, by tap time then id; `more` when the limit cut the list. */
export function queryRecords(
  db: SqlDb,
  f: RecordFilter,
): { records: StoredRecord[]; more: boolean } {
  const limit = f.limit ?? 1000, offset = f.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError("limit must be 0 or more");
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError("offset must be 0 or more");
  const w = where(f);
  const page = limit
    ? ` LIMIT ? OFFSET ${offset}`
    : offset
    ? ` LIMIT ${Number.MAX_SAFE_INTEGER} OFFSET ${offset}`
    : "";
  // by clearing outcome: the clearing lines drive the query in record order (index
  // clearing_day_reason); otherwise by tap time
  const sql = f.outcome !== undefined
    ? `${SELECT} JOIN clearing_lines c ON c.record_id = r.id${w.sql} ORDER BY c.record_id${page}`
    : `${SELECT}${w.sql} ORDER BY r.tapped_at, r.id${page}`;
  const params = limit ? [...w.params, limit + 1] : w.params;
  const rows = db.prepare(sql).all(...params) as Row[];
  const more = limit > 0 && rows.length > limit;
  return { records: rows.slice(0, limit || undefined).map(recordOf), more };
}

/** One record by id with where its evidence is, or null. */
export function locateRecord(db: SqlDb, id: number): RecordLocation | null {
  const r = db.prepare(`${SELECT} WHERE r.id = ?`).get(id) as Row | undefined;
  if (!r) return null;
  return { record: recordOf(r), batchId: Number(r.batch_id), index: Number(r.body_index) };
}

/**
 * A stored record's tap as the terminal sent it (chip data, ODA data), opened from its batch's
 * sealed body with the card-data key, for `explain`; null when there is no such record.
 */
export async function storedTap(
  db: SqlDb,
  store: Pick<Store, "batchBody">,
  dataKey: CryptoKey,
  id: number,
): Promise<{ record: TapRecord; stored: StoredRecord } | null> {
  const at = locateRecord(db, id);
  if (!at) return null;
  const sealed = await store.batchBody(at.batchId);
  if (!sealed) throw new Error(`record ${id}: its batch ${at.batchId} is missing`); // a bug
  const opened = await openSealed(dataKey, sealed.sealed, sealed.aad);
  const body = JSON.parse(new TextDecoder().decode(opened)) as { records: TapRecord[] };
  opened.fill(0);
  const r = body.records[at.index];
  return { record: { seq: r.seq, fare: r.fare, icc: r.icc, oda: r.oda }, stored: at.record };
}
