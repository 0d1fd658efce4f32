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
// Files: sm2.ts (this one) the statuses and entry points (key loading, s·G + t·P, the
// signature check, Z and e, batches, test hooks); sm2_layout.ts the scratch and table
// addresses; sm2_point.ts field helpers, point arithmetic and the wNAF; sm2_tables.ts the
// fixed-base and per-key tables; sm2_field_mul.ts the field products and the curve constants
// (P_L, N_L, B_L, GX_L, …), generated from kernel-as/sm2_curve.ts by gen_sm2_field.ts.
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

import { inBounds } from "./memory";
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
} from "./sm2_field_mul";
import {
  ACC,
  C_B,
  E_OUT,
  F,
  GTAB,
  MBUF,
  PX,
  PY,
  SC_E,
  SC_R,
  SC_S,
  SC_T,
  SM2_MESSAGE_MAX,
  T,
  ZBUF,
} from "./sm2_layout";
import {
  addL,
  eqL,
  fpInv,
  fromMont,
  geqL,
  isInfinity,
  isZeroL,
  loadBE,
  setInfinity,
  storeBE,
  subL,
  toMont,
  wnafMul,
} from "./sm2_point";
import { keyTable, sm2Init, windowsMulAdd } from "./sm2_tables";
import { sm3Into } from "./sm3";

export { SM2_MESSAGE_MAX, SM2_SCRATCH_END } from "./sm2_layout";
export { SM2_KEY_TABLE_AFTER, sm2Init, sm2KeyCacheClear } from "./sm2_tables";

export const ST_SM2_POINT_NOT_ON_CURVE: i32 = 320;
export const ST_SM2_SCALAR_RANGE: i32 = 321;
export const ST_SM2_BAD_SIGNATURE: i32 = 322;
export const ST_SM2_MESSAGE_TOO_LONG: i32 = 323;
export const ST_SM2_USER_ID_TOO_LONG: i32 = 324;

/** Longest user ID: its bit length must fit ENTL (2 bytes). */
export const SM2_USER_ID_MAX: u32 = 8191;

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
