/** Row mappings and the verdict write shared by the PostgreSQL store and its claims. */
import type { CardRecord, OriginalRecord, PendingRecord, VerificationResult } from "../store.ts";
import type { Tx } from "./connect.ts";

type Row = Record<string, unknown>;

const bytes = (v: unknown) => (v == null ? null : new Uint8Array(v as Uint8Array));

/** A pending record from a row of `records`. */
export function pendingOf(r: Row): PendingRecord {
  return {
    id: Number(r.id),
    terminalId: String(r.terminal_id),
    batchNo: Number(r.batch_no),
    seq: Number(r.seq),
    tappedAt: String(r.tapped_at),
    fare: Number(r.fare),
    cardHash: bytes(r.card_hash),
    psn: r.psn == null ? null : String(r.psn),
    atc: r.atc == null ? null : Number(r.atc),
    batchId: Number(r.batch_id),
    index: Number(r.body_index),
    day: String(r.settlement_day),
    acKey: bytes(r.ac_key),
  };
}

/**
 * Writes verdicts (every record must be pending) and lowers the batches' pending counts, in the
 * caller's transaction. Throws `RangeError` (rolling the transaction back) when one is not.
 */
export async function writeVerdicts(
  tx: Tx,
  items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
): Promise<void> {
  const at = new Date().toISOString();
  const json = JSON.stringify(
    items.map((x) => ({ id: x.recordId, v: JSON.stringify(x.result), eb: ecBalanceOf(x.result) })),
  );
  // `batches` before `records`, the order every writer keeps (`Partitions.ensure` says why)
  await tx`LOCK TABLE batches IN ROW EXCLUSIVE MODE`;
  const rows = await tx`
    WITH v AS (SELECT * FROM jsonb_to_recordset(${json}::text::jsonb)
      AS v(id bigint, v text, eb bigint)),
    u AS (UPDATE records SET status = 'verified', verification = v.v, verified_at = ${at},
      ec_balance = v.eb
      FROM v WHERE records.id = v.id AND records.status = 'pending' RETURNING records.batch_id),
    c AS (SELECT batch_id, count(*) AS n FROM u GROUP BY batch_id)
    UPDATE batches SET pending = pending - c.n FROM c WHERE batches.id = c.batch_id
    RETURNING c.n`;
  const n = rows.reduce((s, r) => s + Number(r.n), 0);
  if (n !== items.length) {
    throw new RangeError(`${items.length - n} of ${items.length} records are not pending`);
  }
}

/** The EC balance column of a verdict: a safe non-negative integer, else NULL (as on SQLite). */
function ecBalanceOf(result: VerificationResult): number | null {
  const v = result.ecBalance;
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** An original from a row of `records`. */
export function originalOf(r: Row): OriginalRecord {
  return {
    id: Number(r.id),
    terminalId: String(r.terminal_id),
    batchNo: Number(r.batch_no),
    seq: Number(r.seq),
    batchId: Number(r.batch_id),
    index: Number(r.body_index),
    status: String(r.status) as CardRecord["status"],
    acKey: bytes(r.ac_key),
  };
}

/** The columns a pending record is read with. */
/** The columns `originalOf` reads. */
export const ORIGINAL_COLUMNS =
  "id, terminal_id, batch_no, seq, batch_id, body_index, status, ac_key";

export const PENDING_COLUMNS = `id, batch_id, terminal_id, batch_no, seq, tapped_at, fare,
  card_hash, psn, atc, body_index, settlement_day, ac_key`;
