// Exported hash entry points: one message, or a batch of messages in one call.
//
// Algorithm selector: 1 = SHA-1 (20-byte digest), 2 = SHA-256 (32), 3 = SM3 (32).
// Batch descriptor: `count` entries of 8 bytes at `desc`: u32 absolute pointer, u32 length.
// Digests are written back to back at `out` (count × digest length).

import { inBounds } from "./memory";
import { ST_BAD_ARGUMENT, ST_OK } from "./status";
import { ST_SYM_ALGORITHM } from "./sym_status";
import { sha1Into } from "./sha1";
import { sha256Into } from "./sha256";
import { sm3Into, sm3StateAfter } from "./sm3";
import { padTail } from "./hash_common";
import {
  sha1Compress,
  sha1CompressX4,
  sha256Compress,
  sha256CompressX4,
  sm3Compress,
  sm3CompressX4,
} from "./hash_rounds";
import { SHA256_H0 } from "./sym_tables";

export const HASH_SHA1: i32 = 1;
export const HASH_SHA256: i32 = 2;
export const HASH_SM3: i32 = 3;

function digestBytes(alg: i32): u32 {
  if (alg == HASH_SHA1) return 20;
  if (alg == HASH_SHA256 || alg == HASH_SM3) return 32;
  return 0;
}

// @ts-ignore: decorator
@inline function hashOne(alg: i32, src: usize, len: u32, dst: usize): void {
  if (alg == HASH_SHA1) sha1Into(src, len, dst);
  else if (alg == HASH_SHA256) sha256Into(src, len, dst);
  else sm3Into(src, len, dst);
}

/** Hashes `len` bytes at `src` with algorithm `alg`, digest to `dst`. */
export function symHash(alg: i32, src: usize, len: u32, dst: usize): i32 {
  const dlen = digestBytes(alg);
  if (dlen == 0) return ST_SYM_ALGORITHM;
  if (!inBounds(src, len) || !inBounds(dst, dlen)) return ST_BAD_ARGUMENT;
  hashOne(alg, src, len, dst);
  return ST_OK;
}

/** Hashes `count` messages described at `desc`; digests back to back at `out`. */
export function symHashBatch(alg: i32, desc: usize, count: u32, out: usize): i32 {
  const dlen = digestBytes(alg);
  if (dlen == 0) return ST_SYM_ALGORITHM;
  if (!inBounds(desc, <usize>count << 3) || !inBounds(out, <usize>count * dlen)) {
    return ST_BAD_ARGUMENT;
  }
  for (let i: u32 = 0; i < count; i++) {
    const d = desc + (<usize>i << 3);
    if (!inBounds(load<u32>(d), load<u32>(d, 4))) return ST_BAD_ARGUMENT;
  }
  // Four messages at a time, one per SIMD lane; the rest one by one.
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) hashGroup4(alg, desc + (<usize>i << 3), out + <usize>i * dlen);
  for (; i < count; i++) {
    const d = desc + (<usize>i << 3);
    hashOne(alg, load<u32>(d), load<u32>(d, 4), out + <usize>i * dlen);
  }
  return ST_OK;
}

// Four-lane batch state: chaining values (word i of lanes 0-3 at 16·i), the transposed block,
// each lane's padded tail (up to two blocks) and a scalar state for finishing a lane alone.
const STATE4: usize = memory.data(128, 16);
const TW: usize = memory.data(256, 16);
const TAILS: usize = memory.data(4 * 128, 16);
const ONE: usize = memory.data(32, 16);
const LANE_SRC: usize = memory.data(16, 16);
const LANE_FULL: usize = memory.data(16, 16);
const LANE_BLOCKS: usize = memory.data(16, 16);

function initialWord(alg: i32, i: usize): u32 {
  if (alg == HASH_SHA1) {
    if (i == 0) return 0x67452301;
    if (i == 1) return 0xEFCDAB89;
    if (i == 2) return 0x98BADCFE;
    if (i == 3) return 0x10325476;
    return 0xC3D2E1F0;
  }
  if (alg == HASH_SHA256) return load<u32>(SHA256_H0 + (i << 2));
  // SM3 IV, GB/T 32905 §4.1
  if (i == 0) return 0x7380166F;
  if (i == 1) return 0x4914B2B9;
  if (i == 2) return 0x172442D7;
  if (i == 3) return 0xDA8A0600;
  if (i == 4) return 0xA96F30BC;
  if (i == 5) return 0x163138AA;
  if (i == 6) return 0xE38DEE4D;
  return 0xB0FB0E4E;
}

