// RSA public operation (raw, no padding) for EMV certificate and signature recovery
// (EMV 4.4 Book 2 §5.3, §6.4: X = C^e mod N with len(C) == len(N)). Moduli 512..2048 bits
// (64..256 bytes, EMV CA keys reach 1984 bits), any public exponent up to the modulus length.
//
// Arithmetic: unsigned big numbers as little-endian arrays of 28-bit limbs held in u32 words
// (at most 74 limbs = 2072 bits). 28-bit limbs let Montgomery multiplication run in
// product-scanning form with no carry handling per product: a column holds at most 2*74
// products below 2^56, so it stays below 2^64. The products are formed four at a time with
// WASM SIMD (i64x2.extmul_{low,high}_i32x4_u) over interleaved operands. R = 2^(28k).
// Per-modulus set-up (n0inv, R^2 mod n by shift-and-reduce) is cached in slots, so a CA or
// issuer key costs its set-up once; e = 3 then takes three Montgomery products. The first
// time rsaPublicRaw sees a modulus with e = 3 (an ICC key, used once per card) it skips the
// set-up: two plain products, each reduced by schoolbook division with SIMD digit
// subtractions (cubePlain, reduceWideLazy).
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

const LIMB_BITS: u32 = 28;
const MASK: u32 = 0x0FFF_FFFF;
const MAX_LIMBS: u32 = 75; // 74 needed for 2048 bits; one spare for 2^L during set-up
const NUM_BYTES: usize = 304; // one big number (75 limbs rounded up)

// PK scratch map (RSA part): 8 working numbers, then the slots.
const W_X: usize = PK_BASE; // input limbs
const W_XM: usize = PK_BASE + NUM_BYTES; // input in Montgomery form
const W_A: usize = PK_BASE + 2 * NUM_BYTES; // accumulator
const W_B: usize = PK_BASE + 3 * NUM_BYTES; // second accumulator (ping-pong)
const W_ONE: usize = PK_BASE + 5 * NUM_BYTES;
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

// @ts-ignore: decorator
@inline function limb(p: usize, i: u32): u64 {
  return <u64>load<u32>(p + (<usize>i << 2));
}

/** Big-endian bytes -> k little-endian 28-bit limbs (upper limbs zero). */
function bytesToLimbs(dst: usize, src: usize, len: u32, k: u32): void {
  let acc: u64 = 0;
  let bits: u32 = 0;
  let o: u32 = 0;
  for (let i: i32 = <i32>len - 1; i >= 0; i--) {
    acc |= (<u64>load<u8>(src + <usize>i)) << bits;
    bits += 8;
    if (bits >= LIMB_BITS) {
      store<u32>(dst + (<usize>o << 2), <u32>acc & MASK);
      o++;
      acc >>= LIMB_BITS;
      bits -= LIMB_BITS;
    }
  }
  while (o < k) {
    store<u32>(dst + (<usize>o << 2), <u32>acc & MASK);
    acc >>= LIMB_BITS;
    o++;
  }
}

/** k 28-bit limbs -> `len` big-endian bytes (the value must fit). */
function limbsToBytes(dst: usize, src: usize, k: u32, len: u32): void {
  let acc: u64 = 0;
  let bits: u32 = 0;
  let li: u32 = 0;
  for (let i: i32 = <i32>len - 1; i >= 0; i--) {
    if (bits < 8) {
      if (li < k) acc |= limb(src, li) << bits;
      li++;
      bits += LIMB_BITS;
    }
    store<u8>(dst + <usize>i, <u8>acc);
    acc >>= 8;
    bits -= 8;
  }
}

/** a >= b over k limbs. */
function geq(a: usize, b: usize, k: u32): bool {
  for (let i: i32 = <i32>k - 1; i >= 0; i--) {
    const x = load<u32>(a + (<usize>i << 2));
    const y = load<u32>(b + (<usize>i << 2));
    if (x != y) return x > y;
  }
  return true;
}

