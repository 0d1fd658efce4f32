/**
 * The PostgreSQL store (docs/scale.md): the `Store` contract for many upload servers and many
 * verifiers sharing one database, through the maintained `npm:postgres` client.
 *
 * - Durability: the server's `fsync`, `synchronous_commit` and `full_page_writes` are read back
 *   at open and anything that could lose an acknowledged commit is refused (`connect.ts`).
 * - Idempotency by constraint: a batch and its records are written by ONE statement (a CTE
 *   whose `INSERT … ON CONFLICT (terminal_id, batch_no) DO NOTHING` feeds the records' insert),
 *   so a batch is stored whole or not at all, and of two servers storing the same batch at once
 *   the second waits for the first's commit, inserts nothing and answers the stored receipt.
 * - Records are partitioned by settlement day (`schema.ts`).
 * - Verification work is leased per batch (`FOR UPDATE SKIP LOCKED`, `pg/claims.ts`); operator
 *   locks are session advisory locks, released by the server if the holder dies.
 */
import {
  asReplay,
  batchAad,
  cardIndexKey,
  type CardRecord,
  cardRecordOf,
  type IngestResult,
  type NewBatch,
  type OriginalRecord,
  pendingAsOriginal,
  type PendingRecord,
  type SealedBody,
  sinceProblem,
  type Store,
  type StoreCounts,
  type VerificationResult,
  type WorkClaim,
} from "./store.ts";
import { toHex } from "../hex.ts";
import {
  checkSettings,
  migrate,
  Partitions,
  pgClient,
  type PgOptions,
  type Sql,
  unavailable,
} from "./pg/connect.ts";
import { type Stamp, stampBatch } from "./pg/stamps.ts";
import { pgDenyListed, pgDenyListSince } from "./pg/deny.ts";
import type { UnsignedList } from "../denylist/signed.ts";
import type { DenyListedTap } from "../denylist/listed.ts";
import { claimPending, completeClaim, releaseClaim, withAdvisoryLock } from "./pg/claims.ts";
import {
  ORIGINAL_COLUMNS,
  originalOf,
  PENDING_COLUMNS,
  pendingOf,
  writeVerdicts,
} from "./pg/rows.ts";

/** Opens the store at `url` (checking settings and migrating); rejects as the contract says. */
export async function openPostgresStore(url: string, o: PgOptions = {}): Promise<PostgresStore> {
  const sql = pgClient(url, o);
  try {
    await checkSettings(sql);
    await migrate(sql);
  } catch (e) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw unavailable(e);
  }
  return new PostgresStore(sql);
}

const hex = (b: Uint8Array | null | undefined) => (b ? toHex(b) : null);

/**
 * The records of a batch as one JSON parameter (bytea as hex), with their stamps; sealed track 2
 * kept for ODA records only, as on SQLite (docs/clearing.md, "The two models").
 */
function recordsJson(batch: NewBatch, stamps: readonly Stamp[]): string {
  return JSON.stringify(batch.records.map((r, i) => ({
    d: stamps[i].settlementDay,
    td: stamps[i].tapDay,
    m: stamps[i].model,
    t2: stamps[i].model === "ODA" ? hex(r.track2Sealed) : null,
    seq: r.seq,
    t: r.tappedAt,
    line: r.line,
    vehicle: r.vehicle,
    stop: r.stop,
    fare: r.fare,
    ch: hex(r.cardHash),
    pm: r.panMasked,
    psn: r.psn,
    atc: r.atc,
    ac: hex(r.acKey),
    st: r.status,
    rc: r.reject?.code ?? null,
    rm: r.reject?.message ?? null,
    rp: r.reject?.path ?? null,
    i: r.index,
  })));
}

/** The PostgreSQL implementation of `Store`. */
export class PostgresStore implements Store {
  readonly #sql: Sql;
  readonly #partitions: Partitions;
  #closing: Promise<void> | null = null;

  constructor(sql: Sql) {
    this.#sql = sql;
    this.#partitions = new Partitions(sql);
  }

  /** The client, for tests and maintenance tools only. */
  get sql(): Sql {
    return this.#sql;
  }

  async #run<T>(f: () => Promise<T>): Promise<T> {
    if (this.#closing) throw unavailable(new Error("store is closed"));
    try {
      return await f();
    } catch (e) {
      throw unavailable(e);
    }
  }

