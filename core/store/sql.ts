/**
 * The synchronous SQL connection the back office works on (clearing, the ledger, debts, the deny
 * list's changes, the network registry, archive and reports): the part of `node:sqlite`'s
 * `DatabaseSync` those modules use. On SQLite it is the store's own connection; on PostgreSQL it
 * is `PgSyncDb` (`pg/sync_db.ts`), one reserved session driven from a worker thread
 * (docs/scale.md, "The back office on PostgreSQL").
 *
 * SQL written against it keeps to what both dialects read alike: `?` placeholders, `RETURNING`
 * instead of `lastInsertRowid`, `ON CONFLICT … DO NOTHING` instead of `INSERT OR IGNORE`,
 * `coalesce`, `substr`, no `LIMIT -1`, no booleans as values (docs/scale.md lists the rules).
 */
import type { SQLInputValue, SQLOutputValue } from "node:sqlite";

export type SqlParam = SQLInputValue;
export type SqlRow = Record<string, SQLOutputValue>;

/** What a write reports. `lastInsertRowid` is SQLite's only: write `RETURNING id` instead. */
export interface SqlRunResult {
  readonly changes: number | bigint;
  readonly lastInsertRowid: number | bigint;
}

/** A statement prepared on a connection. */
export interface SqlStatement {
  get(...params: SqlParam[]): SqlRow | undefined;
  all(...params: SqlParam[]): SqlRow[];
  run(...params: SqlParam[]): SqlRunResult;
  /** Rows one at a time (PostgreSQL: a cursor read in pages). Other statements may run between. */
  iterate(...params: SqlParam[]): IterableIterator<SqlRow>;
}

/** A connection: statements, scripts and transactions (`BEGIN IMMEDIATE` … `COMMIT`). */
export interface SqlDb {
  prepare(sql: string): SqlStatement;
  /** Runs a script without parameters (several statements allowed). */
  exec(sql: string): void;
  /** True between `BEGIN` and `COMMIT`/`ROLLBACK`. */
  readonly isTransaction: boolean;
}
