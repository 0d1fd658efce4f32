/**
 * Symmetric cryptography and hashes through the kernel: DES/3DES (NIST SP 800-67), SM4
 * (GB/T 32907), ISO/IEC 9797-1 MAC algorithms 1 and 3, SM4 CBC-MAC, SHA-1 and SHA-256
 * (FIPS 180-4), SM3 (GB/T 32905), legacy key check values and DES key parity.
 *
 * Every function checks its arguments first and throws {@link SymError} with a stable code and
 * a message naming the argument; results are fresh `Uint8Array`s unless a batch API is given
 * an output buffer. Inputs are copied into the kernel's IN region, results read from OUT.
 * Results of up to 256 bytes (digests, MACs, single blocks) are views into a shared 32 KiB pool
 * `ArrayBuffer`, as Node's `Buffer.allocUnsafe` does: Deno takes ~0.7 µs to allocate any new
 * `ArrayBuffer` but ~15 ns to make a view. Each such result owns its bytes (no two overlap,
 * nothing rewrites them); only its `.buffer` is shared, so use `byteOffset`/`byteLength` with
 * `.buffer` and never transfer or detach it.
 *
 * Risks: DES and two-key 3DES are legacy algorithms kept because EMV/PBOC cards use them;
 * SHA-1 is kept for EMV certificate hashes. None of this code is constant-time against
 * cache-timing attackers on the same machine (table-driven DES and SM4).
 *
 * @example SM3 of "abc" (GB/T 32905 Appendix A) and a 2-byte KCV (the pyemv vector's IMK)
 * ```ts
 * import { assertEquals } from "@icfare/assert";
 * import { kcv, sm3 } from "./mod.ts";
 * const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
 * assertEquals(
 *   hex(sm3(new TextEncoder().encode("abc"))),
 *   "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
 * );
 * const imk = Uint8Array.from("0123456789ABCDEFFEDCBA9876543210".match(/../g)!, (h) => parseInt(h, 16));
 * assertEquals(hex(kcv("3des", imk, 2)), "08d7");
 * ```
 */
import { copyOut, fn, mem, mem32 } from "./kernel.ts";
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

// ---------------------------------------------------------------- results

/** Read-only zero blocks (default IVs, KCV input): only ever copied into the kernel. */
const ZERO_8 = new Uint8Array(8);
const ZERO_16 = new Uint8Array(16);

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
  return copyOut(OUT_BASE, DIGEST_BYTES[alg]);
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
  return copyOut(OUT_BASE, 32);
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
      const m = messages[i];
      // The argument's name is only built when it is needed (a template string per message
      // was a measurable share of a small message's cost).
      if (!(m instanceof Uint8Array)) bytes(m, `messages[${i}]`);
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

// ---------------------------------------------------------------- block ciphers

// PARAM region use of this module: key at +0 (≤ 24 bytes), IV at +64.
const KEY_AT = PARAM_BASE;
const IV_AT = PARAM_BASE + 64;

type EcbFn = (k: number, kl: number, s: number, l: number, d: number, dec: number) => number;
type CbcFn = (
  k: number,
  kl: number,
  iv: number,
  s: number,
  l: number,
  d: number,
  dec: number,
) => number;
type MacFn = (
  alg: number,
  k: number,
  kl: number,
  s: number,
  l: number,
  pad: number,
  d: number,
) => number;
const kDesEcb = fn<EcbFn>("symDesEcb");
const kDesCbc = fn<CbcFn>("symDesCbc");
const kMac = fn<MacFn>("symMacIso9797");
const kSm4Ecb = fn<(k: number, s: number, l: number, d: number, dec: number) => number>(
  "symSm4Ecb",
);
const kSm4Cbc = fn<
  (k: number, iv: number, s: number, l: number, d: number, dec: number) => number
>("symSm4Cbc");
const kSm4Mac = fn<(k: number, s: number, l: number, pad: number, d: number) => number>(
  "symSm4CbcMac",
);
const kMacBatch = fn<
  (kind: number, desc: number, count: number, pad: number, out: number) => number
