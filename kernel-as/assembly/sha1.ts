// SHA-1 (FIPS 180-4 §6.1), one-shot over a buffer.
//
// For other kernel families: `sha1Into(src, len, dst)` hashes `len` bytes at `src` and writes
// the 20-byte digest at `dst` (no bounds checks: the caller owns the pointers). Not re-entrant:
// it uses this file's static scratch (state, schedule, tail).

import { padTail } from "./hash_common";

const H: usize = memory.data(20);
const W: usize = memory.data(320);
const TAIL: usize = memory.data(128);

export const SHA1_DIGEST_BYTES: u32 = 20;

function compress(p: usize, blocks: u32): void {
  let h0 = load<u32>(H), h1 = load<u32>(H, 4), h2 = load<u32>(H, 8);
  let h3 = load<u32>(H, 12), h4 = load<u32>(H, 16);
  for (let n: u32 = 0; n < blocks; n++, p += 64) {
    for (let t: usize = 0; t < 16; t++) store<u32>(W + (t << 2), bswap<u32>(load<u32>(p + (t << 2))));
    for (let t: usize = 16; t < 80; t++) {
      const q = W + ((t - 16) << 2); // W[t-16]; offsets reach W[t-14], W[t-8], W[t-3], W[t]
      store<u32>(q, rotl<u32>(load<u32>(q, 52) ^ load<u32>(q, 32) ^ load<u32>(q, 8) ^ load<u32>(q), 1), 64);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    for (let t: usize = 0; t < 20; t++) {
      const x = rotl<u32>(a, 5) + (d ^ (b & (c ^ d))) + e + 0x5A827999 + load<u32>(W + (t << 2));
      e = d; d = c; c = rotl<u32>(b, 30); b = a; a = x;
    }
    for (let t: usize = 20; t < 40; t++) {
      const x = rotl<u32>(a, 5) + (b ^ c ^ d) + e + 0x6ED9EBA1 + load<u32>(W + (t << 2));
      e = d; d = c; c = rotl<u32>(b, 30); b = a; a = x;
    }
    for (let t: usize = 40; t < 60; t++) {
      const x = rotl<u32>(a, 5) + ((b & c) | (d & (b | c))) + e + 0x8F1BBCDC + load<u32>(W + (t << 2));
      e = d; d = c; c = rotl<u32>(b, 30); b = a; a = x;
    }
    for (let t: usize = 60; t < 80; t++) {
      const x = rotl<u32>(a, 5) + (b ^ c ^ d) + e + 0xCA62C1D6 + load<u32>(W + (t << 2));
      e = d; d = c; c = rotl<u32>(b, 30); b = a; a = x;
    }
    h0 += a; h1 += b; h2 += c; h3 += d; h4 += e;
  }
  store<u32>(H, h0); store<u32>(H, h1, 4); store<u32>(H, h2, 8);
  store<u32>(H, h3, 12); store<u32>(H, h4, 16);
}

/** SHA-1 of `len` bytes at `src`; the 20-byte digest goes to `dst`. */
export function sha1Into(src: usize, len: u32, dst: usize): void {
  store<u32>(H, 0x67452301); store<u32>(H, 0xEFCDAB89, 4); store<u32>(H, 0x98BADCFE, 8);
  store<u32>(H, 0x10325476, 12); store<u32>(H, 0xC3D2E1F0, 16);
  compress(src, len >> 6);
  compress(TAIL, padTail(src, len, TAIL));
  for (let i: usize = 0; i < 20; i += 4) store<u32>(dst + i, bswap<u32>(load<u32>(H + i)));
}
