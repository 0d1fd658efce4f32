/**
 * The store contract: what ingest, the receipt route, the deny list and a later verifier need,
 * and nothing else. Kept narrow and asynchronous so a PostgreSQL implementation can follow
 * without touching callers (docs/reliability.md: fsync=on, synchronous_commit=on there).
 *
 * Card data never reaches an implementation in the clear: callers pass the PAN's keyed hash and
 * masked form, and the raw batch body (which holds every record's chip data) already sealed
 * (see `pan.ts`).
 */
import { IcfareError } from "../errors.ts";
import { toHex } from "../hex.ts";
import type { UnsignedList } from "../denylist/signed.ts";
import type { DenyListedTap } from "../denylist/listed.ts";

/** One record as ingest hands it to the store. */
export interface NewRecord {
  readonly seq: number;
  readonly tappedAt: string;
  readonly line: string;
  readonly vehicle: string;
  readonly stop: string | null;
  readonly fare: number;
  /** Keyed hash of PAN and PSN (null when the chip data could not be parsed). */
  readonly cardHash: Uint8Array | null;
  readonly panMasked: string | null;
  readonly psn: string | null;
  /** 9F36, null when absent or unparsable. */
  readonly atc: number | null;
  /** `pending` waits for verification; `rejected` failed the structural checks at ingest. */
  readonly status: "pending" | "rejected";
  readonly reject:
    | { readonly code: string; readonly message: string; readonly path: string }
    | null;
  /** Position of the record in the batch body's `records` array (its evidence lives there). */
  readonly index: number;
  /**
   * 9F26 ‖ 9F02 of the chip data (8 + 6 bytes) when both are present: what tells a duplicate
   * from a replay (docs/verification.md), kept so a verifier need not reopen the original's body.
   */
  readonly acKey?: Uint8Array | null;
  /**
   * The record's tag-57 objects (track 2 equivalent data) sealed under the card-data key with
   * `track2Aad`, when it carried any. The store keeps them only for records taken under the ODA
   * model (docs/clearing.md, "The two models"): collection needs them for field 35.
   */
  readonly track2Sealed?: Uint8Array | null;
}

/** One batch as ingest hands it to the store; stored with its records in one transaction. */
export interface NewBatch {
  readonly terminalId: string;
  readonly batchNo: number;
  readonly merchantId: string;
  readonly denyListVersion: number;
  /** Hex SHA-256 of the body exactly as received: the idempotency check compares it. */
  readonly digest: string;
  /** The raw body as received, sealed (tag-57 values blanked before sealing). */
  readonly body: Uint8Array;
  readonly bodyBytes: number;
  readonly amount: number;
  readonly receivedAt: string;
  readonly records: readonly NewRecord[];
  /** The receipt JSON exactly as it will be sent; must end with `"replayed":false}`. */
  readonly receipt: string;
}

export type IngestResult =
  | { readonly kind: "stored"; readonly receipt: string }
  | { readonly kind: "replayed"; readonly receipt: string }
  | { readonly kind: "conflict"; readonly storedDigest: string };

/**
 * A record waiting for verification. Its chip data and ODA evidence are in the sealed batch
 * body (`batchBody(batchId)`, entry `records[index]`); `core/upload/evidence.ts` opens them.
 */
export interface PendingRecord {
  readonly id: number;
  readonly terminalId: string;
  readonly batchNo: number;
  readonly seq: number;
  readonly tappedAt: string;
  readonly fare: number;
  readonly cardHash: Uint8Array | null;
  readonly psn: string | null;
  readonly atc: number | null;
  readonly batchId: number;
  readonly index: number;
  /** The settlement day the record is filed under (PostgreSQL: its partition), when known. */
  readonly day?: string;
  /** 9F26 ‖ 9F02 as stored at ingest (null for records stored before it was kept). */
  readonly acKey?: Uint8Array | null;
}

/** The card-index key of a record (hex card hash, PSN, ATC), or null without a card or ATC. */
export function cardIndexKey(r: PendingRecord): string | null {
  if (!r.cardHash || r.atc === null) return null;
  return `${toHex(r.cardHash)}|${r.psn === null ? "" : `=${r.psn}`}|${r.atc}`;
}

