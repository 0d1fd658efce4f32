/**
 * Public-key cryptography through the kernel: the raw RSA public operation used to recover
 * EMV certificates and signatures (EMV 4.4 Book 2 §5–6), and SM2 signature verification over
 * the recommended 256-bit curve (GB/T 32918.2, GM/T 0003.2) with `e = SM3(Z ‖ M)`.
 *
 * See `assembly/rsa.ts` and `assembly/sm2.ts` for the internal entry points the verification
 * engine calls, and the files they name for the arithmetic. Bad data (wrong lengths, input ≥
 * modulus, an off-curve key) throws {@link PkError} with a stable code from the RSA wrapper; SM2
 * verification answers `false` for any signature that does not verify and throws only for wrong
 * argument lengths.
 * Results of up to 256 bytes are views into a shared pool buffer (`copyOut` in kernel.ts): use
 * `byteOffset`/`byteLength` with `.buffer`, never transfer it.
 *
 * @example The kernel against node:crypto's key and BigInt: 2^3 mod n
 * ```ts
 * import { assertEquals } from "@icfare/assert";
 * import { Buffer } from "node:buffer";
 * import { generateKeyPairSync } from "node:crypto";
 * import { rsaPublic } from "./mod.ts";
 * const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024, publicExponent: 3 });
 * const n = new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).n!, "base64url"));
 * const two = new Uint8Array(n.length);
 * two[n.length - 1] = 2;
 * const out = rsaPublic(n, Uint8Array.of(3), two);
 * assertEquals(out.length, 128);
 * assertEquals(out.reduce((v, b) => v * 256n + BigInt(b), 0n), 8n);
 * ```
 */
import { copyOut, fn, mem, mem32 } from "./kernel.ts";
import { IN_BASE, IN_SIZE, OUT_BASE, OUT_SIZE, PARAM_BASE } from "./layout.ts";
import { KernelError, Status, statusMessage, statusName } from "./status.ts";

/** A public-key input the kernel refused, with the kernel's stable status name as `code`. */
export class PkError extends Error {
  /** Stable code, e.g. `PK_INPUT_RANGE`. */
  readonly code: string;
  constructor(readonly status: number, context: string) {
    super(`${context}: ${statusName(status)} (${statusMessage(status)})`);
    this.name = "PkError";
    this.code = statusName(status);
  }
}

type RsaRawFn = (
  modPtr: number,
  modLen: number,
  expPtr: number,
  expLen: number,
  inPtr: number,
  inLen: number,
  outPtr: number,
) => number;

const kRsaRaw = fn<RsaRawFn>("rsaPublicRaw");
const kRsaBatch = fn<(desc: number, count: number, statusOut: number) => number>(
  "rsaPublicBatch",
);
const kRsaCacheClear = fn<() => void>("rsaCacheClear");
const kRsaIfCached = fn<RsaRawFn>("rsaPublicIfCached");

/** Largest RSA modulus the kernel takes, in bytes (2048 bits). */
export const RSA_MAX_BYTES = 256;
/** Smallest RSA modulus the kernel takes, in bytes (512 bits). */
export const RSA_MIN_BYTES = 64;

const P_MOD = PARAM_BASE;
const P_EXP = PARAM_BASE + 256;
const P_IN = PARAM_BASE + 512;
const P_OUT = PARAM_BASE + 768;

function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

/** Checks one raw RSA operation's arguments (PkError codes as the kernel's) and copies them in. */
function stageRsa(modulus: Uint8Array, exponent: Uint8Array, input: Uint8Array): void {
  checkBytes(modulus, "modulus");
  checkBytes(exponent, "exponent");
  checkBytes(input, "input");
  if (modulus.length < RSA_MIN_BYTES || modulus.length > RSA_MAX_BYTES) {
    throw new PkError(Status.PK_MODULUS_LENGTH, `rsaPublic: modulus of ${modulus.length} bytes`);
  }
  if (exponent.length === 0 || exponent.length > modulus.length) {
    throw new PkError(
      Status.PK_EXPONENT_INVALID,
      `rsaPublic: exponent of ${exponent.length} bytes`,
    );
  }
  if (input.length !== modulus.length) {
    throw new PkError(
      Status.PK_INPUT_LENGTH,
      `rsaPublic: input of ${input.length} bytes for a ${modulus.length}-byte modulus`,
    );
  }
  mem.set(modulus, P_MOD);
  mem.set(exponent, P_EXP);
  mem.set(input, P_IN);
}

