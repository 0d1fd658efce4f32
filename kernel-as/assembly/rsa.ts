// RSA public operation (raw, no padding) for EMV certificate and signature recovery
// (EMV 4.4 Book 2 §5.3, §6.4: X = C^e mod N with len(C) == len(N)). Moduli 512..2048 bits
// (64..256 bytes, EMV CA keys reach 1984 bits), any public exponent up to the modulus length.
//
// Files: this one holds the statuses, the key slots and the entry points (argument checks,
// slot cache, batch); the arithmetic is in rsa_bignum.ts.
//
// Arithmetic (rsa_bignum.ts): 28-bit limbs, Montgomery products with WASM SIMD, R = 2^(28k).
// Per-modulus set-up (n0inv, R^2 mod n by shift-and-reduce) is cached in slots, so a CA or
// issuer key costs its set-up once; e = 3 then takes three Montgomery products. The first
// time rsaPublicRaw sees a modulus with e = 3 (an ICC key, used once per card) it skips the
// set-up: two plain products, each reduced by schoolbook division with SIMD digit
// subtractions (cubePlain; cubeModPlain in rsa_bignum.ts).
//
// Montgomery contexts live in slots of PK scratch (RSA_SLOTS of them, RSA_SLOT_BYTES each):
//   +0   u32 k (limbs), +4 u32 n0inv (-n^-1 mod 2^28), +8 u32 modulus bytes, +12 u32 valid
//   +16  modulus bytes (256), +272 n limbs (296), +568 R^2 mod n limbs (296)
// Slots 0..RSA_AUTO_SLOTS-1 are an automatic cache keyed by a hash of the modulus (used by
// rsaPublicRaw from a modulus's second sighting on, so CA and issuer keys are set up once);
// slot RSA_SCRATCH_SLOT (255) is rsaPublicRaw's scratch for one-off moduli; the rest are for
// explicit use.
//
// Internal functions for the verification engine (absolute pointers, statuses returned):
//   rsaSlotInit(slot, modPtr, modLen): i32           set up a Montgomery context in a slot
//   rsaSlotPublic(slot, expPtr, expLen, inPtr, inLen, outPtr): i32   X = in^e mod n
//   rsaPublicRaw(modPtr, modLen, expPtr, expLen, inPtr, inLen, outPtr): i32  via the auto cache
//   rsaPublicIfCached(same arguments): i32   PK_NOT_CACHED on a modulus's first sighting
// Every output has the modulus length. Malformed input is a status, never a trap.

import { PK_BASE, inBounds } from "./memory";
import {
  bytesToLimbs,
  cubeModPlain,
  limbCount,
  montN0Inv,
  montPow,
  montR2,
} from "./rsa_bignum";
import { ST_BAD_ARGUMENT, ST_OK } from "./status";

export const ST_PK_MODULUS_LENGTH: i32 = 300;
export const ST_PK_MODULUS_INVALID: i32 = 301;
export const ST_PK_EXPONENT_INVALID: i32 = 302;
export const ST_PK_INPUT_LENGTH: i32 = 303;
export const ST_PK_INPUT_RANGE: i32 = 304;
export const ST_PK_SLOT_EMPTY: i32 = 305;
export const ST_PK_NOT_CACHED: i32 = 306;

export const RSA_MIN_BYTES: u32 = 64;
export const RSA_MAX_BYTES: u32 = 256;
export const RSA_SLOTS: u32 = 256;
export const RSA_AUTO_SLOTS: u32 = 64;
export const RSA_SLOT_BYTES: u32 = 1024;
/** Slot rsaPublicRaw uses for one-off moduli (not for explicit use). */
export const RSA_SCRATCH_SLOT: u32 = RSA_SLOTS - 1;

