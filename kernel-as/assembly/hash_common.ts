// Shared Merkle–Damgård padding for SHA-1, SHA-256 and SM3 (FIPS 180-4 §5.1.1, GB/T 32905 §5.2):
// append 0x80, zeros to 56 mod 64, then the message length in bits as a 64-bit big-endian
// integer. One-shot over a buffer: whole blocks are read in place, only the tail is copied.

/**
 * Copies the last `len % 64` bytes of the message at `src` (total length `len`) into `tail`
 * (128 bytes) and pads them; returns how many tail blocks (1 or 2) to compress.
 */
export function padTail(src: usize, len: u32, tail: usize): u32 {
  const full = len & ~63;
  const rem = len - full;
  const blocks: u32 = rem < 56 ? 1 : 2;
  const end = <usize>blocks << 6;
  // Plain stores rather than memory.fill/copy (V8 turns variable-size bulk operations into
  // calls, a large share of a one-block hash).
  for (let i: usize = 0; i < end; i += 8) store<u64>(tail + i, 0);
  let i: u32 = 0;
  for (; i + 8 <= rem; i += 8) store<u64>(tail + i, load<u64>(src + full + i));
  for (; i < rem; i++) store<u8>(tail + i, load<u8>(src + full + i));
  store<u8>(tail + rem, 0x80);
  const bits = <u64>len << 3;
  store<u64>(tail + end - 8, bswap<u64>(bits));
  return blocks;
}
