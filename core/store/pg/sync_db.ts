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
 *
 * Inside a transaction, `run` does not wait: its statement is queued and the queue is sent in one
 * message, pipelined, before the next read, script or `changes` asked for (PostgreSQL aborts the
 * transaction at a failed statement anyway, so its error surfaces at that next call, before any
 * COMMIT; a savepoint's `ROLLBACK TO` still undoes just its step).
 */
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { Buffer } from "node:buffer";
import { IcfareError } from "../../errors.ts";
import type { SqlDb, SqlParam, SqlRow, SqlRunResult, SqlStatement } from "../sql.ts";
import type { SyncAnswer, SyncRequest } from "./sync_worker.ts";

/** The transaction advisory lock of back-office writers (`BEGIN IMMEDIATE`). */
export const LOCK_BACK_OFFICE = 0x1cfa_0003;

/** Rows a cursor fetches per round trip. */
const PAGE = 1000;
/** Queued writes sent at once at most. */
const QUEUE = 500;

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
  /** Writes queued in the open transaction, and their counts once sent (see the module note). */
  #queue: { sql: string; params: readonly SqlParam[] }[] = [];
  #sent: { counts: number[] } | null = null;
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
  #call(r: SyncRequest): { rows: SqlRow[]; count: number; counts: number[] } {
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
    return { rows: a.rows as SqlRow[], count: a.count, counts: a.counts ?? [] };
  }

  #text(text: string): string {
    let t = this.#texts.get(text);
    if (t === undefined) this.#texts.set(text, t = numberPlaceholders(text));
    return t;
  }

  #query(text: string, params: readonly SqlParam[]): { rows: SqlRow[]; count: number } {
    this.#flush();
    return this.#call({ op: "query", sql: this.#text(text), params });
  }

  /** Sends the queued writes; their counts go to the `run` results that asked to wait. */
  #flush(): void {
    if (this.#queue.length === 0) return;
    const items = this.#queue, sent = this.#sent!;
    this.#queue = [];
    this.#sent = null;
    const a = this.#call({ op: "batch", items });
    sent.counts = a.counts;
  }

  /** `run` inside a transaction: queued; `changes` sends the queue when asked for. */
  #defer(text: string, params: readonly SqlParam[]): SqlRunResult {
    this.#sent ??= { counts: [] };
    const sent = this.#sent, i = this.#queue.length;
    this.#queue.push({ sql: this.#text(text), params });
    if (this.#queue.length >= QUEUE) this.#flush();
    const flush = () => this.#flush();
    return {
      get changes() {
        flush();
        return sent.counts[i];
      },
      lastInsertRowid: Number.NaN,
    };
  }

  exec(sql: string): void {
    const t = translateScript(sql);
    const verb = sql.trim().toUpperCase();
    if (verb === "ROLLBACK" || verb.startsWith("ROLLBACK TO")) {
      this.#queue = []; // undone with the rest; never sent
      this.#sent = null;
    } else this.#flush(); // a failed write throws here, the transaction still open to roll back
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
        if (this.#tx) return this.#defer(text, p);
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
    this.#queue = []; // a transaction left open is rolled back with the session
    try {
      this.#call({ op: "close" });
    } catch { /* the worker is going anyway */ }
    this.#closed = true;
    this.#port.close();
    this.#worker.terminate();
  }
}

/** Texts whose byte order differs from every linguistic order (case, punctuation, accents). */
const ORDER_PROBE = ["a", "B", "_", "-", "1", "Z", "\u00e9", "ab", "a b", "A", "~"];

/**
 * Refuses a database whose text order is not byte order: clearing files, reports and archives
 * list rows `ORDER BY` text and must come out as on SQLite (docs/scale.md). Asked of the database
 * itself (a sample sorted there against its UTF-8 byte order), so it holds whatever the collation
 * provider (libc, ICU) and version.
 */
export function checkCollation(db: SqlDb): void {
  const list = ORDER_PROBE.map(() => "(?)").join(", ");
  const got = db.prepare(`SELECT x FROM (VALUES ${list}) AS v (x) ORDER BY x`).all(...ORDER_PROBE)
    .map((r) => String(r.x));
  const enc = new TextEncoder();
  const bytes = [...ORDER_PROBE].sort((a, b) => Buffer.compare(enc.encode(a), enc.encode(b)));
  if (got.join("\0") === bytes.join("\0")) return;
  const c = db.prepare(
    "SELECT datcollate AS c FROM pg_database WHERE datname = current_database()",
  ).get();
  throw new IcfareError(
    "STORE_CONFIG",
    `store refused: the database orders text by its collation (${c?.c}), not by bytes; ` +
      "the back office needs byte order",
    {
      hint: "create the database with TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' " +
        '(docs/scale.md, "Running icfare on an existing PostgreSQL server")',
    },
  );
}
