// SM2 signature verification over the recommended 256-bit curve (GB/T 32918.1/.2/.5,
// GM/T 0003): y^2 = x^3 - 3x + b over GF(p), p = 2^256 - 2^224 - 2^96 + 2^64 - 1, prime order n.
//
// Field: 8 little-endian 32-bit limbs in Montgomery form (R = 2^256), always fully reduced;
// multiplication in sm2_field_mul.ts (generated, unrolled). Points: Jacobian (X, Y, Z),
// x = X/Z^2, y = Y/Z^3, Z = 0 is the point at infinity; doubling uses a = -3.
//
// Verification (GB/T 32918.2 §7.1): r, s in [1, n-1]; t = (r + s) mod n != 0;
// (x1, y1) = s·G + t·P; valid iff (e + x1) mod n == r. s·G uses a fixed-base table (22
// signed 12-bit windows, 2,048 affine multiples each, 2.75 MB in the SM2TAB region, built once
// on first use in ~50 ms); t·P a width-5 wNAF over the odd multiples P..15P, or, for a key
// seen SM2_KEY_TABLE_AFTER times (issuer keys), a per-key table of the same shape as G's (3
// slots, SM2TAB): no doublings, 22 affine additions.
// x1 is never made affine: valid iff X == c·Z^2 for c = (r - e) mod n or c + n (when < p),
// the only two values of x1 < p with x1 ≡ r - e (mod n).
//
// Internal functions for the verification engine (absolute pointers, statuses returned):
//   sm2VerifyRaw(pubPtr, idPtr, idLen, msgPtr, msgLen, sigPtr): i32   Z, e = SM3(Z‖M), verify
//   sm2VerifyDigestRaw(pubPtr /*64: x‖y*/, ePtr /*32*/, sigPtr /*64: r‖s*/): i32
//   sm2ZRaw(pubPtr, idPtr, idLen, outPtr /*32*/): i32  Z = SM3(ENTL‖ID‖a‖b‖Gx‖Gy‖Px‖Py)
//   sm2CheckPoint(pubPtr): i32                       on-curve check of x‖y
// Statuses: OK (valid signature), SM2_POINT_NOT_ON_CURVE, SM2_SCALAR_RANGE, SM2_BAD_SIGNATURE,
// SM2_MESSAGE_TOO_LONG (> 64 KiB), SM2_USER_ID_TOO_LONG (> 8191 bytes).
//
// Risks: variable time (verification handles public data only); no signing here.

import { inBounds, SM2TAB_BASE, SM2TAB_SIZE } from "./memory";
import { RSA_SCRATCH_END } from "./rsa";
import { ST_BAD_ARGUMENT, ST_OK } from "./status";
import {
  B_L,
  fpAdd,
  fpMul,
  fpMulSmall,
  fpSqr,
  fpSub,
  GX_L,
  GY_L,
  N_L,
  ONE_L,
  P_L,
  PM2_L,
  R2_L,
} from "./sm2_field_mul";
import { sm3Into } from "./sm3";

export const ST_SM2_POINT_NOT_ON_CURVE: i32 = 320;
export const ST_SM2_SCALAR_RANGE: i32 = 321;
export const ST_SM2_BAD_SIGNATURE: i32 = 322;
export const ST_SM2_MESSAGE_TOO_LONG: i32 = 323;
export const ST_SM2_USER_ID_TOO_LONG: i32 = 324;

/** Longest message sm2VerifyRaw takes (it is copied behind Z for SM3). */
export const SM2_MESSAGE_MAX: u32 = 0x1_0000;
/** Longest user ID: its bit length must fit ENTL (2 bytes). */
export const SM2_USER_ID_MAX: u32 = 8191;

const F: usize = 32; // one field element
const PT: usize = 96; // one Jacobian point

// Curve constants (P_L, N_L, B_L, GX_L, …) are generated from kernel-as/sm2_curve.ts into
// sm2_field_mul.ts.

