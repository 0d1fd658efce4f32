/**
 * Store-mode verification (docs/cli.md "verify every pending record in the store"): every
 * pending record is verified through the engine's kernel batch path on parallel workers (each a
 * Deno `Worker` with its own kernel instance), duplicates and replays are found through the
 * store's card index (same card hash, PSN and ATC) across batches and terminals, and each verdict
 * is recorded in the store. A second run finds nothing pending.
 *
 * The rules:
 * - A record's "original" is the record with the lowest store id (received first) among the
 *   accepted records (pending or verified; records rejected at upload do not count) with the same
 *   card hash, PSN and ATC; the rule itself (same 9F26 and 9F02: `DUPLICATE`, else
 *   `REPLAY_SUSPECT`) is `core/emv/duplicates.ts`, as within a file.
 * - The workers never see two records with the same card and ATC in one engine call (each chunk
 *   is split into sub-batches with distinct card keys), so their statuses carry no in-call
 *   duplicate finding; the store-wide finding is then combined by the engine's precedence.
 * - Duplicates are found set-wise: one `Store.originals` call per chunk, and 9F26 ‖ 9F02 kept at
 *   ingest tell a duplicate from a replay without reopening the original's body.
 * - Verdicts of a chunk are written in one durable transaction.
 * - Work is claimed from the store (whole batches leased to this run, `Store.claimPending`), so
 *   several verify processes, on any machines, share the pending records; a killed verifier's
 *   batches are taken over when its lease runs out (docs/scale.md, "Several verifiers").
 */
import type { CapkRecord } from "./keys/store.ts";
import type { IssuerKey } from "./emv/issuer_keys.ts";
import type { IssuerConfig } from "./emv/profiles.ts";
import {
  precedence,
  type RecordResult,
  type RecordStatus,
  STATUS_MESSAGES,
  type TapRecord,
} from "./emv/verify.ts";
import { flattenValues, parseTlv } from "./tlv/tree.ts";
import { fromHex } from "./hex.ts";
import { acAmountKey, duplicateNote, duplicateStatus } from "./emv/duplicates.ts";
import type { PanProtector } from "./store/pan.ts";
import {
  cardIndexKey,
  type CardRecord,
  LeaseLostError,
  type OriginalRecord,
  type PendingRecord,
  type Store,
  type VerificationResult,
  type WorkClaim,
} from "./store/store.ts";
import type { DenyListedTap } from "./denylist/listed.ts";

/** Keys and CA public keys a verification run hands to its workers. */
export interface VerifyKeys {
  /** Active IMK-AC keys (secret: zeroed by the workers when they end). */
  readonly imkAc: readonly IssuerKey[];
  /** Active IMK-MAC keys for the IDD MAC (same care). */
  readonly imkMac?: readonly IssuerKey[];
  /** Issuer profile configurations (prefix → config). */
  readonly configs: readonly (readonly [string, IssuerConfig])[];
  /** CA public keys as the key store lists them (revoked ones are skipped by the workers). */
  readonly capks: readonly CapkRecord[];
}

/** Options of a store verification run. */
export interface StoreVerifyOptions {
  /** Parallel workers (default: one per core). */
  readonly workers?: number;
  /** Pending records read and committed per step (default 2,000). */
  readonly chunk?: number;
  /** Called after each committed chunk. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Who holds the claims (default: `verify:<pid>:<random>`). */
  readonly owner?: string;
  /** How long a claim is leased before another verifier may take it over (default 60 s). */
  readonly leaseMs?: number;
}

/** What a run did. */
export interface StoreVerifySummary {
  /** Records verified by this run. */
  records: number;
  status: Record<string, number>;
  cryptogram: Record<string, number>;
  /** Cryptograms icfare checked (ok, mismatch). */
  cryptogramChecked: number;
  /** Cryptograms left to the issuer (no-key, unsupported). */
  leftToIssuer: number;
  oda: Record<string, number>;
  /** Duplicates and replays whose original is in another batch. */
  acrossBatches: number;
  workers: number;
  seconds: number;
  /** Records verified per second. */
  perSecond: number;
}

/** The verdict stored per record (`VerificationResult.detail`); never a PAN or a key. */
export interface StoredVerdictDetail {
  cryptogram: string;
  oda: string;
  cryptogramType?: string;
  profile?: string;
  keyId?: string;
  odaMethod?: string;
  odaCheck?: string;
  odaFormat?: string;
  atc?: string;
  message: string;
  notes?: string[];
  idd?: RecordResult["idd"];
  duplicateOf?: { terminalId: string; batchNo: number; seq: number };
  /** The deny-list version the batch reported, the one that listed the card, and why. */
  denyListed?: { reported: number; listedIn: number; reason: string };
}

