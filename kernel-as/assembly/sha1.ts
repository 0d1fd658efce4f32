// SHA-1 (FIPS 180-4 §6.1), one-shot over a buffer.
//
// For other kernel families: `sha1Into(src, len, dst)` hashes `len` bytes at `src` and writes
// the 20-byte digest at `dst` (no bounds checks: the caller owns the pointers). Not re-entrant:
// it uses this file's static scratch (state, schedule, tail).

import { padTail } from "./hash_common";
import { sha1Compress } from "./hash_rounds";

const H: usize = memory.data(20);
const TAIL: usize = memory.data(128);

export const SHA1_DIGEST_BYTES: u32 = 20;

// @ts-ignore: decorator
@inline function compress(p: usize, blocks: u32): void {
  sha1Compress(H, p, blocks);
}

/** SHA-1 of `len` bytes at `src`; the 20-byte digest goes to `dst`. */
export function sha1Into(src: usize, len: u32, dst: usize): void {
  store<u32>(H, 0x67452301); store<u32>(H, 0xEFCDAB89, 4); store<u32>(H, 0x98BADCFE, 8);
  store<u32>(H, 0x10325476, 12); store<u32>(H, 0xC3D2E1F0, 16);
  compress(src, len >> 6);
  compress(TAIL, padTail(src, len, TAIL));
  for (let i: usize = 0; i < 20; i += 4) store<u32>(dst + i, bswap<u32>(load<u32>(H + i)));
}
