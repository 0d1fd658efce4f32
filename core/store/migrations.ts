/**
 * Versioned schema migrations for the SQLite store. `PRAGMA user_version` holds the version;
 * each step runs in its own transaction. A database newer than this code is refused.
 */

import { CLEARING_SQL } from "./migrations_clearing.ts";

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

import { DENY_LIST_V2 } from "./migrations_denylist.ts";
import { CONSOLE_SQL } from "./migrations_console.ts";
import { WORK_SQL } from "./migrations_work.ts";
import { VERDICTS_SQL } from "./migrations_verdicts.ts";

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "batches, records, deny list, meta",
    sql: `
CREATE TABLE batches (
  id INTEGER PRIMARY KEY,
  terminal_id TEXT NOT NULL,
  batch_no INTEGER NOT NULL,
  merchant_id TEXT NOT NULL,
  deny_list_version INTEGER NOT NULL,
  digest TEXT NOT NULL,
  body_sealed BLOB NOT NULL,
  body_bytes INTEGER NOT NULL,
  record_count INTEGER NOT NULL,
  amount INTEGER NOT NULL,
  receipt TEXT NOT NULL,
  received_at TEXT NOT NULL,
  UNIQUE (terminal_id, batch_no)
) STRICT;
CREATE TABLE records (
  id INTEGER PRIMARY KEY,
  batch_id INTEGER NOT NULL REFERENCES batches (id),
  terminal_id TEXT NOT NULL,
  batch_no INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  tapped_at TEXT NOT NULL,
  line TEXT NOT NULL,
  vehicle TEXT NOT NULL,
  stop TEXT,
  fare INTEGER NOT NULL,
  card_hash BLOB,
  pan_masked TEXT,
  psn TEXT,
  atc INTEGER,
  status TEXT NOT NULL CHECK (status IN ('pending', 'rejected', 'verified')),
  reject_code TEXT,
  reject_message TEXT,
  reject_path TEXT,
  body_index INTEGER NOT NULL,
  verification TEXT,
  verified_at TEXT,
  UNIQUE (terminal_id, batch_no, seq)
) STRICT;
CREATE INDEX records_card ON records (card_hash, psn, atc);
CREATE INDEX records_pending ON records (status, id);
CREATE INDEX records_batch ON records (batch_id);
CREATE TABLE deny_list (
  card_hash BLOB PRIMARY KEY,
  reason TEXT NOT NULL,
  added_version INTEGER NOT NULL,
  removed_version INTEGER
) STRICT;
CREATE INDEX deny_added ON deny_list (added_version);
CREATE INDEX deny_removed ON deny_list (removed_version);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
INSERT INTO meta (key, value) VALUES ('deny_list_version', '0');
`,
  },
  {
    version: 2,
    description: "deny-list journal, holds and listed cards (docs/denylist.md)",
    sql: DENY_LIST_V2,
  },
  {
    version: 3,
    description: "clearing: settlement day and model per record, networks, days, clearing lines, " +
      "ledger, debts (docs/clearing.md)",
    sql: CLEARING_SQL,
  },
  {
    version: 4,
    description:
      "records.ec_balance: the electronic-cash balance after the tap, from the verdict " +
      "(the card's IDD), read by clearing's EC balance reconciliation (docs/clearing.md)",
    sql: `
ALTER TABLE records ADD COLUMN ec_balance INTEGER;
`,
  },
  {
    version: 5,
    description: "verification leases per batch (docs/scale.md), 9F26/9F02 kept per record",
    sql: `
ALTER TABLE batches ADD COLUMN pending INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0);
ALTER TABLE batches ADD COLUMN lease_owner TEXT;
ALTER TABLE batches ADD COLUMN lease_until INTEGER;
ALTER TABLE records ADD COLUMN ac_key BLOB;
UPDATE batches SET pending =
  (SELECT count(*) FROM records r WHERE r.batch_id = batches.id AND r.status = 'pending');
CREATE INDEX batches_pending ON batches (id) WHERE pending > 0;
`,
  },
  {
    version: 6,
    description: "operator console: accounts, its audit trail, indexes for its pages " +
      "(docs/console.md)",
    sql: CONSOLE_SQL,
  },
  {
    version: 7,
    description: "verification work per batch in its own small table; two record indexes " +
      'retired (docs/scale.md, "Verification work on SQLite")',
    sql: WORK_SQL,
  },
  {
    version: 8,
    description: "verdict counts per settlement day kept by triggers instead of a verdict " +
      'index; pending records per day (docs/scale.md, "Verification work on SQLite")',
    sql: VERDICTS_SQL,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