// PK scratch map (SM2 part), after the RSA slots.
const SM2_BASE: usize = (RSA_SCRATCH_END + 0xFFF) & ~(<usize>0xFFF);
const C_ONE: usize = SM2_BASE; // 1 in Montgomery form (R mod p)
const C_B: usize = SM2_BASE + F; // b in Montgomery form
const C_GX: usize = SM2_BASE + 2 * F;
const C_GY: usize = SM2_BASE + 3 * F;
const TMP: usize = SM2_BASE + 0x100; // 16 temporaries T(0..15)
const PX: usize = SM2_BASE + 0x300; // public key, Montgomery form
const PY: usize = PX + F;
const SC_S: usize = SM2_BASE + 0x380; // scalars, plain little-endian limbs
const SC_T: usize = SC_S + F;
const SC_R: usize = SC_S + 2 * F;
const SC_E: usize = SC_S + 3 * F;
const ACC: usize = SM2_BASE + 0x400; // accumulator point
const ACC2: usize = ACC + PT;
const PTAB: usize = SM2_BASE + 0x600; // P, 3P, ..., 15P Jacobian (8 * 96 bytes)
const NEG: usize = SM2_BASE + 0x900; // a negated table point (96 bytes)
const NAF: usize = SM2_BASE + 0xA00; // wNAF digits of t (i8, 262)
const ZERO_F: usize = SM2_BASE + 0xC00; // 32 zero bytes
// Fixed-base tables (G's, and per-key ones): signed windows of W_BITS bits, each window w
// holding the affine multiples j·2^(W_BITS·w)·B, j = 1..G_ENTRIES; a 256-bit scalar is then
// G_WINDOWS affine additions (12-bit windows: 22, the top one never carries).
const W_BITS: u32 = 12;
const G_ENTRIES: usize = 1 << (W_BITS - 1); // |digit| = 1..2048
const G_WINDOWS: usize = (256 + W_BITS - 1) / W_BITS + (256 % W_BITS == 0 ? 1 : 0);
const GTAB_BYTES: usize = G_WINDOWS * G_ENTRIES * 64;
const GTAB: usize = SM2TAB_BASE; // G_WINDOWS * G_ENTRIES affine points * 64 bytes
const WORK: usize = SM2_BASE + 0x1000; // table build: G_ENTRIES Jacobian points + prefix products
const WORK_BYTES: usize = G_ENTRIES * (PT + F);
const ZBUF: usize = (WORK + WORK_BYTES + 0xFFF) & ~(<usize>0xFFF); // ENTL‖ID‖a‖b‖G‖P
const ZBUF_BYTES: usize = 0x3000;
const MBUF: usize = ZBUF + ZBUF_BYTES; // Z‖M for e, then e and Z
const MBUF_BYTES: usize = 32 + <usize>SM2_MESSAGE_MAX;
const E_OUT: usize = MBUF + MBUF_BYTES;
const Z_OUT: usize = E_OUT + 32;
// Per-key tables for recurring public keys (issuer keys verify every card's certificate), in
// SM2TAB after G's: KEY_SLOTS slots of a 128-byte header (+0 u32 valid, +4 u32 uses, +8 u32
// key hash, +64 key x‖y bytes) and a table shaped like G's: t·P is then G_WINDOWS affine
// additions.
const KEY_SLOTS: u32 = 3;
const KEY_SLOT_BYTES: usize = (128 + GTAB_BYTES + 0xFFF) & ~(<usize>0xFFF);
const KEY_BASE: usize = (GTAB + GTAB_BYTES + 0xFFF) & ~(<usize>0xFFF);
/**
 * Sightings of a key before its table is built: a build (45,056 points, ~50 ms) costs about
 * as much as 300 verifications with a new key, so only keys that keep coming back (issuer
 * keys, one per card certificate) get one.
 */
export const SM2_KEY_TABLE_AFTER: u32 = 64;
const KEY_SEEN_BUCKETS: u32 = 1024;
const KEY_SEEN: usize = memory.data(<i32>KEY_SEEN_BUCKETS * 8); // u32 hash, u32 sightings
/** End of the SM2 part of PK scratch. */
export const SM2_SCRATCH_END: usize = Z_OUT + 32;
// @ts-ignore: compile-time check
if (KEY_BASE + <usize>KEY_SLOTS * KEY_SLOT_BYTES > SM2TAB_BASE + SM2TAB_SIZE) ERROR("SM2TAB overflow");

let tableReady = false;

// @ts-ignore: decorator
@inline function T(i: usize): usize {
  return TMP + i * F;
}

// ---- field arithmetic mod p (Montgomery form, fully reduced) ----

/** out = a - b over 8 limbs (wrapping); returns the borrow. */
function subL(out: usize, a: usize, b: usize): i32 {
  let d: i64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    d += <i64>load<u32>(a + i) - <i64>load<u32>(b + i);
    store<u32>(out + i, <u32>d);
    d >>= 32;
  }
  return d != 0 ? 1 : 0;
}

/** out = a + b over 8 limbs; returns the carry. */
function addL(out: usize, a: usize, b: usize): u32 {
  let c: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(a + i) + <u64>load<u32>(b + i);
    store<u32>(out + i, <u32>c);
    c >>= 32;
  }
  return <u32>c;
}

/** a >= b (8 limbs). */
function geqL(a: usize, b: usize): bool {
  for (let i: i32 = 28; i >= 0; i -= 4) {
    const x = load<u32>(a + <usize>i);
    const y = load<u32>(b + <usize>i);
    if (x != y) return x > y;
  }
  return true;
}

function isZeroL(a: usize): bool {
  return (load<u64>(a) | load<u64>(a, 8) | load<u64>(a, 16) | load<u64>(a, 24)) == 0;
}

function eqL(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8) &&
    load<u64>(a, 16) == load<u64>(b, 16) && load<u64>(a, 24) == load<u64>(b, 24);
}