/**
 * Raw RSA public operation `input^exponent mod modulus` (no padding), big-endian bytes.
 * The result has the modulus length. Montgomery contexts are cached in the kernel per
 * modulus, so repeated CA and issuer keys are set up once.
 *
 * @throws {PkError} `PK_MODULUS_LENGTH` (not 64..256 bytes), `PK_MODULUS_INVALID` (even or a
 * leading zero byte), `PK_EXPONENT_INVALID`, `PK_INPUT_LENGTH` (input length ≠ modulus
 * length), `PK_INPUT_RANGE` (input ≥ modulus).
 */
export function rsaPublic(
  modulus: Uint8Array,
  exponent: Uint8Array,
  input: Uint8Array,
): Uint8Array {
  stageRsa(modulus, exponent, input);
  const st = kRsaRaw(P_MOD, modulus.length, P_EXP, exponent.length, P_IN, input.length, P_OUT);
  if (st === Status.BAD_ARGUMENT) throw new KernelError(st, "rsaPublic");
  if (st !== Status.OK) throw new PkError(st, "rsaPublic");
  return copyOut(P_OUT, modulus.length);
}

/**
 * The kernel's public operation only when it pays: as {@link rsaPublic}, except that the first
 * sighting of a modulus with e = 3 answers `null` (nothing computed; the modulus is remembered
 * and gets a cached context on its next use), so the caller can take V8 BigInt for one-off keys.
 *
 * @throws {PkError} as {@link rsaPublic}.
 */
export function rsaPublicIfCached(
  modulus: Uint8Array,
  exponent: Uint8Array,
  input: Uint8Array,
): Uint8Array | null {
  stageRsa(modulus, exponent, input);
  const st = kRsaIfCached(P_MOD, modulus.length, P_EXP, exponent.length, P_IN, input.length, P_OUT);
  if (st === Status.PK_NOT_CACHED) return null;
  if (st === Status.BAD_ARGUMENT) throw new KernelError(st, "rsaPublicIfCached");
  if (st !== Status.OK) throw new PkError(st, "rsaPublic");
  return copyOut(P_OUT, modulus.length);
}

/** One item of {@link rsaPublicBatch}. */
export interface RsaItem {
  readonly modulus: Uint8Array;
  readonly exponent: Uint8Array;
  readonly input: Uint8Array;
}

/** Outcome of one batch item: `output` only when `status` is 0 (`OK`). */
export interface RsaResult {
  readonly status: number;
  readonly code: string;
  readonly output?: Uint8Array;
}

const DESC_BYTES = 28;

/**
 * Many raw public operations in as few kernel calls as fit the IN/OUT regions (one call for
 * any realistic batch). Refused items carry their status; they never throw.
 */
export function rsaPublicBatch(items: readonly RsaItem[]): RsaResult[] {
  if (!Array.isArray(items)) throw new TypeError("items must be an array");
  const results: RsaResult[] = [];
  let i = 0;
  while (i < items.length) {
    const start = i;
    let inUsed = 0;
    let outUsed = 0;
    // OUT: descriptors, then statuses, then outputs; sized per call below.
    const maxItems = Math.floor(OUT_SIZE / (DESC_BYTES + 4 + RSA_MAX_BYTES));
    const outputs: number[] = [];
    const lengths: number[] = [];
    while (i < items.length && i - start < maxItems) {
      const it = items[i];
      checkBytes(it?.modulus, `items[${i}].modulus`);
      checkBytes(it.exponent, `items[${i}].exponent`);
      checkBytes(it.input, `items[${i}].input`);
      const need = it.modulus.length + it.exponent.length + it.input.length;
      if (need > IN_SIZE) throw new RangeError(`items[${i}] exceeds the input region`);
      if (inUsed + need > IN_SIZE) break;
      const base = IN_BASE + inUsed;
      mem.set(it.modulus, base);
      mem.set(it.exponent, base + it.modulus.length);
      mem.set(it.input, base + it.modulus.length + it.exponent.length);
      inUsed += need;
      const w = (OUT_BASE >>> 2) + (i - start) * 7;
      mem32[w] = base;
      mem32[w + 1] = it.modulus.length;
      mem32[w + 2] = base + it.modulus.length;
      mem32[w + 3] = it.exponent.length;
      mem32[w + 4] = base + it.modulus.length + it.exponent.length;
      mem32[w + 5] = it.input.length;
      outputs.push(outUsed);
      lengths.push(it.modulus.length);
      outUsed += Math.min(it.modulus.length, RSA_MAX_BYTES);
      i++;
    }
    const n = i - start;
    const statusPtr = OUT_BASE + n * DESC_BYTES;
    const dataPtr = statusPtr + n * 4;
    for (let k = 0; k < n; k++) mem32[(OUT_BASE >>> 2) + k * 7 + 6] = dataPtr + outputs[k];
    const st = kRsaBatch(OUT_BASE, n, statusPtr);
    if (st !== Status.OK) throw new KernelError(st, "rsaPublicBatch");
    for (let k = 0; k < n; k++) {
      const status = mem32[(statusPtr >>> 2) + k] | 0;
      const o = dataPtr + outputs[k];
      results.push(
        status === Status.OK
          ? { status, code: "OK", output: copyOut(o, lengths[k]) }
          : { status, code: statusName(status) },
      );
    }
  }
  return results;
}

