// Two independent SM4 blocks in one instruction stream (ECB pairs; the CBC-MAC chains of two
// records in a batch), so the CPU overlaps their round dependency chains.
//
//   sm4CryptX2(rkA, rkB, io, decrypt)   io: 32 bytes, block A then block B, replaced in place.

import { SM4_T } from "./sym_tables";

/** SM4's T = L∘τ through the four T-tables (exported inline for the batch CBC-MAC). */
// @ts-ignore: decorator
@inline export function t(w: u32): u32 {
  // Byte indexes extracted already multiplied by 4 (one shift and one mask each).
  return (load<u32>((w >> 22) & 0x3FC, SM4_T) ^
    load<u32>((w >> 14) & 0x3FC, SM4_T + 1024)) ^
    (load<u32>((w >> 6) & 0x3FC, SM4_T + 2048) ^
      load<u32>((w << 2) & 0x3FC, SM4_T + 3072));
}

// @ts-ignore: decorator
@inline function be(p: usize, off: usize): u32 {
  return bswap<u32>(load<u32>(p + off));
}

/** Blocks A and B at `io` through round keys `rkA` and `rkB`, in place. */
export function sm4CryptX2(rkA: usize, rkB: usize, io: usize, decrypt: bool): void {
  let a0 = be(io, 0), a1 = be(io, 4), a2 = be(io, 8), a3 = be(io, 12);
  let b0 = be(io, 16), b1 = be(io, 20), b2 = be(io, 24), b3 = be(io, 28);
  if (!decrypt) {
    for (let i: usize = 0; i < 128; i += 16) {
      const ka = rkA + i, kb = rkB + i;
      a0 ^= t(a1 ^ a2 ^ load<u32>(ka) ^ a3); b0 ^= t(b1 ^ b2 ^ load<u32>(kb) ^ b3);
      a1 ^= t(a2 ^ a3 ^ load<u32>(ka, 4) ^ a0); b1 ^= t(b2 ^ b3 ^ load<u32>(kb, 4) ^ b0);
      a2 ^= t(a3 ^ a0 ^ load<u32>(ka, 8) ^ a1); b2 ^= t(b3 ^ b0 ^ load<u32>(kb, 8) ^ b1);
      a3 ^= t(a0 ^ a1 ^ load<u32>(ka, 12) ^ a2); b3 ^= t(b0 ^ b1 ^ load<u32>(kb, 12) ^ b2);
    }
  } else {
    for (let i: isize = 112; i >= 0; i -= 16) {
      const ka = rkA + i, kb = rkB + i;
      a0 ^= t(a1 ^ a2 ^ load<u32>(ka, 12) ^ a3); b0 ^= t(b1 ^ b2 ^ load<u32>(kb, 12) ^ b3);
      a1 ^= t(a2 ^ a3 ^ load<u32>(ka, 8) ^ a0); b1 ^= t(b2 ^ b3 ^ load<u32>(kb, 8) ^ b0);
      a2 ^= t(a3 ^ a0 ^ load<u32>(ka, 4) ^ a1); b2 ^= t(b3 ^ b0 ^ load<u32>(kb, 4) ^ b1);
      a3 ^= t(a0 ^ a1 ^ load<u32>(ka) ^ a2); b3 ^= t(b0 ^ b1 ^ load<u32>(kb) ^ b2);
    }
  }
  store<u32>(io, bswap<u32>(a3)); store<u32>(io, bswap<u32>(a2), 4);
  store<u32>(io, bswap<u32>(a1), 8); store<u32>(io, bswap<u32>(a0), 12);
  store<u32>(io, bswap<u32>(b3), 16); store<u32>(io, bswap<u32>(b2), 20);
  store<u32>(io, bswap<u32>(b1), 24); store<u32>(io, bswap<u32>(b0), 28);
}

/**
 * Four blocks at `io` (64 bytes, A B C D) through four round-key sets, in place: the batch
 * CBC-MAC's step over four records' serial chains.
 */
