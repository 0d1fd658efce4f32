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
  for (let i: u32 = 0; i < count; i++) {
    const d = desc + (<usize>i << 3);
    hashOne(alg, load<u32>(d), load<u32>(d, 4), out + <usize>i * dlen);
  }
  return ST_OK;
}

/** SM3 chaining value after `blocks` padded blocks (for intermediate-value tests). */
export function symSm3State(src: usize, len: u32, blocks: u32, dst: usize): i32 {
  if (!inBounds(src, len) || !inBounds(dst, 32)) return ST_BAD_ARGUMENT;
  sm3StateAfter(src, len, blocks, dst);
  return ST_OK;
}
