/**
 * Schema step 2: the deny list's journal, open holds and listed cards (docs/denylist.md,
 * "Store"). It replaces step 1's `deny_list` table (one row per card, history overwritten on a
 * re-add) and its version counter in `meta`: every row of that table becomes journal rows with
 * its versions, its listed cards holds (reference `''`, PSN `00`: step 1 kept none).
 */
/**
 * Step 1's `deny_list` rows as journal rows, holds and listed cards: the same SQL on SQLite and on
 * PostgreSQL (`pg/schema.ts`, step 2).
 */
export const DENY_LIST_FROM_STEP_1 = `
INSERT INTO deny_journal (card_hash, psn, event, reason, ref, actor, at, version, listed)
  SELECT card_hash, '00', 'hold', reason, '', 'schema step 2', '1970-01-01T00:00:00.000Z',
    added_version, 1 FROM deny_list ORDER BY added_version;
INSERT INTO deny_journal (card_hash, psn, event, reason, ref, actor, at, version, listed)
  SELECT card_hash, '00', 'release', 'OPERATOR', '', 'schema step 2',
    '1970-01-01T00:00:00.000Z', removed_version, 0
  FROM deny_list WHERE removed_version IS NOT NULL ORDER BY removed_version;
INSERT INTO deny_holds (card_hash, reason, ref, journal_id)
  SELECT d.card_hash, d.reason, '', j.id FROM deny_list d
  JOIN deny_journal j ON j.version = d.added_version WHERE d.removed_version IS NULL;
INSERT INTO deny_cards (card_hash, psn, reason, version)
  SELECT card_hash, '00', reason, added_version FROM deny_list WHERE removed_version IS NULL;
`;

export const DENY_LIST_V2 = `
CREATE TABLE deny_journal (
  id INTEGER PRIMARY KEY,
  card_hash BLOB NOT NULL CHECK (length(card_hash) = 32),
  psn TEXT NOT NULL CHECK (length(psn) = 2 AND psn NOT GLOB '*[^0-9]*'),
  event TEXT NOT NULL CHECK (event IN ('hold', 'release')),
  reason TEXT NOT NULL CHECK (reason <> ''),
  ref TEXT NOT NULL,
  actor TEXT NOT NULL CHECK (actor <> ''),
  at TEXT NOT NULL,
  version INTEGER UNIQUE CHECK (version > 0),
  listed INTEGER NOT NULL CHECK (listed IN (0, 1))
) STRICT;
CREATE INDEX deny_journal_card ON deny_journal (card_hash, version);
CREATE TABLE deny_holds (
  card_hash BLOB NOT NULL,
  reason TEXT NOT NULL,
  ref TEXT NOT NULL,
  journal_id INTEGER NOT NULL REFERENCES deny_journal (id),
  PRIMARY KEY (card_hash, reason, ref)
) STRICT;
CREATE TABLE deny_cards (
  card_hash BLOB PRIMARY KEY CHECK (length(card_hash) = 32),
  psn TEXT NOT NULL,
  reason TEXT NOT NULL,
  version INTEGER NOT NULL UNIQUE REFERENCES deny_journal (version)
) STRICT;
${DENY_LIST_FROM_STEP_1}DROP TABLE deny_list;
DELETE FROM meta WHERE key = 'deny_list_version';
`;
