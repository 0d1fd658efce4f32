// SM4 block cipher (GB/T 32907-2016), 128-bit block and key, 32 rounds.
//
// Round: X[i+4] = X[i] ^ T(X[i+1] ^ X[i+2] ^ X[i+3] ^ rk[i]) with T = L∘τ, computed with four
// T-tables (one per byte position: L(S(a) << 24-8k)). Key schedule (§7.3):
// K[0..3] = MK ^ FK, rk[i] = K[i+4] = K[i] ^ L'(τ(K[i+1] ^ K[i+2] ^ K[i+3] ^ CK[i])),
// L'(B) = B ^ (B <<< 13) ^ (B <<< 23). Decryption uses the round keys in reverse.
//
// For other kernel families (the verification engine):
//   sm4KeySchedule(key, rk)              32 round keys (128 bytes) at rk
//   sm4EncryptBlockAt(rk, src, dst)      one 16-byte block, src may equal dst
//   sm4DecryptBlockAt(rk, src, dst)
//   sm4CbcMacInto(rk, src, len, padding, dst): i32   CBC-MAC, zero IV, 16-byte result
// No bounds checks in these: the caller owns the pointers.

import { SM4_CK, SM4_T, SM4_TK } from "./sym_tables";
import { ST_OK } from "./status";
import { MAC_TAIL_ERROR, macTail, macTailStatus } from "./mac_padding";

export const SM4_SCHEDULE_BYTES: u32 = 128;

// @ts-ignore: decorator
@inline function t(w: u32): u32 {
  // Byte indexes extracted already multiplied by 4 (one shift and one mask each).
  return (load<u32>((w >> 22) & 0x3FC, SM4_T) ^
    load<u32>((w >> 14) & 0x3FC, SM4_T + 1024)) ^
    (load<u32>((w >> 6) & 0x3FC, SM4_T + 2048) ^
      load<u32>((w << 2) & 0x3FC, SM4_T + 3072));
}

/** L'(τ(w)) through the key-schedule T'-tables. */
// @ts-ignore: decorator
@inline function tk(w: u32): u32 {
  // Byte indexes extracted already multiplied by 4, as in t().
  return (load<u32>((w >> 22) & 0x3FC, SM4_TK) ^
    load<u32>((w >> 14) & 0x3FC, SM4_TK + 1024)) ^
    (load<u32>((w >> 6) & 0x3FC, SM4_TK + 2048) ^
      load<u32>((w << 2) & 0x3FC, SM4_TK + 3072));
}

/** The 32 round keys of the 16-byte key at `key`, written as u32 at `rk`. */
export function sm4KeySchedule(key: usize, rk: usize): void {
  let k0 = bswap<u32>(load<u32>(key)) ^ 0xA3B1BAC6;
  let k1 = bswap<u32>(load<u32>(key, 4)) ^ 0x56AA3350;
  let k2 = bswap<u32>(load<u32>(key, 8)) ^ 0x677D9197;
  let k3 = bswap<u32>(load<u32>(key, 12)) ^ 0xB27022DC;
  for (let i: usize = 0; i < 32; i++) {
    const k4 = k0 ^ tk(k1 ^ k2 ^ k3 ^ load<u32>(i << 2, SM4_CK));
    store<u32>(rk + (i << 2), k4);
    k0 = k1; k1 = k2; k2 = k3; k3 = k4;
  }
}

/** Key schedules of two keys at once (their dependency chains interleaved). */
export function sm4KeyScheduleX2(keyA: usize, rkA: usize, keyB: usize, rkB: usize): void {
  let a0 = bswap<u32>(load<u32>(keyA)) ^ 0xA3B1BAC6;
  let a1 = bswap<u32>(load<u32>(keyA, 4)) ^ 0x56AA3350;
  let a2 = bswap<u32>(load<u32>(keyA, 8)) ^ 0x677D9197;
  let a3 = bswap<u32>(load<u32>(keyA, 12)) ^ 0xB27022DC;
  let b0 = bswap<u32>(load<u32>(keyB)) ^ 0xA3B1BAC6;
  let b1 = bswap<u32>(load<u32>(keyB, 4)) ^ 0x56AA3350;
  let b2 = bswap<u32>(load<u32>(keyB, 8)) ^ 0x677D9197;
  let b3 = bswap<u32>(load<u32>(keyB, 12)) ^ 0xB27022DC;
  for (let i: usize = 0; i < 128; i += 16) {
    const c0 = load<u32>(i, SM4_CK), c1 = load<u32>(i, SM4_CK + 4);
    const c2 = load<u32>(i, SM4_CK + 8), c3 = load<u32>(i, SM4_CK + 12);
    a0 ^= tk(a1 ^ a2 ^ c0 ^ a3); b0 ^= tk(b1 ^ b2 ^ c0 ^ b3);
    a1 ^= tk(a2 ^ a3 ^ c1 ^ a0); b1 ^= tk(b2 ^ b3 ^ c1 ^ b0);
    a2 ^= tk(a3 ^ a0 ^ c2 ^ a1); b2 ^= tk(b3 ^ b0 ^ c2 ^ b1);
    a3 ^= tk(a0 ^ a1 ^ c3 ^ a2); b3 ^= tk(b0 ^ b1 ^ c3 ^ b2);
    store<u32>(rkA + i, a0); store<u32>(rkA + i, a1, 4);
    store<u32>(rkA + i, a2, 8); store<u32>(rkA + i, a3, 12);
    store<u32>(rkB + i, b0); store<u32>(rkB + i, b1, 4);
    store<u32>(rkB + i, b2, 8); store<u32>(rkB + i, b3, 12);
  }
}

