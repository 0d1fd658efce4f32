// Exported entry points of the block ciphers and MACs (bounds-checked; the TypeScript wrapper
// ../sym.ts calls these). Keys are read from anywhere in the regions; schedules live in the
// SYM scratch region:
//   SYM+0     DES/3DES schedule (400 bytes)
//   SYM+512   SM4 round keys (128 bytes)
// Batch MAC descriptor: `count` entries of 12 bytes: u32 key pointer, u32 data pointer, u32
// data length. Algorithm 3 keys are 16 bytes, SM4 keys 16 bytes. MACs are written back to back
// at `out` (8 bytes each for algorithm 3, 16 for SM4 CBC-MAC).

import { inBounds, SYM_BASE } from "./memory";
import { ST_BAD_ARGUMENT, ST_OK } from "./status";
import { ST_SYM_ALGORITHM, ST_SYM_DATA_LENGTH, ST_SYM_KEY_LENGTH } from "./sym_status";
import { desCrypt, desKeySchedule } from "./des";
import { macAlg1Into, macAlg3Into } from "./mac";
import { sm4CbcMacInto, sm4KeySchedule, sm4Rounds } from "./sm4";
import { desCryptX2 } from "./des_x2";
import { sm4CryptX2 } from "./sm4_x2";
import { macAlg3PairInto, macAlg3QuadInto, sm4CbcMacPairInto, sm4CbcMacQuadInto } from "./mac_x2";

const SCHED: usize = SYM_BASE;
const RK: usize = SYM_BASE + 512;
const SM4_TMP: usize = SYM_BASE + 768;

export const MAC_BATCH_ISO9797_ALG3: i32 = 3;
export const MAC_BATCH_SM4_CBC: i32 = 4;

// @ts-ignore: decorator
@inline function be(p: usize): u64 {
  return bswap<u64>(load<u64>(p));
}

function blockArgs(key: usize, keyLen: u32, src: usize, len: u32, dst: usize, bs: u32): i32 {
  if (!inBounds(key, keyLen) || !inBounds(src, len) || !inBounds(dst, len)) return ST_BAD_ARGUMENT;
  if ((len & (bs - 1)) != 0) return ST_SYM_DATA_LENGTH;
  return ST_OK;
}

/** DES/3DES ECB over `len` bytes (a multiple of 8); `decrypt` 0 or 1. */
export function symDesEcb(key: usize, keyLen: u32, src: usize, len: u32, dst: usize, decrypt: i32): i32 {
  let st = blockArgs(key, keyLen, src, len, dst, 8);
  if (st != ST_OK) return st;
  st = desKeySchedule(key, keyLen, SCHED);
  if (st != ST_OK) return st;
  const dec = decrypt != 0;
  const pairs = <usize>len & ~15;
  for (let o: usize = 0; o < pairs; o += 16) {
    store<u64>(dst + o, load<u64>(src + o));
    store<u64>(dst + o, load<u64>(src + o, 8), 8);
    desCryptX2(SCHED, SCHED, dst + o, dec);
  }
  if (pairs < <usize>len) {
    const x = be(src + pairs);
    store<u64>(dst + pairs, bswap<u64>(desCrypt(SCHED, <u32>(x >> 32), <u32>x, dec)));
  }
  return ST_OK;
}

/** DES/3DES CBC (SP 800-38A) over `len` bytes with the 8-byte IV at `iv`. */
export function symDesCbc(
  key: usize, keyLen: u32, iv: usize, src: usize, len: u32, dst: usize, decrypt: i32,
): i32 {
  let st = blockArgs(key, keyLen, src, len, dst, 8);
  if (st != ST_OK) return st;
  if (!inBounds(iv, 8)) return ST_BAD_ARGUMENT;
  st = desKeySchedule(key, keyLen, SCHED);
  if (st != ST_OK) return st;
  let chain = be(iv);
  if (decrypt == 0) {
    for (let o: usize = 0; o < <usize>len; o += 8) {
      const x = be(src + o) ^ chain;
      chain = desCrypt(SCHED, <u32>(x >> 32), <u32>x, false);
      store<u64>(dst + o, bswap<u64>(chain));
    }
  } else {
    for (let o: usize = 0; o < <usize>len; o += 8) {
      const c = be(src + o);
      const p = desCrypt(SCHED, <u32>(c >> 32), <u32>c, true) ^ chain;
      chain = c;
      store<u64>(dst + o, bswap<u64>(p));
    }
  }
  return ST_OK;
}

