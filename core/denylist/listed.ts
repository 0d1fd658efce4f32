/**
 * `DENYLISTED` (docs/denylist.md, "DENYLISTED"; docs/verification.md, precedence): a tap by a
 * card that was on the deny list in the version its batch reported (`denyListVersion`) — the
 * terminal should have refused it. Decided set-wise for a chunk of records in one query: the
 * card's last list change at or before the reported version, and whether it left the card
 * listed.
 */
import type { SqlDb, SqlStatement } from "../store/sql.ts";

/** A tap whose card was listed in the version its terminal reported. */
export interface DenyListedTap {
  readonly recordId: number;
  /** The version the batch reported. */
  readonly reported: number;
  /** The version that put the card on the list. */
  readonly listedIn: number;
  /** Why it was listed. */
  readonly reason: string;
}

const SQL = `
SELECT x.id, x.reported, j.version, j.reason FROM (
  SELECT r.id, b.deny_list_version AS reported,
    (SELECT d.id FROM deny_journal d WHERE d.card_hash = r.card_hash AND d.version IS NOT NULL
       AND d.version <= b.deny_list_version ORDER BY d.version DESC LIMIT 1) AS jid
  FROM records r JOIN batches b ON b.id = r.batch_id
  WHERE r.id IN (SELECT value FROM json_each(?)) AND r.card_hash IS NOT NULL
) x JOIN deny_journal j ON j.id = x.jid
WHERE j.listed = 1
ORDER BY x.id`;

const prepared = new WeakMap<SqlDb, SqlStatement>();

/** The records among `recordIds` whose card was listed in the version their batch reported. */
export function denyListedTaps(db: SqlDb, recordIds: readonly number[]): DenyListedTap[] {
  if (!recordIds.every(Number.isSafeInteger)) throw new TypeError("recordIds: integers");
  if (recordIds.length === 0) return [];
  let st = prepared.get(db);
  if (!st) prepared.set(db, st = db.prepare(SQL));
  return (st.all(JSON.stringify(recordIds)) as Record<string, unknown>[]).map((r) => ({
    recordId: Number(r.id),
    reported: Number(r.reported),
    listedIn: Number(r.version),
    reason: String(r.reason),
  }));
}