// PK scratch map (RSA part): the working numbers of rsa_bignum.ts below 0x2000, then the slots.
const SLOTS_BASE: usize = PK_BASE + 0x2000;
/** End of the RSA part of PK scratch (the SM2 family starts at or after it). */
export const RSA_SCRATCH_END: usize = SLOTS_BASE + <usize>RSA_SLOTS * RSA_SLOT_BYTES;

const S_K: usize = 0;
const S_N0: usize = 4;
const S_LEN: usize = 8;
const S_VALID: usize = 12;
const S_MOD: usize = 16;
const S_N: usize = 272;
const S_R2: usize = 568;

// @ts-ignore: decorator
@inline function slotAt(slot: u32): usize {
  return SLOTS_BASE + <usize>slot * RSA_SLOT_BYTES;
}

/** Checks a modulus: length, top byte, odd. */
function checkModulus(modPtr: usize, modLen: u32): i32 {
  if (modLen < RSA_MIN_BYTES || modLen > RSA_MAX_BYTES) return ST_PK_MODULUS_LENGTH;
  if (load<u8>(modPtr) == 0) return ST_PK_MODULUS_INVALID;
  if ((load<u8>(modPtr + modLen - 1) & 1) == 0) return ST_PK_MODULUS_INVALID;
  return ST_OK;
}

/** Sets up the Montgomery context of a modulus in a slot (n limbs, -n^-1 mod 2^28, R^2 mod n). */
export function rsaSlotInit(slot: u32, modPtr: usize, modLen: u32): i32 {
  if (slot >= RSA_SLOTS || !inBounds(modPtr, modLen)) return ST_BAD_ARGUMENT;
  const s = slotAt(slot);
  store<u32>(s + S_VALID, 0);
  const st = checkModulus(modPtr, modLen);
  if (st != ST_OK) return st;
  const k = limbCount(modLen);
  const n = s + S_N;
  bytesToLimbs(n, modPtr, modLen, k);
  memory.copy(s + S_MOD, modPtr, modLen);
  const n0inv = montN0Inv(load<u32>(n));
  // L = bit length of n.
  const topByte = <u32>load<u8>(modPtr);
  const L = (modLen - 1) * 8 + (32 - clz<u32>(topByte));
  montR2(s + S_R2, n, k, L);
  store<u32>(s + S_K, k);
  store<u32>(s + S_N0, n0inv);
  store<u32>(s + S_LEN, modLen);
  store<u32>(s + S_VALID, 1);
  return ST_OK;
}

/** Index of the first non-zero byte of the exponent (expLen when it is all zero). */
// @ts-ignore: decorator
@inline function leadingZeroBytes(expPtr: usize, expLen: u32): u32 {
  let e0: u32 = 0;
  while (e0 < expLen && load<u8>(expPtr + e0) == 0) e0++;
  return e0;
}

/** True when the `len` big-endian bytes at `a` are below those at `b`. */
// @ts-ignore: decorator
@inline function bytesBelow(a: usize, b: usize, len: u32): bool {
  let less = false;
  for (let i: u32 = 0; i < len; i++) {
    const x = load<u8>(a + i);
    const y = load<u8>(b + i);
    if (x != y) {
      less = x < y;
      break;
    }
  }
  return less;
}

/** out = in^e mod n with the context in `slot`; in and out have the modulus length. */
export function rsaSlotPublic(
  slot: u32,
  expPtr: usize,
  expLen: u32,
  inPtr: usize,
  inLen: u32,
  outPtr: usize,
): i32 {
  if (slot >= RSA_SLOTS) return ST_BAD_ARGUMENT;
  const s = slotAt(slot);
  if (load<u32>(s + S_VALID) != 1) return ST_PK_SLOT_EMPTY;
  const modLen = load<u32>(s + S_LEN);
  if (!inBounds(expPtr, expLen) || !inBounds(inPtr, inLen) || !inBounds(outPtr, modLen)) {
    return ST_BAD_ARGUMENT;
  }
  // Exponent: 1..modLen bytes, not zero.
  if (expLen == 0 || expLen > modLen) return ST_PK_EXPONENT_INVALID;
  const e0 = leadingZeroBytes(expPtr, expLen);
  if (e0 == expLen) return ST_PK_EXPONENT_INVALID;
  if (inLen != modLen) return ST_PK_INPUT_LENGTH;
  if (!bytesBelow(inPtr, s + S_MOD, modLen)) return ST_PK_INPUT_RANGE;
  const k = load<u32>(s + S_K);
  const n0inv = load<u32>(s + S_N0);
  montPow(outPtr, inPtr, modLen, expPtr, e0, expLen, s + S_N, s + S_R2, k, n0inv);
  return ST_OK;
}

