/**
 * Shared verification work and operator locks on SQLite (docs/scale.md, "Several verifiers"):
 * the same per-batch leases as on PostgreSQL, kept in `batch_work` (one small row per batch with
 * pending records: schema step 7, `migrations_work.ts`), taken in `BEGIN IMMEDIATE` transactions
 * (SQLite has one writer, so nothing needs skipping), and operator locks as `flock` locks on
 * files beside the database, released by the kernel if the holder dies.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import {
  cardIndexKey,
  type CardRecord,
  LeaseLostError,
  LockBusyError,
  type OriginalRecord,
  pendingAsOriginal,
  type PendingRecord,
  type VerificationResult,
  type WorkClaim,
} from "./store.ts";

type Row = Record<string, unknown>;
type Items = readonly { readonly recordId: number; readonly result: VerificationResult }[];

/** The pending record of a row of `records` (SQLite). */
export function pendingRow(r: Row): PendingRecord {
  return {
    id: Number(r.id),
    terminalId: String(r.terminal_id),
    batchNo: Number(r.batch_no),
    seq: Number(r.seq),
    tappedAt: String(r.tapped_at),
    fare: Number(r.fare),
    cardHash: r.card_hash == null ? null : new Uint8Array(r.card_hash as Uint8Array),
    psn: r.psn == null ? null : String(r.psn),
    atc: r.atc == null ? null : Number(r.atc),
    batchId: Number(r.batch_id),
    index: Number(r.body_index),
    acKey: r.ac_key == null ? null : new Uint8Array(r.ac_key as Uint8Array),
  };
}

/** An original from a row of `records`. */
export function originalRow(r: Row): OriginalRecord {
  return {
    id: Number(r.id),
    terminalId: String(r.terminal_id),
    batchNo: Number(r.batch_no),
    seq: Number(r.seq),
    batchId: Number(r.batch_id),
    index: Number(r.body_index),
    status: String(r.status) as CardRecord["status"],
    acKey: r.ac_key == null ? null : new Uint8Array(r.ac_key as Uint8Array),
  };
}

