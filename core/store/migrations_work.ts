/**
 * Schema step 7 (SQLite): verification work per batch moves out of `batches`.
 *
 * A batch row holds its sealed body (tens of kilobytes in overflow pages). SQLite rewrites a
 * whole row on any update, so the pending count and the lease kept on `batches` (step 5) wrote
 * every body again three times per verification chunk (lease, count down, release): most of a
 * chunk's WAL and of its commit. `batch_work` holds one small row per batch that still has
 * pending records, deleted when its last verdict is written; the claim query reads nothing else.
 * `batches.pending`, `lease_owner` and `lease_until` stay in place but are no longer written
 * (dropping a column rewrites every body).
 *
 * Two record indexes go: `records_pending` (status, id) and `records_verified_at`. The pending
 * count is the sum over `batch_work`; the console's change mark reads it instead of the latest
 * verdict time; the rejected count reads a partial index that a verdict never touches. Each
 * verdict written no longer moves two index entries.
 */
export const WORK_SQL = `
CREATE TABLE batch_work (
  batch_id INTEGER PRIMARY KEY REFERENCES batches (id),
  pending INTEGER NOT NULL CHECK (pending >= 0),
  lease_owner TEXT,
  lease_until INTEGER
) STRICT;
INSERT INTO batch_work (batch_id, pending, lease_owner, lease_until)
  SELECT b.id, count(*), NULL, NULL FROM batches b JOIN records r ON r.batch_id = b.id
  WHERE r.status = 'pending' GROUP BY b.id;
DROP INDEX batches_pending;
DROP INDEX records_pending;
DROP INDEX records_verified_at;
CREATE INDEX records_rejected ON records (id) WHERE status = 'rejected';
`;