  ingest(batch: NewBatch): Promise<IngestResult> {
    if (!batch.receipt.endsWith('"replayed":false}')) {
      return Promise.reject(new TypeError('batch.receipt must end with "replayed":false}'));
    }
    return this.#run(async () => {
      const stamps = await stampBatch(this.#sql, batch);
      const json = recordsJson(batch, stamps);
      const pending = batch.records.filter((r) => r.status === "pending").length;
      // Partitions are made in the writers' lock order (`Partitions.ensure`); should a deadlock
      // still abort this statement (40P01), nothing was written and it is tried again.
      const insert = async () => {
        await this.#partitions.ensure(stamps.map((x) => x.settlementDay));
        return await this.#sql`
        WITH b AS (
          INSERT INTO batches (terminal_id, batch_no, merchant_id, deny_list_version, digest,
            body_sealed, body_bytes, record_count, amount, receipt, received_at, pending)
          VALUES (${batch.terminalId}, ${batch.batchNo}, ${batch.merchantId},
            ${batch.denyListVersion}, ${batch.digest}, ${batch.body}, ${batch.bodyBytes},
            ${batch.records.length}, ${batch.amount}, ${batch.receipt}, ${batch.receivedAt},
            ${pending})
          ON CONFLICT (terminal_id, batch_no) DO NOTHING
          RETURNING id),
        r AS (
          INSERT INTO records (batch_id, settlement_day, tap_day, model, track2_sealed,
            terminal_id, batch_no, seq, tapped_at, line, vehicle, stop, fare, card_hash,
            pan_masked, psn, atc, ac_key, status, reject_code, reject_message, reject_path,
            body_index)
          SELECT b.id, x.d, x.td, x.m, decode(x.t2, 'hex'), ${batch.terminalId}, ${batch.batchNo},
            x.seq, x.t, x.line, x.vehicle, x.stop, x.fare, decode(x.ch, 'hex'), x.pm, x.psn,
            x.atc, decode(x.ac, 'hex'), x.st, x.rc, x.rm, x.rp, x.i
          FROM b CROSS JOIN jsonb_to_recordset(${json}::text::jsonb) AS x(d text, td text, m text,
            t2 text, seq int, t text, line text, vehicle text, stop text, fare int, ch text,
            pm text, psn text, atc int, ac text, st text, rc text, rm text, rp text, i int)
          RETURNING 1)
        SELECT (SELECT id FROM b) AS id, (SELECT count(*) FROM r) AS n`;
      };
      let row;
      for (let k = 0;; k++) {
        try {
          [row] = await insert();
          break;
        } catch (e) {
          if (k < 5 && (e as { code?: string }).code === "40P01") continue;
          throw e;
        }
      }
      if (row.id !== null) return { kind: "stored", receipt: batch.receipt };
      const [found] = await this.#sql`SELECT digest, receipt FROM batches
        WHERE terminal_id = ${batch.terminalId} AND batch_no = ${batch.batchNo}`;
      if (!found) throw new Error("batch neither stored nor found");
      if (found.digest === batch.digest) {
        return { kind: "replayed", receipt: asReplay(String(found.receipt)) };
      }
      return { kind: "conflict", storedDigest: String(found.digest) };
    });
  }

  batchDigest(terminalId: string, batchNo: number): Promise<string | null> {
    return this.#run(async () => {
      const [r] = await this.#sql`SELECT digest FROM batches
        WHERE terminal_id = ${terminalId} AND batch_no = ${batchNo}`;
      return r ? String(r.digest) : null;
    });
  }

  receipt(terminalId: string, batchNo: number): Promise<string | null> {
    return this.#run(async () => {
      const [r] = await this.#sql`SELECT receipt FROM batches
        WHERE terminal_id = ${terminalId} AND batch_no = ${batchNo}`;
      return r ? asReplay(String(r.receipt)) : null;
    });
  }

  batchBody(batchId: number): Promise<SealedBody | null> {
    return this.#run(async () => {
      const [r] = await this.#sql`SELECT terminal_id, batch_no, digest, body_sealed
        FROM batches WHERE id = ${batchId}`;
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
    return this.#run(async () => {
      const rows = await this.#sql`SELECT ${this.#sql.unsafe(PENDING_COLUMNS)} FROM records
        WHERE status = 'pending' AND id > ${afterId} ORDER BY id LIMIT ${limit}`;
      return rows.map(pendingOf);
    });
  }

  recordVerification(recordId: number, result: VerificationResult): Promise<void> {
    return this.recordVerifications([{ recordId, result }]);
  }

  recordVerifications(
    items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
  ): Promise<void> {
    if (!Array.isArray(items)) return Promise.reject(new TypeError("items must be an array"));
    if (items.length === 0) return Promise.resolve();
    return this.#run(() => this.#sql.begin((tx) => writeVerdicts(tx, items)).then(() => {}));
  }

  /** One query for the whole chunk: the earliest accepted record of each distinct card key. */
  originals(records: readonly PendingRecord[]): Promise<Map<number, OriginalRecord>> {
    const keys = records.map(cardIndexKey);
    // records come in id order: the first with a key is the chunk's earliest
    const distinct = new Map<string, PendingRecord>();
    records.forEach((r, i) => {
      const k = keys[i];
      if (k !== null && !distinct.has(k)) distinct.set(k, r);
    });
    if (distinct.size === 0) return Promise.resolve(new Map());
    return this.#run(async () => {
      const probe = [...distinct.values()].map((r, i) => ({
        i,
        h: toHex(r.cardHash!),
        p: r.psn,
        a: r.atc,
        o: r.id,
      }));
      const cols = this.#sql.unsafe(ORIGINAL_COLUMNS);
      // only accepted records older than the chunk's earliest with the key come back (duplicates
      // and replays: a few in a hundred); for the rest that earliest record is the original
      const rows = await this.#sql`SELECT k.i AS key_i, o.*
        FROM jsonb_to_recordset(${JSON.stringify(probe)}::text::jsonb)
          AS k(i int, h text, p text, a int, o bigint)
        CROSS JOIN LATERAL ((SELECT ${cols} FROM records
          WHERE card_hash = decode(k.h, 'hex') AND psn = k.p AND atc = k.a
            AND id < k.o AND status <> 'rejected' ORDER BY id LIMIT 1)
          UNION ALL
          (SELECT ${cols} FROM records
          WHERE card_hash = decode(k.h, 'hex') AND psn IS NULL AND k.p IS NULL AND atc = k.a
            AND id < k.o AND status <> 'rejected' ORDER BY id LIMIT 1)) AS o`;
      const byProbe = new Map(rows.map((r) => [Number(r.key_i), originalOf(r)]));
      const first = new Map(
        [...distinct].map(([k, f], i) => [k, byProbe.get(i) ?? pendingAsOriginal(f)]),
      );
      const out = new Map<number, OriginalRecord>();
      records.forEach((r, i) => {
        const o = keys[i] === null ? undefined : first.get(keys[i]!);
        if (o && o.id < r.id) out.set(r.id, o);
      });
      return out;
    });
  }

  claimPending(owner: string, maxRecords: number, leaseMs: number): Promise<WorkClaim | null> {
    return this.#run(() => claimPending(this.#sql, owner, maxRecords, leaseMs));
  }

  completeClaim(
    claim: WorkClaim,
    items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
  ): Promise<void> {
    return this.#run(() => completeClaim(this.#sql, claim, items));
  }

  releaseClaim(claim: WorkClaim): Promise<void> {
    return this.#run(() => releaseClaim(this.#sql, claim));
  }

  withLock<T>(name: string, fn: () => Promise<T>, options: { wait?: boolean } = {}): Promise<T> {
    return withAdvisoryLock(this.#sql, name, fn, options.wait ?? false);
  }

  sameCard(cardHash: Uint8Array, psn: string | null, atc: number): Promise<CardRecord[]> {
    if (!(cardHash instanceof Uint8Array)) {
      return Promise.reject(new TypeError("cardHash must be a Uint8Array"));
    }
    if (!Number.isInteger(atc)) return Promise.reject(new RangeError("atc must be an integer"));
    return this.#run(async () => {
      const rows = await this.#sql`SELECT id, terminal_id, batch_no, seq, batch_id, body_index,
        status FROM records WHERE card_hash = ${cardHash} AND atc = ${atc}
        AND psn IS NOT DISTINCT FROM ${psn} ORDER BY id`;
      return rows.map(cardRecordOf);
    });
  }

  denyListSince(since: number): Promise<UnsignedList> {
    const bad = sinceProblem(since);
    if (bad) return Promise.reject(bad);
    return this.#run(() => pgDenyListSince(this.#sql, since));
  }

  denyListed(recordIds: readonly number[]): Promise<DenyListedTap[]> {
    if (!Array.isArray(recordIds)) return Promise.reject(new TypeError("recordIds: an array"));
    return this.#run(() => pgDenyListed(this.#sql, recordIds));
  }

  counts(): Promise<StoreCounts> {
    return this.#run(async () => {
      const [r] = await this.#sql`SELECT (SELECT count(*) FROM batches) AS batches,
        (SELECT count(*) FROM records) AS records,
        (SELECT count(*) FROM records WHERE status = 'pending') AS pending,
        (SELECT count(*) FROM records WHERE status = 'rejected') AS rejected`;
      return {
        batches: Number(r.batches),
        records: Number(r.records),
        pending: Number(r.pending),
        rejected: Number(r.rejected),
      };
    });
  }

  /**
   * The store's own invariants (PostgreSQL keeps its pages checked itself): every batch has as
   * many records as it says, and as many pending records as its pending count.
   */
  integrityCheck(): Promise<string> {
    return this.#run(async () => {
      const bad = await this.#sql`SELECT b.id, b.record_count, b.pending,
          count(r.id) AS n, count(r.id) FILTER (WHERE r.status = 'pending') AS p
        FROM batches b LEFT JOIN records r ON r.batch_id = b.id
        GROUP BY b.id HAVING count(r.id) <> b.record_count
          OR count(r.id) FILTER (WHERE r.status = 'pending') <> b.pending
        LIMIT 5`;
      if (bad.length === 0) return "ok";
      return bad.map((r) =>
        `batch ${r.id}: ${r.n}/${r.record_count} records, ${r.p}/${r.pending} pending`
      ).join("; ");
    });
  }

  /** Closes the pool once the queries under way have finished. */
  closeAsync(): Promise<void> {
    return this.#closing ??= this.#sql.end({ timeout: 5 });
  }

  close(): void {
    this.closeAsync();
  }
}