/** a -= b over k limbs; returns the borrow out of the top limb (0 or 1). */
function subInPlace(a: usize, b: usize, k: u32): i32 {
  let borrow: i32 = 0;
  for (let i: u32 = 0; i < k; i++) {
    const p = a + (<usize>i << 2);
    const d = <i32>load<u32>(p) - <i32>load<u32>(b + (<usize>i << 2)) - borrow;
    store<u32>(p, <u32>d & MASK);
    borrow = d < 0 ? 1 : 0;
  }
  return borrow;
}

/** a += b over k limbs; returns the carry out of the top limb (0 or 1). */
function addInPlace(a: usize, b: usize, k: u32): u32 {
  let carry: u32 = 0;
  for (let i: u32 = 0; i < k; i++) {
    const p = a + (<usize>i << 2);
    const v = load<u32>(p) + load<u32>(b + (<usize>i << 2)) + carry;
    store<u32>(p, v & MASK);
    carry = v >>> LIMB_BITS;
  }
  return carry;
}

const TWO28: f64 = 268435456.0;
const SHIFT_STEP: u32 = 27;

// @ts-ignore: decorator
@inline function limbF(p: usize, i: u32): f64 {
  return <f64>load<u32>(p + (<usize>i << 2));
}

/**
 * T = T·2^j mod n for T < n (k limbs, limb k used as overflow), 1 <= j <= 27: shift, then
 * subtract q·n with q = floor(T/n) estimated in f64 from the top three limbs of each (off by
 * at most one), then correct. `nf` is n's top three limbs as n[k-1]·2^28 + n[k-2] + n[k-3]/2^28.
 */
function mulPow2Mod(T: usize, n: usize, k: u32, j: u32, nf: f64): void {
  let carry: u32 = 0;
  for (let i: u32 = 0; i < k; i++) {
    const p = T + (<usize>i << 2);
    const v = load<u32>(p);
    store<u32>(p, ((v << j) | carry) & MASK);
    carry = v >>> (LIMB_BITS - j);
  }
  const tf = <f64>carry * TWO28 * TWO28 + limbF(T, k - 1) * TWO28 + limbF(T, k - 2);
  const q = <i64>Math.floor(tf / nf);
  let borrow: i64 = 0;
  for (let i: u32 = 0; i < k; i++) {
    const p = T + (<usize>i << 2);
    const d = <i64>load<u32>(p) - q * <i64>load<u32>(n + (<usize>i << 2)) + borrow;
    store<u32>(p, <u32>d & MASK);
    borrow = d >> LIMB_BITS;
  }
  let top: i64 = <i64>carry + borrow;
  while (top < 0) top += <i64>addInPlace(T, n, k); // q was one too large: add n back
  while (top > 0 || geq(T, n, k)) top -= <i64>subInPlace(T, n, k); // q too small
}

// Interleaved operands for the SIMD product: AM[j] = (a_j, m_j) for j = 0..k (pair k is
// zero padding), BN[p] = (b_(k-1-p), n_(k-1-p)) reversed, so that as j rises the pairs
// (a_j b_(i-j), m_j n_(i-j)) and (a_(j+1) b_(i-j-1), m_(j+1) n_(i-j-1)) sit in one 16-byte
// load each and i64x2.extmul_{low,high}_i32x4_u form four 56-bit products at once.
const AM: usize = PK_BASE + 6 * NUM_BYTES + 16;
const BN: usize = AM + 2 * NUM_BYTES;