/** Drops the kernel's cached RSA Montgomery contexts (benchmarks of the set-up cost). */
export function rsaCacheClear(): void {
  kRsaCacheClear();
}

// ---- SM2 ----

const kSm2Verify = fn<(pub: number, e: number, sig: number) => number>("sm2VerifyDigestRaw");
const kSm2Check = fn<(pub: number) => number>("sm2CheckPoint");
const kSm2Batch = fn<(desc: number, count: number, statusOut: number) => number>(
  "sm2VerifyDigestBatch",
);
const kSm2MulAdd = fn<(s: number, t: number, pub: number, out: number) => number>(
  "sm2MulAddRaw",
);
const kSm2Init = fn<() => void>("sm2Init");
const kSm2KeyCacheClear = fn<() => void>("sm2KeyCacheClear");

const P_PUB = PARAM_BASE + 1024;
const P_E = PARAM_BASE + 1088;
const P_SIG = PARAM_BASE + 1120;
const P_S = PARAM_BASE + 1184;
const P_T = PARAM_BASE + 1216;
const P_PT = PARAM_BASE + 1248;

function checkLength(value: unknown, length: number, what: string): asserts value is Uint8Array {
  checkBytes(value, what);
  if (value.length !== length) {
    throw new RangeError(`${what} must be ${length} bytes, got ${value.length}`);
  }
}

/** Builds the kernel's fixed-base table for G now (otherwise done on first use, ~ms). */
export function sm2Init(): void {
  kSm2Init();
}

/**
 * Drops the kernel's per-key SM2 tables and sighting counts (a key seen
 * `SM2_KEY_TABLE_AFTER` = 64 times gets a table that makes its verifications about 6× cheaper).
 */
export function sm2KeyCacheClear(): void {
  kSm2KeyCacheClear();
}

/** True when the 64-byte x‖y is a point on the SM2 curve (coordinates below p). */
export function sm2IsOnCurve(publicKey64: Uint8Array): boolean {
  checkLength(publicKey64, 64, "publicKey64");
  mem.set(publicKey64, P_PUB);
  const st = kSm2Check(P_PUB);
  if (st === Status.BAD_ARGUMENT) throw new KernelError(st, "sm2IsOnCurve");
  return st === Status.OK;
}

/**
 * Kernel status of an SM2 verification over a ready digest: `OK`, `SM2_BAD_SIGNATURE`,
 * `SM2_SCALAR_RANGE` or `SM2_POINT_NOT_ON_CURVE` (as a number; see `statusName`).
 */
export function sm2VerifyDigestStatus(
  publicKey64: Uint8Array,
  e32: Uint8Array,
  signature64: Uint8Array,
): number {
  checkLength(publicKey64, 64, "publicKey64");
  checkLength(e32, 32, "e32");
  checkLength(signature64, 64, "signature64");
  mem.set(publicKey64, P_PUB);
  mem.set(e32, P_E);
  mem.set(signature64, P_SIG);
  const st = kSm2Verify(P_PUB, P_E, P_SIG);
  if (st === Status.BAD_ARGUMENT) throw new KernelError(st, "sm2VerifyDigest");
  return st;
}

/** SM2 verification of raw r‖s over a ready digest e = SM3(Z ‖ M) (GB/T 32918.2 §7). */
export function sm2VerifyDigest(
  publicKey64: Uint8Array,
  e32: Uint8Array,
  signature64: Uint8Array,
): boolean {
  return sm2VerifyDigestStatus(publicKey64, e32, signature64) === Status.OK;
}

/** One item of {@link sm2VerifyDigestBatch}. */
export interface Sm2DigestItem {
  readonly publicKey: Uint8Array;
  readonly e: Uint8Array;
  readonly signature: Uint8Array;
}