/** Key schedules of four keys at once (the batch CBC-MAC's four records). */
export function sm4KeyScheduleX4(
  ka: usize, ra: usize, kb: usize, rb: usize, kc: usize, rc: usize, kd: usize, rd: usize,
): void {
  let a0 = bswap<u32>(load<u32>(ka, 0)) ^ 0xA3B1BAC6;
  let a1 = bswap<u32>(load<u32>(ka, 4)) ^ 0x56AA3350;
  let a2 = bswap<u32>(load<u32>(ka, 8)) ^ 0x677D9197;
  let a3 = bswap<u32>(load<u32>(ka, 12)) ^ 0xB27022DC;
  let b0 = bswap<u32>(load<u32>(kb, 0)) ^ 0xA3B1BAC6;
  let b1 = bswap<u32>(load<u32>(kb, 4)) ^ 0x56AA3350;
  let b2 = bswap<u32>(load<u32>(kb, 8)) ^ 0x677D9197;
  let b3 = bswap<u32>(load<u32>(kb, 12)) ^ 0xB27022DC;
  let c0 = bswap<u32>(load<u32>(kc, 0)) ^ 0xA3B1BAC6;
  let c1 = bswap<u32>(load<u32>(kc, 4)) ^ 0x56AA3350;
  let c2 = bswap<u32>(load<u32>(kc, 8)) ^ 0x677D9197;
  let c3 = bswap<u32>(load<u32>(kc, 12)) ^ 0xB27022DC;
  let d0 = bswap<u32>(load<u32>(kd, 0)) ^ 0xA3B1BAC6;
  let d1 = bswap<u32>(load<u32>(kd, 4)) ^ 0x56AA3350;
  let d2 = bswap<u32>(load<u32>(kd, 8)) ^ 0x677D9197;
  let d3 = bswap<u32>(load<u32>(kd, 12)) ^ 0xB27022DC;
  for (let i: usize = 0; i < 128; i += 16) {
    const ck0 = load<u32>(i, SM4_CK), ck1 = load<u32>(i, SM4_CK + 4);
    const ck2 = load<u32>(i, SM4_CK + 8), ck3 = load<u32>(i, SM4_CK + 12);
    a0 ^= tk(a1 ^ a2 ^ ck0 ^ a3); b0 ^= tk(b1 ^ b2 ^ ck0 ^ b3); c0 ^= tk(c1 ^ c2 ^ ck0 ^ c3); d0 ^= tk(d1 ^ d2 ^ ck0 ^ d3);
    a1 ^= tk(a2 ^ a3 ^ ck1 ^ a0); b1 ^= tk(b2 ^ b3 ^ ck1 ^ b0); c1 ^= tk(c2 ^ c3 ^ ck1 ^ c0); d1 ^= tk(d2 ^ d3 ^ ck1 ^ d0);
    a2 ^= tk(a3 ^ a0 ^ ck2 ^ a1); b2 ^= tk(b3 ^ b0 ^ ck2 ^ b1); c2 ^= tk(c3 ^ c0 ^ ck2 ^ c1); d2 ^= tk(d3 ^ d0 ^ ck2 ^ d1);
    a3 ^= tk(a0 ^ a1 ^ ck3 ^ a2); b3 ^= tk(b0 ^ b1 ^ ck3 ^ b2); c3 ^= tk(c0 ^ c1 ^ ck3 ^ c2); d3 ^= tk(d0 ^ d1 ^ ck3 ^ d2);
    store<u32>(ra + i, a0); store<u32>(ra + i, a1, 4); store<u32>(ra + i, a2, 8); store<u32>(ra + i, a3, 12);
    store<u32>(rb + i, b0); store<u32>(rb + i, b1, 4); store<u32>(rb + i, b2, 8); store<u32>(rb + i, b3, 12);
    store<u32>(rc + i, c0); store<u32>(rc + i, c1, 4); store<u32>(rc + i, c2, 8); store<u32>(rc + i, c3, 12);
    store<u32>(rd + i, d0); store<u32>(rd + i, d1, 4); store<u32>(rd + i, d2, 8); store<u32>(rd + i, d3, 12);
  }
}

