// Batch MAC helpers: four (or two) records' CBC-MAC chains interleaved (ISO 9797-1 algorithm 3
// with DES, SM4 CBC-MAC). A CBC chain is serial, so only independent records can overlap. Each
// record has its own key and length; the blocks all of them have run four- (two-) wide, then
// each record's remaining blocks run alone. Not re-entrant (static scratch).

import { desCrypt, desKeyOne } from "./des";
import { desCryptX2, desCryptX4 } from "./des_x2";
import { sm4EncryptBlockAt, sm4KeyScheduleX2, sm4KeyScheduleX4 } from "./sm4";
import { sm4CryptX2, t as sm4T } from "./sm4_x2";
import { MAC_TAIL_ERROR, macTail, macTailStatus } from "./mac_padding";
import { ST_OK } from "./status";

const IO: usize = memory.data(32, 16);
const TAIL_A: usize = memory.data(16, 16);
const TAIL_B: usize = memory.data(16, 16);
const SL_A: usize = memory.data(400, 16);
const SR_A: usize = memory.data(400, 16);
const SL_B: usize = memory.data(400, 16);
const SR_B: usize = memory.data(400, 16);
const RK_A: usize = memory.data(128, 16);
const RK_B: usize = memory.data(128, 16);

// @ts-ignore: decorator
@inline function be32(p: usize, off: usize): u32 {
  return bswap<u32>(load<u32>(p + off));
}

// @ts-ignore: decorator
@inline function blockAt(src: usize, full: u32, tail: usize, k: u32, shift: u32): usize {
  return k < full ? src + (<usize>k << shift) : tail;
}

// @ts-ignore: decorator
@inline function singleDesKey(key: usize, sched: usize): void {
  store<u32>(sched, 1);
  desKeyOne(key, sched + 16);
}

/** ISO 9797-1 algorithm 3 MACs of records A and B (16-byte keys), 8 bytes each to dstA/dstB. */
export function macAlg3PairInto(
  keyA: usize, srcA: usize, lenA: u32, keyB: usize, srcB: usize, lenB: u32,
  padding: i32, dstA: usize, dstB: usize,
): i32 {
  const ta = macTail(srcA, lenA, 8, padding, TAIL_A);
  if (ta == MAC_TAIL_ERROR) return macTailStatus(padding);
  const tb = macTail(srcB, lenB, 8, padding, TAIL_B);
  if (tb == MAC_TAIL_ERROR) return macTailStatus(padding);
  singleDesKey(keyA, SL_A); singleDesKey(keyA + 8, SR_A);
  singleDesKey(keyB, SL_B); singleDesKey(keyB + 8, SR_B);
  const fa = lenA >> 3, fb = lenB >> 3;
  const na = fa + <u32>ta, nb = fb + <u32>tb;
  store<u64>(IO, 0); store<u64>(IO, 0, 8);
  const n = min(na, nb);
  for (let k: u32 = 0; k < n; k++) {
    store<u64>(IO, load<u64>(IO) ^ load<u64>(blockAt(srcA, fa, TAIL_A, k, 3)));
    store<u64>(IO, load<u64>(IO, 8) ^ load<u64>(blockAt(srcB, fb, TAIL_B, k, 3)), 8);
    desCryptX2(SL_A, SL_B, IO, false);
  }
  // The longer record finishes alone.
  for (let k = n; k < na; k++) {
    const x = bswap<u64>(load<u64>(IO) ^ load<u64>(blockAt(srcA, fa, TAIL_A, k, 3)));
    store<u64>(IO, bswap<u64>(desCrypt(SL_A, <u32>(x >> 32), <u32>x, false)));
  }
  for (let k = n; k < nb; k++) {
    const x = bswap<u64>(load<u64>(IO, 8) ^ load<u64>(blockAt(srcB, fb, TAIL_B, k, 3)));
    store<u64>(IO, bswap<u64>(desCrypt(SL_B, <u32>(x >> 32), <u32>x, false)), 8);
  }
  desCryptX2(SR_A, SR_B, IO, true);
  desCryptX2(SL_A, SL_B, IO, false);
  store<u64>(dstA, load<u64>(IO));
  store<u64>(dstB, load<u64>(IO, 8));
  return ST_OK;
}