function copyF(dst: usize, src: usize): void {
  memory.copy(dst, src, F);
}

/** 32 big-endian bytes -> 8 little-endian limbs. */
function loadBE(dst: usize, src: usize): void {
  for (let i: usize = 0; i < 8; i++) {
    store<u32>(dst + i * 4, bswap<u32>(load<u32>(src + 28 - i * 4)));
  }
}

/** 8 little-endian limbs -> 32 big-endian bytes. */
function storeBE(dst: usize, src: usize): void {
  for (let i: usize = 0; i < 8; i++) {
    store<u32>(dst + 28 - i * 4, bswap<u32>(load<u32>(src + i * 4)));
  }
}

function toMont(out: usize, a: usize): void {
  fpMul(out, a, R2_L);
}

function fromMont(out: usize, a: usize): void {
  fpMul(out, a, ONE_L);
}

/** out = a^(p-2) = a^-1 (Montgomery form in and out; a != 0). */
function fpInv(out: usize, a: usize): void {
  const x = T(15);
  copyF(x, a);
  const acc = T(14);
  copyF(acc, x); // top bit of p-2 is set
  for (let bit: i32 = 254; bit >= 0; bit--) {
    fpSqr(acc, acc);
    const w = load<u32>(PM2_L + (<usize>(bit >>> 5) << 2));
    if (((w >>> <u32>(bit & 31)) & 1) != 0) fpMul(acc, acc, x);
  }
  copyF(out, acc);
}

// ---- points (Jacobian, a = -3) ----

function setInfinity(p: usize): void {
  memory.fill(p, 0, PT);
}

function isInfinity(p: usize): bool {
  return isZeroL(p + 2 * F);
}

/** out = 2·p (dbl-2001-b, Z3 = 2·Y1·Z1); out may alias p. Uses T(0..5). */
function pointDouble(out: usize, p: usize): void {
  const X1 = p, Y1 = p + F, Z1 = p + 2 * F;
  const delta = T(0), gamma = T(1), beta = T(2), alpha = T(3), t4 = T(4), t5 = T(5);
  fpSqr(delta, Z1);
  fpSqr(gamma, Y1);
  fpMul(beta, X1, gamma);
  fpSub(t4, X1, delta);
  fpAdd(t5, X1, delta);
  fpMul(alpha, t4, t5);
  fpMulSmall(alpha, alpha, 3); // alpha = 3(X1-delta)(X1+delta)
  // Z3 = 2 Y1 Z1 (before X/Y are overwritten)
  fpMul(t4, Y1, Z1);
  fpAdd(out + 2 * F, t4, t4);
  // X3 = alpha^2 - 8 beta
  fpMulSmall(beta, beta, 4); // 4 beta
  fpAdd(t5, beta, beta); // 8 beta
  fpSqr(t4, alpha);
  fpSub(out, t4, t5);
  // Y3 = alpha(4beta - X3) - 8 gamma^2
  fpSub(beta, beta, out);
  fpMul(beta, alpha, beta);
  fpSqr(gamma, gamma);
  fpMulSmall(gamma, gamma, 8);
  fpSub(out + F, beta, gamma);
}

/** out = p + q (add-2007-bl, Z3 = 2·Z1·Z2·H), Jacobian; out may alias p or q. Uses T(0..12). */
function pointAdd(out: usize, p: usize, q: usize): void {
  if (isInfinity(p)) {
    memory.copy(out, q, PT);
    return;
  }
  if (isInfinity(q)) {
    memory.copy(out, p, PT);
    return;
  }
  const X1 = p, Y1 = p + F, Z1 = p + 2 * F;
  const X2 = q, Y2 = q + F, Z2 = q + 2 * F;
  const z1z1 = T(6), z2z2 = T(7), u1 = T(8), u2 = T(9), s1 = T(10), s2 = T(11), h = T(12);
  fpSqr(z1z1, Z1);
  fpSqr(z2z2, Z2);
  fpMul(u1, X1, z2z2);
  fpMul(u2, X2, z1z1);
  fpMul(s1, Y1, Z2);
  fpMul(s1, s1, z2z2);
  fpMul(s2, Y2, Z1);
  fpMul(s2, s2, z1z1);
  fpSub(h, u2, u1);
  fpSub(s2, s2, s1); // s2 - s1
  if (isZeroL(h)) {
    if (isZeroL(s2)) {
      pointDouble(out, p);
    } else {
      setInfinity(out);
    }
    return;
  }
  const r = s2, i = T(0), j = T(1), v = T(2), t = T(3), z3 = T(4);
  // Z3 = 2 Z1 Z2 H (= ((Z1+Z2)^2 - Z1Z1 - Z2Z2) H), first (out may alias p or q)
  fpMul(z3, Z1, Z2);
  fpMul(z3, z3, h);
  fpAdd(z3, z3, z3);
  fpAdd(i, h, h);
  fpSqr(i, i); // I = (2H)^2
  fpMul(j, h, i); // J = H I
  fpAdd(r, r, r); // r = 2(S2 - S1)
  fpMul(v, u1, i); // V = U1 I
  // X3 = r^2 - J - 2V
  fpSqr(t, r);
  fpSub(t, t, j);
  fpSub(t, t, v);
  fpSub(t, t, v);
  // Y3 = r(V - X3) - 2 S1 J
  fpSub(v, v, t);
  fpMul(v, r, v);
  fpMul(s1, s1, j);
  fpAdd(s1, s1, s1);
  copyF(out, t);
  fpSub(out + F, v, s1);
  copyF(out + 2 * F, z3);
}

