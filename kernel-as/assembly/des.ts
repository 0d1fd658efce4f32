// DES and 3DES (TDEA, EDE) — FIPS 46-3 / NIST SP 800-67 Rev. 2; ECB and CBC per SP 800-38A.
//
// Round function with combined S-box/P tables ("SP boxes"). The E expansion is not computed:
// the 6-bit group i of E(R) is bits 4i-1..4i+4 of R (cyclic), so x = rotl(R, 7) holds groups
// 0, 6, 4, 2 at bits 2-7, 10-15, 18-23, 26-31 and rotr(x, 4) holds groups 7, 5, 3, 1 there.
// Subkeys are stored pre-packed to match (ka, kb; see gen_sym_tables.ts), and masking with
// 0xFCFCFCFC leaves each group already multiplied by 4: a byte offset into its SP box.
//
// Key schedule layout (DES_SCHEDULE_BYTES = 400):
//   +0   u32 number of DES keys: 1 (single DES) or 3 (EDE; two-key 3DES stores K1 again as K3)
//   +16  K1: 16 × (ka, kb) u32 pairs, 128 bytes
//   +144 K2, +272 K3
//
// For other kernel families (the verification engine):
//   desKeySchedule(key, keyLen, sched): i32   keyLen 8, 16 or 24; ST_SYM_KEY_LENGTH otherwise
//   desEncryptBlockAt(sched, src, dst)         one 8-byte block, src may equal dst
//   desDecryptBlockAt(sched, src, dst)
//   desCrypt(sched, hi, lo, decrypt): u64      one block as two big-endian words
// No bounds checks in these: the caller owns the pointers.

import { DES_FP, DES_IP, DES_PC1, DES_PC2, DES_SP } from "./sym_tables";
import { ST_OK } from "./status";
import { ST_SYM_KEY_LENGTH } from "./sym_status";

export const DES_SCHEDULE_BYTES: u32 = 400;

// @ts-ignore: decorator
@inline function f(r: u32, ka: u32, kb: u32): u32 {
  const x = rotl<u32>(r, 7);
  const u = (x ^ ka) & 0xFCFCFCFC;
  const v = (rotr<u32>(x, 4) ^ kb) & 0xFCFCFCFC;
  return load<u32>(DES_SP + (u & 0xFF)) ^
    load<u32>(DES_SP + ((u >> 8) & 0xFF), 6 * 256) ^
    load<u32>(DES_SP + ((u >> 16) & 0xFF), 4 * 256) ^
    load<u32>(DES_SP + (u >> 24), 2 * 256) ^
    load<u32>(DES_SP + (v & 0xFF), 7 * 256) ^
    load<u32>(DES_SP + ((v >> 8) & 0xFF), 5 * 256) ^
    load<u32>(DES_SP + ((v >> 16) & 0xFF), 3 * 256) ^
    load<u32>(DES_SP + (v >> 24), 1 * 256);
}

/** 16 rounds of one key; returns the preoutput R16‖L16 (hi = R16). */
// @ts-ignore: decorator
@inline function rounds(l: u32, r: u32, sk: usize, decrypt: bool): u64 {
  if (!decrypt) {
    for (let i: usize = 0; i < 128; i += 16) {
      l ^= f(r, load<u32>(sk + i), load<u32>(sk + i, 4));
      r ^= f(l, load<u32>(sk + i, 8), load<u32>(sk + i, 12));
    }
  } else {
    for (let i: isize = 112; i >= 0; i -= 16) {
      l ^= f(r, load<u32>(sk + i, 8), load<u32>(sk + i, 12));
      r ^= f(l, load<u32>(sk + i), load<u32>(sk + i, 4));
    }
  }
  return (<u64>r << 32) | <u64>l;
}

// @ts-ignore: decorator
@inline function ipTable(hi: u32, lo: u32, table: usize): u64 {
  let a: u32 = 0, b: u32 = 0;
  for (let j: u32 = 0; j < 4; j++) {
    const p = table + (j << 11) + (((hi >> (24 - (j << 3))) & 0xFF) << 3);
    a |= load<u32>(p); b |= load<u32>(p, 4);
    const q = table + ((j + 4) << 11) + (((lo >> (24 - (j << 3))) & 0xFF) << 3);
    a |= load<u32>(q); b |= load<u32>(q, 4);
  }
  return (<u64>a << 32) | <u64>b;
}

