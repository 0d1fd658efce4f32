/**
 * The SQLite store on a worker thread: the same `Store` contract, with the connection, the group
 * commit and every fsync on their own thread so the server keeps parsing and answering while a
 * commit waits for the disk. A reply comes only after the worker's COMMIT returned.
 */
import {
  type CardRecord,
  type IngestResult,
  LeaseLostError,
  type NewBatch,
  type OriginalRecord,
  type PendingRecord,
  type SealedBody,
  type Store,
  StoreConfigError,
  type StoreCounts,
  StoreUnavailableError,
  type VerificationResult,
  type WorkClaim,
} from "./store.ts";
import type { SqliteStoreOptions } from "./sqlite.ts";
import { withFileLock } from "./sqlite_claims.ts";
import type { UnsignedList } from "../denylist/signed.ts";
import type { DenyListedTap } from "../denylist/listed.ts";

type Reply = { id: number; ok: true; value: unknown } | {
  id: number;
  ok: false;
  name: string;
  message: string;
};

function revive(r: Extract<Reply, { ok: false }>): Error {
  switch (r.name) {
    case "StoreConfigError":
      return new StoreConfigError(r.message);
    case "StoreUnavailableError":
      return new StoreUnavailableError(r.message);
    case "LeaseLostError":
      return new LeaseLostError(r.message);
    case "RangeError":
      return new RangeError(r.message);
    case "TypeError":
      return new TypeError(r.message);
    default:
      // Anything unexpected from the storage thread means the store cannot be trusted now.
      return new StoreUnavailableError(`storage unavailable: ${r.name}: ${r.message}`);
  }
}

/** `Store` backed by a worker that owns the SQLite connection. */
export class WorkerStore implements Store {
  readonly #worker: Worker;
  readonly #waiting = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  #next = 1;
  #closed = false;
  #path = "";

  private constructor() {
    this.#worker = new Worker(new URL("./sqlite_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (ev: MessageEvent<Reply>) => {
      const r = ev.data;
      const w = this.#waiting.get(r.id);
      if (!w) return;
      this.#waiting.delete(r.id);
      if (r.ok) w.resolve(r.value);
      else w.reject(revive(r));
    };
    this.#worker.onerror = (ev) => {
      ev.preventDefault();
      const e = new StoreUnavailableError(`storage thread failed: ${ev.message}`);
      for (const w of this.#waiting.values()) w.reject(e);
      this.#waiting.clear();
    };
  }

  /** Opens the store at `path` on a new worker; rejects as `openSqliteStore` would throw. */
  static async open(
    path: string,
    options: Pick<SqliteStoreOptions, "busyTimeoutMs" | "tempStore" | "cacheMiB"> = {},
  ): Promise<WorkerStore> {
    const s = new WorkerStore();
    s.#path = path;
    try {
      await s.#call("open", [path, options.busyTimeoutMs, options.tempStore, options.cacheMiB]);
    } catch (e) {
      s.#worker.terminate();
      throw e;
    }
    return s;
  }

  #call<T>(method: string, args: unknown[]): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError("store is closed"));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  ingest(batch: NewBatch): Promise<IngestResult> {
    return this.#call("ingest", [batch]);
  }
  batchDigest(terminalId: string, batchNo: number): Promise<string | null> {
    return this.#call("batchDigest", [terminalId, batchNo]);
  }
  receipt(terminalId: string, batchNo: number): Promise<string | null> {
    return this.#call("receipt", [terminalId, batchNo]);
  }
  batchBody(batchId: number): Promise<SealedBody | null> {
    return this.#call("batchBody", [batchId]);
  }
  pendingRecords(limit: number, afterId?: number): Promise<PendingRecord[]> {
    return this.#call("pendingRecords", [limit, afterId]);
  }
  recordVerification(recordId: number, result: VerificationResult): Promise<void> {
    return this.#call("recordVerification", [recordId, result]);
  }
  recordVerifications(
    items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
  ): Promise<void> {
    return this.#call("recordVerifications", [items]);
  }
  sameCard(cardHash: Uint8Array, psn: string | null, atc: number): Promise<CardRecord[]> {
    return this.#call("sameCard", [cardHash, psn, atc]);
  }
  denyListed(recordIds: readonly number[]): Promise<DenyListedTap[]> {
    return this.#call("denyListed", [recordIds]);
  }
  denyListSince(since: number): Promise<UnsignedList> {
    return this.#call("denyListSince", [since]);
  }
  originals(records: readonly PendingRecord[]): Promise<Map<number, OriginalRecord>> {
    return this.#call("originals", [records]);
  }
  claimPending(owner: string, maxRecords: number, leaseMs: number): Promise<WorkClaim | null> {
    return this.#call("claimPending", [owner, maxRecords, leaseMs]);
  }
  completeClaim(
    claim: WorkClaim,
    items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
  ): Promise<void> {
    return this.#call("completeClaim", [claim, items]);
  }
  releaseClaim(claim: WorkClaim): Promise<void> {
    return this.#call("releaseClaim", [claim]);
  }
  /** The lock file sits beside the database; the lock is taken on this thread. */
  withLock<T>(name: string, fn: () => Promise<T>, options: { wait?: boolean } = {}): Promise<T> {
    return withFileLock(this.#path, name, fn, options.wait ?? false);
  }
  counts(): Promise<StoreCounts> {
    return this.#call("counts", []);
  }
  integrityCheck(): Promise<string> {
    return this.#call("integrityCheck", []);
  }

  /** Closes the connection (after queued batches settle) and ends the worker. */
  async closeAsync(): Promise<void> {
    if (this.#closed) return;
    await this.#call("close", []).catch(() => {});
    this.#closed = true;
    this.#worker.terminate();
  }

  close(): void {
    // Synchronous form of the contract: ask the worker to close, then end it once it answered.
    if (this.#closed) return;
    this.closeAsync();
  }
}