/** Sum of the 4·pairs products over AM/BN pairs from pa/pb (two independent accumulators). */
// @ts-ignore: decorator
@inline function dot(pa: usize, pb: usize, pairs: u32): u64 {
  let v0 = i64x2.splat(0);
  let v1 = i64x2.splat(0);
  const end = pa + (<usize>pairs << 4);
  const end2 = pa + (<usize>(pairs & ~1) << 4);
  while (pa < end2) {
    const x0 = v128.load(pa);
    const y0 = v128.load(pb);
    const x1 = v128.load(pa, 16);
    const y1 = v128.load(pb, 16);
    v0 = i64x2.add(v0, i64x2.extmul_low_i32x4_u(x0, y0));
    v1 = i64x2.add(v1, i64x2.extmul_high_i32x4_u(x0, y0));
    v0 = i64x2.add(v0, i64x2.extmul_low_i32x4_u(x1, y1));
    v1 = i64x2.add(v1, i64x2.extmul_high_i32x4_u(x1, y1));
    pa += 32;
    pb += 32;
  }
  if (pa < end) {
    const x = v128.load(pa);
    const y = v128.load(pb);
    v0 = i64x2.add(v0, i64x2.extmul_low_i32x4_u(x, y));
    v1 = i64x2.add(v1, i64x2.extmul_high_i32x4_u(x, y));
  }
  v0 = i64x2.add(v0, v1);
  return <u64>i64x2.extract_lane(v0, 0) + <u64>i64x2.extract_lane(v0, 1);
}

/**
 * Montgomery product out = a*b*R^-1 mod n (a, b < n; out must not alias a or b): finely
 * integrated product scanning (Koc, Acar, Kaliski 1996, FIPS) with WASM SIMD products.
 */
function montMul(out: usize, a: usize, b: usize, n: usize, k: u32, n0inv: u32): void {
  // Lay out the operands (O(k), against O(k^2) products below).
  for (let j: u32 = 0; j < k; j++) {
    store<u64>(AM + (<usize>j << 3), <u64>load<u32>(a + (<usize>j << 2))); // m_j = 0
  }
  store<u64>(AM + (<usize>k << 3), 0);
  for (let j: u32 = 0; j < k; j++) {
    const q = BN + (<usize>(k - 1 - j) << 3);
    store<u32>(q, load<u32>(b + (<usize>j << 2)));
    store<u32>(q, load<u32>(n + (<usize>j << 2)), 4);
  }
  let acc: u64 = 0;
  const n0 = limb(n, 0);
  const b0 = limb(b, 0);
  const km1 = <usize>(k - 1);
  for (let i: u32 = 0; i < k; i++) {
    // terms j = 0..i-1 (and j = i when that makes an even count: m_i is still 0 there)
    const odd = (i & 1) != 0;
    const pairs: u32 = (i + 1) >>> 1;
    const pa = AM;
    const pb = BN + ((km1 - <usize>i) << 3);
    acc += dot(pa, pb, pairs);
    if (!odd) acc += limb(a, i) * b0;
    const mi = (<u32>acc * n0inv) & MASK;
    store<u32>(AM + (<usize>i << 3), mi, 4);
    acc += <u64>mi * n0;
    acc >>= LIMB_BITS;
  }
  for (let i: u32 = k; i < 2 * k - 1; i++) {
    // terms j = i-k+1 .. k-1, padded with the zero pair j = k to an even count
    const j0 = i - k + 1;
    const pairs: u32 = (k + k - i) >>> 1;
    const pa = AM + (<usize>j0 << 3);
    const pb = BN;
    acc += dot(pa, pb, pairs);
    store<u32>(out + (<usize>(i - k) << 2), <u32>acc & MASK);
    acc >>= LIMB_BITS;
  }
  const last = km1 << 2;
  store<u32>(out + last, <u32>acc & MASK);
  acc >>= LIMB_BITS;
  // Result < 2n: one conditional subtraction (a top carry means it is >= R > n).
  if (acc != 0 || geq(out, n, k)) subInPlace(out, n, k);
}