>("symMacBatch");
const kMacBatchFailed = fn<() => number>("symMacBatchFailed");
const kSm4RoundKeys = fn<(k: number, d: number) => number>("symSm4RoundKeys");

/** Maps a kernel status to the matching SymError (statuses the TS checks should prevent). */
function checkSym(st: number, context: string): void {
  if (st === Status.OK) return;
  if (st === Status.SYM_KEY_LENGTH) throw new SymError("SYM_KEY_LENGTH", `${context}: key length`);
  if (st === Status.SYM_DATA_LENGTH) {
    throw new SymError("SYM_DATA_LENGTH", `${context}: data length not a multiple of the block`);
  }
  if (st === Status.SYM_PADDING) throw new SymError("SYM_PADDING", `${context}: padding`);
  throw new KernelError(st, context);
}

function desKey(key: Uint8Array, what = "key"): Uint8Array {
  bytes(key, what);
  if (key.length !== 8 && key.length !== 16 && key.length !== 24) {
    throw new SymError(
      "SYM_KEY_LENGTH",
      `${what} must be 8 (DES), 16 or 24 (3DES) bytes, got ${key.length}`,
    );
  }
  return key;
}

function key16(key: Uint8Array, what: string, algorithm: string): Uint8Array {
  bytes(key, what);
  if (key.length !== 16) {
    throw new SymError(
      "SYM_KEY_LENGTH",
      `${what} must be 16 bytes for ${algorithm}, got ${key.length}`,
    );
  }
  return key;
}

function blocks(data: Uint8Array, bs: number, what = "data"): Uint8Array {
  bytes(data, what);
  if (data.length % bs !== 0) {
    throw new SymError(
      "SYM_DATA_LENGTH",
      `${what} must be a multiple of ${bs} bytes (no padding is applied), got ${data.length}`,
    );
  }
  fitsIn(data.length, what, OUT_SIZE);
  return data;
}

function ivOf(iv: Uint8Array | undefined, bs: number): Uint8Array {
  if (iv === undefined) return bs === 8 ? ZERO_8 : ZERO_16;
  bytes(iv, "iv");
  if (iv.length !== bs) {
    throw new SymError("SYM_IV_LENGTH", `iv must be ${bs} bytes, got ${iv.length}`);
  }
  return iv;
}

function paddingOf(padding: unknown): MacPadding {
  if (padding !== 0 && padding !== 1 && padding !== 2) {
    throw new SymError("SYM_PADDING", `padding must be 0 (none), 1 or 2, got ${String(padding)}`);
  }
  return padding;
}

function macData(data: Uint8Array, padding: MacPadding, bs: number, what = "data"): Uint8Array {
  bytes(data, what);
  if (padding === 0 && (data.length === 0 || data.length % bs !== 0)) {
    throw new SymError(
      "SYM_DATA_LENGTH",
      `${what} must be a non-empty multiple of ${bs} bytes with padding 0, got ${data.length}`,
    );
  }
  fitsIn(data.length, what);
  return data;
}

function desEcb(key: Uint8Array, data: Uint8Array, decrypt: number): Uint8Array {
  desKey(key);
  blocks(data, 8);
  mem.set(key, KEY_AT);
  mem.set(data, IN_BASE);
  checkSym(kDesEcb(KEY_AT, key.length, IN_BASE, data.length, OUT_BASE, decrypt), "des ECB");
  return copyOut(OUT_BASE, data.length);
}

function desCbc(key: Uint8Array, data: Uint8Array, iv: Uint8Array | undefined, dec: number) {
  desKey(key);
  blocks(data, 8);
  const v = ivOf(iv, 8);
  mem.set(key, KEY_AT);
  mem.set(v, IV_AT);
  mem.set(data, IN_BASE);
  checkSym(kDesCbc(KEY_AT, key.length, IV_AT, IN_BASE, data.length, OUT_BASE, dec), "des CBC");
  return copyOut(OUT_BASE, data.length);
}

