/**
 * Symmetric cryptography and hashes through the kernel: DES/3DES (NIST SP 800-67), SM4
 * (GB/T 32907), ISO/IEC 9797-1 MAC algorithms 1 and 3, SM4 CBC-MAC, SHA-1 and SHA-256
 * (FIPS 180-4), SM3 (GB/T 32905), legacy key check values and DES key parity.
 *
 * Every function checks its arguments first and throws {@link SymError} with a stable code and
 * a message naming the argument; results are fresh `Uint8Array`s unless a batch API is given
 * an output buffer. Inputs are copied into the kernel's IN region, results read from OUT.
 *
 * Risks: DES and two-key 3DES are legacy algorithms kept because EMV/PBOC cards use them;
 * SHA-1 is kept for EMV certificate hashes. None of this code is constant-time against
 * cache-timing attackers on the same machine (table-driven DES and SM4).
 *
 * @example
 * ```ts
 * import { kcv, sm3 } from "@icfare/kernel";
 * sm3(new TextEncoder().encode("abc")); // 66C7F0F4…
 * kcv("3des", key); // 3 bytes
 * ```
 */
import { fn, mem, mem32 } from "./kernel.ts";
import { IN_BASE, IN_SIZE, OUT_BASE, OUT_SIZE, PARAM_BASE } from "./layout.ts";
import { KernelError, Status } from "./status.ts";

/** Stable codes of {@link SymError}. */
export type SymErrorCode =
  | "SYM_KEY_LENGTH"
  | "SYM_DATA_LENGTH"
  | "SYM_IV_LENGTH"
  | "SYM_PADDING"
  | "SYM_ALGORITHM"
  | "SYM_ARGUMENT"
  | "SYM_TOO_LARGE";

/** Bad argument to a symmetric or hash function (a caller bug, never a data verdict). */
export class SymError extends Error {
  constructor(readonly code: SymErrorCode, message: string) {
    super(message);
    this.name = "SymError";
  }
}

/** ISO/IEC 9797-1 padding: 0 none (data must be whole blocks), 1 zeros, 2 `80` then zeros. */
export type MacPadding = 0 | 1 | 2;

type HashFn = (alg: number, src: number, len: number, dst: number) => number;
type HashBatchFn = (alg: number, desc: number, count: number, out: number) => number;

const kHash = fn<HashFn>("symHash");
const kHashBatch = fn<HashBatchFn>("symHashBatch");
const kSm3State = fn<(src: number, len: number, blocks: number, dst: number) => number>(
  "symSm3State",
);

function bytes(x: unknown, what: string): Uint8Array {
  if (!(x instanceof Uint8Array)) {
    throw new SymError("SYM_ARGUMENT", `${what} must be a Uint8Array, got ${typeof x}`);
  }
  return x;
}

function fitsIn(len: number, what: string, room = IN_SIZE): void {
  if (len > room) {
    throw new SymError(
      "SYM_TOO_LARGE",
      `${what} of ${len} bytes exceeds the kernel's ${room}-byte input region`,
    );
  }
}

function check(st: number, context: string): void {
  if (st !== Status.OK) throw new KernelError(st, context);
}

// ---------------------------------------------------------------- hashes

const HASH_IDS = { sha1: 1, sha256: 2, sm3: 3 } as const;
/** Hash algorithms of the kernel. */
export type HashAlgorithm = keyof typeof HASH_IDS;
const DIGEST_BYTES: Record<HashAlgorithm, number> = { sha1: 20, sha256: 32, sm3: 32 };

function hashOne(alg: HashAlgorithm, data: Uint8Array, what: string): Uint8Array {
  bytes(data, what);
  fitsIn(data.length, what);
  mem.set(data, IN_BASE);
  check(kHash(HASH_IDS[alg], IN_BASE, data.length, OUT_BASE), alg);
  return mem.slice(OUT_BASE, OUT_BASE + DIGEST_BYTES[alg]);
}

/** SHA-1 (FIPS 180-4) of `data`: 20 bytes. */
export function sha1(data: Uint8Array): Uint8Array {
  return hashOne("sha1", data, "data");
}