/** Messages to and from `verify_worker.ts`. */
export type WorkerRequest =
  | { kind: "init"; keys: VerifyKeys }
  | { kind: "job"; id: number; records: TapRecord[] }
  | { kind: "end" };
export type WorkerReply =
  | { kind: "ready" }
  | { kind: "done"; id: number; results: RecordResult[] }
  | { kind: "error"; id?: number; message: string };

type BodyRecord = { icc: string; oda?: { tlv: string; staticData: string }; fare: number };

/** Opened batch bodies, a few at a time (originals of duplicates sit in older batches). */
class BodyCache {
  readonly #m = new Map<number, BodyRecord[]>();
  constructor(readonly store: Store, readonly pan: PanProtector, readonly max = 64) {}

  async records(batchId: number): Promise<BodyRecord[]> {
    const hit = this.#m.get(batchId);
    if (hit) {
      this.#m.delete(batchId);
      this.#m.set(batchId, hit);
      return hit;
    }
    const sealed = await this.store.batchBody(batchId);
    if (!sealed) throw new Error(`batch ${batchId} is missing from the store`);
    const body = JSON.parse(
      new TextDecoder().decode(await this.pan.open(sealed.sealed, sealed.aad)),
    );
    const recs = body.records as BodyRecord[];
    this.#m.set(batchId, recs);
    if (this.#m.size > this.max) this.#m.delete(this.#m.keys().next().value!);
    return recs;
  }
}

/** 9F26 ‖ 9F02 of chip data (hex), what tells a duplicate from a replay. */
function acAmountOf(iccHex: string): string {
  const p = parseTlv(fromHex(iccHex, "icc"));
  if (!p.ok) return "";
  const v = flattenValues(p.nodes);
  return acAmountKey(v.get("9F26"), v.get("9F02"));
}

/** Splits records into groups in which no two share a card key, keeping order within each. */
export function splitDistinct<T>(items: readonly T[], key: (t: T) => string | null): T[][] {
  const groups: { items: T[]; keys: Set<string> }[] = [];
  for (const it of items) {
    const k = key(it);
    let g = k === null ? groups[0] : groups.find((x) => !x.keys.has(k));
    if (!g) groups.push(g = { items: [], keys: new Set() });
    g.items.push(it);
    if (k !== null) g.keys.add(k);
  }
  return groups.map((g) => g.items);
}

type Waiting = { resolve: (r: RecordResult[]) => void; reject: (e: Error) => void };

/**
 * A pool of verification workers, each with its own kernel instance. A job is posted at once to
 * the worker with the fewest jobs in hand, so a worker finds the next job queued when it ends
 * one, however busy the main thread is meanwhile (committing, claiming, opening bodies).
 */
class Pool {
  readonly #workers: { w: Worker; jobs: Map<number, Waiting> }[] = [];
  #next = 1;

  static async start(n: number, keys: VerifyKeys): Promise<Pool> {
    const pool = new Pool();
    try {
      await Promise.all(Array.from({ length: n }, () => pool.#spawn(keys)));
    } catch (e) {
      pool.terminate();
      throw e;
    }
    return pool;
  }

  #spawn(keys: VerifyKeys): Promise<void> {
    const w = new Worker(new URL("./verify_worker.ts", import.meta.url).href, { type: "module" });
    const slot = { w, jobs: new Map<number, Waiting>() };
    this.#workers.push(slot);
    return new Promise((resolve, reject) => {
      w.onmessage = (ev: MessageEvent<WorkerReply>) => {
        if (ev.data.kind !== "ready") {
          reject(new Error(`verify worker: ${JSON.stringify(ev.data)}`));
          return;
        }
        w.onmessage = (ev: MessageEvent<WorkerReply>) => {
          const m = ev.data;
          const job = m.kind !== "ready" && m.id !== undefined ? slot.jobs.get(m.id) : undefined;
          if (m.kind === "done" && job) {
            slot.jobs.delete(m.id);
            job.resolve(m.results);
          } else {
            Pool.#fail(slot, `verify worker: ${"message" in m ? m.message : m.kind}`);
          }
        };
        w.onerror = (e) => {
          e.preventDefault();
          Pool.#fail(slot, `verify worker failed: ${e.message}`);
        };
        resolve();
      };
      w.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`verify worker failed to start: ${e.message}`));
      };
      w.postMessage({ kind: "init", keys } satisfies WorkerRequest);
    });
  }

  /** Every job in the worker's hands fails (its replies can no longer be trusted in order). */
  static #fail(slot: { jobs: Map<number, Waiting> }, message: string): void {
    for (const job of slot.jobs.values()) job.reject(new Error(message));
    slot.jobs.clear();
  }

  run(records: TapRecord[]): Promise<RecordResult[]> {
    const slot = this.#workers.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
    const id = this.#next++;
    return new Promise<RecordResult[]>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.w.postMessage({ kind: "job", id, records } satisfies WorkerRequest);
    });
  }

  /** Asks every worker to zero its keys and end. */
  async end(): Promise<void> {
    await Promise.all(this.#workers.map(({ w }) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => (w.terminate(), resolve()), 5000);
        w.onmessage = () => (clearTimeout(t), w.terminate(), resolve());
        w.onerror = (e) => (e.preventDefault(), clearTimeout(t), w.terminate(), resolve());
        w.postMessage({ kind: "end" } satisfies WorkerRequest);
      })
    ));
  }

  terminate(): void {
    for (const { w } of this.#workers) w.terminate();
  }
}