/** acc += (x, y) affine (madd-2007-bl, Z3 = 2·Z1·H); x, y Montgomery. Uses T(0..12). */
function pointAddAffine(acc: usize, x: usize, y: usize): void {
  const X1 = acc, Y1 = acc + F, Z1 = acc + 2 * F;
  if (isInfinity(acc)) {
    copyF(X1, x);
    copyF(Y1, y);
    copyF(Z1, C_ONE);
    return;
  }
  const z1z1 = T(6), u2 = T(7), s2 = T(8), h = T(9), hh = T(10), i = T(11), j = T(12);
  fpSqr(z1z1, Z1);
  fpMul(u2, x, z1z1);
  fpMul(s2, y, Z1);
  fpMul(s2, s2, z1z1);
  fpSub(h, u2, X1);
  fpSub(s2, s2, Y1); // S2 - Y1
  if (isZeroL(h)) {
    if (isZeroL(s2)) {
      pointDouble(acc, acc);
    } else {
      setInfinity(acc);
    }
    return;
  }
  const r = s2, v = T(0), t = T(1);
  fpSqr(hh, h);
  fpMulSmall(i, hh, 4); // I = 4 HH
  fpMul(j, h, i); // J = H I
  fpAdd(r, r, r); // r = 2(S2 - Y1)
  fpMul(v, X1, i); // V = X1 I
  // Z3 = 2 Z1 H (the same as (Z1 + H)^2 - Z1Z1 - HH)
  fpMul(t, Z1, h);
  fpAdd(Z1, t, t);
  // X3 = r^2 - J - 2V
  fpSqr(t, r);
  fpSub(t, t, j);
  fpSub(t, t, v);
  fpSub(t, t, v);
  // Y3 = r(V - X3) - 2 Y1 J
  fpSub(v, v, t);
  fpMul(v, r, v);
  fpMul(j, Y1, j);
  fpAdd(j, j, j);
  fpSub(Y1, v, j);
  copyF(X1, t);
}

// ---- fixed-base table for G ----

/**
 * Writes dst[w][j-1] = j·(2E)^w·B (affine, Montgomery form) for w < windows, j = 1..E, where B
 * is the Jacobian point in ACC2 (overwritten). Points are made affine with one inversion per
 * group of windows (Montgomery's batch trick over up to G_ENTRIES points in WORK).
 */
function buildWindows(dst: usize, windows: usize, E: usize): void {
  const base = ACC2;
  const pre = WORK + G_ENTRIES * PT; // prefix products of the Z values
  const perGroup = G_ENTRIES / E;
  let w: usize = 0;
  while (w < windows) {
    const g = min(perGroup, windows - w);
    for (let gi: usize = 0; gi < g; gi++) {
      const off = WORK + gi * E * PT;
      memory.copy(off, base, PT);
      pointDouble(off + PT, base);
      for (let j: usize = 2; j < E; j++) pointAdd(off + j * PT, off + (j - 1) * PT, base);
      pointDouble(base, off + (E - 1) * PT); // next base = 2E·base
    }
    const cnt = g * E;
    // batch inversion of the Z values (none is zero: multiples of a point of order n, j < n)
    copyF(pre, WORK + 2 * F);
    for (let j: usize = 1; j < cnt; j++) fpMul(pre + j * F, pre + (j - 1) * F, WORK + j * PT + 2 * F);
    const inv = T(13);
    fpInv(inv, pre + (cnt - 1) * F);
    for (let j: i32 = <i32>cnt - 1; j >= 0; j--) {
      const pj = WORK + <usize>j * PT;
      const zi = T(12);
      if (j > 0) {
        fpMul(zi, inv, pre + <usize>(j - 1) * F); // 1/Z_j
        fpMul(inv, inv, pj + 2 * F); // 1/(Z_0..Z_{j-1})
      } else {
        copyF(zi, inv);
      }
      const zi2 = T(11);
      fpSqr(zi2, zi);
      const out = dst + (w * E + <usize>j) * 64;
      fpMul(out, pj, zi2);
      fpMul(zi2, zi2, zi);
      fpMul(out + F, pj + F, zi2);
    }
    w += g;
  }
}