export function sm4CryptX4(
  ra: usize, rb: usize, rc: usize, rd: usize, io: usize, decrypt: bool,
): void {
  let a0 = be(io, 0), a1 = be(io, 4), a2 = be(io, 8), a3 = be(io, 12);
  let b0 = be(io, 16), b1 = be(io, 20), b2 = be(io, 24), b3 = be(io, 28);
  let c0 = be(io, 32), c1 = be(io, 36), c2 = be(io, 40), c3 = be(io, 44);
  let d0 = be(io, 48), d1 = be(io, 52), d2 = be(io, 56), d3 = be(io, 60);
  if (!decrypt) {
    for (let i: usize = 0; i < 128; i += 16) {
      // Two round keys per (bounds-checked) load.
      const ka = load<u64>(ra + i), kb = load<u64>(rb + i), kc = load<u64>(rc + i), kd = load<u64>(rd + i);
      a0 ^= t(a1 ^ a2 ^ <u32>ka ^ a3); b0 ^= t(b1 ^ b2 ^ <u32>kb ^ b3); c0 ^= t(c1 ^ c2 ^ <u32>kc ^ c3); d0 ^= t(d1 ^ d2 ^ <u32>kd ^ d3);
      a1 ^= t(a2 ^ a3 ^ <u32>(ka >> 32) ^ a0); b1 ^= t(b2 ^ b3 ^ <u32>(kb >> 32) ^ b0); c1 ^= t(c2 ^ c3 ^ <u32>(kc >> 32) ^ c0); d1 ^= t(d2 ^ d3 ^ <u32>(kd >> 32) ^ d0);
      const la = load<u64>(ra + i, 8), lb = load<u64>(rb + i, 8), lc = load<u64>(rc + i, 8), ld = load<u64>(rd + i, 8);
      a2 ^= t(a3 ^ a0 ^ <u32>la ^ a1); b2 ^= t(b3 ^ b0 ^ <u32>lb ^ b1); c2 ^= t(c3 ^ c0 ^ <u32>lc ^ c1); d2 ^= t(d3 ^ d0 ^ <u32>ld ^ d1);
      a3 ^= t(a0 ^ a1 ^ <u32>(la >> 32) ^ a2); b3 ^= t(b0 ^ b1 ^ <u32>(lb >> 32) ^ b2); c3 ^= t(c0 ^ c1 ^ <u32>(lc >> 32) ^ c2); d3 ^= t(d0 ^ d1 ^ <u32>(ld >> 32) ^ d2);
    }
  } else {
    for (let i: isize = 112; i >= 0; i -= 16) {
      const ka = ra + i, kb = rb + i, kc = rc + i, kd = rd + i;
      a0 ^= t(a1 ^ a2 ^ load<u32>(ka, 12) ^ a3); b0 ^= t(b1 ^ b2 ^ load<u32>(kb, 12) ^ b3); c0 ^= t(c1 ^ c2 ^ load<u32>(kc, 12) ^ c3); d0 ^= t(d1 ^ d2 ^ load<u32>(kd, 12) ^ d3);
      a1 ^= t(a2 ^ a3 ^ load<u32>(ka, 8) ^ a0); b1 ^= t(b2 ^ b3 ^ load<u32>(kb, 8) ^ b0); c1 ^= t(c2 ^ c3 ^ load<u32>(kc, 8) ^ c0); d1 ^= t(d2 ^ d3 ^ load<u32>(kd, 8) ^ d0);
      a2 ^= t(a3 ^ a0 ^ load<u32>(ka, 4) ^ a1); b2 ^= t(b3 ^ b0 ^ load<u32>(kb, 4) ^ b1); c2 ^= t(c3 ^ c0 ^ load<u32>(kc, 4) ^ c1); d2 ^= t(d3 ^ d0 ^ load<u32>(kd, 4) ^ d1);
      a3 ^= t(a0 ^ a1 ^ load<u32>(ka, 0) ^ a2); b3 ^= t(b0 ^ b1 ^ load<u32>(kb, 0) ^ b2); c3 ^= t(c0 ^ c1 ^ load<u32>(kc, 0) ^ c2); d3 ^= t(d0 ^ d1 ^ load<u32>(kd, 0) ^ d2);
    }
  }
  store<u32>(io, bswap<u32>(a3)); store<u32>(io, bswap<u32>(a2), 4);
  store<u32>(io, bswap<u32>(a1), 8); store<u32>(io, bswap<u32>(a0), 12);
  store<u32>(io, bswap<u32>(b3), 16); store<u32>(io, bswap<u32>(b2), 20);
  store<u32>(io, bswap<u32>(b1), 24); store<u32>(io, bswap<u32>(b0), 28);
  store<u32>(io, bswap<u32>(c3), 32); store<u32>(io, bswap<u32>(c2), 36);
  store<u32>(io, bswap<u32>(c1), 40); store<u32>(io, bswap<u32>(c0), 44);
  store<u32>(io, bswap<u32>(d3), 48); store<u32>(io, bswap<u32>(d2), 52);
  store<u32>(io, bswap<u32>(d1), 56); store<u32>(io, bswap<u32>(d0), 60);
}
