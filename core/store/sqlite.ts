/**
 * The SQLite store through Deno's built-in `node:sqlite` (permission-checked, no FFI).
 *
 * Durability (docs/reliability.md): every open sets `journal_mode=WAL` and
 * `synchronous=FULL` and reads both back; anything else (an in-memory or read-only file, a build
 * that refuses WAL) is refused with `StoreConfigError`. A batch, its records and its receipt are
 * written in one `BEGIN IMMEDIATE` transaction (group commit: concurrent batches share one
 * transaction and one fsync, each inside its own SAVEPOINT), so an acknowledged batch is present
 * whole or a crashed one not at all. `node:sqlite` is synchronous and nothing awaits inside a transaction,
 * so transactions never interleave inside the process.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations.ts";
import {
  asReplay,
  batchAad,
  type CardRecord,
  cardRecordOf,
  type IngestResult,
  LeaseLostError,
  type NewBatch,
  type OriginalRecord,
  type PendingRecord,
  type SealedBody,
  sinceProblem,
  type Store,
  StoreConfigError,
  type StoreCounts,
  StoreUnavailableError,
  type VerificationResult,
  type WorkClaim,
} from "./store.ts";
import { pendingRow, SqliteClaims, withFileLock } from "./sqlite_claims.ts";
import { JournalDenyList } from "../denylist/journal.ts";
import { type DenyListedTap, denyListedTaps } from "../denylist/listed.ts";
import { type UnsignedList, unsignedList } from "../denylist/signed.ts";
import { cutoffMinutes, firstOpenDay, tapDayOf } from "./settlement.ts";

/** File name of the store under the icfare home. */
export const STORE_FILE = "icfare.db";

export interface SqliteStoreOptions {
  /** How long a write waits for a lock held by another connection (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /**
   * Where SQLite keeps statement journals and temporary tables (default "file"). A per-row
   * trigger makes every insert or update open a statement journal; on a file it cost ≈ 46 µs a
   * record, half of ingest, and a verdict's update ≈ 52 µs against 23 µs in memory
   * (docs/performance.md, "Store backends and scale-out"). "memory" suits the upload server and
   * verifiers, whose statements touch one row or one chunk; day-sized statements (clearing) keep
   * "file", so their journals never have to fit in RAM.
   */
  readonly tempStore?: "memory" | "file";
  /**
   * SQLite's page cache for this connection, in MiB (default SQLite's own 2 MiB). A verifier
   * over a large day reads the card index and the records at random: 256 MiB made verifying the
   * last 200,000 records of a 1,000,000-record store 15–25 % faster (docs/performance.md, "Store
   * backends and scale-out").
   */
  readonly cacheMiB?: number;
  /** Test hook run after the pragmas are set and before they are checked. */
  readonly afterPragmas?: (db: DatabaseSync) => void;
}

type Row = Record<string, unknown>;

/** The ingest-time rules of one group transaction (see `#ingestRules`). */
interface IngestRules {
  readonly cutoff: number;
  readonly closed: ReadonlySet<string>;
  readonly terminals: ReadonlyMap<string, string>;
  readonly lines: ReadonlyMap<string, string>;
}

/** Opens (creating and migrating if needed) the store at `path`. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError("path must be a non-empty file path");
  }
  const busy = options.busyTimeoutMs ?? 5000;
  const cache = options.cacheMiB;
  if (cache !== undefined && (!Number.isInteger(cache) || cache < 1 || cache > 65536)) {
    throw new RangeError(`cacheMiB must be an integer 1..65536, got ${cache}`);
  }
  if (!Number.isInteger(busy) || busy < 0) {
    throw new RangeError(`busyTimeoutMs must be a non-negative integer, got ${busy}`);
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (e) {
    throw new StoreUnavailableError(`cannot open the store ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${busy}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA foreign_keys = ON");
    if (options.tempStore === "memory") db.exec("PRAGMA temp_store = MEMORY");
    if (options.cacheMiB !== undefined) db.exec(`PRAGMA cache_size = ${-1024 * options.cacheMiB}`);
    options.afterPragmas?.(db);
    checkPragmas(db);
    migrate(db);
  } catch (e) {
    db.close();
    if (e instanceof StoreConfigError) throw e;
    // e.g. a read-only file system: WAL needs to write beside the database
    throw new StoreUnavailableError(`cannot open the store ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return new SqliteStore(db, path);
}

/** Reads back the durability pragmas; throws `StoreConfigError` unless WAL + FULL. */
export function checkPragmas(db: DatabaseSync): void {
  const mode = String((db.prepare("PRAGMA journal_mode").get() as Row).journal_mode);
  if (mode.toLowerCase() !== "wal") {
    throw new StoreConfigError(`store refused: journal_mode is ${mode}, need wal`);
  }
  const sync = Number((db.prepare("PRAGMA synchronous").get() as Row).synchronous);
  if (sync !== 2) {
    throw new StoreConfigError(`store refused: synchronous is ${sync}, need 2 (FULL)`);
  }
  const fk = Number((db.prepare("PRAGMA foreign_keys").get() as Row).foreign_keys);
  if (fk !== 1) throw new StoreConfigError("store refused: foreign_keys is off");
}