/** Builds GTAB[w][j-1] = j·2^(W_BITS·w)·G (affine, Montgomery form), j = 1..G_ENTRIES. */
function buildTable(): void {
  toMont(C_ONE, ONE_L);
  toMont(C_B, B_L);
  toMont(C_GX, GX_L);
  toMont(C_GY, GY_L);
  memory.fill(ZERO_F, 0, F);
  copyF(ACC2, C_GX);
  copyF(ACC2 + F, C_GY);
  copyF(ACC2 + 2 * F, C_ONE);
  buildWindows(GTAB, G_WINDOWS, G_ENTRIES);
  tableReady = true;
}

/** FNV-1a of a 64-byte key. */
function keyHash(pubPtr: usize): u32 {
  let h: u32 = 0x811C9DC5;
  for (let i: usize = 0; i < 64; i++) h = (h ^ <u32>load<u8>(pubPtr + i)) * 0x01000193;
  return h;
}

/**
 * The per-key table of the key at pubPtr (already loaded into PX/PY and checked), or 0. A key
 * gets a table from its SM2_KEY_TABLE_AFTER-th sighting on, in a free slot or in place of the
 * least-used one when it has been seen more often than that one has been used. An evicted
 * key's sightings restart from zero, so two keys cannot evict each other in turn (each build
 * costs ~50 ms).
 */
function keyTable(pubPtr: usize): usize {
  let victim: usize = 0;
  let victimUses: u32 = 0xFFFF_FFFF;
  for (let i: u32 = 0; i < KEY_SLOTS; i++) {
    const slot = KEY_BASE + <usize>i * KEY_SLOT_BYTES;
    if (load<u32>(slot) != 1) {
      if (victimUses != 0) {
        victim = slot;
        victimUses = 0;
      }
      continue;
    }
    if (memory.compare(slot + 64, pubPtr, 64) == 0) {
      store<u32>(slot, load<u32>(slot, 4) + 1, 4);
      return slot + 128;
    }
    const uses = load<u32>(slot, 4);
    if (uses < victimUses) {
      victim = slot;
      victimUses = uses;
    }
  }
  const h = keyHash(pubPtr);
  const bucket = KEY_SEEN + (<usize>(h % KEY_SEEN_BUCKETS) << 3);
  if (load<u32>(bucket) != h) {
    store<u32>(bucket, h);
    store<u32>(bucket, 1, 4);
    return 0;
  }
  const seen = load<u32>(bucket, 4) + 1;
  store<u32>(bucket, seen, 4);
  if (seen < SM2_KEY_TABLE_AFTER || victimUses >= seen) return 0;
  if (load<u32>(victim) == 1) {
    const vh = load<u32>(victim, 8);
    const vb = KEY_SEEN + (<usize>(vh % KEY_SEEN_BUCKETS) << 3);
    if (load<u32>(vb) == vh) store<u32>(vb, 0, 4);
  }
  store<u32>(victim, 0);
  copyF(ACC2, PX);
  copyF(ACC2 + F, PY);
  copyF(ACC2 + 2 * F, C_ONE);
  buildWindows(victim + 128, G_WINDOWS, G_ENTRIES);
  memory.copy(victim + 64, pubPtr, 64);
  store<u32>(victim, seen, 4);
  store<u32>(victim, h, 8);
  store<u32>(victim, 1);
  return victim + 128;
}

/** Drops the per-key tables and sightings (tests measure both paths with it). */
export function sm2KeyCacheClear(): void {
  for (let i: u32 = 0; i < KEY_SLOTS; i++) store<u32>(KEY_BASE + <usize>i * KEY_SLOT_BYTES, 0);
  memory.fill(KEY_SEEN, 0, <usize>KEY_SEEN_BUCKETS * 8);
}

/** Builds the fixed-base table now (it is otherwise built on the first verification). */
export function sm2Init(): void {
  if (!tableReady) buildTable();
}

// ---- verification ----

/** On-curve check of Montgomery (x, y): y^2 == x^3 - 3x + b. */
function onCurve(x: usize, y: usize): bool {
  const l = T(0), r = T(1), t = T(2);
  fpSqr(l, y);
  fpSqr(r, x);
  fpMul(r, r, x);
  fpAdd(t, x, x);
  fpAdd(t, t, x);
  fpSub(r, r, t);
  fpAdd(r, r, C_B);
  return eqL(l, r);
}

/** Loads x‖y (64 big-endian bytes) into PX/PY (Montgomery form); status. */
function loadPublicKey(pubPtr: usize): i32 {
  const x = T(3), y = T(4);
  loadBE(x, pubPtr);
  loadBE(y, pubPtr + 32);
  if (geqL(x, P_L) || geqL(y, P_L)) return ST_SM2_POINT_NOT_ON_CURVE;
  toMont(PX, x);
  toMont(PY, y);
  if (!onCurve(PX, PY)) return ST_SM2_POINT_NOT_ON_CURVE;
  return ST_OK;
}

