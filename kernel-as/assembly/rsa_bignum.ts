// RSA big-number arithmetic for rsa.ts (which holds the key slots and entry points): unsigned
// big numbers as little-endian arrays of 28-bit limbs held in u32 words (at most 74 limbs =
// 2072 bits). 28-bit limbs let Montgomery multiplication run in product-scanning form with no
// carry handling per product: a column holds at most 2*74 products below 2^56, so it stays
// below 2^64. The products are formed four at a time with WASM SIMD
// (i64x2.extmul_{low,high}_i32x4_u) over interleaved operands. R = 2^(28k).
//
// Here: byte/limb conversions, limb compare/add/subtract, a modulus's Montgomery set-up
// (montN0Inv, montR2 by shift-and-reduce), the Montgomery product and exponentiation
// (montMul, montPow), and the set-up-free cube for one-off e = 3 keys: two plain products,
// each reduced by schoolbook division with SIMD digit subtractions (cubeModPlain: mulFull,
// reduceWideLazy). No argument checks: rsa.ts validates before calling.

import { PK_BASE } from "./memory";

const LIMB_BITS: u32 = 28;
const MASK: u32 = 0x0FFF_FFFF;
const MAX_LIMBS: u32 = 75; // 74 needed for 2048 bits; one spare for 2^L during set-up
const NUM_BYTES: usize = 304; // one big number (75 limbs rounded up)

// PK scratch map (RSA part): working numbers from PK_BASE; rsa.ts puts the slots at
// PK_BASE + 0x2000.
const W_X: usize = PK_BASE; // input limbs
const W_XM: usize = PK_BASE + NUM_BYTES; // input in Montgomery form
const W_A: usize = PK_BASE + 2 * NUM_BYTES; // accumulator
const W_B: usize = PK_BASE + 3 * NUM_BYTES; // second accumulator (ping-pong)
const W_ONE: usize = PK_BASE + 5 * NUM_BYTES;

/** Limbs of a modulus of `modLen` bytes. */
// @ts-ignore: decorator
@inline export function limbCount(modLen: u32): u32 {
  return (modLen * 8 + LIMB_BITS - 1) / LIMB_BITS;
}

// @ts-ignore: decorator
@inline function limb(p: usize, i: u32): u64 {
  return <u64>load<u32>(p + (<usize>i << 2));
}

/** Big-endian bytes -> k little-endian 28-bit limbs (upper limbs zero). */
export function bytesToLimbs(dst: usize, src: usize, len: u32, k: u32): void {
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
export function limbsToBytes(dst: usize, src: usize, k: u32, len: u32): void {
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

/** n's top three limbs as one f64: n[k-1]·2^28 + n[k-2] + n[k-3]/2^28 (quotient estimates). */
// @ts-ignore: decorator
@inline function topLimbsF(n: usize, k: u32): f64 {
  return limbF(n, k - 1) * TWO28 + limbF(n, k - 2) + limbF(n, k - 3) / TWO28;
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

/** -n0^-1 mod 2^28 for odd n0 by Newton iteration (each step doubles the correct bits). */
export function montN0Inv(n0: u32): u32 {
  let x: u32 = n0; // correct to 3 bits for odd n0
  for (let i = 0; i < 4; i++) x *= 2 - n0 * x;
  return (0 - x) & MASK;
}

/**
 * r2 = R^2 mod n (k limbs) for n of bit length L: T = 2^L - n < n, then T·2^j mod n in steps
 * of up to 27 bits until T = 2^(56k) mod n = R^2 mod n (q < 2^27, so q·n_i fits i64).
 */
export function montR2(r2: usize, n: usize, k: u32, L: u32): void {
  const T = W_A;
  memory.fill(T, 0, <usize>(k + 1) << 2);
  store<u32>(T + (<usize>(L / LIMB_BITS) << 2), 1 << (L % LIMB_BITS));
  // 2^L - n over k limbs: when L = 28k the 2^L bit sits in limb k and absorbs the borrow.
  subInPlace(T, n, k);
  const nf = topLimbsF(n, k);
  const target: u32 = (k + k) * LIMB_BITS;
  for (let pos = L; pos < target; pos += SHIFT_STEP) {
    mulPow2Mod(T, n, k, min(SHIFT_STEP, target - pos), nf);
  }
  const cur = T;
  copyLimbs(r2, cur, k);
}

/**
 * outPtr = in^e mod n as `len` big-endian bytes, for the `len`-byte big-endian input at inPtr
 * (below n) and the exponent bytes expPtr[e0..expLen) (expPtr[e0] != 0), with n's Montgomery
 * context (k limbs, n0inv, r2 = R^2 mod n): left-to-right square-and-multiply in the
 * Montgomery domain, leaving it in the last product.
 */
export function montPow(
  outPtr: usize,
  inPtr: usize,
  len: u32,
  expPtr: usize,
  e0: u32,
  expLen: u32,
  n: usize,
  r2: usize,
  k: u32,
  n0inv: u32,
): void {
  bytesToLimbs(W_X, inPtr, len, k);
  // Exponent bits from the top: the first set bit is implicit.
  const firstByte = <u32>load<u8>(expPtr + e0);
  let bit: i32 = 30 - <i32>clz<u32>(firstByte); // next bit below the top one in firstByte
  let byteIdx = e0;
  const totalBits = (expLen - e0 - 1) * 8 + <u32>(bit + 1);
  if (totalBits == 0) {
    // e = 1
    limbsToBytes(outPtr, W_X, k, len);
    return;
  }
  montMul(W_XM, W_X, r2, n, k, n0inv); // x*R mod n
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
  limbsToBytes(outPtr, cur, k, len);
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

/**
 * outPtr = in^3 mod n (`modLen` big-endian bytes each, in below n) without a Montgomery
 * context: two plain products, each reduced by division.
 */
export function cubeModPlain(outPtr: usize, inPtr: usize, modPtr: usize, modLen: u32): void {
  const k = limbCount(modLen);
  bytesToLimbs(PLAIN_N, modPtr, modLen, k);
  const n = PLAIN_N;
  const nf = topLimbsF(n, k);
  bytesToLimbs(W_X, inPtr, modLen, k);
  mulFull(PW, W_X, W_X, k);
  reduceWideLazy(PW, n, k, nf);
  copyLimbs(PX2, PW, k);
  mulFull(PW, PX2, W_X, k);
  reduceWideLazy(PW, n, k, nf);
  limbsToBytes(outPtr, PW, k, modLen);
}
