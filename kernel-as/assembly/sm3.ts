// SM3 (GB/T 32905-2016), one-shot over a buffer.
//
// For other kernel families (the SM2 verifier needs it for Z and e): `sm3Into(src, len, dst)`
// hashes `len` bytes at `src` and writes the 32-byte digest at `dst` (no bounds checks).
// Not re-entrant (static scratch). `sm3StateAfter(...)` exposes the chaining value for the
// tests of the standard's intermediate values.

import { padTail } from "./hash_common";
import { sm3Compress } from "./hash_rounds";

const V: usize = memory.data(32);
const TAIL: usize = memory.data(128);

export const SM3_DIGEST_BYTES: u32 = 32;

// @ts-ignore: decorator
@inline function compress(p: usize, blocks: u32): void {
  sm3Compress(V, p, blocks);
}

function init(): void {
  store<u32>(V, 0x7380166F); store<u32>(V, 0x4914B2B9, 4);
  store<u32>(V, 0x172442D7, 8); store<u32>(V, 0xDA8A0600, 12);
  store<u32>(V, 0xA96F30BC, 16); store<u32>(V, 0x163138AA, 20);
  store<u32>(V, 0xE38DEE4D, 24); store<u32>(V, 0xB0FB0E4E, 28);
}

/** SM3 of `len` bytes at `src`; the 32-byte digest goes to `dst`. */
export function sm3Into(src: usize, len: u32, dst: usize): void {
  init();
  compress(src, len >> 6);
  compress(TAIL, padTail(src, len, TAIL));
  for (let i: usize = 0; i < 32; i += 4) store<u32>(dst + i, bswap<u32>(load<u32>(V + i)));
}

/**
 * Test hook: the chaining value V(i) after compressing the first `blocks` padded blocks of the
 * message (GB/T 32905 Annex A prints V(1) for its examples). Writes 32 bytes at `dst`.
 */
export function sm3StateAfter(src: usize, len: u32, blocks: u32, dst: usize): void {
  init();
  const full = len >> 6;
  compress(src, min(full, blocks));
  if (blocks > full) compress(TAIL, min(padTail(src, len, TAIL), blocks - full));
  for (let i: usize = 0; i < 32; i += 4) store<u32>(dst + i, bswap<u32>(load<u32>(V + i)));
}