/** SM4 CBC-MACs (zero IV) of records A and B, 16 bytes each to dstA/dstB. */
export function sm4CbcMacPairInto(
  keyA: usize, srcA: usize, lenA: u32, keyB: usize, srcB: usize, lenB: u32,
  padding: i32, dstA: usize, dstB: usize,
): i32 {
  const ta = macTail(srcA, lenA, 16, padding, TAIL_A);
  if (ta == MAC_TAIL_ERROR) return macTailStatus(padding);
  const tb = macTail(srcB, lenB, 16, padding, TAIL_B);
  if (tb == MAC_TAIL_ERROR) return macTailStatus(padding);
  sm4KeyScheduleX2(keyA, RK_A, keyB, RK_B);
  const fa = lenA >> 4, fb = lenB >> 4;
  const na = fa + <u32>ta, nb = fb + <u32>tb;
  store<u64>(IO, 0); store<u64>(IO, 0, 8); store<u64>(IO, 0, 16); store<u64>(IO, 0, 24);
  const n = min(na, nb);
  for (let k: u32 = 0; k < n; k++) {
    const pa = blockAt(srcA, fa, TAIL_A, k, 4), pb = blockAt(srcB, fb, TAIL_B, k, 4);
    store<u64>(IO, load<u64>(IO) ^ load<u64>(pa));
    store<u64>(IO, load<u64>(IO, 8) ^ load<u64>(pa, 8), 8);
    store<u64>(IO, load<u64>(IO, 16) ^ load<u64>(pb), 16);
    store<u64>(IO, load<u64>(IO, 24) ^ load<u64>(pb, 8), 24);
    sm4CryptX2(RK_A, RK_B, IO, false);
  }
  for (let k = n; k < na; k++) {
    const pa = blockAt(srcA, fa, TAIL_A, k, 4);
    store<u64>(IO, load<u64>(IO) ^ load<u64>(pa));
    store<u64>(IO, load<u64>(IO, 8) ^ load<u64>(pa, 8), 8);
    sm4EncryptBlockAt(RK_A, IO, IO);
  }
  for (let k = n; k < nb; k++) {
    const pb = blockAt(srcB, fb, TAIL_B, k, 4);
    store<u64>(IO, load<u64>(IO, 16) ^ load<u64>(pb), 16);
    store<u64>(IO, load<u64>(IO, 24) ^ load<u64>(pb, 8), 24);
    sm4EncryptBlockAt(RK_B, IO + 16, IO + 16);
  }
  store<u64>(dstA, load<u64>(IO)); store<u64>(dstA, load<u64>(IO, 8), 8);
  store<u64>(dstB, load<u64>(IO, 16)); store<u64>(dstB, load<u64>(IO, 24), 8);
  return ST_OK;
}

// ---- four records at a time (the chains are serial: more independent records, more overlap)

const IO4: usize = memory.data(64, 16);
const TAILS4: usize = memory.data(64, 16);
const SCHED4: usize = memory.data(8 * 400, 16); // DES: KL of lanes 0-3, then KR of lanes 0-3
const RK4: usize = memory.data(4 * 128, 16);
const Q_SRC: usize = memory.data(16, 16);
const Q_FULL: usize = memory.data(16, 16);
const Q_N: usize = memory.data(16, 16);

// @ts-ignore: decorator
@inline function quadBlock(lane: usize, k: u32, shift: u32): usize {
  const full = load<u32>(Q_FULL + (lane << 2));
  return k < full
    ? <usize>load<u32>(Q_SRC + (lane << 2)) + (<usize>k << shift)
    : TAILS4 + (lane << 4);
}

/**
 * Pads the four records of the batch descriptor at `d` (12 bytes each: key, data, length) into
 * the quad state; returns the number of blocks all four have, or MAC_TAIL_ERROR.
 */
function quadSetup(d: usize, bs: u32, shift: u32, padding: i32): i32 {
  let common: u32 = 0xFFFFFFFF;
  for (let lane: usize = 0; lane < 4; lane++) {
    const e = d + lane * 12;
    const src = load<u32>(e, 4), len = load<u32>(e, 8);
    const tail = macTail(src, len, bs, padding, TAILS4 + (lane << 4));
    if (tail == MAC_TAIL_ERROR) return MAC_TAIL_ERROR;
    const n = (len >> shift) + <u32>tail;
    store<u32>(Q_SRC + (lane << 2), src);
    store<u32>(Q_FULL + (lane << 2), len >> shift);
    store<u32>(Q_N + (lane << 2), n);
    common = min(common, n);
  }
  return <i32>common;
}

