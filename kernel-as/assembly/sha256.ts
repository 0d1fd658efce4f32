// SHA-256 (FIPS 180-4 §6.2), one-shot over a buffer.
//
// For other kernel families: `sha256Into(src, len, dst)` hashes `len` bytes at `src` and writes
// the 32-byte digest at `dst` (no bounds checks). Not re-entrant (static scratch).

import { padTail } from "./hash_common";
import { SHA256_H0, SHA256_K } from "./sym_tables";

const H: usize = memory.data(32);
const W: usize = memory.data(256);
const TAIL: usize = memory.data(128);

export const SHA256_DIGEST_BYTES: u32 = 32;

function compress(p: usize, blocks: u32): void {
  for (let n: u32 = 0; n < blocks; n++, p += 64) {
    for (let t: usize = 0; t < 16; t++) store<u32>(W + (t << 2), bswap<u32>(load<u32>(p + (t << 2))));
    for (let t: usize = 16; t < 64; t++) {
      const q = W + ((t - 16) << 2); // W[t-16]
      const w15 = load<u32>(q, 4), w2 = load<u32>(q, 56);
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
      store<u32>(q, s1 + load<u32>(q, 36) + s0 + load<u32>(q), 64);
    }
    let a = load<u32>(H), b = load<u32>(H, 4), c = load<u32>(H, 8), d = load<u32>(H, 12);
    let e = load<u32>(H, 16), f = load<u32>(H, 20), g = load<u32>(H, 24), h = load<u32>(H, 28);
    for (let t: usize = 0; t < 64; t++) {
      const t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + (g ^ (e & (f ^ g))) +
        load<u32>(SHA256_K + (t << 2)) + load<u32>(W + (t << 2));
      const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) | (c & (a | b)));
      h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    store<u32>(H, load<u32>(H) + a); store<u32>(H, load<u32>(H, 4) + b, 4);
    store<u32>(H, load<u32>(H, 8) + c, 8); store<u32>(H, load<u32>(H, 12) + d, 12);
    store<u32>(H, load<u32>(H, 16) + e, 16); store<u32>(H, load<u32>(H, 20) + f, 20);
    store<u32>(H, load<u32>(H, 24) + g, 24); store<u32>(H, load<u32>(H, 28) + h, 28);
  }
}

/** SHA-256 of `len` bytes at `src`; the 32-byte digest goes to `dst`. */
export function sha256Into(src: usize, len: u32, dst: usize): void {
  memory.copy(H, SHA256_H0, 32);
  compress(src, len >> 6);
  compress(TAIL, padTail(src, len, TAIL));
  for (let i: usize = 0; i < 32; i += 4) store<u32>(dst + i, bswap<u32>(load<u32>(H + i)));
}