/** DES (8-byte key) or 3DES EDE (16/24-byte key) ECB encryption; data a multiple of 8 bytes. */
export function desEncryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  return desEcb(key, data, 0);
}

/** DES/3DES ECB decryption; data a multiple of 8 bytes. */
export function desDecryptEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  return desEcb(key, data, 1);
}

/** DES/3DES CBC encryption (IV default 8 zero bytes); no padding is applied. */
export function desEncryptCbc(key: Uint8Array, data: Uint8Array, iv?: Uint8Array): Uint8Array {
  return desCbc(key, data, iv, 0);
}

/** DES/3DES CBC decryption (IV default 8 zero bytes). */
export function desDecryptCbc(key: Uint8Array, data: Uint8Array, iv?: Uint8Array): Uint8Array {
  return desCbc(key, data, iv, 1);
}

function sm4Ecb(key: Uint8Array, data: Uint8Array, decrypt: number): Uint8Array {
  key16(key, "key", "SM4");
  blocks(data, 16);
  mem.set(key, KEY_AT);
  mem.set(data, IN_BASE);
  checkSym(kSm4Ecb(KEY_AT, IN_BASE, data.length, OUT_BASE, decrypt), "sm4 ECB");
  return copyOut(OUT_BASE, data.length);
}

function sm4Cbc(key: Uint8Array, data: Uint8Array, iv: Uint8Array | undefined, dec: number) {
  key16(key, "key", "SM4");
  blocks(data, 16);
  const v = ivOf(iv, 16);
  mem.set(key, KEY_AT);
  mem.set(v, IV_AT);
  mem.set(data, IN_BASE);
  checkSym(kSm4Cbc(KEY_AT, IV_AT, IN_BASE, data.length, OUT_BASE, dec), "sm4 CBC");
  return copyOut(OUT_BASE, data.length);
}

/** SM4 (GB/T 32907) ECB encryption with a 16-byte key; data a multiple of 16 bytes. */
export function sm4EncryptEcb(key16: Uint8Array, data: Uint8Array): Uint8Array {
  return sm4Ecb(key16, data, 0);
}

/** SM4 ECB decryption. */
export function sm4DecryptEcb(key16: Uint8Array, data: Uint8Array): Uint8Array {
  return sm4Ecb(key16, data, 1);
}

/** SM4 CBC encryption (IV default 16 zero bytes); no padding is applied. */
export function sm4EncryptCbc(key16: Uint8Array, data: Uint8Array, iv?: Uint8Array): Uint8Array {
  return sm4Cbc(key16, data, iv, 0);
}

/** SM4 CBC decryption (IV default 16 zero bytes). */
export function sm4DecryptCbc(key16: Uint8Array, data: Uint8Array, iv?: Uint8Array): Uint8Array {
  return sm4Cbc(key16, data, iv, 1);
}

/** SM4 round keys rk0..rk31 of a 16-byte key (GB/T 32907 §7.3; for tests and explanations). */
export function sm4RoundKeys(key16v: Uint8Array): Uint32Array {
  key16(key16v, "key", "SM4");
  mem.set(key16v, KEY_AT);
  check(kSm4RoundKeys(KEY_AT, OUT_BASE), "sm4RoundKeys");
  return mem32.slice(OUT_BASE >>> 2, (OUT_BASE >>> 2) + 32);
}

// ---------------------------------------------------------------- MACs

/**
 * ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC, zero IV) under DES (8-byte key) or 3DES (16/24),
 * with padding method 1 or 2 (0: none, data must be whole blocks). Returns 8 bytes.
 */
export function macIso9797Alg1(key: Uint8Array, data: Uint8Array, padding: MacPadding): Uint8Array {
  desKey(key);
  const pad = paddingOf(padding);
  macData(data, pad, 8);
  mem.set(key, KEY_AT);
  mem.set(data, IN_BASE);
  checkSym(kMac(1, KEY_AT, key.length, IN_BASE, data.length, pad, OUT_BASE), "macIso9797Alg1");
  return copyOut(OUT_BASE, 8);
}