/** One block (big-endian words hi‖lo) through the schedule; returns the result the same way. */
export function desCrypt(sched: usize, hi: u32, lo: u32, decrypt: bool): u64 {
  let x = ipTable(hi, lo, DES_IP);
  if (load<u32>(sched) == 1) {
    x = rounds(<u32>(x >> 32), <u32>x, sched + 16, decrypt);
  } else if (!decrypt) {
    x = rounds(<u32>(x >> 32), <u32>x, sched + 16, false);
    x = rounds(<u32>(x >> 32), <u32>x, sched + 144, true);
    x = rounds(<u32>(x >> 32), <u32>x, sched + 272, false);
  } else {
    x = rounds(<u32>(x >> 32), <u32>x, sched + 272, true);
    x = rounds(<u32>(x >> 32), <u32>x, sched + 144, false);
    x = rounds(<u32>(x >> 32), <u32>x, sched + 16, true);
  }
  return ipTable(<u32>(x >> 32), <u32>x, DES_FP);
}

/** Subkeys of one 8-byte DES key (parity bits ignored) into 128 bytes at `sk`. */
export function desKeyOne(key: usize, sk: usize): void {
  let c: u32 = 0, d: u32 = 0;
  for (let j: usize = 0; j < 8; j++) {
    const p = DES_PC1 + (j << 11) + (<usize>load<u8>(key + j) << 3);
    c |= load<u32>(p); d |= load<u32>(p, 4);
  }
  for (let i: u32 = 0; i < 16; i++) {
    // FIPS 46-3 key schedule: left shifts 1,1,2,2,2,2,2,2,1,2,2,2,2,2,2,1.
    const s: u32 = (i == 0 || i == 1 || i == 8 || i == 15) ? 1 : 2;
    c = ((c << s) | (c >> (28 - s))) & 0x0FFFFFFF;
    d = ((d << s) | (d >> (28 - s))) & 0x0FFFFFFF;
    let ka: u32 = 0, kb: u32 = 0;
    for (let n: u32 = 0; n < 7; n++) {
      const p = DES_PC2 + (n << 7) + (((c >> (24 - (n << 2))) & 15) << 3);
      ka |= load<u32>(p); kb |= load<u32>(p, 4);
      const q = DES_PC2 + ((n + 7) << 7) + (((d >> (24 - (n << 2))) & 15) << 3);
      ka |= load<u32>(q); kb |= load<u32>(q, 4);
    }
    store<u32>(sk + (<usize>i << 3), ka);
    store<u32>(sk + (<usize>i << 3), kb, 4);
  }
}

/** Key schedule for an 8 (DES), 16 (two-key 3DES) or 24-byte (three-key 3DES) key. */
export function desKeySchedule(key: usize, keyLen: u32, sched: usize): i32 {
  if (keyLen == 8) {
    store<u32>(sched, 1);
    desKeyOne(key, sched + 16);
  } else if (keyLen == 16 || keyLen == 24) {
    store<u32>(sched, 3);
    desKeyOne(key, sched + 16);
    desKeyOne(key + 8, sched + 144);
    if (keyLen == 16) memory.copy(sched + 272, sched + 16, 128);
    else desKeyOne(key + 16, sched + 272);
  } else {
    return ST_SYM_KEY_LENGTH;
  }
  return ST_OK;
}

/** Encrypts the 8-byte block at `src` into `dst` (may be the same). */
export function desEncryptBlockAt(sched: usize, src: usize, dst: usize): void {
  const y = desCrypt(sched, bswap<u32>(load<u32>(src)), bswap<u32>(load<u32>(src, 4)), false);
  store<u64>(dst, bswap<u64>(y));
}

/** Decrypts the 8-byte block at `src` into `dst` (may be the same). */
export function desDecryptBlockAt(sched: usize, src: usize, dst: usize): void {
  const y = desCrypt(sched, bswap<u32>(load<u32>(src)), bswap<u32>(load<u32>(src, 4)), true);
  store<u64>(dst, bswap<u64>(y));
}
