// Kernel memory map. The kernel never allocates: every buffer is a fixed region
// of linear memory, and the TypeScript wrapper makes its views once.
//
//   0x0000_0000  static data (S-boxes, constants)        must end below PARAM
//   0x0010_0000  PARAM    64 KiB  call parameters: keys, IVs, small descriptors
//   0x0011_0000  SYM      64 KiB  symmetric family scratch (key schedules)
//   0x0012_0000  PK      896 KiB  public-key family scratch (big numbers, SM2 tables)
//   0x0020_0000  INDEX     2 MiB  TLV index output (24-byte entries)
//   0x0040_0000  IN       28 MiB  inputs (whole batches)
//   0x0200_0000  OUT      16 MiB  outputs
//   0x0300_0000  ENGINE    4 MiB  verification engine state (key caches)
//   0x0340_0000  SM2TAB   12 MiB  SM2 fixed-base table of G and per-key tables (issuer keys)
//   0x0400_0000  end: 64 MiB = 1024 pages, fixed (memory never grows)
//
// The same numbers are mirrored in ../layout.ts and checked by a test.

export const PARAM_BASE: usize = 0x0010_0000;
export const PARAM_SIZE: usize = 0x0001_0000;
export const SYM_BASE: usize = 0x0011_0000;
export const SYM_SIZE: usize = 0x0001_0000;
export const PK_BASE: usize = 0x0012_0000;
export const PK_SIZE: usize = 0x000E_0000;
export const INDEX_BASE: usize = 0x0020_0000;
export const INDEX_SIZE: usize = 0x0020_0000;
export const IN_BASE: usize = 0x0040_0000;
export const IN_SIZE: usize = 0x01C0_0000;
export const OUT_BASE: usize = 0x0200_0000;
export const OUT_SIZE: usize = 0x0100_0000;
export const ENGINE_BASE: usize = 0x0300_0000;
export const ENGINE_SIZE: usize = 0x0040_0000;
export const SM2TAB_BASE: usize = 0x0340_0000;
export const SM2TAB_SIZE: usize = 0x00C0_0000;
export const MEMORY_END: usize = 0x0400_0000;

/** True when [ptr, ptr+len) lies inside linear memory above the static data. */
// @ts-ignore: decorator
@inline
export function inBounds(ptr: usize, len: usize): bool {
  return ptr >= PARAM_BASE && len <= MEMORY_END && ptr <= MEMORY_END - len;
}
