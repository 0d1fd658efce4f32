// Batch MAC helpers: two records' CBC-MAC chains interleaved (ISO 9797-1 algorithm 3 with
// DES, SM4 CBC-MAC). Each record has its own key and length; the common prefix of blocks runs
// two-wide, the longer record's remaining blocks run alone.

import { desCrypt, desKeyOne } from "./des";
import { desCryptX2 } from "./des_x2";
import { sm4EncryptBlockAt, sm4KeyScheduleX2 } from "./sm4";
import { sm4CryptX2 } from "./sm4_x2";
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