/** 32 rounds on (x0..x3) with the schedule at `rk`; writes the 16-byte result at `dst`. */
// @ts-ignore: decorator
@inline export function sm4Rounds(
  rk: usize, x0: u32, x1: u32, x2: u32, x3: u32, decrypt: bool, dst: usize,
): void {
  if (!decrypt) {
    for (let i: usize = 0; i < 128; i += 16) {
      x0 ^= t(x1 ^ x2 ^ load<u32>(rk + i) ^ x3);
      x1 ^= t(x2 ^ x3 ^ load<u32>(rk + i, 4) ^ x0);
      x2 ^= t(x3 ^ x0 ^ load<u32>(rk + i, 8) ^ x1);
      x3 ^= t(x0 ^ x1 ^ load<u32>(rk + i, 12) ^ x2);
    }
  } else {
    for (let i: isize = 112; i >= 0; i -= 16) {
      x0 ^= t(x1 ^ x2 ^ load<u32>(rk + i, 12) ^ x3);
      x1 ^= t(x2 ^ x3 ^ load<u32>(rk + i, 8) ^ x0);
      x2 ^= t(x3 ^ x0 ^ load<u32>(rk + i, 4) ^ x1);
      x3 ^= t(x0 ^ x1 ^ load<u32>(rk + i) ^ x2);
    }
  }
  // Reverse transform R: output (X35, X34, X33, X32).
  store<u32>(dst, bswap<u32>(x3));
  store<u32>(dst, bswap<u32>(x2), 4);
  store<u32>(dst, bswap<u32>(x1), 8);
  store<u32>(dst, bswap<u32>(x0), 12);
}

/** Encrypts the 16-byte block at `src` into `dst` (may be the same). */
export function sm4EncryptBlockAt(rk: usize, src: usize, dst: usize): void {
  sm4Rounds(rk, bswap<u32>(load<u32>(src)), bswap<u32>(load<u32>(src, 4)),
    bswap<u32>(load<u32>(src, 8)), bswap<u32>(load<u32>(src, 12)), false, dst);
}

/** Decrypts the 16-byte block at `src` into `dst` (may be the same). */
export function sm4DecryptBlockAt(rk: usize, src: usize, dst: usize): void {
  sm4Rounds(rk, bswap<u32>(load<u32>(src)), bswap<u32>(load<u32>(src, 4)),
    bswap<u32>(load<u32>(src, 8)), bswap<u32>(load<u32>(src, 12)), true, dst);
}

const TAIL: usize = memory.data(16);

/**
 * SM4 CBC-MAC with a zero IV over `len` bytes at `src` padded per `padding` (0 none, 1, 2;
 * block size 16); the last ciphertext block (16 bytes) goes to `dst`. Returns a status.
 */
export function sm4CbcMacInto(rk: usize, src: usize, len: u32, padding: i32, dst: usize): i32 {
  const tail = macTail(src, len, 16, padding, TAIL);
  if (tail == MAC_TAIL_ERROR) return <i32>macTailStatus(padding);
  const full = len >> 4;
  memory.fill(dst, 0, 16);
  for (let i: u32 = 0; i < full; i++) {
    const p = src + (<usize>i << 4);
    sm4Rounds(rk, bswap<u32>(load<u32>(p) ^ load<u32>(dst)),
      bswap<u32>(load<u32>(p, 4) ^ load<u32>(dst, 4)),
      bswap<u32>(load<u32>(p, 8) ^ load<u32>(dst, 8)),
      bswap<u32>(load<u32>(p, 12) ^ load<u32>(dst, 12)), false, dst);
  }
  if (tail == 1) {
    sm4Rounds(rk, bswap<u32>(load<u32>(TAIL) ^ load<u32>(dst)),
      bswap<u32>(load<u32>(TAIL, 4) ^ load<u32>(dst, 4)),
      bswap<u32>(load<u32>(TAIL, 8) ^ load<u32>(dst, 8)),
      bswap<u32>(load<u32>(TAIL, 12) ^ load<u32>(dst, 12)), false, dst);
  }
  return ST_OK;
}