/** ISO 9797-1 algorithm 3 MACs of the four records described at `d`; 32 bytes to `out`. */
export function macAlg3QuadInto(d: usize, padding: i32, out: usize): i32 {
  const common = quadSetup(d, 8, 3, padding);
  if (common == MAC_TAIL_ERROR) return macTailStatus(padding);
  for (let lane: usize = 0; lane < 4; lane++) {
    const key = <usize>load<u32>(d + lane * 12);
    singleDesKey(key, SCHED4 + lane * 400);
    singleDesKey(key + 8, SCHED4 + (lane + 4) * 400);
  }
  const l0 = SCHED4, l1 = SCHED4 + 400, l2 = SCHED4 + 800, l3 = SCHED4 + 1200;
  const r0 = SCHED4 + 1600, r1 = SCHED4 + 2000, r2 = SCHED4 + 2400, r3 = SCHED4 + 2800;
  for (let i: usize = 0; i < 32; i += 8) store<u64>(IO4 + i, 0);
  for (let k: u32 = 0; k < <u32>common; k++) {
    for (let lane: usize = 0; lane < 4; lane++) {
      const io = IO4 + (lane << 3);
      store<u64>(io, load<u64>(io) ^ load<u64>(quadBlock(lane, k, 3)));
    }
    desCryptX4(l0, l1, l2, l3, IO4, false);
  }
  for (let lane: usize = 0; lane < 4; lane++) {
    const io = IO4 + (lane << 3);
    const n = load<u32>(Q_N + (lane << 2));
    for (let k = <u32>common; k < n; k++) {
      const x = bswap<u64>(load<u64>(io) ^ load<u64>(quadBlock(lane, k, 3)));
      store<u64>(io, bswap<u64>(desCrypt(SCHED4 + lane * 400, <u32>(x >> 32), <u32>x, false)));
    }
  }
  desCryptX4(r0, r1, r2, r3, IO4, true);
  desCryptX4(l0, l1, l2, l3, IO4, false);
  for (let i: usize = 0; i < 32; i += 8) store<u64>(out + i, load<u64>(IO4 + i));
  return ST_OK;
}

