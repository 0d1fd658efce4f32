// SM2 field-element helpers and point arithmetic (see sm2.ts for the family): 8-limb compare,
// add, subtract and byte-order conversions, Montgomery-form conversion and inversion around the
// generated sm2_field_mul.ts; Jacobian doubling and addition (a = -3), mixed affine addition;
// and t·P for an arbitrary point by a width-5 wNAF. Temporaries are T(0..15) (sm2_layout.ts);
// each function says which it uses.

import {
  ACC,
  ACC2,
  C_ONE,
  F,
  NAF,
  NEG,
  PT,
  PTAB,
  PX,
  PY,
  SC_T,
  T,
  ZERO_F,
} from "./sm2_layout";
import { fpAdd, fpMul, fpMulSmall, fpSqr, fpSub, ONE_L, PM2_L, R2_L } from "./sm2_field_mul";

// ---- field arithmetic mod p (Montgomery form, fully reduced) ----

/** out = a - b over 8 limbs (wrapping); returns the borrow. */
export function subL(out: usize, a: usize, b: usize): i32 {
  let d: i64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    d += <i64>load<u32>(a + i) - <i64>load<u32>(b + i);
    store<u32>(out + i, <u32>d);
    d >>= 32;
  }
  return d != 0 ? 1 : 0;
}

/** out = a + b over 8 limbs; returns the carry. */
export function addL(out: usize, a: usize, b: usize): u32 {
  let c: u64 = 0;
  for (let i: usize = 0; i < 32; i += 4) {
    c += <u64>load<u32>(a + i) + <u64>load<u32>(b + i);
    store<u32>(out + i, <u32>c);
    c >>= 32;
  }
  return <u32>c;
}

/** a >= b (8 limbs). */
export function geqL(a: usize, b: usize): bool {
  for (let i: i32 = 28; i >= 0; i -= 4) {
    const x = load<u32>(a + <usize>i);
    const y = load<u32>(b + <usize>i);
    if (x != y) return x > y;
  }
  return true;
}

export function isZeroL(a: usize): bool {
  return (load<u64>(a) | load<u64>(a, 8) | load<u64>(a, 16) | load<u64>(a, 24)) == 0;
}

export function eqL(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8) &&
    load<u64>(a, 16) == load<u64>(b, 16) && load<u64>(a, 24) == load<u64>(b, 24);
}

export function copyF(dst: usize, src: usize): void {
  memory.copy(dst, src, F);
}

/** 32 big-endian bytes -> 8 little-endian limbs. */
export function loadBE(dst: usize, src: usize): void {
  for (let i: usize = 0; i < 8; i++) {
    store<u32>(dst + i * 4, bswap<u32>(load<u32>(src + 28 - i * 4)));
  }
}

/** 8 little-endian limbs -> 32 big-endian bytes. */
export function storeBE(dst: usize, src: usize): void {
  for (let i: usize = 0; i < 8; i++) {
    store<u32>(dst + 28 - i * 4, bswap<u32>(load<u32>(src + i * 4)));
  }
}

export function toMont(out: usize, a: usize): void {
  fpMul(out, a, R2_L);
}

export function fromMont(out: usize, a: usize): void {
  fpMul(out, a, ONE_L);
}

/** out = a^(p-2) = a^-1 (Montgomery form in and out; a != 0). */
export function fpInv(out: usize, a: usize): void {
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

export function setInfinity(p: usize): void {
  memory.fill(p, 0, PT);
}

export function isInfinity(p: usize): bool {
  return isZeroL(p + 2 * F);
}

/** out = 2·p (dbl-2001-b, Z3 = 2·Y1·Z1); out may alias p. Uses T(0..5). */
export function pointDouble(out: usize, p: usize): void {
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
export function pointAdd(out: usize, p: usize, q: usize): void {
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
export function pointAddAffine(acc: usize, x: usize, y: usize): void {
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

// ---- t·P by a width-5 wNAF ----

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

/** ACC = t·P by a width-5 wNAF over PTAB[j] = (2j+1)·P. */
export function wnafMul(): void {
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
