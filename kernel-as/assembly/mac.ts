// ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC) and algorithm 3 ("retail MAC") with DES/3DES.
//
// Algorithm 1: CBC with zero IV under the key (8 bytes: DES; 16/24: 3DES EDE) over the padded
// data; the MAC is the last block. Algorithm 3: CBC under single DES with K (left half of a
// 16-byte key) over all blocks, then the final block is decrypted with K' (right half) and
// encrypted with K again: G = E_K(D_K'(H_q)). EMV/PBOC AC uses algorithm 3 with padding
// method 2 (ISO/IEC 9797-1 §6.1.2; docs/emv-pboc.md, MAC algorithms and padding).
//
// For other kernel families (the verification engine):
//   macAlg3Into(key16, src, len, padding, dst): i32   8-byte MAC at dst
// Not re-entrant (static schedules).

import { desCrypt, desKeyOne, desKeySchedule, DES_SCHEDULE_BYTES } from "./des";
import { MAC_TAIL_ERROR, macTail, macTailStatus } from "./mac_padding";
import { ST_OK } from "./status";

const TAIL: usize = memory.data(8);
const SCHED_L: usize = memory.data(400, 16);
const SCHED_R: usize = memory.data(400, 16);

// @ts-ignore: decorator
@inline function be(p: usize): u64 {
  return bswap<u64>(load<u64>(p));
}

/**
 * CBC-MAC chain under `sched` over `full` whole blocks at `src` then (if `tail`) the block at
 * TAIL; returns the last block as a big-endian u64.
 */
function cbcChain(sched: usize, src: usize, full: u32, tail: i32): u64 {
  let h: u64 = 0;
  for (let i: u32 = 0; i < full; i++) {
    h ^= be(src + (<usize>i << 3));
    h = desCrypt(sched, <u32>(h >> 32), <u32>h, false);
  }
  if (tail == 1) {
    h ^= be(TAIL);
    h = desCrypt(sched, <u32>(h >> 32), <u32>h, false);
  }
  return h;
}

/** ISO 9797-1 algorithm 1 under an existing DES/3DES schedule; 8-byte MAC at `dst`. */
export function macAlg1Into(sched: usize, src: usize, len: u32, padding: i32, dst: usize): i32 {
  const tail = macTail(src, len, 8, padding, TAIL);
  if (tail == MAC_TAIL_ERROR) return macTailStatus(padding);
  store<u64>(dst, bswap<u64>(cbcChain(sched, src, len >> 3, tail)));
  return ST_OK;
}

/** ISO 9797-1 algorithm 3 with the 16-byte key at `key16`; 8-byte MAC at `dst`. */
export function macAlg3Into(key16: usize, src: usize, len: u32, padding: i32, dst: usize): i32 {
  const tail = macTail(src, len, 8, padding, TAIL);
  if (tail == MAC_TAIL_ERROR) return macTailStatus(padding);
  desKeySchedule(key16, 8, SCHED_L);
  store<u32>(SCHED_R, 1);
  desKeyOne(key16 + 8, SCHED_R + 16);
  let h = cbcChain(SCHED_L, src, len >> 3, tail);
  h = desCrypt(SCHED_R, <u32>(h >> 32), <u32>h, true);
  h = desCrypt(SCHED_L, <u32>(h >> 32), <u32>h, false);
  store<u64>(dst, bswap<u64>(h));
  return ST_OK;
}