function copyLimbs(dst: usize, src: usize, k: u32): void {
  memory.copy(dst, src, <usize>k << 2);
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
  const k = (modLen * 8 + LIMB_BITS - 1) / LIMB_BITS;
  const n = s + S_N;
  const r2 = s + S_R2;
  bytesToLimbs(n, modPtr, modLen, k);
  memory.copy(s + S_MOD, modPtr, modLen);
  // n0inv = -n^-1 mod 2^28 by Newton iteration (each step doubles the correct bits).
  const n0 = load<u32>(n);
  let x: u32 = n0; // correct to 3 bits for odd n0
  for (let i = 0; i < 4; i++) x *= 2 - n0 * x;
  const n0inv = (0 - x) & MASK;
  // L = bit length of n; T = 2^L - n < n, then T·2^j mod n in steps of up to 27 bits
  // until T = 2^(56k) mod n = R^2 mod n (q < 2^27, so q·n_i fits i64).
  const topByte = <u32>load<u8>(modPtr);
  const L = (modLen - 1) * 8 + (32 - clz<u32>(topByte));
  const T = W_A;
  memory.fill(T, 0, <usize>(k + 1) << 2);
  store<u32>(T + (<usize>(L / LIMB_BITS) << 2), 1 << (L % LIMB_BITS));
  // 2^L - n over k limbs: when L = 28k the 2^L bit sits in limb k and absorbs the borrow.
  subInPlace(T, n, k);
  const nf = limbF(n, k - 1) * TWO28 + limbF(n, k - 2) + limbF(n, k - 3) / TWO28;
  const target: u32 = (k + k) * LIMB_BITS;
  for (let pos = L; pos < target; pos += SHIFT_STEP) {
    mulPow2Mod(T, n, k, min(SHIFT_STEP, target - pos), nf);
  }
  const cur = T;
  copyLimbs(r2, cur, k);
  store<u32>(s + S_K, k);
  store<u32>(s + S_N0, n0inv);
  store<u32>(s + S_LEN, modLen);
  store<u32>(s + S_VALID, 1);
  return ST_OK;
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
  let e0: u32 = 0;
  while (e0 < expLen && load<u8>(expPtr + e0) == 0) e0++;
  if (e0 == expLen) return ST_PK_EXPONENT_INVALID;
  if (inLen != modLen) return ST_PK_INPUT_LENGTH;
  // Input < modulus (big-endian byte compare).
  const mod = s + S_MOD;
  let less = false;
  for (let i: u32 = 0; i < modLen; i++) {
    const x = load<u8>(inPtr + i);
    const y = load<u8>(mod + i);
    if (x != y) {
      less = x < y;
      break;
    }
  }
  if (!less) return ST_PK_INPUT_RANGE;

  const k = load<u32>(s + S_K);
  const n0inv = load<u32>(s + S_N0);
  const n = s + S_N;
  bytesToLimbs(W_X, inPtr, inLen, k);
  // Exponent bits from the top: the first set bit is implicit.
  const firstByte = <u32>load<u8>(expPtr + e0);
  let bit: i32 = 30 - <i32>clz<u32>(firstByte); // next bit below the top one in firstByte
  let byteIdx = e0;
  const totalBits = (expLen - e0 - 1) * 8 + <u32>(bit + 1);
  if (totalBits == 0) {
    // e = 1
    limbsToBytes(outPtr, W_X, k, modLen);
    return ST_OK;
  }
  montMul(W_XM, W_X, s + S_R2, n, k, n0inv); // x*R mod n
  let cur = W_A;
  let other = W_B;
  copyLimbs(cur, W_XM, k);
  let remaining = totalBits;
  while (remaining > 0) {
    if (bit < 0) {
      byteIdx++;
      bit = 7;
    }
    const set = ((<u32>load<u8>(expPtr + byteIdx) >>> <u32>bit) & 1) != 0;
    bit--;
    remaining--;
    montMul(other, cur, cur, n, k, n0inv);
    let t = cur;
    cur = other;
    other = t;
    if (remaining == 0) {
      // Last bit: leave the Montgomery domain in the same product.
      if (set) {
        montMul(other, cur, W_X, n, k, n0inv); // x^(e-1) R * x * R^-1
      } else {
        memory.fill(W_ONE, 0, <usize>k << 2);
        store<u32>(W_ONE, 1);
        montMul(other, cur, W_ONE, n, k, n0inv);
      }
      t = cur;
      cur = other;
      other = t;
    } else if (set) {
      montMul(other, cur, W_XM, n, k, n0inv);
      t = cur;
      cur = other;
      other = t;
    }
  }
  limbsToBytes(outPtr, cur, k, modLen);
  return ST_OK;
}

