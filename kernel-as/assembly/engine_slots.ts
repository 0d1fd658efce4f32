// The verification engine's per-record scratch (inside ENGINE_SCR, see memory.ts): the tag
// slots a record's data objects are found in, PAN digits, the AC data block, intermediate keys
// and the per-record state the ODA steps share (instead of module globals).

import { ENGINE_SCR } from "./memory";
import { SLOT_COUNT, slotOf } from "./contract";

/** Tag slots: SLOT_COUNT × (u32 pointer, u32 length); pointer 0 = absent. */
export const SLOTS: usize = ENGINE_SCR;
/** PAN digits as 0..9 bytes (up to 19). */
export const PAN: usize = ENGINE_SCR + 0x200;
/** AC data block (≤ 128 bytes). */
export const DBLK: usize = ENGINE_SCR + 0x300;
export const MK: usize = ENGINE_SCR + 0x400;
export const SK: usize = ENGINE_SCR + 0x420;
/** 32 bytes of working space (derivation blocks). */
export const TMP: usize = ENGINE_SCR + 0x440;
export const MACOUT: usize = ENGINE_SCR + 0x460;
export const SHA: usize = ENGINE_SCR + 0x480;
/** Per-record ODA state: u32 transaction date YYYYMMDD, u32 year·12 + month, u32 ODA PAN length. */
export const REC_TXN_YMD: usize = ENGINE_SCR + 0x4C0;
export const REC_TXN_MONTH: usize = ENGINE_SCR + 0x4C4;
export const REC_OPAN_LEN: usize = ENGINE_SCR + 0x4C8;
/** DES schedule (400 bytes) or SM4 round keys (128). */
export const SCHED: usize = ENGINE_SCR + 0x500;
/** Bytes of scratch zeroed at the end of every batch. */
export const SCRATCH_BYTES: usize = 0x1000;

// @ts-ignore: decorator
@inline export function sPtr(s: i32): usize {
  return <usize>load<u32>(SLOTS + (<usize>s << 3));
}

// @ts-ignore: decorator
@inline export function sLen(s: i32): u32 {
  return load<u32>(SLOTS + (<usize>s << 3), 4);
}

/** Empties every slot (start of a record). */
export function clearSlots(): void {
  memory.fill(SLOTS, 0, <usize>SLOT_COUNT << 3);
}

/** Fills empty slots from a decoded TLV index (first primitive occurrence wins). */
export function fillSlots(src: usize, index: usize, count: u32): void {
  for (let i: u32 = 0; i < count; i++) {
    const e = index + <usize>i * 24;
    if (((load<u32>(e, 16) >> 8) & 0xFF) != 0) continue; // constructed
    const s = slotOf(load<u32>(e));
    if (s < 0) continue;
    const at = SLOTS + (<usize>s << 3);
    if (load<u32>(at) != 0) continue;
    store<u32>(at, <u32>(src + <usize>load<u32>(e, 8)));
    store<u32>(at, load<u32>(e, 12), 4);
  }
}

/** Value of `len` BCD digits pairs at `p` (e.g. 3 bytes YYMMDD → YYMMDD), or -1 if not BCD. */
export function bcdValue(p: usize, len: u32): i64 {
  let v: i64 = 0;
  for (let i: u32 = 0; i < len; i++) {
    const b = <u32>load<u8>(p + i);
    if ((b >> 4) > 9 || (b & 15) > 9) return -1;
    v = v * 100 + <i64>((b >> 4) * 10 + (b & 15));
  }
  return v;
}

/** A YYMMDD date (3 BCD bytes) as YYYYMMDD (00-49 → 20YY), or 0 when not a date. */
export function yymmdd(p: usize): u32 {
  const v = bcdValue(p, 3);
  if (v < 0) return 0;
  const yy = <u32>(v / 10000);
  const mm = <u32>(v / 100) % 100;
  const dd = <u32>v % 100;
  if (mm < 1 || mm > 12 || dd < 1 || dd > 31) return 0;
  const y: u32 = yy < 50 ? <u32>2000 + yy : <u32>1900 + yy;
  return y * 10000 + mm * 100 + dd;
}