/** Prepared statements and the transaction helper of one connection. */
export class SqliteClaims {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    const p = (sql: string) => db.prepare(sql);
    this.#s = {
      verify: p(`UPDATE records SET status = 'verified', verification = ?, verified_at = ?,
        ec_balance = ? WHERE id = ? AND status = 'pending' RETURNING batch_id`),
      lower: p("UPDATE batch_work SET pending = pending - ? WHERE batch_id = ?"),
      done: p("DELETE FROM batch_work WHERE batch_id = ? AND pending = 0"),
      cands: p(`SELECT batch_id AS id, pending FROM batch_work
        WHERE batch_id > ? AND (lease_until IS NULL OR lease_until < ?)
        ORDER BY batch_id LIMIT ?`),
      lease: p("UPDATE batch_work SET lease_owner = ?, lease_until = ? WHERE batch_id = ?"),
      first: p(`SELECT id, terminal_id, batch_no, seq, batch_id, body_index, status, ac_key
        FROM records WHERE card_hash = ? AND psn IS ? AND atc = ? AND status <> 'rejected'
        ORDER BY id LIMIT 1`),
      // [[hex card hash, PSN, ATC], …] → the lowest id per key, from the covering card index
      lowest: p(`SELECT j.key AS i, (SELECT min(id) FROM records
          WHERE card_hash = unhex(j.value ->> 0) AND psn IS j.value ->> 1 AND atc = j.value ->> 2)
        AS id FROM json_each(?) j`),
      // "+status": through records_batch, never a scan of every pending record in id order
      records: p(`SELECT id, batch_id, terminal_id, batch_no, seq, tapped_at, fare, card_hash,
        psn, atc, body_index, ac_key FROM records
        WHERE batch_id IN (SELECT value FROM json_each(?)) AND +status = 'pending'
        ORDER BY id`),
      held: p(`SELECT count(*) AS n FROM batch_work
        WHERE batch_id IN (SELECT value FROM json_each(?)) AND lease_owner = ?`),
      free: p(`UPDATE batch_work SET lease_owner = NULL, lease_until = NULL
        WHERE batch_id IN (SELECT value FROM json_each(?)) AND lease_owner = ?`),
    };
  }

  /**
   * `Store.originals`, set-wise: one statement finds the lowest id of every distinct card key of
   * the chunk from the card index alone (no table row read). Where that id is the chunk's own
   * first record with the key, nothing older exists and that record is the original of the
   * chunk's later ones; only keys seen before the chunk (duplicates, replays: a few in a
   * hundred) are read in full, skipping records rejected at upload.
   */
  originals(records: readonly PendingRecord[]): Map<number, OriginalRecord> {
    const keys = records.map(cardIndexKey);
    const firstInChunk = new Map<string, PendingRecord>();
    records.forEach((r, i) => {
      const k = keys[i];
      if (k === null) return;
      const f = firstInChunk.get(k);
      if (!f || r.id < f.id) firstInChunk.set(k, r);
    });
    const out = new Map<number, OriginalRecord>();
    if (firstInChunk.size === 0) return out;
    const firsts = [...firstInChunk];
    const probe = JSON.stringify(
      firsts.map(([k, r]) => [k.slice(0, k.indexOf("|")), r.psn, r.atc]),
    );
    const lowest = new Map<number, number>();
    for (const row of this.#s.lowest.all(probe) as Row[]) {
      lowest.set(Number(row.i), Number(row.id));
    }
    const original = new Map<string, OriginalRecord | null>();
    firsts.forEach(([k, f], i) => {
      if (lowest.get(i) === f.id) original.set(k, pendingAsOriginal(f));
      else {
        const row = this.#s.first.get(f.cardHash, f.psn, f.atc) as Row | undefined;
        original.set(k, row ? originalRow(row) : null);
      }
    });
    records.forEach((r, i) => {
      const k = keys[i];
      const o = k === null ? null : original.get(k);
      if (o && o.id < r.id) out.set(r.id, o);
    });
    return out;
  }

  /** Writes verdicts (every record must be pending) inside the caller's transaction. */
  writeVerdicts(items: Items): void {
    const at = new Date().toISOString();
    const perBatch = new Map<number, number>();
    for (const { recordId, result } of items) {
      const r = this.#s.verify.get(JSON.stringify(result), at, ecBalanceOf(result), recordId) as
        | Row
        | undefined;
      if (!r) throw new RangeError(`record ${recordId} is not pending`);
      const b = Number(r.batch_id);
      perBatch.set(b, (perBatch.get(b) ?? 0) + 1);
    }
    for (const [b, n] of perBatch) {
      if (Number(this.#s.lower.run(n, b).changes) !== 1) {
        throw new RangeError(`batch ${b} has no pending work left to count down`);
      }
      this.#s.done.run(b);
    }
  }

  /** Runs `f` in a `BEGIN IMMEDIATE` transaction. */
  tx<T>(f: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const v = f();
      this.#db.exec("COMMIT");
      return v;
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  claim(owner: string, maxRecords: number, leaseMs: number): WorkClaim | null {
    if (typeof owner !== "string" || owner.length === 0 || owner.length > 200) {
      throw new TypeError("owner must be a non-empty string of at most 200 characters");
    }
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      throw new RangeError(`maxRecords must be a positive integer, got ${maxRecords}`);
    }
    if (!Number.isInteger(leaseMs) || leaseMs < 1) {
      throw new RangeError(`leaseMs must be a positive integer, got ${leaseMs}`);
    }
    const ids = this.tx(() => {
      const now = Date.now();
      const take: number[] = [];
      let n = 0, after = 0;
      for (let look = Math.min(64, maxRecords); n < maxRecords; look = Math.min(1000, look * 2)) {
        const cands = this.#s.cands.all(after, now, look) as Row[];
        for (const c of cands) {
          if (take.length > 0 && n + Number(c.pending) > maxRecords) {
            n = maxRecords;
            break;
          }
          take.push(Number(c.id));
          n += Number(c.pending);
        }
        if (cands.length < look) break;
        after = Number(cands[cands.length - 1].id);
      }
      for (const id of take) this.#s.lease.run(owner, now + leaseMs, id);
      return take;
    });
    if (ids.length === 0) return null;
    const records = (this.#s.records.all(JSON.stringify(ids)) as Row[]).map(pendingRow);
    return { owner, batchIds: ids, records };
  }

  complete(claim: WorkClaim, items: Items): void {
    const ids = JSON.stringify(claim.batchIds);
    this.tx(() => {
      const held = Number((this.#s.held.get(ids, claim.owner) as Row).n);
      if (held !== claim.batchIds.length) {
        throw new LeaseLostError(
          `verifier ${claim.owner}: the lease on ${claim.batchIds.length - held} of ` +
            `${claim.batchIds.length} batches passed to another verifier; nothing written`,
        );
      }
      this.writeVerdicts(items);
      this.#s.free.run(ids, claim.owner);
    });
  }

  release(claim: WorkClaim): void {
    this.#s.free.run(JSON.stringify(claim.batchIds), claim.owner);
  }
}

/**
 * Runs `fn` holding an exclusive `flock` on `DBPATH.lock-NAME` (created if needed). `wait`
 * false: a held lock is `LockBusyError` at once.
 */
export async function withFileLock<T>(
  dbPath: string,
  name: string,
  fn: () => Promise<T>,
  wait: boolean,
): Promise<T> {
  if (typeof name !== "string" || !/^[A-Za-z0-9._:-]{1,100}$/.test(name)) {
    throw new TypeError(`lock name must be 1-100 of [A-Za-z0-9._:-], got "${name}"`);
  }
  const file = await Deno.open(`${dbPath}.lock-${name.replaceAll(":", "_")}`, {
    create: true,
    write: true,
  });
  try {
    if (wait) await file.lock(true);
    else if (!(await file.tryLock(true))) throw new LockBusyError(name);
    try {
      return await fn();
    } finally {
      await file.unlock();
    }
  } finally {
    file.close();
  }
}

/** The EC balance column of a verdict: a safe non-negative integer, else NULL. */
function ecBalanceOf(result: VerificationResult): number | null {
  const v = result.ecBalance;
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null;
}
