/**
 * Schema step 4: the operator console (docs/console.md, "Store").
 *
 * - `console_accounts`: one row per person who may log in, with a role and the Argon2id hash of
 *   the password (the encoded PHC string: parameters, salt and hash; never the password).
 * - `console_audit`: every state change made in the console, with the account that made it and
 *   its result; append-only (triggers refuse updates and deletes). Key-store changes also land
 *   in the key store's own audit trail, deny-list changes in the deny list's journal.
 * - Indexes for the console's pages on a day of a million records: the verdict of a record as a
 *   virtual column (the verification's status, the upload rejection's code, or `PENDING`) with
 *   an index by settlement day, terminal and verdict; the batches' arrival times and each
 *   terminal's latest batch beside their ids (a batch row holds its sealed body: reading a column
 *   after it walks the body's overflow pages, an index does not); clearing lines by
 *   day, outcome and reason (covering the fares), ledger entries by day, and records by the time
 *   of their verdict (how the console sees that a day changed).
 */
export const CONSOLE_SQL = `
CREATE TABLE console_accounts (
  name TEXT PRIMARY KEY CHECK (name GLOB '[a-z]*' AND length(name) BETWEEN 2 AND 32
    AND name NOT GLOB '*[^a-z0-9._-]*'),
  role TEXT NOT NULL CHECK (role IN ('operator', 'auditor', 'security')),
  password_hash TEXT NOT NULL CHECK (password_hash GLOB '$argon2id$*'),
  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE console_audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  account TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  result TEXT NOT NULL CHECK (result IN ('ok', 'refused')),
  detail TEXT NOT NULL
) STRICT;
CREATE TRIGGER console_audit_no_update BEFORE UPDATE ON console_audit
BEGIN SELECT RAISE(ABORT, 'the console audit trail is append-only'); END;
CREATE TRIGGER console_audit_no_delete BEFORE DELETE ON console_audit
BEGIN SELECT RAISE(ABORT, 'the console audit trail is append-only'); END;

ALTER TABLE records ADD COLUMN verdict TEXT GENERATED ALWAYS AS (
  CASE WHEN status = 'verified' THEN coalesce(json_extract(verification, '$.status'), 'PENDING')
       WHEN status = 'rejected' THEN reject_code ELSE 'PENDING' END) VIRTUAL;
CREATE INDEX records_day_verdict ON records (settlement_day, verdict, tapped_at);
CREATE INDEX records_day_terminal ON records (settlement_day, terminal_id, tapped_at);
CREATE INDEX records_day_tapped ON records (settlement_day, tapped_at, line, fare);
CREATE INDEX records_day_batch ON records (settlement_day, batch_id);
CREATE INDEX batches_arrival ON batches (id, received_at);
CREATE INDEX batches_latest ON batches (terminal_id, id, batch_no, received_at, deny_list_version);
CREATE INDEX records_verified_at ON records (verified_at);
CREATE INDEX ledger_entries_day ON ledger_entries (settlement_day);
CREATE INDEX clearing_day_reason ON clearing_lines (settlement_day, outcome, reason, record_id, fare);
`;