function count(m: Record<string, number>, k: string) {
  m[k] = (m[k] ?? 0) + 1;
}

/**
 * Verifies every pending record of `store` and records each verdict. `pan` opens the sealed
 * batch bodies (the card-data key of the key store). Throws on storage or worker failure; the
 * chunks committed before stay verified and a rerun continues with the rest.
 */
export async function verifyStore(
  store: Store,
  pan: PanProtector,
  keys: VerifyKeys,
  options: StoreVerifyOptions = {},
): Promise<StoreVerifySummary> {
  const workers = options.workers ?? navigator.hardwareConcurrency ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new RangeError(`workers must be an integer 1..64, got ${workers}`);
  }
  const chunk = options.chunk ?? 2000;
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(`chunk must be a positive integer, got ${chunk}`);
  }
  const t0 = performance.now();
  const total = (await store.counts()).pending;
  const summary = emptySummary(workers);
  if (total === 0) return summary;
  const bodies = new BodyCache(store, pan);
  const pool = await Pool.start(Math.min(workers, Math.ceil(total / 50)), keys);
  summary.workers = Math.min(workers, Math.ceil(total / 50));
  const owner = options.owner ?? `verify:${Deno.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const leaseMs = options.leaseMs ?? 60_000;
  const run: PageRun = { store, bodies, pool, summary };
  // Three stages overlap. A page is posted to the workers as soon as it is claimed and opened,
  // so the workers find it queued behind the page they are verifying; meanwhile the main thread
  // commits the page before and claims the one after. (SQLite calls run synchronously when made:
  // made while the workers' queues are empty, they would leave the workers idle.)
  type Posted = { claim: WorkClaim; page: StoreVerifySummary; verifying: Promise<VerdictItem[]> };
  const post = (p: Prepared): Posted => {
    const page = emptySummary(summary.workers);
    const verifying = verifyPage({ ...run, summary: page }, p);
    verifying.catch(() => {}); // awaited in turn; not unhandled meanwhile
    return { claim: p.claim, page, verifying };
  };
  const claimNext = () =>
    store.claimPending(owner, chunk, leaseMs).then((c) => c && prepare(run, c)).then((p) =>
      p && post(p)
    );
  let next: Promise<Posted | null> = claimNext();
  /** The page verified last, its verdicts not yet handed to the store. */
  let verified: { claim: WorkClaim; items: VerdictItem[]; page: StoreVerifySummary } | null = null;
  let commit: Promise<void> = Promise.resolve();
  let commitError: unknown = null;
  const commitVerified = async () => {
    await commit;
    if (commitError) throw commitError;
    if (!verified) return;
    const { claim, items, page } = verified;
    verified = null;
    commit = store.completeClaim(claim, items).then(() => {
      addSummary(summary, page);
      options.onProgress?.(summary.records, total);
    }, (e) => {
      // a lapsed lease: another verifier has these batches now, and nothing was written
      if (!(e instanceof LeaseLostError)) commitError = e;
    });
  };
  try {
    for (;;) {
      const cur = await next;
      if (!cur) {
        await commitVerified();
        await commit;
        if (commitError) throw commitError;
        // what is left is leased to other verifiers: wait for them, or for their leases to lapse
        if ((await store.counts()).pending === 0) break;
        await new Promise((r) => setTimeout(r, Math.min(leaseMs, 1000)));
        next = claimNext();
        continue;
      }
      let items;
      try {
        next = claimNext();
        await commitVerified();
        items = await cur.verifying;
      } catch (e) {
        await store.releaseClaim(cur.claim).catch(() => {});
        throw e;
      }
      verified = { claim: cur.claim, items, page: cur.page };
    }
    await pool.end();
  } catch (e) {
    pool.terminate();
    await next.then((c) => c && store.releaseClaim(c.claim)).catch(() => {});
    if (verified) await store.releaseClaim(verified.claim).catch(() => {});
    await commit;
    throw e;
  }
  summary.seconds = (performance.now() - t0) / 1000;
  summary.perSecond = summary.seconds > 0 ? Math.round(summary.records / summary.seconds) : 0;
  return summary;
}

/** A record's verdict as handed to the store. */
type VerdictItem = { recordId: number; result: VerificationResult };

/** What verifying one page of pending records needs. */
interface PageRun {
  readonly store: Store;
  readonly bodies: BodyCache;
  readonly pool: Pool;
  readonly summary: StoreVerifySummary;
}

/** A claim with its records' evidence opened and their originals found: ready for the workers. */
interface Prepared {
  readonly claim: WorkClaim;
  readonly taps: Map<number, TapRecord>;
  readonly originals: Map<number, OriginalRecord>;
  /** The records whose card the batch's reported deny-list version listed (DENYLISTED). */
  readonly listed: Map<number, DenyListedTap>;
}

/**
 * Opens the evidence of a claim's records and finds their originals and the deny-listed ones
 * (one store call each, set-wise: docs/denylist.md).
 */
async function prepare(run: PageRun, claim: WorkClaim): Promise<Prepared> {
  const originals = run.store.originals(claim.records);
  const listed = run.store.denyListed(claim.records.map((r) => r.id));
  const opened = await openBodies(run.bodies, claim.records.map((r) => r.batchId));
  const taps = new Map<number, TapRecord>();
  for (const r of claim.records) {
    const b = opened.get(r.batchId)![r.index];
    if (!b) throw new Error(`record ${r.id}: index ${r.index} outside its batch`);
    taps.set(r.id, { seq: r.seq, fare: r.fare, icc: b.icc, oda: b.oda });
  }
  const byRecord = new Map((await listed).map((t) => [t.recordId, t]));
  return { claim, taps, originals: await originals, listed: byRecord };
}

/** The opened bodies of the given batches (each opened once, the store read concurrently). */
async function openBodies(
  bodies: BodyCache,
  batchIds: readonly number[],
): Promise<Map<number, BodyRecord[]>> {
  const ids = [...new Set(batchIds)];
  const recs = await Promise.all(ids.map((id) => bodies.records(id)));
  return new Map(ids.map((id, i) => [id, recs[i]]));
}

/** A summary with nothing counted yet (a run's, or one page's, added once it is committed). */
function emptySummary(workers: number): StoreVerifySummary {
  return {
    records: 0,
    status: {},
    cryptogram: {},
    cryptogramChecked: 0,
    leftToIssuer: 0,
    oda: {},
    acrossBatches: 0,
    workers,
    seconds: 0,
    perSecond: 0,
  };
}

/** Adds a committed page's counts (every number and every count map) into the run's. */
function addSummary(into: StoreVerifySummary, page: StoreVerifySummary): void {
  const to = into as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(page)) {
    if (k === "workers" || k === "seconds" || k === "perSecond") continue;
    if (typeof v === "number") to[k] = Number(to[k] ?? 0) + v;
    else if (v && typeof v === "object") {
      const m = (to[k] ??= {}) as Record<string, number>;
      for (const [kk, n] of Object.entries(v as Record<string, number>)) m[kk] = (m[kk] ?? 0) + n;
    }
  }
}

/** Verifies one prepared page on the workers; the verdicts to record. */
async function verifyPage(
  run: PageRun,
  prepared: Prepared,
): Promise<VerdictItem[]> {
  const page = prepared.claim.records;
  const taps = prepared.taps;
  // Split for the workers: sub-batches of ~chunk/(2·workers) records, no card key twice.
  const size = Math.max(50, Math.ceil(page.length / (2 * run.summary.workers)));
  const jobs: PendingRecord[][] = [];
  for (const g of splitDistinct(page, cardIndexKey)) {
    for (let i = 0; i < g.length; i += size) jobs.push(g.slice(i, i + size));
  }
  const done = await Promise.all(jobs.map((j) => run.pool.run(j.map((r) => taps.get(r.id)!))));
  // originals stored before 9F26 ‖ 9F02 were kept at ingest: their bodies, opened once
  const older = await openBodies(
    run.bodies,
    [...prepared.originals.values()].filter((o) => !o.acKey).map((o) => o.batchId),
  );
  const items: VerdictItem[] = [];
  for (let j = 0; j < jobs.length; j++) {
    for (let i = 0; i < jobs[j].length; i++) {
      const rec = jobs[j][i];
      const res = done[j][i];
      if (res.seq !== rec.seq) throw new Error(`verify worker answered out of order`);
      const dup = duplicateFinding(
        older,
        rec,
        prepared.originals.get(rec.id),
        taps.get(rec.id)!.icc,
      );
      const result = storedVerdict(res, dup, prepared.listed.get(rec.id));
      if (dup && dup.of.batchId !== rec.batchId) run.summary.acrossBatches++;
      items.push({ recordId: rec.id, result });
      run.summary.records++;
      count(run.summary.status, result.status);
      count(run.summary.cryptogram, res.cryptogram);
      if (res.cryptogram === "ok" || res.cryptogram === "mismatch") run.summary.cryptogramChecked++;
      else run.summary.leftToIssuer++;
      count(run.summary.oda, res.oda);
    }
  }
  return items;
}

/** The verdict stored for a record: the worker's result with the store-wide duplicate finding. */
function storedVerdict(
  res: RecordResult,
  dup: { status: RecordStatus; of: CardRecord } | null,
  listed?: DenyListedTap,
): { status: RecordStatus; detail: Record<string, unknown>; ecBalance?: number } {
  const found: RecordStatus[] = [res.status];
  if (dup) found.push(dup.status);
  if (listed) found.push("DENYLISTED");
  const status = precedence(found);
  const notes = res.message.startsWith(STATUS_MESSAGES[res.status])
    ? res.message.slice(STATUS_MESSAGES[res.status].length)
    : `; ${res.message}`;
  const detail: StoredVerdictDetail = {
    cryptogram: res.cryptogram,
    oda: res.oda,
    message: STATUS_MESSAGES[status] + notes +
      (dup
        ? `; ${duplicateNote(`${dup.of.terminalId}/${dup.of.batchNo} seq ${dup.of.seq}`)}`
        : "") +
      (listed ? `; ${listed.reason} on the deny list since version ${listed.listedIn}` : ""),
  };
  if (res.cryptogramType) detail.cryptogramType = res.cryptogramType;
  if (res.profile) detail.profile = res.profile;
  if (res.keyId) detail.keyId = res.keyId;
  if (res.odaMethod) detail.odaMethod = res.odaMethod;
  if (res.odaCheck) detail.odaCheck = res.odaCheck;
  if (res.odaFormat) detail.odaFormat = res.odaFormat;
  if (res.atc) detail.atc = res.atc;
  if (res.notes) detail.notes = res.notes;
  if (res.idd) detail.idd = res.idd;
  if (listed) {
    detail.denyListed = {
      reported: listed.reported,
      listedIn: listed.listedIn,
      reason: listed.reason,
    };
  }
  if (dup) {
    detail.duplicateOf = {
      terminalId: dup.of.terminalId,
      batchNo: dup.of.batchNo,
      seq: dup.of.seq,
    };
  }
  const ec = res.idd?.ecBalance;
  return { status, detail: { ...detail }, ...(ec !== undefined ? { ecBalance: ec } : {}) };
}

/** 9F26 ‖ 9F02 as stored at ingest, in the form of `acAmountKey` (9F02 is its last 6 bytes). */
function acKeyText(k: Uint8Array): string {
  return acAmountKey(k.subarray(0, k.length - 6), k.subarray(k.length - 6));
}

/**
 * DUPLICATE / REPLAY_SUSPECT against the earliest accepted record with the same card key (found
 * for the whole chunk by `Store.originals`). 9F26 ‖ 9F02 come from the store; only records
 * stored before it kept them are read from their bodies (`older`, opened for the page).
 */
function duplicateFinding(
  older: ReadonlyMap<number, BodyRecord[]>,
  rec: PendingRecord,
  first: OriginalRecord | undefined,
  iccHex: string,
): { status: RecordStatus; of: CardRecord } | null {
  if (!first) return null;
  let orig: string;
  if (first.acKey) orig = acKeyText(first.acKey);
  else {
    const o = older.get(first.batchId)?.[first.index];
    if (!o) throw new Error(`record ${first.id}: index ${first.index} outside its batch`);
    orig = acAmountOf(o.icc);
  }
  const own = rec.acKey ? acKeyText(rec.acKey) : acAmountOf(iccHex);
  return { status: duplicateStatus(orig, own), of: first };
}