/** Many digest verifications in one kernel call; one status per item (0 = valid). */
export function sm2VerifyDigestBatch(items: readonly Sm2DigestItem[]): number[] {
  if (!Array.isArray(items)) throw new TypeError("items must be an array");
  const out: number[] = [];
  const per = 160;
  const maxItems = Math.min(Math.floor(IN_SIZE / per), Math.floor(OUT_SIZE / 16));
  for (let start = 0; start < items.length; start += maxItems) {
    const n = Math.min(maxItems, items.length - start);
    for (let k = 0; k < n; k++) {
      const it = items[start + k];
      const i = start + k;
      checkLength(it?.publicKey, 64, `items[${i}].publicKey`);
      checkLength(it.e, 32, `items[${i}].e`);
      checkLength(it.signature, 64, `items[${i}].signature`);
      const base = IN_BASE + k * per;
      mem.set(it.publicKey, base);
      mem.set(it.e, base + 64);
      mem.set(it.signature, base + 96);
      const w = (OUT_BASE >>> 2) + k * 3;
      mem32[w] = base;
      mem32[w + 1] = base + 64;
      mem32[w + 2] = base + 96;
    }
    const statusPtr = OUT_BASE + n * 12;
    const st = kSm2Batch(OUT_BASE, n, statusPtr);
    if (st !== Status.OK) throw new KernelError(st, "sm2VerifyDigestBatch");
    for (let k = 0; k < n; k++) out.push(mem32[(statusPtr >>> 2) + k] | 0);
  }
  return out;
}

/**
 * Affine x‖y of s·G + t·P computed by the kernel (for differential tests of its point
 * arithmetic); `null` for the point at infinity or an off-curve P.
 */
export function sm2MulAdd(
  s32: Uint8Array,
  t32: Uint8Array,
  publicKey64: Uint8Array,
): Uint8Array | null {
  checkLength(s32, 32, "s32");
  checkLength(t32, 32, "t32");
  checkLength(publicKey64, 64, "publicKey64");
  mem.set(s32, P_S);
  mem.set(t32, P_T);
  mem.set(publicKey64, P_PUB);
  const st = kSm2MulAdd(P_S, P_T, P_PUB, P_PT);
  if (st === Status.BAD_ARGUMENT) throw new KernelError(st, "sm2MulAdd");
  return st === Status.OK ? copyOut(P_PT, 64) : null;
}

// ---- SM2 with Z and e from the kernel's SM3 ----

type Sm2FullFn = (
  pub: number,
  id: number,
  idLen: number,
  msg: number,
  msgLen: number,
  sig: number,
) => number;
const kSm2VerifyFull = fn<Sm2FullFn>("sm2VerifyRaw");
const kSm2Digest = fn<Sm2FullFn>("sm2DigestRaw");
const kSm2Z = fn<(pub: number, id: number, idLen: number, out: number) => number>("sm2ZRaw");
const kSm2VerifyBatch = fn<(desc: number, count: number, statusOut: number) => number>(
  "sm2VerifyBatch",
);

/** The default SM2 user ID (GM/T 0009-2012 §10), used by PBOC SM2 certificates. */
export const SM2_DEFAULT_USER_ID = "1234567812345678";
/** Longest message the kernel verifies in one piece. */
export const SM2_MESSAGE_MAX = 0x1_0000;
/** Longest user ID (its bit length must fit the 2-byte ENTL). */
export const SM2_USER_ID_MAX = 8191;

const P_ID = PARAM_BASE + 2048; // user ID, up to 8191 bytes
const P_Z = PARAM_BASE + 1312;
const utf8 = new TextEncoder();

function userIdBytes(userId: string | Uint8Array, what = "userId"): Uint8Array {
  const id = typeof userId === "string" ? utf8.encode(userId) : userId;
  checkBytes(id, what);
  if (id.length > SM2_USER_ID_MAX) {
    throw new PkError(Status.SM2_USER_ID_TOO_LONG, `${what} of ${id.length} bytes`);
  }
  return id;
}

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ Px ‖ Py) (GB/T 32918.2 §5.5), computed by the kernel. */
export function sm2Z(
  publicKey64: Uint8Array,
  userId: string | Uint8Array = SM2_DEFAULT_USER_ID,
): Uint8Array {
  checkLength(publicKey64, 64, "publicKey64");
  const id = userIdBytes(userId);
  mem.set(publicKey64, P_PUB);
  mem.set(id, P_ID);
  const st = kSm2Z(P_PUB, P_ID, id.length, P_Z);
  if (st !== Status.OK) throw new KernelError(st, "sm2Z");
  return copyOut(P_Z, 32);
}