/** SM4 CBC-MACs of the four records described at `d`; 64 bytes to `out`. */
export function sm4CbcMacQuadInto(d: usize, padding: i32, out: usize): i32 {
  const common = quadSetup(d, 16, 4, padding);
  if (common == MAC_TAIL_ERROR) return macTailStatus(padding);
  sm4KeyScheduleX4(load<u32>(d), RK4, load<u32>(d + 12), RK4 + 128,
    load<u32>(d + 24), RK4 + 256, load<u32>(d + 36), RK4 + 384);
  // The four chains stay in registers from block to block (host-order words; a round's
  // output (X35, X34, X33, X32) is taken as the next input by renaming, not by storing).
  let a0: u32 = 0, a1: u32 = 0, a2: u32 = 0, a3: u32 = 0;
  let b0: u32 = 0, b1: u32 = 0, b2: u32 = 0, b3: u32 = 0;
  let c0: u32 = 0, c1: u32 = 0, c2: u32 = 0, c3: u32 = 0;
  let d0: u32 = 0, d1: u32 = 0, d2: u32 = 0, d3: u32 = 0;
  const ra = RK4, rb = RK4 + 128, rc = RK4 + 256, rd = RK4 + 384;
  for (let k: u32 = 0; k < <u32>common; k++) {
    const pa = quadBlock(0, k, 4), pb = quadBlock(1, k, 4);
    const pc = quadBlock(2, k, 4), pd = quadBlock(3, k, 4);
    a0 ^= be32(pa, 0); a1 ^= be32(pa, 4); a2 ^= be32(pa, 8); a3 ^= be32(pa, 12);
    b0 ^= be32(pb, 0); b1 ^= be32(pb, 4); b2 ^= be32(pb, 8); b3 ^= be32(pb, 12);
    c0 ^= be32(pc, 0); c1 ^= be32(pc, 4); c2 ^= be32(pc, 8); c3 ^= be32(pc, 12);
    d0 ^= be32(pd, 0); d1 ^= be32(pd, 4); d2 ^= be32(pd, 8); d3 ^= be32(pd, 12);
    for (let i: usize = 0; i < 128; i += 16) {
      const ka = load<u64>(ra + i), kb = load<u64>(rb + i), kc = load<u64>(rc + i), kd = load<u64>(rd + i);
      a0 ^= sm4T(a1 ^ a2 ^ <u32>ka ^ a3); b0 ^= sm4T(b1 ^ b2 ^ <u32>kb ^ b3); c0 ^= sm4T(c1 ^ c2 ^ <u32>kc ^ c3); d0 ^= sm4T(d1 ^ d2 ^ <u32>kd ^ d3);
      a1 ^= sm4T(a2 ^ a3 ^ <u32>(ka >> 32) ^ a0); b1 ^= sm4T(b2 ^ b3 ^ <u32>(kb >> 32) ^ b0); c1 ^= sm4T(c2 ^ c3 ^ <u32>(kc >> 32) ^ c0); d1 ^= sm4T(d2 ^ d3 ^ <u32>(kd >> 32) ^ d0);
      const la = load<u64>(ra + i, 8), lb = load<u64>(rb + i, 8), lc = load<u64>(rc + i, 8), ld = load<u64>(rd + i, 8);
      a2 ^= sm4T(a3 ^ a0 ^ <u32>la ^ a1); b2 ^= sm4T(b3 ^ b0 ^ <u32>lb ^ b1); c2 ^= sm4T(c3 ^ c0 ^ <u32>lc ^ c1); d2 ^= sm4T(d3 ^ d0 ^ <u32>ld ^ d1);
      a3 ^= sm4T(a0 ^ a1 ^ <u32>(la >> 32) ^ a2); b3 ^= sm4T(b0 ^ b1 ^ <u32>(lb >> 32) ^ b2); c3 ^= sm4T(c0 ^ c1 ^ <u32>(lc >> 32) ^ c2); d3 ^= sm4T(d0 ^ d1 ^ <u32>(ld >> 32) ^ d2);
    }
    // Reverse transform R: the block is (X35, X34, X33, X32).
    let x = a0; a0 = a3; a3 = x; x = a1; a1 = a2; a2 = x;
    x = b0; b0 = b3; b3 = x; x = b1; b1 = b2; b2 = x;
    x = c0; c0 = c3; c3 = x; x = c1; c1 = c2; c2 = x;
    x = d0; d0 = d3; d3 = x; x = d1; d1 = d2; d2 = x;
  }
  store<u32>(IO4, bswap<u32>(a0)); store<u32>(IO4, bswap<u32>(a1), 4);
  store<u32>(IO4, bswap<u32>(a2), 8); store<u32>(IO4, bswap<u32>(a3), 12);
  store<u32>(IO4, bswap<u32>(b0), 16); store<u32>(IO4, bswap<u32>(b1), 20);
  store<u32>(IO4, bswap<u32>(b2), 24); store<u32>(IO4, bswap<u32>(b3), 28);
  store<u32>(IO4, bswap<u32>(c0), 32); store<u32>(IO4, bswap<u32>(c1), 36);
  store<u32>(IO4, bswap<u32>(c2), 40); store<u32>(IO4, bswap<u32>(c3), 44);
  store<u32>(IO4, bswap<u32>(d0), 48); store<u32>(IO4, bswap<u32>(d1), 52);
  store<u32>(IO4, bswap<u32>(d2), 56); store<u32>(IO4, bswap<u32>(d3), 60);
  for (let lane: usize = 0; lane < 4; lane++) {
    const io = IO4 + (lane << 4);
    const n = load<u32>(Q_N + (lane << 2));
    for (let k = <u32>common; k < n; k++) {
      const p = quadBlock(lane, k, 4);
      store<u64>(io, load<u64>(io) ^ load<u64>(p));
      store<u64>(io, load<u64>(io, 8) ^ load<u64>(p, 8), 8);
      sm4EncryptBlockAt(RK4 + (lane << 7), io, io);
    }
  }
  for (let i: usize = 0; i < 64; i += 8) store<u64>(out + i, load<u64>(IO4 + i));
  return ST_OK;
}