// ---- set-up-free path for e = 3 (one-off keys): plain products and division ----

const PLAIN_N: usize = PK_BASE + 0xC00; // modulus limbs
const PA: usize = PK_BASE + 0xD40; // a_0..a_(k-1), then 4 zero limbs
const PBR: usize = PK_BASE + 0xE80; // 4 zero limbs, b_(k-1)..b_0, 4 zero limbs
const PW: usize = PK_BASE + 0x1000; // 2k+1 limbs: product, then remainder
const PX2: usize = PK_BASE + 0x1300; // x^2 mod n

/** out[0..2k) = a·b (k limbs each), product scanning with SIMD products (columns < 2^63). */
function mulFull(out: usize, a: usize, b: usize, k: u32): void {
  for (let j: u32 = 0; j < k; j++) store<u32>(PA + (<usize>j << 2), load<u32>(a + (<usize>j << 2)));
  store<u64>(PA + (<usize>k << 2), 0);
  store<u64>(PA + (<usize>k << 2), 0, 8);
  store<u64>(PBR, 0);
  store<u64>(PBR, 0, 8);
  for (let j: u32 = 0; j < k; j++) {
    store<u32>(PBR + 16 + (<usize>(k - 1 - j) << 2), load<u32>(b + (<usize>j << 2)));
  }
  store<u64>(PBR + 16 + (<usize>k << 2), 0);
  store<u64>(PBR + 16 + (<usize>k << 2), 0, 8);
  let acc: u64 = 0;
  const cols = k + k - 1;
  for (let c: u32 = 0; c < cols; c++) {
    const j0: u32 = c < k ? 0 : c - k + 1;
    const j1: u32 = c < k ? c : k - 1;
    const groups = (j1 - j0 + 4) >>> 2;
    let pa = PA + (<usize>j0 << 2);
    let pb = PBR + 16 + (<usize>(k - 1 - (c - j0)) << 2);
    let v = i64x2.splat(0);
    for (let g: u32 = 0; g < groups; g++) {
      const x = v128.load(pa);
      const y = v128.load(pb);
      v = i64x2.add(v, i64x2.extmul_low_i32x4_u(x, y));
      v = i64x2.add(v, i64x2.extmul_high_i32x4_u(x, y));
      pa += 16;
      pb += 16;
    }
    acc += <u64>i64x2.extract_lane(v, 0) + <u64>i64x2.extract_lane(v, 1);
    store<u32>(out + (<usize>c << 2), <u32>acc & MASK);
    acc >>= LIMB_BITS;
  }
  store<u32>(out + (<usize>cols << 2), <u32>acc & MASK);
  store<u32>(out + (<usize>(cols + 1) << 2), 0);
}

const W64: usize = PK_BASE + 0x1440; // 2k+3 signed 64-bit limbs for reduceWideLazy

/**
 * W[0..k) = W mod n for W of 2k limbs (below n·2^(28(k+1))): schoolbook division, one
 * quotient digit per step estimated in f64 from the top limbs (nf = n's top three limbs as
 * n[k-1]·2^28 + n[k-2] + n[k-3]/2^28), the subtractions done four limbs at a time in SIMD on
 * signed 64-bit limbs whose carries are deferred. Each step first normalizes the six limbs
 * under the top (carries from further down shift the estimate by under 2^-27 of a unit), so
 * the f64 estimate stays within one of the true digit; the remainder stays in (-n, 2n)·2^(28p)
 * and the final full normalization needs at most two corrections. |limb| < 2^63 because each
 * limb takes at most k+1 subtractions of |q·n_i| <= 2^57.
 */