/**
 * ISO/IEC 9797-1 MAC: `alg` 1 (key 8, 16 or 24 bytes) or 3 (key 16 bytes); `padding` 0, 1, 2.
 * 8-byte MAC at `dst`.
 */
export function symMacIso9797(
  alg: i32, key: usize, keyLen: u32, src: usize, len: u32, padding: i32, dst: usize,
): i32 {
  if (!inBounds(key, keyLen) || !inBounds(src, len) || !inBounds(dst, 8)) return ST_BAD_ARGUMENT;
  if (alg == 1) {
    const st = desKeySchedule(key, keyLen, SCHED);
    if (st != ST_OK) return st;
    return macAlg1Into(SCHED, src, len, padding, dst);
  }
  if (alg == 3) {
    if (keyLen != 16) return ST_SYM_KEY_LENGTH;
    return macAlg3Into(key, src, len, padding, dst);
  }
  return ST_SYM_ALGORITHM;
}

// @ts-ignore: decorator
@inline function sm4Block(src: usize, dst: usize, dec: bool, c0: u32, c1: u32, c2: u32, c3: u32): void {
  sm4Rounds(RK, bswap<u32>(load<u32>(src)) ^ c0, bswap<u32>(load<u32>(src, 4)) ^ c1,
    bswap<u32>(load<u32>(src, 8)) ^ c2, bswap<u32>(load<u32>(src, 12)) ^ c3, dec, dst);
}

/** SM4 ECB over `len` bytes (a multiple of 16) with the 16-byte key at `key`. */
export function symSm4Ecb(key: usize, src: usize, len: u32, dst: usize, decrypt: i32): i32 {
  const st = blockArgs(key, 16, src, len, dst, 16);
  if (st != ST_OK) return st;
  sm4KeySchedule(key, RK);
  const dec = decrypt != 0;
  const pairs = <usize>len & ~31;
  for (let o: usize = 0; o < pairs; o += 32) {
    store<u64>(dst + o, load<u64>(src + o));
    store<u64>(dst + o, load<u64>(src + o, 8), 8);
    store<u64>(dst + o, load<u64>(src + o, 16), 16);
    store<u64>(dst + o, load<u64>(src + o, 24), 24);
    sm4CryptX2(RK, RK, dst + o, dec);
  }
  if (pairs < <usize>len) sm4Block(src + pairs, dst + pairs, dec, 0, 0, 0, 0);
  return ST_OK;
}

/** SM4 CBC over `len` bytes with the 16-byte IV at `iv`. */
export function symSm4Cbc(key: usize, iv: usize, src: usize, len: u32, dst: usize, decrypt: i32): i32 {
  const st = blockArgs(key, 16, src, len, dst, 16);
  if (st != ST_OK) return st;
  if (!inBounds(iv, 16)) return ST_BAD_ARGUMENT;
  sm4KeySchedule(key, RK);
  memory.copy(SM4_TMP + 16, iv, 16); // chaining value
  const chain = SM4_TMP + 16;
  if (decrypt == 0) {
    for (let o: usize = 0; o < <usize>len; o += 16) {
      sm4Block(src + o, dst + o, false, bswap<u32>(load<u32>(chain)), bswap<u32>(load<u32>(chain, 4)),
        bswap<u32>(load<u32>(chain, 8)), bswap<u32>(load<u32>(chain, 12)));
      memory.copy(chain, dst + o, 16);
    }
  } else {
    for (let o: usize = 0; o < <usize>len; o += 16) {
      sm4Block(src + o, SM4_TMP, true, 0, 0, 0, 0);
      const c0 = load<u64>(src + o), c1 = load<u64>(src + o, 8);
      store<u64>(dst + o, load<u64>(SM4_TMP) ^ load<u64>(chain));
      store<u64>(dst + o, load<u64>(SM4_TMP, 8) ^ load<u64>(chain, 8), 8);
      store<u64>(chain, c0);
      store<u64>(chain, c1, 8);
    }
  }
  return ST_OK;
}