/** The original of a record: the earliest accepted record with the same card key. */
export interface OriginalRecord extends CardRecord {
  readonly acKey: Uint8Array | null;
}

/** A pending record as the original of later records with its card key (nothing older). */
export function pendingAsOriginal(r: PendingRecord): OriginalRecord {
  const { id, terminalId, batchNo, seq, batchId, index, acKey } = r;
  return { id, terminalId, batchNo, seq, batchId, index, acKey: acKey ?? null, status: "pending" };
}

/**
 * A record found through the card index (same card hash, PSN and ATC): for duplicate and replay
 * detection across batches and terminals (docs/verification.md).
 */
export interface CardRecord {
  readonly id: number;
  readonly terminalId: string;
  readonly batchNo: number;
  readonly seq: number;
  readonly batchId: number;
  readonly index: number;
  readonly status: "pending" | "rejected" | "verified";
}

/** A `CardRecord` from a row of either backend (`id, terminal_id, batch_no, seq, batch_id, body_index, status`). */
export function cardRecordOf(r: Record<string, unknown>): CardRecord {
  return {
    id: Number(r.id),
    terminalId: String(r.terminal_id),
    batchNo: Number(r.batch_no),
    seq: Number(r.seq),
    batchId: Number(r.batch_id),
    index: Number(r.body_index),
    status: String(r.status) as CardRecord["status"],
  };
}

/** The `since` of `denyListSince`: a RangeError unless a non-negative safe integer. */
export function sinceProblem(since: number): RangeError | null {
  return Number.isSafeInteger(since) && since >= 0
    ? null
    : new RangeError(`since must be a non-negative integer, got ${since}`);
}

/** A stored batch body, sealed, with the additional data it was sealed with. */
export interface SealedBody {
  readonly sealed: Uint8Array;
  readonly aad: string;
}

/** A verification verdict for one record (status codes of docs/verification.md). */
export interface VerificationResult {
  readonly status: string;
  readonly detail?: Record<string, unknown>;
  /**
   * The electronic-cash balance after the tap (fen) the card reported in its issuer
   * discretionary data, stored in its own column for clearing's EC reconciliation.
   */
  readonly ecBalance?: number;
}

export interface StoreCounts {
  readonly batches: number;
  readonly records: number;
  readonly pending: number;
  readonly rejected: number;
}

/** Storage not available (I/O error, disk full, lock timeout): answer 503, acknowledge nothing. */
export class StoreUnavailableError extends IcfareError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("STORE_UNAVAILABLE", message, options);
    this.name = "StoreUnavailableError";
  }
}

/** The store refuses to open (wrong durability settings, unknown schema version). */
export class StoreConfigError extends IcfareError {
  constructor(message: string) {
    super("STORE_CONFIG", message);
    this.name = "StoreConfigError";
  }
}

/** A verifier's lease ran out and another verifier took its work over: nothing was written. */
export class LeaseLostError extends IcfareError {
  constructor(message: string) {
    super("LEASE_LOST", message);
    this.name = "LeaseLostError";
  }
}

/** Another process holds a named operator lock (e.g. the clearing of a day). */
export class LockBusyError extends IcfareError {
  constructor(readonly lock: string) {
    super("LOCK_BUSY", `another process holds the lock "${lock}"; wait for it to finish`, {
      hint: "run the command again once the other run has ended",
    });
    this.name = "LockBusyError";
  }
}

/**
 * Pending work leased to one verifier (docs/scale.md, "Several verifiers"): whole batches, so
 * a batch is never verified by two verifiers; the lease ends at `completeClaim`, at
 * `releaseClaim`, or when it runs out (then another verifier may claim the batches).
 */
export interface WorkClaim {
  readonly owner: string;
  readonly batchIds: readonly number[];
  /** The pending records of those batches, oldest (lowest id) first. */
  readonly records: readonly PendingRecord[];
}