/** On-curve check of a 64-byte public key x‖y. */
export function sm2CheckPoint(pubPtr: usize): i32 {
  if (!inBounds(pubPtr, 64)) return ST_BAD_ARGUMENT;
  sm2Init();
  return loadPublicKey(pubPtr);
}

/** Bit i of an 8-limb scalar (0 beyond bit 255). */
// @ts-ignore: decorator
@inline function bitAt(k: usize, i: u32): u32 {
  return i < 256 ? (load<u32>(k + (<usize>(i >>> 5) << 2)) >>> (i & 31)) & 1 : 0;
}

/** Bits i..i+4 of an 8-limb scalar. */
function bits5(k: usize, i: u32): u32 {
  let v: u32 = 0;
  for (let b: u32 = 0; b < 5; b++) v |= bitAt(k, i + b) << b;
  return v;
}

/**
 * Width-5 NAF of the scalar at `k` into NAF[0..257): odd digits in [-15, 15], at most one
 * non-zero digit in any 5 consecutive positions. Returns the number of digits.
 */
function wnaf5(k: usize): i32 {
  memory.fill(NAF, 0, 262);
  let carry: u32 = 0;
  let i: u32 = 0;
  while (i < 257) {
    if (bitAt(k, i) == carry) {
      i++;
      continue;
    }
    const win = bits5(k, i) + carry;
    let d = <i32>win;
    if (win >= 16) {
      d -= 32;
      carry = 1;
    } else {
      carry = 0;
    }
    store<i8>(NAF + <usize>i, <i8>d);
    i += 5;
  }
  return 262;
}

/** NEG = -p (Jacobian). */
function negate(p: usize): usize {
  copyF(NEG, p);
  fpSub(NEG + F, ZERO_F, p + F);
  copyF(NEG + 2 * F, p + 2 * F);
  return NEG;
}

/**
 * ACC = s·G + t·P for the scalars in SC_S, SC_T and the key in PX/PY; `ktab` is the key's
 * table (keyTable) or 0.
 */
function doubleScalarMul(ktab: usize): void {
  if (ktab != 0) {
    setInfinity(ACC);
    windowsMulAdd(ktab, SC_T);
  } else {
    wnafMul();
  }
  windowsMulAdd(GTAB, SC_S);
}

/** ACC = t·P by a width-5 wNAF over PTAB[j] = (2j+1)·P. */
function wnafMul(): void {
  copyF(PTAB, PX);
  copyF(PTAB + F, PY);
  copyF(PTAB + 2 * F, C_ONE);
  pointDouble(ACC2, PTAB); // 2P
  for (let j: usize = 1; j < 8; j++) pointAdd(PTAB + j * PT, PTAB + (j - 1) * PT, ACC2);
  const len = wnaf5(SC_T);
  setInfinity(ACC);
  let started = false;
  for (let i: i32 = len - 1; i >= 0; i--) {
    if (started) pointDouble(ACC, ACC);
    const d = <i32>load<i8>(NAF + <usize>i);
    if (d > 0) {
      pointAdd(ACC, ACC, PTAB + <usize>((d - 1) >> 1) * PT);
      started = true;
    } else if (d < 0) {
      pointAdd(ACC, ACC, negate(PTAB + <usize>((-d - 1) >> 1) * PT));
      started = true;
    }
  }
}

/** Bits W_BITS·w .. W_BITS·w + W_BITS - 1 of an 8-limb scalar (zero above bit 255). */
// @ts-ignore: decorator
@inline function windowBits(k: usize, w: usize): u32 {
  const b = <u32>w * W_BITS;
  if (b >= 256) return 0;
  const li = <usize>(b >>> 5);
  let v = <u64>load<u32>(k + (li << 2));
  if (li < 7) v |= <u64>load<u32>(k + (li << 2) + 4) << 32;
  return <u32>(v >>> (b & 31)) & ((1 << W_BITS) - 1);
}

/**
 * ACC += k·B for the scalar at `k` with a table of B (GTAB, or a key's): signed W_BITS-bit
 * windows (Booth), one affine addition per non-zero window.
 */
function windowsMulAdd(tab: usize, k: usize): void {
  let carry: u32 = 0;
  const ny = T(14);
  const half = <u32>G_ENTRIES;
  for (let w: usize = 0; w < G_WINDOWS; w++) {
    const b = windowBits(k, w) + carry;
    let d = <i32>b;
    if (b > half) {
      d -= <i32>(half << 1);
      carry = 1;
    } else {
      carry = 0;
    }
    if (d > 0) {
      const e = tab + (w * G_ENTRIES + <usize>(d - 1)) * 64;
      pointAddAffine(ACC, e, e + F);
    } else if (d < 0) {
      const e = tab + (w * G_ENTRIES + <usize>(-d - 1)) * 64;
      fpSub(ny, ZERO_F, e + F);
      pointAddAffine(ACC, e, ny);
    }
  }
}