/**
 * ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC": single-DES CBC under K, then D_K' and E_K on
 * the last block) with a 16-byte key K‖K'. EMV/PBOC application cryptograms use padding 2.
 */
export function macIso9797Alg3(key: Uint8Array, data: Uint8Array, padding: MacPadding): Uint8Array {
  key16(key, "key", "ISO 9797-1 algorithm 3");
  const pad = paddingOf(padding);
  macData(data, pad, 8);
  mem.set(key, KEY_AT);
  mem.set(data, IN_BASE);
  checkSym(kMac(3, KEY_AT, 16, IN_BASE, data.length, pad, OUT_BASE), "macIso9797Alg3");
  return copyOut(OUT_BASE, 8);
}

/** SM4 CBC-MAC (zero IV) with a 16-byte key and padding 1 or 2 (0: none). Returns 16 bytes. */
export function sm4CbcMac(key: Uint8Array, data: Uint8Array, padding: MacPadding): Uint8Array {
  key16(key, "key", "SM4");
  const pad = paddingOf(padding);
  macData(data, pad, 16);
  mem.set(key, KEY_AT);
  mem.set(data, IN_BASE);
  checkSym(kSm4Mac(KEY_AT, IN_BASE, data.length, pad, OUT_BASE), "sm4CbcMac");
  return copyOut(OUT_BASE, 16);
}

/** Items per kernel call of the batch MACs; their descriptors sit at the start of IN. */
const MAC_BATCH_MAX = 65536;
const MAC_BATCH_DATA = IN_BASE + 12 * MAC_BATCH_MAX;

/** One item of a batch MAC: a 16-byte key and the data to authenticate. */
export interface MacItem {
  readonly key: Uint8Array;
  readonly data: Uint8Array;
}

function macBatch(
  kind: 3 | 4,
  items: readonly MacItem[],
  padding: MacPadding,
  out: Uint8Array | undefined,
): Uint8Array {
  const name = kind === 3 ? "macIso9797Alg3Batch" : "sm4CbcMacBatch";
  if (!Array.isArray(items)) throw new SymError("SYM_ARGUMENT", `items must be an array`);
  const pad = paddingOf(padding);
  const mlen = kind === 3 ? 8 : 16;
  const bs = kind === 3 ? 8 : 16;
  const result = out ?? new Uint8Array(items.length * mlen);
  if (!(result instanceof Uint8Array) || result.length < items.length * mlen) {
    throw new SymError(
      "SYM_ARGUMENT",
      `out must be a Uint8Array of at least ${items.length * mlen} bytes`,
    );
  }
  // One pass: descriptors at the start of IN (room for MAC_BATCH_MAX items), keys and data
  // after them; a chunk goes to the kernel when either runs out.
  const maxCount = Math.min(MAC_BATCH_MAX, Math.floor(OUT_SIZE / mlen));
  const end = IN_BASE + IN_SIZE;
  const algorithm = kind === 3 ? "ISO 9797-1 algorithm 3" : "SM4";
  let i = 0;
  while (i < items.length) {
    const start = i;
    let n = 0;
    let ptr = MAC_BATCH_DATA;
    let w = IN_BASE >>> 2;
    while (i < items.length && n < maxCount) {
      const it = items[i];
      if (typeof it !== "object" || it === null) {
        throw new SymError("SYM_ARGUMENT", `items[${i}] must be {key, data}`);
      }
      // Fast path for well-formed items; the checks with named arguments only on failure
      // (building `items[i]…` names for every item was a measurable share of the cost).
      const key = it.key, data = it.data;
      if (
        !(key instanceof Uint8Array) || key.length !== 16 || !(data instanceof Uint8Array) ||
        (pad === 0 && (data.length === 0 || data.length % bs !== 0)) || data.length > IN_SIZE
      ) {
        key16(key, `items[${i}].key`, algorithm);
        macData(data, pad, bs, `items[${i}].data`);
      }
      if (ptr + 16 + data.length > end) {
        if (n === 0) fitsIn(16 + data.length, `items[${i}].data`, end - MAC_BATCH_DATA);
        break;
      }
      mem.set(key, ptr);
      mem32[w++] = ptr;
      ptr += 16;
      mem.set(data, ptr);
      mem32[w++] = ptr;
      mem32[w++] = data.length;
      ptr += data.length;
      n++;
      i++;
    }
    const st = kMacBatch(kind, IN_BASE, n, pad, OUT_BASE);
    if (st !== Status.OK) checkSym(st, `${name} items[${start + kMacBatchFailed()}]`);
    result.set(mem.subarray(OUT_BASE, OUT_BASE + n * mlen), start * mlen);
  }
  return result;
}