/** Big-endian to host order in each 32-bit lane. */
// @ts-ignore: decorator
@inline function bswap4(v: v128): v128 {
  return i8x16.shuffle(v, v, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

// @ts-ignore: decorator
@inline function laneBlock(lane: usize, k: u32): usize {
  const full = load<u32>(LANE_FULL + (lane << 2));
  return k < full
    ? <usize>load<u32>(LANE_SRC + (lane << 2)) + (<usize>k << 6)
    : TAILS + (lane << 7) + (<usize>(k - full) << 6);
}

/**
 * Hashes the four messages described at `d` with one message per SIMD lane over the blocks
 * they all have; each lane then finishes its own remaining blocks with the scalar function.
 */
function hashGroup4(alg: i32, d: usize, out: usize): void {
  const words: usize = alg == HASH_SHA1 ? 5 : 8;
  let common: u32 = 0xFFFFFFFF;
  for (let lane: usize = 0; lane < 4; lane++) {
    const src = <usize>load<u32>(d + (lane << 3));
    const len = load<u32>(d + (lane << 3), 4);
    const tail = padTail(src, len, TAILS + (lane << 7));
    const blocks = (len >> 6) + tail;
    store<u32>(LANE_SRC + (lane << 2), <u32>src);
    store<u32>(LANE_FULL + (lane << 2), len >> 6);
    store<u32>(LANE_BLOCKS + (lane << 2), blocks);
    common = min(common, blocks);
  }
  for (let i: usize = 0; i < words; i++) {
    v128.store(STATE4 + (i << 4), i32x4.splat(<i32>initialWord(alg, i)));
  }
  for (let k: u32 = 0; k < common; k++) {
    // Transpose: word i of lane j to TW + 16·i + 4·j, host order — per group of four words,
    // byte-swap each lane's vector, then a 4×4 transpose by shuffles.
    const pa = laneBlock(0, k), pb = laneBlock(1, k), pc = laneBlock(2, k), pd = laneBlock(3, k);
    for (let g: usize = 0; g < 64; g += 16) {
      const a = bswap4(v128.load(pa + g)), b = bswap4(v128.load(pb + g));
      const c = bswap4(v128.load(pc + g)), e = bswap4(v128.load(pd + g));
      const t0 = v128.shuffle<i32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<i32>(a, b, 2, 6, 3, 7);
      const t2 = v128.shuffle<i32>(c, e, 0, 4, 1, 5), t3 = v128.shuffle<i32>(c, e, 2, 6, 3, 7);
      const q = TW + (g << 2);
      v128.store(q, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
      v128.store(q, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7), 16);
      v128.store(q, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), 32);
      v128.store(q, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7), 48);
    }
    if (alg == HASH_SHA1) sha1CompressX4(STATE4, TW);
    else if (alg == HASH_SHA256) sha256CompressX4(STATE4, TW);
    else sm3CompressX4(STATE4, TW);
  }
  const dlen: usize = words << 2;
  for (let lane: usize = 0; lane < 4; lane++) {
    for (let i: usize = 0; i < words; i++) {
      store<u32>(ONE + (i << 2), load<u32>(STATE4 + (i << 4) + (lane << 2)));
    }
    const blocks = load<u32>(LANE_BLOCKS + (lane << 2));
    for (let k = common; k < blocks; k++) {
      const p = laneBlock(lane, k);
      if (alg == HASH_SHA1) sha1Compress(ONE, p, 1);
      else if (alg == HASH_SHA256) sha256Compress(ONE, p, 1);
      else sm3Compress(ONE, p, 1);
    }
    const dst = out + lane * dlen;
    for (let i: usize = 0; i < words; i++) {
      store<u32>(dst + (i << 2), bswap<u32>(load<u32>(ONE + (i << 2))));
    }
  }
}

/** SM3 chaining value after `blocks` padded blocks (for intermediate-value tests). */
export function symSm3State(src: usize, len: u32, blocks: u32, dst: usize): i32 {
  if (!inBounds(src, len) || !inBounds(dst, 32)) return ST_BAD_ARGUMENT;
  sm3StateAfter(src, len, blocks, dst);
  return ST_OK;
}
