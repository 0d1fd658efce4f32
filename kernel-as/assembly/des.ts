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

import { DES_PC1, DES_PC2, DES_SP } from "./sym_tables";
import { ST_OK } from "./status";
import { ST_SYM_KEY_LENGTH } from "./sym_status";

export const DES_SCHEDULE_BYTES: u32 = 400;

// @ts-ignore: decorator
@inline function f(r: u32, ka: u32, kb: u32): u32 {
  const x = rotl<u32>(r, 7);
  const u = (x ^ ka) & 0xFCFCFCFC;
  const v = (rotr<u32>(x, 4) ^ kb) & 0xFCFCFCFC;
  // Table bases as constant load offsets: the index is the masked group itself.
  // XOR as a balanced tree: the round's critical path is 3 XORs after the loads, not 7.
  return ((load<u32>(u & 0xFF, DES_SP) ^
    load<u32>((u >> 8) & 0xFF, DES_SP + 6 * 256)) ^
    (load<u32>((u >> 16) & 0xFF, DES_SP + 4 * 256) ^
      load<u32>(u >> 24, DES_SP + 2 * 256))) ^
    ((load<u32>(v & 0xFF, DES_SP + 7 * 256) ^
      load<u32>((v >> 8) & 0xFF, DES_SP + 5 * 256)) ^
      (load<u32>((v >> 16) & 0xFF, DES_SP + 3 * 256) ^
        load<u32>(v >> 24, DES_SP + 1 * 256)));
}

/** 16 rounds of one key; returns the preoutput R16‖L16 (hi = R16). */
// @ts-ignore: decorator
@inline function rounds(l: u32, r: u32, sk: usize, decrypt: bool): u64 {
  // Unrolled so every subkey load has a constant offset.
  if (!decrypt) {
    l ^= f(r, load<u32>(sk, 0), load<u32>(sk, 4));
    r ^= f(l, load<u32>(sk, 8), load<u32>(sk, 12));
    l ^= f(r, load<u32>(sk, 16), load<u32>(sk, 20));
    r ^= f(l, load<u32>(sk, 24), load<u32>(sk, 28));
    l ^= f(r, load<u32>(sk, 32), load<u32>(sk, 36));
    r ^= f(l, load<u32>(sk, 40), load<u32>(sk, 44));
    l ^= f(r, load<u32>(sk, 48), load<u32>(sk, 52));
    r ^= f(l, load<u32>(sk, 56), load<u32>(sk, 60));
    l ^= f(r, load<u32>(sk, 64), load<u32>(sk, 68));
    r ^= f(l, load<u32>(sk, 72), load<u32>(sk, 76));
    l ^= f(r, load<u32>(sk, 80), load<u32>(sk, 84));
    r ^= f(l, load<u32>(sk, 88), load<u32>(sk, 92));
    l ^= f(r, load<u32>(sk, 96), load<u32>(sk, 100));
    r ^= f(l, load<u32>(sk, 104), load<u32>(sk, 108));
    l ^= f(r, load<u32>(sk, 112), load<u32>(sk, 116));
    r ^= f(l, load<u32>(sk, 120), load<u32>(sk, 124));
  } else {
    l ^= f(r, load<u32>(sk, 120), load<u32>(sk, 124));
    r ^= f(l, load<u32>(sk, 112), load<u32>(sk, 116));
    l ^= f(r, load<u32>(sk, 104), load<u32>(sk, 108));
    r ^= f(l, load<u32>(sk, 96), load<u32>(sk, 100));
    l ^= f(r, load<u32>(sk, 88), load<u32>(sk, 92));
    r ^= f(l, load<u32>(sk, 80), load<u32>(sk, 84));
    l ^= f(r, load<u32>(sk, 72), load<u32>(sk, 76));
    r ^= f(l, load<u32>(sk, 64), load<u32>(sk, 68));
    l ^= f(r, load<u32>(sk, 56), load<u32>(sk, 60));
    r ^= f(l, load<u32>(sk, 48), load<u32>(sk, 52));
    l ^= f(r, load<u32>(sk, 40), load<u32>(sk, 44));
    r ^= f(l, load<u32>(sk, 32), load<u32>(sk, 36));
    l ^= f(r, load<u32>(sk, 24), load<u32>(sk, 28));
    r ^= f(l, load<u32>(sk, 16), load<u32>(sk, 20));
    l ^= f(r, load<u32>(sk, 8), load<u32>(sk, 12));
    r ^= f(l, load<u32>(sk, 0), load<u32>(sk, 4));
  }
  return (<u64>r << 32) | <u64>l;
}