// ---- first sightings, the automatic slot cache and batches ----

/** True when the exponent bytes encode exactly 3 (leading zero bytes allowed). */
function isThree(expPtr: usize, expLen: u32): bool {
  if (expLen == 0) return false;
  for (let i: u32 = 0; i + 1 < expLen; i++) if (load<u8>(expPtr + i) != 0) return false;
  return load<u8>(expPtr + expLen - 1) == 3;
}

/**
 * out = in^3 mod n without a Montgomery context (for a modulus seen for the first time):
 * two plain products, each reduced by division. Checks as rsaSlotPublic.
 */
function cubePlain(modPtr: usize, modLen: u32, inPtr: usize, inLen: u32, outPtr: usize): i32 {
  if (!inBounds(inPtr, inLen) || !inBounds(outPtr, modLen)) return ST_BAD_ARGUMENT;
  if (inLen != modLen) return ST_PK_INPUT_LENGTH;
  if (!bytesBelow(inPtr, modPtr, modLen)) return ST_PK_INPUT_RANGE;
  cubeModPlain(outPtr, inPtr, modPtr, modLen);
  return ST_OK;
}

/**
 * FNV-1a over the modulus length and its last 32 bytes (random-looking for any real key);
 * the automatic slot is hash % RSA_AUTO_SLOTS. Hits are confirmed by a full comparison.
 */
function modHash(modPtr: usize, modLen: u32): u32 {
  let h: u32 = (0x811C9DC5 ^ modLen) * 0x01000193;
  for (let i: u32 = modLen - 32; i < modLen; i++) {
    h = (h ^ <u32>load<u8>(modPtr + i)) * 0x01000193;
  }
  return h;
}

// Last modulus hash seen per hash bucket (rsaPublicIfCached's second-sighting rule); more
// buckets than slots, so one-off ICC keys rarely erase a recurring key's first sighting.
const SEEN_BUCKETS: u32 = 1024;
const SEEN: usize = memory.data(<i32>SEEN_BUCKETS * 4);

/** True when `slot` holds exactly this modulus. */
function slotHolds(slot: u32, modPtr: usize, modLen: u32): bool {
  const s = slotAt(slot);
  if (load<u32>(s + S_VALID) != 1 || load<u32>(s + S_LEN) != modLen) return false;
  const a = s + S_MOD;
  let i: usize = 0;
  for (; i + 8 <= <usize>modLen; i += 8) if (load<u64>(a + i) != load<u64>(modPtr + i)) return false;
  for (; i < <usize>modLen; i++) if (load<u8>(a + i) != load<u8>(modPtr + i)) return false;
  return true;
}