/** SM4 CBC-MAC (zero IV, padding 0/1/2, block 16); 16-byte MAC at `dst`. */
export function symSm4CbcMac(key: usize, src: usize, len: u32, padding: i32, dst: usize): i32 {
  if (!inBounds(key, 16) || !inBounds(src, len) || !inBounds(dst, 16)) return ST_BAD_ARGUMENT;
  sm4KeySchedule(key, RK);
  return sm4CbcMacInto(RK, src, len, padding, dst);
}

/**
 * Many MACs in one call: `kind` 3 = ISO 9797-1 algorithm 3 (16-byte keys, 8-byte MACs),
 * 4 = SM4 CBC-MAC (16-byte keys, 16-byte MACs). Stops at the first refused item and returns
 * its status; `symMacBatchFailed()` then gives its index.
 */
export function symMacBatch(kind: i32, desc: usize, count: u32, padding: i32, out: usize): i32 {
  const mlen: u32 = kind == MAC_BATCH_ISO9797_ALG3 ? 8 : kind == MAC_BATCH_SM4_CBC ? 16 : 0;
  if (mlen == 0) return ST_SYM_ALGORITHM;
  if (!inBounds(desc, <usize>count * 12) || !inBounds(out, <usize>count * mlen)) return ST_BAD_ARGUMENT;
  for (let i: u32 = 0; i < count; i++) {
    const d = desc + <usize>i * 12;
    if (!inBounds(load<u32>(d), 16) || !inBounds(load<u32>(d, 4), load<u32>(d, 8))) {
      batchFailed = i;
      return ST_BAD_ARGUMENT;
    }
  }
  // Records four at a time, their chains interleaved; then a pair; then an odd last record.
  let i: u32 = 0;
  for (; i + 4 <= count; i += 4) {
    const d = desc + <usize>i * 12;
    const st = kind == MAC_BATCH_ISO9797_ALG3
      ? macAlg3QuadInto(d, padding, out + (<usize>i << 3))
      : sm4CbcMacQuadInto(d, padding, out + (<usize>i << 4));
    if (st != ST_OK) {
      batchFailed = i;
      return st;
    }
  }
  for (; i + 1 < count; i += 2) {
    const d = desc + <usize>i * 12;
    const st = kind == MAC_BATCH_ISO9797_ALG3
      ? macAlg3PairInto(load<u32>(d), load<u32>(d, 4), load<u32>(d, 8),
        load<u32>(d, 12), load<u32>(d, 16), load<u32>(d, 20), padding,
        out + (<usize>i << 3), out + (<usize>(i + 1) << 3))
      : sm4CbcMacPairInto(load<u32>(d), load<u32>(d, 4), load<u32>(d, 8),
        load<u32>(d, 12), load<u32>(d, 16), load<u32>(d, 20), padding,
        out + (<usize>i << 4), out + (<usize>(i + 1) << 4));
    if (st != ST_OK) {
      // Find which of the two was refused (the other may be fine).
      batchFailed = i;
      return st;
    }
  }
  for (; i < count; i++) {
    const d = desc + <usize>i * 12;
    let st: i32;
    if (kind == MAC_BATCH_ISO9797_ALG3) {
      st = macAlg3Into(load<u32>(d), load<u32>(d, 4), load<u32>(d, 8), padding, out + (<usize>i << 3));
    } else {
      sm4KeySchedule(load<u32>(d), RK);
      st = sm4CbcMacInto(RK, load<u32>(d, 4), load<u32>(d, 8), padding, out + (<usize>i << 4));
    }
    if (st != ST_OK) {
      batchFailed = i;
      return st;
    }
  }
  return ST_OK;
}

let batchFailed: u32 = 0;

/** Index of the item that stopped the last failed batch. */
export function symMacBatchFailed(): u32 {
  return batchFailed;
}

/** SM4 round keys of the 16-byte key at `key` into `dst` (128 bytes; for intermediate tests). */
export function symSm4RoundKeys(key: usize, dst: usize): i32 {
  if (!inBounds(key, 16) || !inBounds(dst, 128)) return ST_BAD_ARGUMENT;
  sm4KeySchedule(key, dst);
  return ST_OK;
}
