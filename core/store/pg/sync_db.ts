/**
 * A synchronous PostgreSQL connection (`SqlDb`) for the back office (docs/scale.md, "The back
 * office on PostgreSQL"). Clearing, the ledger, debts and the deny list's changes are written as
 * synchronous transactions over `node:sqlite`; rather than keep a second, asynchronous copy of
 * every rule, they run unchanged on one PostgreSQL session held by a worker thread. Each call
 * posts its statement to the worker and blocks on a shared flag (`Atomics.wait`) until the
 * answer is back: one round trip per statement, ~0.1 ms here.
 *
 * What is translated, and nothing else:
 * - `?` placeholders become `$1…$n` (outside quotes and comments);
 * - `BEGIN IMMEDIATE` (SQLite's "take the write lock now") becomes `BEGIN` plus a transaction
 *   advisory lock that every back-office writer takes, so two writers queue as on SQLite;
 *   a plain `BEGIN` (a read snapshot) becomes `BEGIN ISOLATION LEVEL REPEATABLE READ`;
 * - `iterate` reads through a `WITH HOLD` cursor, 1,000 rows per round trip.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { IcfareError } from "../../errors.ts";
import type { SqlDb, SqlParam, SqlRow, SqlRunResult, SqlStatement } from "../sql.ts";
import type { SyncAnswer, SyncRequest } from "./sync_worker.ts";

/** The transaction advisory lock of back-office writers (`BEGIN IMMEDIATE`). */
export const LOCK_BACK_OFFICE = 0x1cfa_0003;

/** Rows a cursor fetches per round trip. */
const PAGE = 1000;

/** A statement PostgreSQL refused, with its SQLSTATE (`23505` unique violation, `P0001` raise). */
export class PgSyncError extends Error {
  constructor(message: string, readonly code?: string, readonly detail?: string) {
    super(message);
    this.name = "PgSyncError";
  }
}

/** `?` → `$n`, skipping string literals, quoted identifiers and comments. */
export function numberPlaceholders(sql: string): string {
  let out = "", n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const j = end < 0 ? sql.length : end;
      out += sql.slice(i, j + 1);
      i = j;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const j = end < 0 ? sql.length : end;
      out += sql.slice(i, j);
      i = j - 1;
    } else if (c === "?") out += `$${++n}`;
    else out += c;
  }
  return out;
}

/** A script as PostgreSQL runs it (SQLite's transaction verbs mapped; see the module note). */
function translateScript(sql: string): string {
  const s = sql.trim().replace(/;$/, "").trim().toUpperCase();
  if (s === "BEGIN IMMEDIATE" || s === "BEGIN EXCLUSIVE") {
    return `BEGIN; SELECT pg_advisory_xact_lock(${LOCK_BACK_OFFICE})`;
  }
  if (s === "BEGIN" || s === "BEGIN DEFERRED" || s === "BEGIN TRANSACTION") {
    return "BEGIN ISOLATION LEVEL REPEATABLE READ";
  }
  return sql;
}

export class PgSyncDb implements SqlDb {
  readonly #worker: Worker;
  readonly #port: MessageChannel["port1"];
  readonly #flag = new Int32Array(new SharedArrayBuffer(4));
  readonly #texts = new Map<string, string>();
  #tx = false;
  #cursors = 0;
  #closed = false;

  /** Starts the worker for `url` (no connection is made until the first statement). */
  constructor(url: string) {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#worker = new Worker(new URL("./sync_worker.ts", import.meta.url), {
      workerData: { port: port2, flag: this.#flag.buffer, url },
      transferList: [port2],
    });
    this.#worker.unref();
  }

  get isTransaction(): boolean {
    return this.#tx;
  }

  /** Posts `r` and blocks until the worker answers. */
  #call(r: SyncRequest): { rows: SqlRow[]; count: number } {
    if (this.#closed) throw new Error("PgSyncDb is closed");
    Atomics.store(this.#flag, 0, 0);
    this.#port.postMessage(r);
    while (Atomics.wait(this.#flag, 0, 0, 60_000) === "timed-out") {
      /* a long statement or a lock wait (lock_timeout bounds it): keep waiting */
    }
    const m = receiveMessageOnPort(this.#port);
    if (!m) throw new Error("PgSyncDb: the worker woke without an answer");
    const a = m.message as SyncAnswer;
    if (!a.ok) throw new PgSyncError(a.message, a.code, a.detail);
    return { rows: a.rows as SqlRow[], count: a.count };
  }

  #query(text: string, params: readonly SqlParam[]): { rows: SqlRow[]; count: number } {
    let t = this.#texts.get(text);
    if (t === undefined) this.#texts.set(text, t = numberPlaceholders(text));
    return this.#call({ op: "query", sql: t, params });
  }

  exec(sql: string): void {
    const t = translateScript(sql);
    const verb = sql.trim().toUpperCase();
    try {
      this.#call({ op: "script", sql: t });
    } finally {
      if (verb.startsWith("BEGIN")) this.#tx = true;
      else if (verb.startsWith("COMMIT") || verb.startsWith("END") || verb === "ROLLBACK") {
        this.#tx = false;
      }
    }
  }

  prepare(text: string): SqlStatement {
    const all = (...p: SqlParam[]) => this.#query(text, p).rows;
    return {
      all,
      get: (...p: SqlParam[]) => all(...p)[0],
      run: (...p: SqlParam[]): SqlRunResult => {
        const r = this.#query(text, p);
        return { changes: r.count, lastInsertRowid: Number.NaN };
      },
      iterate: (...p: SqlParam[]) => this.#iterate(text, p),
    };
  }

  *#iterate(text: string, params: SqlParam[]): IterableIterator<SqlRow> {
    const name = `icfare_cursor_${++this.#cursors}`;
    this.#query(`DECLARE ${name} NO SCROLL CURSOR WITH HOLD FOR ${text}`, params);
    try {
      for (;;) {
        const { rows } = this.#call({ op: "query", sql: `FETCH ${PAGE} FROM ${name}`, params: [] });
        yield* rows;
        if (rows.length < PAGE) return;
      }
    } finally {
      // a failed transaction took the cursor with it; nothing else to release then
      try {
        this.#call({ op: "script", sql: `CLOSE ${name}` });
      } catch { /* see above */ }
    }
  }

  /** Ends the session and the worker. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#call({ op: "close" });
    } catch { /* the worker is going anyway */ }
    this.#closed = true;
    this.#port.close();
    this.#worker.terminate();
  }
}

/**
 * Refuses a database whose text order is not byte order: clearing files, reports and archives
 * list rows `ORDER BY` text and must come out as on SQLite (docs/scale.md).
 */
export function checkCollation(db: SqlDb): void {
  const r = db.prepare(
    "SELECT datcollate AS c FROM pg_database WHERE datname = current_database()",
  ).get();
  const c = String(r?.c ?? "");
  if (c === "C" || c === "POSIX") return;
  throw new IcfareError(
    "STORE_CONFIG",
    `store refused: the database's collation is ${c}; the back office needs byte order (C)`,
    {
      hint: "create the database with TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' " +
        '(docs/scale.md, "Running icfare on an existing PostgreSQL server")',
    },
  );
}