/** True when 1 <= k <= n-1. */
function scalarInRange(k: usize): bool {
  return !isZeroL(k) && !geqL(k, N_L);
}

/**
 * Verifies a raw SM2 signature r‖s over a ready digest e = SM3(Z ‖ M) with the public key
 * x‖y. OK when valid; SM2_BAD_SIGNATURE, SM2_SCALAR_RANGE (r or s outside [1, n-1]) or
 * SM2_POINT_NOT_ON_CURVE otherwise.
 */
export function sm2VerifyDigestRaw(pubPtr: usize, ePtr: usize, sigPtr: usize): i32 {
  if (!inBounds(pubPtr, 64) || !inBounds(ePtr, 32) || !inBounds(sigPtr, 64)) {
    return ST_BAD_ARGUMENT;
  }
  sm2Init();
  loadBE(SC_R, sigPtr);
  loadBE(SC_S, sigPtr + 32);
  if (!scalarInRange(SC_R) || !scalarInRange(SC_S)) return ST_SM2_SCALAR_RANGE;
  const st = loadPublicKey(pubPtr);
  if (st != ST_OK) return st;
  // t = (r + s) mod n (r + s < 2n)
  const carry = addL(SC_T, SC_R, SC_S);
  if (carry != 0 || geqL(SC_T, N_L)) subL(SC_T, SC_T, N_L);
  if (isZeroL(SC_T)) return ST_SM2_BAD_SIGNATURE;
  doubleScalarMul(keyTable(pubPtr));
  if (isInfinity(ACC)) return ST_SM2_BAD_SIGNATURE;
  // c = (r - e) mod n, e reduced mod n first (e < 2^256 < 2n)
  loadBE(SC_E, ePtr);
  if (geqL(SC_E, N_L)) subL(SC_E, SC_E, N_L);
  const c = T(13);
  if (subL(c, SC_R, SC_E) != 0) addL(c, c, N_L);
  // X == c·Z^2 (Montgomery), or with c + n when that is still below p
  const z2 = T(14), cm = T(15), lhs = T(12);
  fpSqr(z2, ACC + 2 * F);
  toMont(cm, c);
  fpMul(lhs, cm, z2);
  if (eqL(lhs, ACC)) return ST_OK;
  if (addL(c, c, N_L) == 0 && !geqL(c, P_L)) {
    toMont(cm, c);
    fpMul(lhs, cm, z2);
    if (eqL(lhs, ACC)) return ST_OK;
  }
  return ST_SM2_BAD_SIGNATURE;
}

/** Affine x‖y (64 big-endian bytes) of s·G + t·P, for differential tests of the point code. */
export function sm2MulAddRaw(sPtr: usize, tPtr: usize, pubPtr: usize, outPtr: usize): i32 {
  if (!inBounds(sPtr, 32) || !inBounds(tPtr, 32) || !inBounds(pubPtr, 64)) return ST_BAD_ARGUMENT;
  if (!inBounds(outPtr, 64)) return ST_BAD_ARGUMENT;
  sm2Init();
  const st = loadPublicKey(pubPtr);
  if (st != ST_OK) return st;
  loadBE(SC_S, sPtr);
  loadBE(SC_T, tPtr);
  doubleScalarMul(keyTable(pubPtr));
  if (isInfinity(ACC)) {
    memory.fill(outPtr, 0, 64);
    return ST_SM2_BAD_SIGNATURE;
  }
  const zi = T(13), zi2 = T(14), v = T(12);
  fpInv(zi, ACC + 2 * F);
  fpSqr(zi2, zi);
  fpMul(v, ACC, zi2);
  fromMont(v, v);
  storeBE(outPtr, v);
  fpMul(zi2, zi2, zi);
  fpMul(v, ACC + F, zi2);
  fromMont(v, v);
  storeBE(outPtr + 32, v);
  return ST_OK;
}

/**
 * Many verifications in one call. `desc` holds `count` entries of 3 u32 absolute pointers:
 * public key (64), digest e (32), signature (64). One i32 status per item to `statusOut`.
 */
export function sm2VerifyDigestBatch(desc: usize, count: u32, statusOut: usize): i32 {
  if (count > 0x10_0000 || !inBounds(desc, count * 12) || !inBounds(statusOut, count * 4)) {
    return ST_BAD_ARGUMENT;
  }
  for (let i: u32 = 0; i < count; i++) {
    const d = desc + <usize>i * 12;
    store<i32>(
      statusOut + (<usize>i << 2),
      sm2VerifyDigestRaw(load<u32>(d), load<u32>(d, 4), load<u32>(d, 8)),
    );
  }
  return ST_OK;
}

// ---- Z and e with the kernel's SM3 (GB/T 32918.2 §5.5, §7.2 step B3) ----

