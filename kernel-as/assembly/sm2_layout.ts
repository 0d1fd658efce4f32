// SM2 memory layout (see sm2.ts for the family): the SM2 part of PK scratch, after the RSA
// slots, and the shape and place of the fixed-base tables (G's and the per-key ones) in the
// SM2TAB region. Every address the SM2 files share is defined here once.

import { SM2TAB_BASE, SM2TAB_SIZE } from "./memory";
import { RSA_SCRATCH_END } from "./rsa";

/** Longest message sm2VerifyRaw takes (it is copied behind Z for SM3). */
export const SM2_MESSAGE_MAX: u32 = 0x1_0000;

export const F: usize = 32; // one field element
export const PT: usize = 96; // one Jacobian point

// PK scratch map (SM2 part), after the RSA slots.
const SM2_BASE: usize = (RSA_SCRATCH_END + 0xFFF) & ~(<usize>0xFFF);
export const C_ONE: usize = SM2_BASE; // 1 in Montgomery form (R mod p)
export const C_B: usize = SM2_BASE + F; // b in Montgomery form
export const C_GX: usize = SM2_BASE + 2 * F;
export const C_GY: usize = SM2_BASE + 3 * F;
const TMP: usize = SM2_BASE + 0x100; // 16 temporaries T(0..15)
export const PX: usize = SM2_BASE + 0x300; // public key, Montgomery form
export const PY: usize = PX + F;
export const SC_S: usize = SM2_BASE + 0x380; // scalars, plain little-endian limbs
export const SC_T: usize = SC_S + F;
export const SC_R: usize = SC_S + 2 * F;
export const SC_E: usize = SC_S + 3 * F;
export const ACC: usize = SM2_BASE + 0x400; // accumulator point
export const ACC2: usize = ACC + PT;
export const PTAB: usize = SM2_BASE + 0x600; // P, 3P, ..., 15P Jacobian (8 * 96 bytes)
export const NEG: usize = SM2_BASE + 0x900; // a negated table point (96 bytes)
export const NAF: usize = SM2_BASE + 0xA00; // wNAF digits of t (i8, 262)
export const ZERO_F: usize = SM2_BASE + 0xC00; // 32 zero bytes
// Fixed-base tables (G's, and per-key ones): signed windows of W_BITS bits, each window w
// holding the affine multiples j·2^(W_BITS·w)·B, j = 1..G_ENTRIES; a 256-bit scalar is then
// G_WINDOWS affine additions (12-bit windows: 22, the top one never carries).
export const W_BITS: u32 = 12;
export const G_ENTRIES: usize = 1 << (W_BITS - 1); // |digit| = 1..2048
export const G_WINDOWS: usize = (256 + W_BITS - 1) / W_BITS + (256 % W_BITS == 0 ? 1 : 0);
const GTAB_BYTES: usize = G_WINDOWS * G_ENTRIES * 64;
export const GTAB: usize = SM2TAB_BASE; // G_WINDOWS * G_ENTRIES affine points * 64 bytes
// table build: G_ENTRIES Jacobian points + prefix products
export const WORK: usize = SM2_BASE + 0x1000;
const WORK_BYTES: usize = G_ENTRIES * (PT + F);
export const ZBUF: usize = (WORK + WORK_BYTES + 0xFFF) & ~(<usize>0xFFF); // ENTL‖ID‖a‖b‖G‖P
const ZBUF_BYTES: usize = 0x3000;
export const MBUF: usize = ZBUF + ZBUF_BYTES; // Z‖M for e, then e and Z
const MBUF_BYTES: usize = 32 + <usize>SM2_MESSAGE_MAX;
export const E_OUT: usize = MBUF + MBUF_BYTES;
const Z_OUT: usize = E_OUT + 32;
// Per-key tables for recurring public keys (issuer keys verify every card's certificate), in
// SM2TAB after G's: KEY_SLOTS slots of a 128-byte header (+0 u32 valid, +4 u32 uses, +8 u32
// key hash, +64 key x‖y bytes) and a table shaped like G's: t·P is then G_WINDOWS affine
// additions.
export const KEY_SLOTS: u32 = 3;
export const KEY_SLOT_BYTES: usize = (128 + GTAB_BYTES + 0xFFF) & ~(<usize>0xFFF);
export const KEY_BASE: usize = (GTAB + GTAB_BYTES + 0xFFF) & ~(<usize>0xFFF);
export const KEY_SEEN_BUCKETS: u32 = 1024;
export const KEY_SEEN: usize = memory.data(<i32>KEY_SEEN_BUCKETS * 8); // u32 hash, u32 sightings
/** End of the SM2 part of PK scratch. */
export const SM2_SCRATCH_END: usize = Z_OUT + 32;
// @ts-ignore: compile-time check
if (KEY_BASE + <usize>KEY_SLOTS * KEY_SLOT_BYTES > SM2TAB_BASE + SM2TAB_SIZE) ERROR("SM2TAB overflow");

/** Temporary field element i (0..15). */
// @ts-ignore: decorator
@inline export function T(i: usize): usize {
  return TMP + i * F;
}
