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

// ENGINE sub-map (the verification engine; keys and scratch live here only during a batch and
// engineWipe() zeroes [ENGINE_BASE, ENGINE_WIPED_END); the caches hold public keys only):
//
//   +0x00000  u32 key count, u32 configuration count, u32 CA key count, u32 revoked count
//   +0x00100  KEYS      key table: 256 × 512 (algorithm, DKI, prefix, key, DES/SM4 schedule)
//   +0x40000  CFGS      issuer configurations: 256 × 32 (contract CFG_IN)
//   +0x42000  CAPKS     CA public keys: 64 × 336 (contract CAPK_IN)
//   +0x48000  REVOKED   revoked issuer certificate serials: 1024 × 12 (contract REVOKED_IN)
//   +0x50000  SCR       per-record scratch: tag slots, PAN digits, AC data block, MK, SK,
//                       key schedules, per-record state (transaction date, ODA PAN)
//   +0x60000  (end of the wiped part)
//   +0x80000  HBUF      hash / signed-message input (64 KiB)
//   +0x90000  XBUF      recovered RSA data; +0x90200 TBUF terminal dynamic data; +0x90300
//                       OPAN ODA PAN digits; +0x90400 HASH; +0x90500 IKEY, +0x90520 CKEY cache
//                       keys; +0x90540 IDBUF SM2 user ID
//   +0xA0000  SD        a stable copy of the static data to be authenticated
//   +0x100000 ISS_CACHE recovered issuer keys: 256 × 512
//   +0x140000 ICC_CACHE recovered ICC keys: 4096 × 512 (ends at +0x340000)
export const ENGINE_KEYS: usize = ENGINE_BASE + 0x100;
export const ENGINE_CFGS: usize = ENGINE_BASE + 0x40000;
export const ENGINE_CAPKS: usize = ENGINE_BASE + 0x42000;
export const ENGINE_REVOKED: usize = ENGINE_BASE + 0x48000;
export const ENGINE_SCR: usize = ENGINE_BASE + 0x50000;
export const ENGINE_WIPED_END: usize = ENGINE_BASE + 0x60000;
export const ENGINE_HBUF: usize = ENGINE_BASE + 0x80000;
export const ENGINE_HBUF_SIZE: u32 = 0x10000;
export const ENGINE_XBUF: usize = ENGINE_BASE + 0x90000;
export const ENGINE_TBUF: usize = ENGINE_BASE + 0x90200;
export const ENGINE_OPAN: usize = ENGINE_BASE + 0x90300;
export const ENGINE_HASH: usize = ENGINE_BASE + 0x90400;
export const ENGINE_IKEY: usize = ENGINE_BASE + 0x90500;
export const ENGINE_CKEY: usize = ENGINE_BASE + 0x90520;
export const ENGINE_IDBUF: usize = ENGINE_BASE + 0x90540;
export const ENGINE_SD: usize = ENGINE_BASE + 0xA0000;
export const ENGINE_ISS_CACHE: usize = ENGINE_BASE + 0x100000;
export const ENGINE_ICC_CACHE: usize = ENGINE_BASE + 0x140000;

/** True when [ptr, ptr+len) lies inside linear memory above the static data. */
// @ts-ignore: decorator
@inline
export function inBounds(ptr: usize, len: usize): bool {
  return ptr >= PARAM_BASE && len <= MEMORY_END && ptr <= MEMORY_END - len;
}