/** SHA-256 (FIPS 180-4) of `data`: 32 bytes. */
export function sha256(data: Uint8Array): Uint8Array {
  return hashOne("sha256", data, "data");
}

/** SM3 (GB/T 32905-2016) of `data`: 32 bytes. */
export function sm3(data: Uint8Array): Uint8Array {
  return hashOne("sm3", data, "data");
}

/**
 * SM3 chaining value after the first `blocks` padded 64-byte blocks of `data` (GB/T 32905
 * Annex A prints these as intermediate values). For tests and explanations.
 */
export function sm3Intermediate(data: Uint8Array, blocks: number): Uint8Array {
  bytes(data, "data");
  fitsIn(data.length, "data");
  if (!Number.isInteger(blocks) || blocks < 0) {
    throw new SymError("SYM_ARGUMENT", `blocks must be a non-negative integer, got ${blocks}`);
  }
  mem.set(data, IN_BASE);
  check(kSm3State(IN_BASE, data.length, blocks, OUT_BASE), "sm3Intermediate");
  return mem.slice(OUT_BASE, OUT_BASE + 32);
}

/**
 * Hashes many messages with as few kernel calls as the IN region allows. Returns the digests
 * back to back (`messages.length × digest length` bytes) in `out` when given, else a fresh
 * buffer; digest `i` is at `i × digestBytes(alg)`.
 */
export function hashBatch(
  alg: HashAlgorithm,
  messages: readonly Uint8Array[],
  out?: Uint8Array,
): Uint8Array {
  if (!(alg in HASH_IDS)) throw new SymError("SYM_ALGORITHM", `alg must be sha1|sha256|sm3`);
  if (!Array.isArray(messages)) throw new SymError("SYM_ARGUMENT", "messages must be an array");
  const dlen = DIGEST_BYTES[alg];
  const result = out ?? new Uint8Array(messages.length * dlen);
  if (!(result instanceof Uint8Array) || result.length < messages.length * dlen) {
    throw new SymError(
      "SYM_ARGUMENT",
      `out must be a Uint8Array of at least ${messages.length * dlen} bytes`,
    );
  }
  const maxCount = Math.floor(OUT_SIZE / dlen);
  let i = 0;
  while (i < messages.length) {
    // Descriptors first, then the messages, as many as fit.
    const start = i;
    let used = 0;
    let n = 0;
    while (i < messages.length && n < maxCount) {
      const m = bytes(messages[i], `messages[${i}]`);
      const need = used + m.length + 8 * (n + 1);
      if (need > IN_SIZE) {
        if (n === 0) fitsIn(need, `messages[${i}]`);
        break;
      }
      used += m.length;
      n++;
      i++;
    }
    let ptr = IN_BASE + 8 * n;
    let w = IN_BASE >>> 2;
    for (let k = start; k < i; k++) {
      const m = messages[k];
      mem.set(m, ptr);
      mem32[w++] = ptr;
      mem32[w++] = m.length;
      ptr += m.length;
    }
    check(kHashBatch(HASH_IDS[alg], IN_BASE, n, OUT_BASE), "hashBatch");
    result.set(mem.subarray(OUT_BASE, OUT_BASE + n * dlen), start * dlen);
  }
  return result;
}

/** {@link hashBatch} with SHA-1. */
export function sha1Batch(messages: readonly Uint8Array[], out?: Uint8Array): Uint8Array {
  return hashBatch("sha1", messages, out);
}

/** {@link hashBatch} with SHA-256. */
export function sha256Batch(messages: readonly Uint8Array[], out?: Uint8Array): Uint8Array {
  return hashBatch("sha256", messages, out);
}

/** {@link hashBatch} with SM3. */
export function sm3Batch(messages: readonly Uint8Array[], out?: Uint8Array): Uint8Array {
  return hashBatch("sm3", messages, out);
}

// PARAM region use of this module: keys and IVs.
export const SYM_PARAM_KEY = PARAM_BASE;