/**
 * ISO/IEC 9797-1 algorithm 3 MACs of many (key, data) items in one kernel call (or as few as
 * the IN region allows). MAC `i` is the 8 bytes at `8·i` of the result (or of `out`).
 */
export function macIso9797Alg3Batch(
  items: readonly MacItem[],
  padding: MacPadding,
  out?: Uint8Array,
): Uint8Array {
  return macBatch(3, items, padding, out);
}

/** SM4 CBC-MACs of many (key, data) items; MAC `i` is the 16 bytes at `16·i`. */
export function sm4CbcMacBatch(
  items: readonly MacItem[],
  padding: MacPadding,
  out?: Uint8Array,
): Uint8Array {
  return macBatch(4, items, padding, out);
}

// ---------------------------------------------------------------- key check values, parity

/** Algorithms with a legacy key check value. */
export type KcvAlgorithm = "des" | "3des" | "sm4";

/**
 * Legacy key check value: encrypt a zero block (8 bytes for DES/3DES, 16 for SM4) and keep
 * the leftmost `length` bytes (default 3; docs/keys.md, Key check values). AES keys use a CMAC KCV elsewhere.
 */
export function kcv(algorithm: KcvAlgorithm, key: Uint8Array, length = 3): Uint8Array {
  bytes(key, "key");
  if (algorithm !== "des" && algorithm !== "3des" && algorithm !== "sm4") {
    throw new SymError("SYM_ALGORITHM", `algorithm must be des|3des|sm4, got ${String(algorithm)}`);
  }
  const bs = algorithm === "sm4" ? 16 : 8;
  if (!Number.isInteger(length) || length < 1 || length > bs) {
    throw new SymError("SYM_ARGUMENT", `length must be an integer 1..${bs}, got ${length}`);
  }
  if (algorithm === "des" && key.length !== 8) {
    throw new SymError("SYM_KEY_LENGTH", `key must be 8 bytes for des, got ${key.length}`);
  }
  if (algorithm === "3des" && key.length !== 16 && key.length !== 24) {
    throw new SymError("SYM_KEY_LENGTH", `key must be 16 or 24 bytes for 3des, got ${key.length}`);
  }
  const block = algorithm === "sm4" ? sm4EncryptEcb(key, ZERO_16) : desEncryptEcb(key, ZERO_8);
  return block.subarray(0, length);
}

function oddParity(b: number): boolean {
  b ^= b >> 4;
  b ^= b >> 2;
  b ^= b >> 1;
  return (b & 1) === 1;
}

/** A copy of a DES/3DES key with each byte's least significant bit set for odd parity. */
export function adjustParity(key: Uint8Array): Uint8Array {
  bytes(key, "key");
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const b = key[i] & 0xfe;
    out[i] = oddParity(b) ? b : b | 1;
  }
  return out;
}

/** True when every byte of the key has odd parity (the DES convention). */
export function hasOddParity(key: Uint8Array): boolean {
  bytes(key, "key");
  for (let i = 0; i < key.length; i++) if (!oddParity(key[i])) return false;
  return true;
}
