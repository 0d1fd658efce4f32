// SM3 (GB/T 32905-2016), one-shot over a buffer.
//
// For other kernel families (the SM2 verifier needs it for Z and e): `sm3Into(src, len, dst)`
// hashes `len` bytes at `src` and writes the 32-byte digest at `dst` (no bounds checks).
// Not re-entrant (static scratch). `sm3StateAfter(...)` exposes the chaining value for the
// tests of the standard's intermediate values.

import { padTail } from "./hash_common";

const V: usize = memory.data(32);
const W: usize = memory.data(68 * 4);
const TAIL: usize = memory.data(128);

export const SM3_DIGEST_BYTES: u32 = 32;

// @ts-ignore: decorator
@inline function p0(x: u32): u32 { return x ^ rotl<u32>(x, 9) ^ rotl<u32>(x, 17); }
// @ts-ignore: decorator
@inline function p1(x: u32): u32 { return x ^ rotl<u32>(x, 15) ^ rotl<u32>(x, 23); }

function compress(p: usize, blocks: u32): void {
  for (let n: u32 = 0; n < blocks; n++, p += 64) {
    // GB/T 32905 §5.3.2 message expansion: W0..W67 (W'j = Wj ^ Wj+4 computed in the rounds).
    for (let j: usize = 0; j < 16; j++) store<u32>(W + (j << 2), bswap<u32>(load<u32>(p + (j << 2))));
    for (let j: usize = 16; j < 68; j++) {
      const q = W + ((j - 16) << 2); // W[j-16]
      store<u32>(q, p1(load<u32>(q) ^ load<u32>(q, 28) ^ rotl<u32>(load<u32>(q, 52), 15)) ^
        rotl<u32>(load<u32>(q, 12), 7) ^ load<u32>(q, 40), 64);
    }
    let a = load<u32>(V), b = load<u32>(V, 4), c = load<u32>(V, 8), d = load<u32>(V, 12);
    let e = load<u32>(V, 16), f = load<u32>(V, 20), g = load<u32>(V, 24), h = load<u32>(V, 28);
    // §5.3.3 compression: rounds 0-15 with T = 79CC4519 and the XOR boolean functions.
    let tj: u32 = 0x79CC4519;
    for (let j: usize = 0; j < 16; j++) {
      const a12 = rotl<u32>(a, 12);
      const ss1 = rotl<u32>(a12 + e + tj, 7);
      const ss2 = ss1 ^ a12;
      const wj = load<u32>(W + (j << 2));
      const tt1 = (a ^ b ^ c) + d + ss2 + (wj ^ load<u32>(W + (j << 2), 16));
      const tt2 = (e ^ f ^ g) + h + ss1 + wj;
      d = c; c = rotl<u32>(b, 9); b = a; a = tt1;
      h = g; g = rotl<u32>(f, 19); f = e; e = p0(tt2);
      tj = rotl<u32>(tj, 1);
    }
    // Rounds 16-63: T = 7A879D8A rotated left by j mod 32, majority and choice functions.
    tj = rotl<u32>(0x7A879D8A, 16);
    for (let j: usize = 16; j < 64; j++) {
      const a12 = rotl<u32>(a, 12);
      const ss1 = rotl<u32>(a12 + e + tj, 7);
      const ss2 = ss1 ^ a12;
      const wj = load<u32>(W + (j << 2));
      const tt1 = ((a & b) | (c & (a | b))) + d + ss2 + (wj ^ load<u32>(W + (j << 2), 16));
      const tt2 = (g ^ (e & (f ^ g))) + h + ss1 + wj;
      d = c; c = rotl<u32>(b, 9); b = a; a = tt1;
      h = g; g = rotl<u32>(f, 19); f = e; e = p0(tt2);
      tj = rotl<u32>(tj, 1);
    }
    store<u32>(V, load<u32>(V) ^ a); store<u32>(V, load<u32>(V, 4) ^ b, 4);
    store<u32>(V, load<u32>(V, 8) ^ c, 8); store<u32>(V, load<u32>(V, 12) ^ d, 12);
    store<u32>(V, load<u32>(V, 16) ^ e, 16); store<u32>(V, load<u32>(V, 20) ^ f, 20);
    store<u32>(V, load<u32>(V, 24) ^ g, 24); store<u32>(V, load<u32>(V, 28) ^ h, 28);
  }
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