/** Writes Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ Px ‖ Py) for the key x‖y at `pubPtr`. */
export function sm2ZRaw(pubPtr: usize, idPtr: usize, idLen: u32, outPtr: usize): i32 {
  if (!inBounds(pubPtr, 64) || !inBounds(idPtr, idLen) || !inBounds(outPtr, 32)) {
    return ST_BAD_ARGUMENT;
  }
  if (idLen > SM2_USER_ID_MAX) return ST_SM2_USER_ID_TOO_LONG;
  const bits = idLen * 8;
  store<u8>(ZBUF, <u8>(bits >>> 8));
  store<u8>(ZBUF + 1, <u8>bits);
  memory.copy(ZBUF + 2, idPtr, idLen);
  let o = ZBUF + 2 + <usize>idLen;
  const a = T(0);
  subL(a, P_L, ONE_L);
  subL(a, a, ONE_L);
  subL(a, a, ONE_L); // a = p - 3
  storeBE(o, a);
  storeBE(o + 32, B_L);
  storeBE(o + 64, GX_L);
  storeBE(o + 96, GY_L);
  memory.copy(o + 128, pubPtr, 64);
  o += 192;
  sm3Into(ZBUF, <u32>(o - ZBUF), outPtr);
  return ST_OK;
}

/**
 * Full SM2 verification: Z from the user ID and key, e = SM3(Z ‖ M), then
 * sm2VerifyDigestRaw. Status as there, plus the length statuses.
 */
export function sm2VerifyRaw(
  pubPtr: usize,
  idPtr: usize,
  idLen: u32,
  msgPtr: usize,
  msgLen: u32,
  sigPtr: usize,
): i32 {
  const st = sm2DigestRaw(pubPtr, idPtr, idLen, msgPtr, msgLen, E_OUT);
  if (st != ST_OK) return st;
  return sm2VerifyDigestRaw(pubPtr, E_OUT, sigPtr);
}

/** e = SM3(Z ‖ M) (sm2VerifyRaw's digest, exported for tests); 32 bytes to `outPtr`. */
export function sm2DigestRaw(
  pubPtr: usize,
  idPtr: usize,
  idLen: u32,
  msgPtr: usize,
  msgLen: u32,
  outPtr: usize,
): i32 {
  if (!inBounds(msgPtr, msgLen) || !inBounds(outPtr, 32)) return ST_BAD_ARGUMENT;
  if (msgLen > SM2_MESSAGE_MAX) return ST_SM2_MESSAGE_TOO_LONG;
  const st = sm2ZRaw(pubPtr, idPtr, idLen, MBUF);
  if (st != ST_OK) return st;
  memory.copy(MBUF + 32, msgPtr, msgLen);
  sm3Into(MBUF, msgLen + 32, outPtr);
  return ST_OK;
}

/**
 * Many full verifications in one call. `desc` holds `count` entries of 6 u32: pubPtr, idPtr,
 * idLen, msgPtr, msgLen, sigPtr (absolute). One i32 status per item to `statusOut`.
 */
export function sm2VerifyBatch(desc: usize, count: u32, statusOut: usize): i32 {
  if (count > 0x10_0000 || !inBounds(desc, count * 24) || !inBounds(statusOut, count * 4)) {
    return ST_BAD_ARGUMENT;
  }
  for (let i: u32 = 0; i < count; i++) {
    const d = desc + <usize>i * 24;
    store<i32>(
      statusOut + (<usize>i << 2),
      sm2VerifyRaw(
        load<u32>(d),
        load<u32>(d, 4),
        load<u32>(d, 8),
        load<u32>(d, 12),
        load<u32>(d, 16),
        load<u32>(d, 20),
      ),
    );
  }
  return ST_OK;
}

/**
 * Test hook for the field arithmetic: op 0 Montgomery product a·b·2^-256, 1 square a²·2^-256,
 * 2 a + b, 3 a - b, 4 k·a for k = b's low limb in 2..8, all mod p over 32-byte little-endian
 * values below p.
 */
export function sm2FieldOp(op: i32, aPtr: usize, bPtr: usize, outPtr: usize): i32 {
  if (!inBounds(aPtr, 32) || !inBounds(bPtr, 32) || !inBounds(outPtr, 32)) return ST_BAD_ARGUMENT;
  if (geqL(aPtr, P_L) || geqL(bPtr, P_L)) return ST_BAD_ARGUMENT;
  if (op == 0) fpMul(outPtr, aPtr, bPtr);
  else if (op == 1) fpSqr(outPtr, aPtr);
  else if (op == 2) fpAdd(outPtr, aPtr, bPtr);
  else if (op == 3) fpSub(outPtr, aPtr, bPtr);
  else if (op == 4) {
    const k = load<u32>(bPtr);
    if (k < 2 || k > 8) return ST_BAD_ARGUMENT;
    fpMulSmall(outPtr, aPtr, k);
  } else return ST_BAD_ARGUMENT;
  return ST_OK;
}
