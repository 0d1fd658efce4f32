/**
 * BER-TLV decoding through the kernel (EMV 4.4 Book 3 Annex B). See `assembly/tlv.ts` for
 * the rules and the index layout. Offsets in results are relative to the input.
 */
import { fn, mem, mem32 } from "./kernel.ts";
import { IN_BASE, IN_SIZE, INDEX_BASE, INDEX_SIZE, OUT_BASE } from "./layout.ts";
import { KernelError, Status, statusMessage, statusName } from "./status.ts";

/** One decoded data object; `value`/`header` are offsets into the decoded buffer. */
export interface TlvEntry {
  /** Tag bytes as a big-endian number: 0x9F02, 0xDF9A03. */
  readonly tag: number;
  readonly header: number;
  readonly value: number;
  readonly length: number;
  readonly depth: number;
  readonly constructed: boolean;
  readonly tagBytes: number;
  readonly lenBytes: number;
  /** Index of the enclosing constructed entry, -1 at top level. */
  readonly parent: number;
}

export interface TlvLimits {
  /** Maximum nesting levels (EMV needs at most 4). Default 8, at most 32. */
  readonly maxDepth?: number;
  /** Maximum number of data objects. Default 1024. */
  readonly maxObjects?: number;
}

export type TlvDecodeResult =
  | { readonly ok: true; readonly entries: TlvEntry[] }
  | {
    readonly ok: false;
    readonly status: number;
    /** Stable code, e.g. `TLV_VALUE_OVERRUN`. */
    readonly code: string;
    /** Byte offset where decoding stopped. */
    readonly offset: number;
    readonly message: string;
    /** Objects decoded before the error. */
    readonly entries: TlvEntry[];
  };

export const TLV_ENTRY_BYTES = 24;
export const TLV_DEFAULT_MAX_DEPTH = 8;
export const TLV_DEFAULT_MAX_OBJECTS = 1024;
const MAX_OBJECTS_LIMIT = INDEX_SIZE / TLV_ENTRY_BYTES;

type DecodeFn = (src: number, len: number, maxDepth: number, maxObjects: number) => number;
type BatchFn = (
  desc: number,
  count: number,
  out: number,
  maxDepth: number,
  maxObjects: number,
) => number;

const kDecode = fn<DecodeFn>("tlvDecode");
const kCount = fn<() => number>("tlvCount");
const kErrorOffset = fn<() => number>("tlvErrorOffset");
const kCheckBatch = fn<BatchFn>("tlvCheckBatch");

function limitsOf(limits: TlvLimits | undefined): [number, number] {
  const depth = limits?.maxDepth ?? TLV_DEFAULT_MAX_DEPTH;
  const objects = limits?.maxObjects ?? TLV_DEFAULT_MAX_OBJECTS;
  if (!Number.isInteger(depth) || depth < 1 || depth > 32) {
    throw new RangeError(`maxDepth must be an integer 1..32, got ${depth}`);
  }
  if (!Number.isInteger(objects) || objects < 1 || objects > MAX_OBJECTS_LIMIT) {
    throw new RangeError(`maxObjects must be an integer 1..${MAX_OBJECTS_LIMIT}, got ${objects}`);
  }
  return [depth, objects];
}

function readEntries(count: number): TlvEntry[] {
  const entries: TlvEntry[] = new Array(count);
  let w = INDEX_BASE >>> 2;
  for (let i = 0; i < count; i++, w += 6) {
    const flags = mem32[w + 4];
    const parent = mem32[w + 5];
    entries[i] = {
      tag: mem32[w],
      header: mem32[w + 1],
      value: mem32[w + 2],
      length: mem32[w + 3],
      depth: flags & 0xff,
      constructed: ((flags >>> 8) & 0xff) === 1,
      tagBytes: (flags >>> 16) & 0xff,
      lenBytes: flags >>> 24,
      parent: parent === 0xffffffff ? -1 : parent,
    };
  }
  return entries;
}

/** Human message in Deno std style: "Cannot decode TLV at offset 12: …". */
export function tlvErrorMessage(status: number, offset: number): string {
  return `Cannot decode TLV at offset ${offset}: ${statusMessage(status)}`;
}

/**
 * Decodes a buffer into its flat index of data objects (pre-order, children after their
 * template). Malformed input is a result with a stable code, never an exception.
 */
export function decodeTlv(bytes: Uint8Array, limits?: TlvLimits): TlvDecodeResult {
  const [maxDepth, maxObjects] = limitsOf(limits);
  if (bytes.length > IN_SIZE) {
    throw new RangeError(`TLV input of ${bytes.length} bytes exceeds the ${IN_SIZE}-byte region`);
  }
  mem.set(bytes, IN_BASE);
  const st = kDecode(IN_BASE, bytes.length, maxDepth, maxObjects);
  if (st === Status.BAD_ARGUMENT) throw new KernelError(st, "decodeTlv");
  const entries = readEntries(kCount());
  if (st === Status.OK) return { ok: true, entries };
  const offset = kErrorOffset();
  return {
    ok: false,
    status: st,
    code: statusName(st),
    offset,
    message: tlvErrorMessage(st, offset),
    entries,
  };
}

/** Per-record outcome of a structural batch check. */
export interface TlvCheck {
  readonly status: number;
  readonly code: string;
  readonly offset: number;
  readonly objects: number;
}

/**
 * Structural check of many records in one kernel call (the upload server's per-record
 * check). Records are packed into the IN region; the call is split only if they do not fit.
 */
export function checkTlvBatch(records: readonly Uint8Array[], limits?: TlvLimits): TlvCheck[] {
  const [maxDepth, maxObjects] = limitsOf(limits);
  const results: TlvCheck[] = [];
  let i = 0;
  while (i < records.length) {
    // Descriptors at the start of OUT, per-record results after them; data in IN.
    let used = 0;
    const start = i;
    const maxBatch = Math.floor((1 << 20) / 8); // descriptors fit easily in OUT
    while (i < records.length && i - start < maxBatch) {
      const r = records[i];
      if (r.length > IN_SIZE) throw new RangeError(`record ${i} exceeds the input region`);
      if (used + r.length > IN_SIZE) break;
      mem.set(r, IN_BASE + used);
      mem32[(OUT_BASE >>> 2) + 2 * (i - start)] = IN_BASE + used;
      mem32[(OUT_BASE >>> 2) + 2 * (i - start) + 1] = r.length;
      used += r.length;
      i++;
    }
    const n = i - start;
    const outPtr = OUT_BASE + n * 8;
    const st = kCheckBatch(OUT_BASE, n, outPtr, maxDepth, maxObjects);
    if (st !== Status.OK) throw new KernelError(st, "checkTlvBatch");
    for (let k = 0; k < n; k++) {
      const w = (outPtr >>> 2) + 3 * k;
      const status = mem32[w];
      results.push({
        status,
        code: statusName(status),
        offset: mem32[w + 1],
        objects: mem32[w + 2],
      });
    }
  }
  return results;
}
