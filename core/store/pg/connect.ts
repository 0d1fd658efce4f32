/**
 * Connecting to PostgreSQL (docs/scale.md, "Durability"): the client (`npm:postgres`), the
 * durability settings read back at every open (`fsync=on`, `synchronous_commit` not `off`,
 * `full_page_writes=on`; anything else is refused with `StoreConfigError`), the versioned
 * migrations under an advisory lock, and the settlement-day partitions of `records`.
 */
import postgres from "postgres";
import { IcfareError } from "../../errors.ts";
import { StoreUnavailableError } from "../store.ts";
import { StoreConfigError } from "../store.ts";
import { partitionName, PG_MIGRATIONS, PG_SCHEMA_VERSION } from "./schema.ts";

// deno-lint-ignore no-explicit-any
export type Sql = postgres.Sql<any>;
/** A pool or a transaction: what a query helper runs on. */
// deno-lint-ignore no-explicit-any
export type Tx = postgres.TransactionSql<any> | Sql;

/** Advisory lock keys of the store itself (operator locks hash their names elsewhere). */
export const LOCK_MIGRATE = 0x1cfa_0001;
export const LOCK_PARTITION = 0x1cfa_0002;

export interface PgOptions {
  /** Connections in the pool (default 10). */
  readonly max?: number;
  /** Seconds a connection attempt may take (default 10). */
  readonly connectTimeoutS?: number;
  /** `numeric` (e.g. `sum` of a bigint column) as a number, as SQLite answers (default: text). */
  readonly numericAsNumber?: boolean;
}

/** True for a URL naming a PostgreSQL database. */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** The URL without its password, for messages and start-up lines. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/i, "$1:***@");
}

/** A pool for `url` (no connection is made until the first query). */
export function pgClient(url: string, o: PgOptions = {}): Sql {
  if (!isPostgresUrl(url)) throw new TypeError("not a postgres:// URL");
  return postgres(url, {
    max: o.max ?? 10,
    connect_timeout: o.connectTimeoutS ?? 10,
    onnotice: () => {},
    // bigint ids and amounts as numbers: exact up to 2^53, beyond the life of any store
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: number) => String(x),
        parse: (x: string) => Number(x),
      },
      ...(o.numericAsNumber
        ? {
          numeric: {
            to: 1700,
            from: [1700],
            serialize: (x: number) => String(x),
            parse: (x: string) => Number(x),
          },
        }
        : {}),
    },
  });
}

/** Refuses a server whose settings could lose acknowledged commits. */
export async function checkSettings(sql: Sql): Promise<void> {
  const rows = await sql`SELECT name, setting FROM pg_settings
    WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')`;
  const s = new Map(rows.map((r) => [String(r.name), String(r.setting)]));
  if (s.get("fsync") !== "on") {
    throw new StoreConfigError(`store refused: fsync is ${s.get("fsync")}, need on`);
  }
  if (s.get("synchronous_commit") === "off") {
    throw new StoreConfigError("store refused: synchronous_commit is off, need on");
  }
  if (s.get("full_page_writes") !== "on") {
    throw new StoreConfigError(
      `store refused: full_page_writes is ${s.get("full_page_writes")}, need on`,
    );
  }
}

/** Applies the missing migrations in order, each once (advisory lock: one migrator at a time). */
export async function migrate(sql: Sql): Promise<number> {
  await sql`CREATE TABLE IF NOT EXISTS icfare_migrations (
    version integer PRIMARY KEY, description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())`.catch(async (e) => {
    // two processes creating the table at once: the loser finds it made
    const t = await sql`SELECT to_regclass('icfare_migrations') AS t`;
    if (t[0].t === null) throw e;
  });
  return await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_MIGRATE})`;
    const done = await tx`SELECT version FROM icfare_migrations ORDER BY version`;
    const have = new Set(done.map((r) => Number(r.version)));
    const newest = Math.max(0, ...have);
    if (newest > PG_SCHEMA_VERSION) {
      throw new StoreConfigError(
        `store refused: schema version ${newest} is newer than this code (${PG_SCHEMA_VERSION})`,
      );
    }
    for (const m of PG_MIGRATIONS) {
      if (have.has(m.version)) continue;
      await tx.savepoint(async (sp) => {
        await sp.unsafe(m.sql);
        await sp`INSERT INTO icfare_migrations (version, description)
          VALUES (${m.version}, ${m.description})`;
      });
    }
    return PG_SCHEMA_VERSION;
  });
}

/**
 * The partitions of `records` known to exist. `ensure(days)` makes the missing ones, each in its
 * own short transaction under an advisory lock (so concurrent servers never race on the DDL),
 * taking the table locks in ingest's order.
 */
export class Partitions {
  readonly #known = new Set<string>();
  constructor(readonly sql: Sql) {}

  async ensure(days: Iterable<string>): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.#known.has(d));
    if (missing.length === 0) return;
    await this.sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_PARTITION})`;
      // Writers lock `batches`, then `records` (ingest, verdicts); a new partition's foreign key
      // would lock `records`, then `batches`, and the two deadlock. Take `batches` first, in a
      // mode that waits for every writer (row locks included) and holds the next ones back.
      await tx`LOCK TABLE batches IN EXCLUSIVE MODE`;
      for (const d of missing) {
        await tx.unsafe(
          `CREATE TABLE IF NOT EXISTS ${
            partitionName(d)
          } PARTITION OF records FOR VALUES IN ('${d}')`,
        );
      }
    });
    for (const d of missing) this.#known.add(d);
  }
}

/** Maps a client or server failure to `StoreUnavailableError` (503), keeping config errors. */
export function unavailable(e: unknown): Error {
  if (e instanceof IcfareError) return e; // config, lease, lock: already coded
  if (e instanceof RangeError || e instanceof TypeError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new StoreUnavailableError(`storage unavailable: ${msg}`, { cause: e });
}