/** The narrow store interface every caller uses. */
export interface Store {
  /**
   * Stores a batch with its records and receipt atomically, unless (terminalId, batchNo) is
   * already there: then the stored receipt (same digest) or a conflict (other digest).
   * Resolves only after the commit is durable.
   */
  ingest(batch: NewBatch): Promise<IngestResult>;
  /** Digest of a stored batch, or null (a cheap check before the work of ingest). */
  batchDigest(terminalId: string, batchNo: number): Promise<string | null>;
  /** The stored receipt as a replay (`"replayed":true`), or null. */
  receipt(terminalId: string, batchNo: number): Promise<string | null>;
  /** The sealed body of a stored batch (by the `batchId` of a pending record), or null. */
  batchBody(batchId: number): Promise<SealedBody | null>;
  /** Records with status `pending`, oldest first, after record id `afterId`. */
  pendingRecords(limit: number, afterId?: number): Promise<PendingRecord[]>;
  /** Records a verdict; the record leaves `pending`. */
  recordVerification(recordId: number, result: VerificationResult): Promise<void>;
  /**
   * Records many verdicts in one durable transaction (all or nothing); every record must be
   * pending.
   */
  recordVerifications(
    items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
  ): Promise<void>;
  /**
   * Set-wise card index for a chunk: for each record with a card key whose earliest accepted
   * (pending or verified) record with the same card hash, PSN and ATC is older (lower id), that
   * original, by the record's id. One query per call on PostgreSQL.
   */
  originals(records: readonly PendingRecord[]): Promise<Map<number, OriginalRecord>>;
  /** Every record with this card hash, PSN and ATC (any status), oldest (lowest id) first. */
  sameCard(cardHash: Uint8Array, psn: string | null, atc: number): Promise<CardRecord[]>;
  /**
   * Leases pending batches (at least one, up to about `maxRecords` pending records) to `owner`
   * for `leaseMs`; batches leased to another owner whose lease has not run out are skipped.
   * Resolves to null when nothing is left to claim.
   */
  claimPending(owner: string, maxRecords: number, leaseMs: number): Promise<WorkClaim | null>;
  /**
   * Records the verdicts of a claim in one durable transaction and ends its lease. Throws
   * `LeaseLostError` (and writes nothing) when the lease has passed to another owner.
   */
  completeClaim(
    claim: WorkClaim,
    items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
  ): Promise<void>;
  /** Gives a claim back unverified (its batches can be claimed at once). */
  releaseClaim(claim: WorkClaim): Promise<void>;
  /**
   * Runs `fn` holding the named operator lock (PostgreSQL: an advisory lock, SQLite: a lock
   * file beside the database); a crashed holder's lock is released by the database or the
   * kernel. With `wait: false` (the default) a held lock throws `LockBusyError` at once.
   */
  withLock<T>(name: string, fn: () => Promise<T>, options?: { wait?: boolean }): Promise<T>;
  /**
   * The deny list for a holder of version `since`, unsigned: the full list (since = 0, or newer
   * than the list) or the changes after `since` (docs/denylist.md). Changes go through
   * `core/denylist` (`JournalDenyList`), never through this interface.
   */
  denyListSince(since: number): Promise<UnsignedList>;
  /**
   * The records among `recordIds` whose card was on the deny list in the version their batch
   * reported (`DENYLISTED`, docs/denylist.md): one query for the whole set.
   */
  denyListed(recordIds: readonly number[]): Promise<DenyListedTap[]>;
  counts(): Promise<StoreCounts>;
  /** `PRAGMA integrity_check` (or the engine's equivalent): "ok" when healthy. */
  integrityCheck(): Promise<string>;
  close(): void;
}

/** Receipt bytes for a replay: the stored receipt with `"replayed":true`. */
export function asReplay(receipt: string): string {
  const tail = '"replayed":false}';
  if (!receipt.endsWith(tail)) throw new Error("stored receipt does not end with replayed:false");
  return receipt.slice(0, -tail.length) + '"replayed":true}';
}

/** Additional authenticated data binding a record's sealed tag-57 objects to the record. */
export function track2Aad(terminalId: string, batchNo: number, seq: number): string {
  return `track2/${terminalId}/${batchNo}/${seq}`;
}

/** Additional authenticated data binding a sealed raw batch to its identity. */
export function batchAad(terminalId: string, batchNo: number, digest: string): string {
  return `batch/${terminalId}/${batchNo}/${digest}`;
}