function reduceWideLazy(W: usize, n: usize, k: u32, nf: f64): void {
  const top2k = k + k;
  for (let j: u32 = 0; j <= top2k; j++) {
    store<i64>(W64 + (<usize>j << 3), <i64>load<u32>(W + (<usize>j << 2)));
  }
  for (let j: u32 = top2k + 1; j < top2k + 4; j++) store<i64>(W64 + (<usize>j << 3), 0);
  for (let i: u32 = k; i < k + 4; i++) store<u32>(n + (<usize>i << 2), 0); // SIMD overread
  for (let p: i32 = <i32>k; p >= 0; p--) {
    const t = <u32>p + k;
    let c: i64 = 0;
    for (let j: u32 = t - 6; j < t; j++) {
      const pj = W64 + (<usize>j << 3);
      const v = load<i64>(pj) + c;
      store<i64>(pj, v & <i64>MASK);
      c = v >> LIMB_BITS;
    }
    const top = load<i64>(W64 + (<usize>t << 3)) + c;
    const tf = <f64>top * TWO28 * TWO28 + <f64>load<i64>(W64 + (<usize>(t - 1) << 3)) * TWO28 +
      <f64>load<i64>(W64 + (<usize>(t - 2) << 3)) +
      <f64>load<i64>(W64 + (<usize>(t - 3) << 3)) / TWO28;
    const q = <i64>Math.floor(tf / nf);
    if (q != 0) {
      const qv = i32x4.splat(<i32>q);
      let pw = W64 + (<usize>p << 3);
      let pn = n;
      const end = n + (<usize>k << 2);
      while (pn < end) {
        const nv = v128.load(pn);
        v128.store(pw, i64x2.sub(v128.load(pw), i64x2.extmul_low_i32x4_s(qv, nv)));
        v128.store(pw, i64x2.sub(v128.load(pw, 16), i64x2.extmul_high_i32x4_s(qv, nv)), 16);
        pw += 32;
        pn += 16;
      }
    }
    // fold the top limb into the one below; it is the next step's top
    const below = W64 + (<usize>(t - 1) << 3);
    store<i64>(below, load<i64>(below) + (top << LIMB_BITS));
    store<i64>(W64 + (<usize>t << 3), 0);
  }
  let c: i64 = 0;
  for (let j: u32 = 0; j < k; j++) {
    const v = load<i64>(W64 + (<usize>j << 3)) + c;
    store<u32>(W + (<usize>j << 2), <u32>(v & <i64>MASK));
    c = v >> LIMB_BITS;
  }
  while (c < 0) c += <i64>addInPlace(W, n, k);
  while (c > 0 || geq(W, n, k)) c -= <i64>subInPlace(W, n, k);
}

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
  let less = false;
  for (let i: u32 = 0; i < modLen; i++) {
    const x = load<u8>(inPtr + i);
    const y = load<u8>(modPtr + i);
    if (x != y) {
      less = x < y;
      break;
    }
  }
  if (!less) return ST_PK_INPUT_RANGE;
  const k = (modLen * 8 + LIMB_BITS - 1) / LIMB_BITS;
  bytesToLimbs(PLAIN_N, modPtr, modLen, k);
  const n = PLAIN_N;
  const nf = limbF(n, k - 1) * TWO28 + limbF(n, k - 2) + limbF(n, k - 3) / TWO28;
  bytesToLimbs(W_X, inPtr, inLen, k);
  mulFull(PW, W_X, W_X, k);
  reduceWideLazy(PW, n, k, nf);
  copyLimbs(PX2, PW, k);
  mulFull(PW, PX2, W_X, k);
  reduceWideLazy(PW, n, k, nf);
  limbsToBytes(outPtr, PW, k, modLen);
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
