/**
 * Schema of clearing and settlement (docs/clearing.md, "Store"): the settlement day and model
 * stamped on every record at ingest, the operator's network registry and settings, settlement
 * days (closed days are frozen by triggers), clearing lines (a record is cleared at most once:
 * UNIQUE record_id; a card's tap is presented at most once: a partial UNIQUE index on card and
 * ATC), the double-entry ledger (append-only, integer fen), and debts with their history.
 *
 * Plain SQL only (issue 18 re-implements these tables on PostgreSQL).
 */

export const CLEARING_SQL = `
ALTER TABLE records ADD COLUMN tap_day TEXT;
ALTER TABLE records ADD COLUMN settlement_day TEXT;
ALTER TABLE records ADD COLUMN model TEXT NOT NULL DEFAULT 'EC' CHECK (model IN ('EC', 'ODA'));
ALTER TABLE records ADD COLUMN track2_sealed BLOB;
-- records stored before this version: Shanghai day (UTC+8) with the default 23:00 cut-off
UPDATE records SET tap_day = date(tapped_at, '+9 hours'),
  settlement_day = date(tapped_at, '+9 hours');
CREATE INDEX records_day ON records (settlement_day, id);

INSERT INTO meta (key, value) VALUES
  ('settlement_cutoff', '23:00'),
  ('presentment_days', '10'),
  ('fare_mode', 'single'),
  ('fee_bp_ec', '50'),
  ('fee_bp_oda', '80'),
  ('debt_stan', '0');

CREATE TABLE network_models (
  scope TEXT NOT NULL CHECK (scope IN ('terminal', 'line')),
  key TEXT NOT NULL,
  model TEXT NOT NULL CHECK (model IN ('EC', 'ODA')),
  set_by TEXT NOT NULL,
  set_at TEXT NOT NULL,
  PRIMARY KEY (scope, key)
) STRICT;

CREATE TABLE settlement_days (
  day TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('cleared', 'closed')),
  closed_at TEXT,
  closed_by TEXT
) STRICT;

CREATE TRIGGER records_closed_day_insert BEFORE INSERT ON records
WHEN EXISTS (SELECT 1 FROM settlement_days WHERE day = NEW.settlement_day AND state = 'closed')
BEGIN SELECT RAISE(ABORT, 'settlement day is closed'); END;
CREATE TRIGGER records_closed_day_update BEFORE UPDATE ON records
WHEN EXISTS (SELECT 1 FROM settlement_days WHERE day = OLD.settlement_day AND state = 'closed')
BEGIN SELECT RAISE(ABORT, 'record of a closed settlement day'); END;
CREATE TRIGGER settlement_days_reopen BEFORE UPDATE ON settlement_days
WHEN OLD.state = 'closed'
BEGIN SELECT RAISE(ABORT, 'a closed settlement day stays closed'); END;

CREATE TABLE ledger_entries (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('clear', 'debt', 'loss', 'recovery', 'write_off')),
  settlement_day TEXT NOT NULL,
  record_id INTEGER NOT NULL REFERENCES records (id),
  debt_id INTEGER REFERENCES debts (id),
  UNIQUE (kind, record_id)
) STRICT;
CREATE TABLE ledger_postings (
  entry_id INTEGER NOT NULL REFERENCES ledger_entries (id),
  account TEXT NOT NULL,
  amount INTEGER NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (entry_id, account)
) STRICT, WITHOUT ROWID;
CREATE TABLE ledger_accounts (
  account TEXT PRIMARY KEY,
  balance INTEGER NOT NULL
) STRICT;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

CREATE TABLE clearing_lines (
  id INTEGER PRIMARY KEY,
  record_id INTEGER NOT NULL UNIQUE REFERENCES records (id),
  settlement_day TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('CLEARED', 'DEBT', 'EXCEPTION', 'DUPLICATE')),
  reason TEXT NOT NULL,
  rule TEXT NOT NULL,
  model TEXT NOT NULL CHECK (model IN ('EC', 'ODA')),
  issuer_verifies INTEGER NOT NULL CHECK (issuer_verifies IN (0, 1)),
  fare INTEGER NOT NULL CHECK (fare >= 0),
  fee INTEGER NOT NULL CHECK (fee >= 0 AND fee <= fare),
  fee_bp INTEGER NOT NULL CHECK (fee_bp BETWEEN 0 AND 10000),
  bin TEXT,
  card_hash BLOB,
  psn TEXT,
  atc INTEGER,
  terminal_id TEXT NOT NULL,
  merchant_id TEXT NOT NULL,
  line TEXT NOT NULL,
  deny_reason TEXT,
  deny_version INTEGER,
  entry_id INTEGER REFERENCES ledger_entries (id)
) STRICT;
CREATE INDEX clearing_day ON clearing_lines (settlement_day, outcome);
CREATE UNIQUE INDEX clearing_presented_once ON clearing_lines (card_hash, psn, atc)
  WHERE outcome IN ('CLEARED', 'DEBT');
CREATE TRIGGER clearing_lines_no_update BEFORE UPDATE ON clearing_lines
BEGIN SELECT RAISE(ABORT, 'clearing lines are written once'); END;
CREATE TRIGGER clearing_lines_no_delete BEFORE DELETE ON clearing_lines
BEGIN SELECT RAISE(ABORT, 'clearing lines are written once'); END;
CREATE TRIGGER clearing_lines_closed_day BEFORE INSERT ON clearing_lines
WHEN EXISTS (SELECT 1 FROM settlement_days WHERE day = NEW.settlement_day AND state = 'closed')
BEGIN SELECT RAISE(ABORT, 'settlement day is closed'); END;

CREATE TABLE debts (
  id INTEGER PRIMARY KEY,
  card_hash BLOB NOT NULL,
  psn TEXT NOT NULL,
  bin TEXT NOT NULL,
  settlement_day TEXT NOT NULL,
  mode TEXT NOT NULL CHECK (mode IN ('single', 'aggregated')),
  amount INTEGER NOT NULL CHECK (amount >= 0),
  state TEXT NOT NULL CHECK (state IN
    ('pending', 'sent', 'reversing', 'declined', 'recovered', 'written_off')),
  stan TEXT CHECK (stan IS NULL OR length(stan) = 6),
  sends INTEGER NOT NULL DEFAULT 0 CHECK (sends >= 0),
  retransmissions INTEGER NOT NULL DEFAULT 0 CHECK (retransmissions >= 0),
  declines INTEGER NOT NULL DEFAULT 0 CHECK (declines >= 0),
  reversal_reason TEXT,
  first_declined_at TEXT,
  next_attempt_at TEXT NOT NULL,
  response_code TEXT,
  auth_code TEXT,
  rrn TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX debts_due ON debts (state, next_attempt_at, id);
CREATE INDEX debts_card ON debts (card_hash, psn, state);
CREATE TABLE debt_records (
  debt_id INTEGER NOT NULL REFERENCES debts (id),
  record_id INTEGER NOT NULL UNIQUE REFERENCES records (id),
  fare INTEGER NOT NULL CHECK (fare >= 0),
  PRIMARY KEY (debt_id, record_id)
) STRICT;
CREATE TABLE debt_events (
  id INTEGER PRIMARY KEY,
  debt_id INTEGER NOT NULL REFERENCES debts (id),
  at TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  stan TEXT,
  detail TEXT
) STRICT;
CREATE INDEX debt_events_debt ON debt_events (debt_id, id);
`;
