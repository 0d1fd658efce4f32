// SHA-256 (FIPS 180-4 §6.2), one-shot over a buffer.
//
// For other kernel families: `sha256Into(src, len, dst)` hashes `len` bytes at `src` and writes
// the 32-byte digest at `dst` (no bounds checks). Not re-entrant (static scratch).

import { padTail } from "./hash_common";
import { SHA256_H0 } from "./sym_tables";
import { sha256Compress } from "./hash_rounds";

const H: usize = memory.data(32);
const TAIL: usize = memory.data(128);

export const SHA256_DIGEST_BYTES: u32 = 32;

// @ts-ignore: decorator
@inline function compress(p: usize, blocks: u32): void {
  sha256Compress(H, p, blocks);
}

/** SHA-256 of `len` bytes at `src`; the 32-byte digest goes to `dst`. */
export function sha256Into(src: usize, len: u32, dst: usize): void {
  memory.copy(H, SHA256_H0, 32);
  compress(src, len >> 6);
  compress(TAIL, padTail(src, len, TAIL));
  for (let i: usize = 0; i < 32; i += 4) store<u32>(dst + i, bswap<u32>(load<u32>(H + i)));
}
