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
}

/** A stored batch body, sealed, with the additional data it was sealed with. */
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

export interface SealedBody {
  readonly sealed: Uint8Array;
  readonly aad: string;
}

/** A verification verdict for one record (status codes of docs/cli.md). */
export interface VerificationResult {
  readonly status: string;
  readonly detail?: Record<string, unknown>;
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
  /** Every record with this card hash, PSN and ATC (any status), oldest (lowest id) first. */
  sameCard(cardHash: Uint8Array, psn: string | null, atc: number): Promise<CardRecord[]>;
  /**
   * The deny list for a holder of version `since`, unsigned: the full list (since = 0, or newer
   * than the list) or the changes after `since` (docs/denylist.md). Changes go through
   * `core/denylist` (`SqliteDenyList`), never through this interface.
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