function migrate(db: DatabaseSync): void {
  const current = Number((db.prepare("PRAGMA user_version").get() as Row).user_version);
  if (current > SCHEMA_VERSION) {
    throw new StoreConfigError(
      `store refused: schema version ${current} is newer than this code (${SCHEMA_VERSION})`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.exec("BEGIN IMMEDIATE");
    try {
      // read again under the write lock: another process opening the same file may have
      // applied this step meanwhile (two servers started together on one fresh file)
      const now = Number((db.prepare("PRAGMA user_version").get() as Row).user_version);
      if (m.version <= now) {
        db.exec("COMMIT");
        continue;
      }
      db.exec(m.sql);
      db.exec(`PRAGMA user_version = ${m.version}`);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }
}

function unavailable(e: unknown): StoreUnavailableError {
  const msg = e instanceof Error ? e.message : String(e);
  return new StoreUnavailableError(`storage unavailable: ${msg}`, { cause: e });
}

/** The SQLite implementation of `Store`. */
export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;
  readonly #claims: SqliteClaims;
  readonly #path: string;

  constructor(db: DatabaseSync, path = "") {
    this.#db = db;
    this.#path = path;
    this.#claims = new SqliteClaims(db);
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      find: p("SELECT digest, receipt FROM batches WHERE terminal_id = ? AND batch_no = ?"),
      insBatch: p(
        `INSERT INTO batches (terminal_id, batch_no, merchant_id, deny_list_version, digest,
          body_sealed, body_bytes, record_count, amount, receipt, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insWork: p("INSERT INTO batch_work (batch_id, pending) VALUES (?, ?)"),
      insRecord: p(
        `INSERT INTO records (batch_id, terminal_id, batch_no, seq, tapped_at, line, vehicle,
          stop, fare, card_hash, pan_masked, psn, atc, status, reject_code, reject_message,
          reject_path, body_index, tap_day, settlement_day, model, track2_sealed, ac_key)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      cutoff: p("SELECT value FROM meta WHERE key = 'settlement_cutoff'"),
      closedFrom: p("SELECT day FROM settlement_days WHERE state = 'closed' AND day >= ?"),
      models: p("SELECT scope, key, model FROM network_models"),
      body: p("SELECT terminal_id, batch_no, digest, body_sealed FROM batches WHERE id = ?"),
      pending: p(
        `SELECT id, batch_id, terminal_id, batch_no, seq, tapped_at, fare, card_hash, psn, atc,
          body_index, ac_key FROM records
         WHERE batch_id IN (SELECT batch_id FROM batch_work) AND +status = 'pending' AND id > ?
         ORDER BY id LIMIT ?`,
      ),
      sameCard: p(
        `SELECT id, terminal_id, batch_no, seq, batch_id, body_index, status FROM records
         WHERE card_hash = ? AND psn IS ? AND atc = ? ORDER BY id`,
      ),
      counts: p(
        `SELECT (SELECT count(*) FROM batches) AS batches, (SELECT count(*) FROM records) AS records,
          (SELECT coalesce(sum(pending), 0) FROM batch_work) AS pending,
          (SELECT count(*) FROM records WHERE status = 'rejected') AS rejected`,
      ),
    };
  }

  /** The underlying connection, for tests and maintenance tools only. */
  get connection(): DatabaseSync {
    return this.#db;
  }

  /**
   * Group commit: batches arriving while a commit is under way wait in a queue and are
   * committed together in the next transaction, one SAVEPOINT each (a failing batch rolls back
   * alone), with one WAL fsync for the group. Every promise settles only after the COMMIT.
   */
  ingest(batch: NewBatch): Promise<IngestResult> {
    if (!batch.receipt.endsWith('"replayed":false}')) {
      return Promise.reject(new TypeError('batch.receipt must end with "replayed":false}'));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ batch, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setTimeout(() => this.#flush(), 0);
      }
    });
  }

  /** Number of transactions committed by `ingest` and batches in them (for the benchmark). */
  get groupStats(): { commits: number; batches: number } {
    return { commits: this.#commits, batches: this.#grouped };
  }

  #queue: {
    batch: NewBatch;
    resolve: (r: IngestResult) => void;
    reject: (e: unknown) => void;
  }[] = [];
  #flushScheduled = false;
  #commits = 0;
  #grouped = 0;

  #flush(): void {
    this.#flushScheduled = false;
    const q = this.#queue;
    this.#queue = [];
    if (q.length === 0) return;
    const db = this.#db;
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (e) {
      for (const x of q) x.reject(unavailable(e));
      return;
    }
    const results: (IngestResult | StoreUnavailableError)[] = [];
    let rules: IngestRules;
    try {
      rules = this.#ingestRules(q.map((x) => x.batch));
    } catch (e) {
      try {
        db.exec("ROLLBACK");
      } catch { /* the connection is gone; the transaction is rolled back with it */ }
      for (const x of q) x.reject(unavailable(e));
      return;
    }
    for (const x of q) {
      try {
        db.exec("SAVEPOINT batch");
        results.push(this.#ingestOne(x.batch, rules));
        db.exec("RELEASE batch");
      } catch (e) {
        try {
          db.exec("ROLLBACK TO batch");
          db.exec("RELEASE batch");
        } catch { /* the outer ROLLBACK below or the lost connection undoes it */ }
        results.push(unavailable(e));
      }
    }
    try {
      db.exec("COMMIT");
    } catch (e) {
      try {
        if (db.isTransaction) db.exec("ROLLBACK");
      } catch { /* the connection is gone; the transaction is rolled back with it */ }
      for (const x of q) x.reject(unavailable(e));
      return;
    }
    this.#commits++;
    this.#grouped += q.length;
    q.forEach((x, i) => {
      const r = results[i];
      if (r instanceof StoreUnavailableError) x.reject(r);
      else x.resolve(r);
    });
  }

  /**
   * What stamps each record at ingest (docs/clearing.md, "Settlement day" and "The two
   * models"), read once per group transaction: the cut-off, the closed days from the earliest
   * tap day of the group on, and the terminal/line model registry.
   */
  #ingestRules(batches: readonly NewBatch[]): IngestRules {
    const cutoff = cutoffMinutes(
      String((this.#s.cutoff.get() as Row | undefined)?.value ?? "23:00"),
    );
    let first: string | null = null;
    for (const b of batches) {
      for (const r of b.records) {
        const d = tapDayOf(r.tappedAt, cutoff);
        if (first === null || d < first) first = d;
      }
    }
    const closed = new Set<string>();
    if (first !== null) {
      for (const r of this.#s.closedFrom.all(first) as Row[]) closed.add(String(r.day));
    }
    const terminals = new Map<string, string>(), lines = new Map<string, string>();
    for (const r of this.#s.models.all() as Row[]) {
      (r.scope === "terminal" ? terminals : lines).set(String(r.key), String(r.model));
    }
    return { cutoff, closed, terminals, lines };
  }

  /** One batch inside the group transaction. */
  #ingestOne(batch: NewBatch, rules: IngestRules): IngestResult {
    const s = this.#s;
    const found = s.find.get(batch.terminalId, batch.batchNo) as Row | undefined;
    if (found) {
      if (found.digest === batch.digest) {
        return { kind: "replayed", receipt: asReplay(String(found.receipt)) };
      }
      return { kind: "conflict", storedDigest: String(found.digest) };
    }
    const r = s.insBatch.run(
      batch.terminalId,
      batch.batchNo,
      batch.merchantId,
      batch.denyListVersion,
      batch.digest,
      batch.body,
      batch.bodyBytes,
      batch.records.length,
      batch.amount,
      batch.receipt,
      batch.receivedAt,
    );
    const batchId = Number(r.lastInsertRowid);
    const pending = batch.records.filter((x) => x.status === "pending").length;
    if (pending > 0) s.insWork.run(batchId, pending);
    const termModel = rules.terminals.get(batch.terminalId);
    for (const rec of batch.records) {
      const tapDay = tapDayOf(rec.tappedAt, rules.cutoff);
      const model = termModel ?? rules.lines.get(rec.line) ?? "EC";
      s.insRecord.run(
        batchId,
        batch.terminalId,
        batch.batchNo,
        rec.seq,
        rec.tappedAt,
        rec.line,
        rec.vehicle,
        rec.stop,
        rec.fare,
        rec.cardHash,
        rec.panMasked,
        rec.psn,
        rec.atc,
        rec.status,
        rec.reject?.code ?? null,
        rec.reject?.message ?? null,
        rec.reject?.path ?? null,
        rec.index,
        tapDay,
        firstOpenDay(tapDay, rules.closed),
        model,
        model === "ODA" ? rec.track2Sealed ?? null : null,
        rec.acKey ?? null,
      );
    }
    return { kind: "stored", receipt: batch.receipt };
  }

  batchDigest(terminalId: string, batchNo: number): Promise<string | null> {
    return this.#read(() => {
      const row = this.#s.find.get(terminalId, batchNo) as Row | undefined;
      return row ? String(row.digest) : null;
    });
  }

  receipt(terminalId: string, batchNo: number): Promise<string | null> {
    return this.#read(() => {
      const row = this.#s.find.get(terminalId, batchNo) as Row | undefined;
      return row ? asReplay(String(row.receipt)) : null;
    });
  }

  batchBody(batchId: number): Promise<SealedBody | null> {
    return this.#read(() => {
      const r = this.#s.body.get(batchId) as Row | undefined;
      if (!r) return null;
      return {
        sealed: new Uint8Array(r.body_sealed as Uint8Array),
        aad: batchAad(String(r.terminal_id), Number(r.batch_no), String(r.digest)),
      };
    });
  }

  pendingRecords(limit: number, afterId = 0): Promise<PendingRecord[]> {
    if (!Number.isInteger(limit) || limit < 1) {
      return Promise.reject(new RangeError(`limit must be a positive integer, got ${limit}`));
    }
    return this.#read(() => (this.#s.pending.all(afterId, limit) as Row[]).map(pendingRow));
  }

  recordVerification(recordId: number, result: VerificationResult): Promise<void> {
    return this.recordVerifications([{ recordId, result }]);
  }

  recordVerifications(
    items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
  ): Promise<void> {
    if (!Array.isArray(items)) return Promise.reject(new TypeError("items must be an array"));
    if (items.length === 0) return Promise.resolve();
    return this.#read(() => this.#claims.tx(() => this.#claims.writeVerdicts(items)));
  }

  originals(records: readonly PendingRecord[]): Promise<Map<number, OriginalRecord>> {
    return this.#read(() => this.#claims.originals(records));
  }

  claimPending(owner: string, maxRecords: number, leaseMs: number): Promise<WorkClaim | null> {
    return this.#read(() => this.#claims.claim(owner, maxRecords, leaseMs));
  }

  completeClaim(
    claim: WorkClaim,
    items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
  ): Promise<void> {
    return this.#read(() => this.#claims.complete(claim, items));
  }

  releaseClaim(claim: WorkClaim): Promise<void> {
    return this.#read(() => this.#claims.release(claim));
  }

  withLock<T>(name: string, fn: () => Promise<T>, options: { wait?: boolean } = {}): Promise<T> {
    if (!this.#path) return Promise.reject(new TypeError("this store has no file to lock beside"));
    return withFileLock(this.#path, name, fn, options.wait ?? false);
  }

  sameCard(cardHash: Uint8Array, psn: string | null, atc: number): Promise<CardRecord[]> {
    if (!(cardHash instanceof Uint8Array)) {
      return Promise.reject(new TypeError("cardHash must be a Uint8Array"));
    }
    if (!Number.isInteger(atc)) return Promise.reject(new RangeError("atc must be an integer"));
    return this.#read(() => (this.#s.sameCard.all(cardHash, psn, atc) as Row[]).map(cardRecordOf));
  }

  denyListSince(since: number): Promise<UnsignedList> {
    const bad = sinceProblem(since);
    if (bad) return Promise.reject(bad);
    return this.#read(() => unsignedList(this.denyList, since));
  }

  denyListed(recordIds: readonly number[]): Promise<DenyListedTap[]> {
    if (!Array.isArray(recordIds)) return Promise.reject(new TypeError("recordIds: an array"));
    return this.#read(() => denyListedTaps(this.#db, recordIds));
  }

  /** The deny list over this connection (changes join a transaction the caller holds). */
  get denyList(): JournalDenyList {
    return this.#denyList ??= new JournalDenyList(this.#db);
  }
  #denyList: JournalDenyList | null = null;

  counts(): Promise<StoreCounts> {
    return this.#read(() => {
      const r = this.#s.counts.get() as Row;
      return {
        batches: Number(r.batches),
        records: Number(r.records),
        pending: Number(r.pending),
        rejected: Number(r.rejected),
      };
    });
  }

  /**
   * SQLite's page check, then the store's own invariants (as on PostgreSQL): every batch has as
   * many records as it says and its pending work counted in `batch_work`, and each day's verdict
   * counts (schema step 8) agree with its records.
   */
  integrityCheck(): Promise<string> {
    return this.#read(() => {
      const pages = (this.#db.prepare("PRAGMA integrity_check").all() as Row[])
        .map((r) => String(r.integrity_check)).join("; ");
      if (pages !== "ok") return pages;
      const bad = (this.#db.prepare(`SELECT b.id, b.record_count, coalesce(w.pending, 0) AS pending,
          (SELECT count(*) FROM records r WHERE r.batch_id = b.id) AS n,
          (SELECT count(*) FROM records r WHERE r.batch_id = b.id AND +r.status = 'pending') AS p
        FROM batches b LEFT JOIN batch_work w ON w.batch_id = b.id
        WHERE n <> b.record_count OR p <> coalesce(w.pending, 0) LIMIT 5`).all() as Row[])
        .map((r) => `batch ${r.id}: ${r.n}/${r.record_count} records, ${r.p}/${r.pending} pending`);
      // both ways: a count for every (day, verdict) of the records, and none kept beside them
      const kept = new Map<string, number>();
      for (const r of this.#db.prepare("SELECT * FROM day_verdicts").all() as Row[]) {
        if (Number(r.records) !== 0) {
          kept.set(`${r.settlement_day} ${r.verdict}`, Number(r.records));
        }
      }
      const counts: string[] = [];
      for (
        const r of this.#db.prepare(`SELECT coalesce(settlement_day, '') AS day,
          coalesce(verdict, '') AS verdict, count(*) AS n FROM records GROUP BY 1, 2`)
          .all() as Row[]
      ) {
        const k = `${r.day} ${r.verdict}`;
        if (kept.get(k) !== Number(r.n)) {
          counts.push(`day ${k}: ${r.n} records, ${kept.get(k) ?? 0} counted`);
        }
        kept.delete(k);
      }
      for (const [k, n] of kept) counts.push(`day ${k}: 0 records, ${n} counted`);
      const found = [...bad, ...counts].slice(0, 10);
      return found.length === 0 ? "ok" : found.join("; ");
    });
  }

  close(): void {
    if (this.#db.isOpen) {
      this.#flush(); // settle queued batches before the connection goes
      this.#db.close();
    }
  }

  #read<T>(f: () => T): Promise<T> {
    try {
      return Promise.resolve(f());
    } catch (e) {
      const keep = e instanceof RangeError || e instanceof TypeError || e instanceof LeaseLostError;
      return Promise.reject(keep ? e : unavailable(e));
    }
  }
}