/**
 * Initial permutation as five masked swaps (the delta-swap form of FIPS 46-3's IP table; checked
 * against the table in sym_tables_test.ts). In: the block as big-endian words; out: L‖R.
 */
// @ts-ignore: decorator
@inline export function desIp(l: u32, r: u32): u64 {
  let t = ((l >> 4) ^ r) & 0x0F0F0F0F; r ^= t; l ^= t << 4;
  t = ((l >> 16) ^ r) & 0x0000FFFF; r ^= t; l ^= t << 16;
  t = ((r >> 2) ^ l) & 0x33333333; l ^= t; r ^= t << 2;
  t = ((r >> 8) ^ l) & 0x00FF00FF; l ^= t; r ^= t << 8;
  t = ((l >> 1) ^ r) & 0x55555555; r ^= t; l ^= t << 1;
  return (<u64>l << 32) | <u64>r;
}

/** Final permutation IP⁻¹ (the swaps in reverse). In: the preoutput R16‖L16; out: the block. */
// @ts-ignore: decorator
@inline export function desFp(l: u32, r: u32): u64 {
  let t = ((l >> 1) ^ r) & 0x55555555; r ^= t; l ^= t << 1;
  t = ((r >> 8) ^ l) & 0x00FF00FF; l ^= t; r ^= t << 8;
  t = ((r >> 2) ^ l) & 0x33333333; l ^= t; r ^= t << 2;
  t = ((l >> 16) ^ r) & 0x0000FFFF; r ^= t; l ^= t << 16;
  t = ((l >> 4) ^ r) & 0x0F0F0F0F; r ^= t; l ^= t << 4;
  return (<u64>l << 32) | <u64>r;
}

/** One block (big-endian words hi‖lo) through the schedule; returns the result the same way. */
export function desCrypt(sched: usize, hi: u32, lo: u32, decrypt: bool): u64 {
  let x = desIp(hi, lo);
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
  return desFp(<u32>(x >> 32), <u32>x);
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
    // PC-2 through byte tables: C and D cut into 8-, 8-, 8- and 4-bit chunks.
    const c0 = <usize>(c >> 20) << 3, c1 = <usize>((c >> 12) & 0xFF) << 3;
    const c2 = <usize>((c >> 4) & 0xFF) << 3, c3 = <usize>(c & 15) << 3;
    const d0 = <usize>(d >> 20) << 3, d1 = <usize>((d >> 12) & 0xFF) << 3;
    const d2 = <usize>((d >> 4) & 0xFF) << 3, d3 = <usize>(d & 15) << 3;
    const ka = load<u32>(c0, DES_PC2) | load<u32>(c1, DES_PC2 + 2048) |
      load<u32>(c2, DES_PC2 + 4096) | load<u32>(c3, DES_PC2 + 6144) |
      load<u32>(d0, DES_PC2 + 8192) | load<u32>(d1, DES_PC2 + 10240) |
      load<u32>(d2, DES_PC2 + 12288) | load<u32>(d3, DES_PC2 + 14336);
    const kb = load<u32>(c0, DES_PC2 + 4) | load<u32>(c1, DES_PC2 + 2052) |
      load<u32>(c2, DES_PC2 + 4100) | load<u32>(c3, DES_PC2 + 6148) |
      load<u32>(d0, DES_PC2 + 8196) | load<u32>(d1, DES_PC2 + 10244) |
      load<u32>(d2, DES_PC2 + 12292) | load<u32>(d3, DES_PC2 + 14340);
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