/** Raw public operation with the automatic context cache (set-up only on a miss). */
export function rsaPublicRaw(
  modPtr: usize,
  modLen: u32,
  expPtr: usize,
  expLen: u32,
  inPtr: usize,
  inLen: u32,
  outPtr: usize,
): i32 {
  if (!inBounds(modPtr, modLen)) return ST_BAD_ARGUMENT;
  const st = checkModulus(modPtr, modLen);
  if (st != ST_OK) return st;
  const h = modHash(modPtr, modLen);
  const slot = h % RSA_AUTO_SLOTS;
  if (!slotHolds(slot, modPtr, modLen)) {
    // First sighting of a modulus (an ICC key, used once per card): e = 3 without set-up;
    // other exponents with a context in the scratch slot, so one-off keys never evict the
    // cached CA and issuer contexts. A second sighting sets up the automatic slot.
    const seen = SEEN + (<usize>(h % SEEN_BUCKETS) << 2);
    if (load<u32>(seen) != h) {
      store<u32>(seen, h);
      if (inBounds(expPtr, expLen) && isThree(expPtr, expLen)) {
        return cubePlain(modPtr, modLen, inPtr, inLen, outPtr);
      }
      const s3 = rsaSlotInit(RSA_SCRATCH_SLOT, modPtr, modLen);
      if (s3 != ST_OK) return s3;
      return rsaSlotPublic(RSA_SCRATCH_SLOT, expPtr, expLen, inPtr, inLen, outPtr);
    }
    const s2 = rsaSlotInit(slot, modPtr, modLen);
    if (s2 != ST_OK) return s2;
  }
  return rsaSlotPublic(slot, expPtr, expLen, inPtr, inLen, outPtr);
}

/**
 * As rsaPublicRaw, but the first sighting of a modulus with e = 3 answers ST_PK_NOT_CACHED
 * (and remembers it) instead of computing, for a caller that routes one-off keys (EMV ICC
 * keys) elsewhere; CA and issuer keys, which recur, get a cached context from their second use
 * on. Other exponents are computed at once.
 */
export function rsaPublicIfCached(
  modPtr: usize,
  modLen: u32,
  expPtr: usize,
  expLen: u32,
  inPtr: usize,
  inLen: u32,
  outPtr: usize,
): i32 {
  if (!inBounds(modPtr, modLen)) return ST_BAD_ARGUMENT;
  const st = checkModulus(modPtr, modLen);
  if (st != ST_OK) return st;
  const h = modHash(modPtr, modLen);
  const slot = h % RSA_AUTO_SLOTS;
  if (!slotHolds(slot, modPtr, modLen)) {
    const seen = SEEN + (<usize>(h % SEEN_BUCKETS) << 2);
    if (load<u32>(seen) != h && inBounds(expPtr, expLen) && isThree(expPtr, expLen)) {
      store<u32>(seen, h);
      return ST_PK_NOT_CACHED;
    }
    const s2 = rsaSlotInit(slot, modPtr, modLen);
    if (s2 != ST_OK) return s2;
  }
  return rsaSlotPublic(slot, expPtr, expLen, inPtr, inLen, outPtr);
}

/** Drops every cached context (tests and benchmarks measure set-up with it). */
export function rsaCacheClear(): void {
  for (let i: u32 = 0; i < RSA_SLOTS; i++) store<u32>(slotAt(i) + S_VALID, 0);
  memory.fill(SEEN, 0, <usize>SEEN_BUCKETS * 4);
}

/**
 * Many public operations in one call. `desc` holds `count` entries of 7 u32 (absolute
 * pointers): modPtr, modLen, expPtr, expLen, inPtr, inLen, outPtr. One i32 status per item
 * goes to `statusOut`. Returns ST_OK unless the descriptor area itself is out of bounds.
 */
export function rsaPublicBatch(desc: usize, count: u32, statusOut: usize): i32 {
  if (count > 0x10_0000 || !inBounds(desc, count * 28) || !inBounds(statusOut, count * 4)) {
    return ST_BAD_ARGUMENT;
  }
  for (let i: u32 = 0; i < count; i++) {
    const d = desc + <usize>i * 28;
    const st = rsaPublicRaw(
      load<u32>(d),
      load<u32>(d, 4),
      load<u32>(d, 8),
      load<u32>(d, 12),
      load<u32>(d, 16),
      load<u32>(d, 20),
      load<u32>(d, 24),
    );
    store<i32>(statusOut + (<usize>i << 2), st);
  }
  return ST_OK;
}
