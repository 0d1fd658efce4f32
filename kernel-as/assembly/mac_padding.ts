// ISO/IEC 9797-1 padding for the MAC algorithms (block size 8 for DES, 16 for SM4).
//   0: none — the data must be a non-empty whole number of blocks
//   1: method 1 — zeros to the next block boundary (none when already aligned and non-empty;
//      an empty message becomes one zero block)
//   2: method 2 — one 0x80 byte, then zeros to the block boundary (always adds ≥ 1 byte)

import { ST_SYM_DATA_LENGTH, ST_SYM_PADDING } from "./sym_status";

export const MAC_TAIL_ERROR: i32 = -1;

// Small copies as plain loads/stores: V8 compiles variable-size memory.copy/fill to calls.
// @ts-ignore: decorator
@inline function tailBytes(tail: usize, from: usize, rem: u32, bs: u32): void {
  store<u64>(tail, 0);
  if (bs == 16) store<u64>(tail, 0, 8);
  for (let i: u32 = 0; i < rem; i++) store<u8>(tail + i, load<u8>(from + i));
}

/**
 * Prepares the padded last block: copies the `len % bs` trailing bytes to `tail` and pads
 * them. Returns 1 when `tail` holds a block to process after the `len / bs` whole blocks read
 * in place, 0 when there is none, MAC_TAIL_ERROR when the padding or the length is refused.
 */
export function macTail(src: usize, len: u32, bs: u32, padding: i32, tail: usize): i32 {
  const rem = len & (bs - 1);
  if (padding == 0) return rem == 0 && len > 0 ? 0 : MAC_TAIL_ERROR;
  if (padding == 1) {
    if (rem == 0 && len > 0) return 0;
    tailBytes(tail, src + len - rem, rem, bs);
    return 1;
  }
  if (padding == 2) {
    tailBytes(tail, src + len - rem, rem, bs);
    store<u8>(tail + rem, 0x80);
    return 1;
  }
  return MAC_TAIL_ERROR;
}

/** The status explaining a MAC_TAIL_ERROR for `padding`. */
export function macTailStatus(padding: i32): i32 {
  return padding == 0 ? ST_SYM_DATA_LENGTH : ST_SYM_PADDING;
}