function loadMessage(publicKey64: Uint8Array, message: Uint8Array, userId: string | Uint8Array) {
  checkLength(publicKey64, 64, "publicKey64");
  checkBytes(message, "message");
  if (message.length > SM2_MESSAGE_MAX) {
    throw new PkError(Status.SM2_MESSAGE_TOO_LONG, `message of ${message.length} bytes`);
  }
  const id = userIdBytes(userId);
  mem.set(publicKey64, P_PUB);
  mem.set(id, P_ID);
  mem.set(message, IN_BASE);
  return id.length;
}

/** e = SM3(Z ‖ M) computed by the kernel. */
export function sm2Digest(
  publicKey64: Uint8Array,
  message: Uint8Array,
  userId: string | Uint8Array = SM2_DEFAULT_USER_ID,
): Uint8Array {
  const idLen = loadMessage(publicKey64, message, userId);
  const st = kSm2Digest(P_PUB, P_ID, idLen, IN_BASE, message.length, P_E);
  if (st !== Status.OK) throw new KernelError(st, "sm2Digest");
  return copyOut(P_E, 32);
}

/**
 * Kernel status of a full SM2 verification (Z and e computed by the kernel): `OK`,
 * `SM2_BAD_SIGNATURE`, `SM2_SCALAR_RANGE` or `SM2_POINT_NOT_ON_CURVE`.
 */
export function sm2VerifyStatus(
  publicKey64: Uint8Array,
  message: Uint8Array,
  signature64: Uint8Array,
  userId: string | Uint8Array = SM2_DEFAULT_USER_ID,
): number {
  checkLength(signature64, 64, "signature64");
  const idLen = loadMessage(publicKey64, message, userId);
  mem.set(signature64, P_SIG);
  const st = kSm2VerifyFull(P_PUB, P_ID, idLen, IN_BASE, message.length, P_SIG);
  if (st === Status.BAD_ARGUMENT) throw new KernelError(st, "sm2Verify");
  return st;
}

/**
 * SM2 verification of raw r‖s over `message` with `e = SM3(Z ‖ M)`, Z from `userId`
 * (default `1234567812345678`) and the 64-byte key x‖y. False for any invalid signature,
 * off-curve key or out-of-range r/s.
 */
export function sm2Verify(
  publicKey64: Uint8Array,
  message: Uint8Array,
  signature64: Uint8Array,
  userId: string | Uint8Array = SM2_DEFAULT_USER_ID,
): boolean {
  return sm2VerifyStatus(publicKey64, message, signature64, userId) === Status.OK;
}

/** One item of {@link sm2VerifyBatch}; `userId` defaults to `1234567812345678`. */
export interface Sm2Item {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly userId?: string | Uint8Array;
}

/** Many full verifications in as few kernel calls as fit IN; one status per item (0 = valid). */
export function sm2VerifyBatch(items: readonly Sm2Item[]): number[] {
  if (!Array.isArray(items)) throw new TypeError("items must be an array");
  const out: number[] = [];
  let i = 0;
  while (i < items.length) {
    const start = i;
    let used = 0;
    const maxItems = Math.floor(OUT_SIZE / 28);
    while (i < items.length && i - start < maxItems) {
      const it = items[i];
      checkLength(it?.publicKey, 64, `items[${i}].publicKey`);
      checkLength(it.signature, 64, `items[${i}].signature`);
      checkBytes(it.message, `items[${i}].message`);
      const id = userIdBytes(it.userId ?? SM2_DEFAULT_USER_ID, `items[${i}].userId`);
      const need = 128 + id.length + it.message.length;
      if (need > IN_SIZE) throw new RangeError(`items[${i}] exceeds the input region`);
      if (used + need > IN_SIZE) break;
      const base = IN_BASE + used;
      mem.set(it.publicKey, base);
      mem.set(it.signature, base + 64);
      mem.set(id, base + 128);
      mem.set(it.message, base + 128 + id.length);
      used += need;
      const w = (OUT_BASE >>> 2) + (i - start) * 6;
      mem32[w] = base;
      mem32[w + 1] = base + 128;
      mem32[w + 2] = id.length;
      mem32[w + 3] = base + 128 + id.length;
      mem32[w + 4] = it.message.length;
      mem32[w + 5] = base + 64;
      i++;
    }
    const n = i - start;
    const statusPtr = OUT_BASE + n * 24;
    const st = kSm2VerifyBatch(OUT_BASE, n, statusPtr);
    if (st !== Status.OK) throw new KernelError(st, "sm2VerifyBatch");
    for (let k = 0; k < n; k++) out.push(mem32[(statusPtr >>> 2) + k] | 0);
  }
  return out;
}
