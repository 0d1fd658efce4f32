// EMV/PBOC verification engine: whole batches of tap records in one call (domain.md §3-§4,
// design.md §6). Per record: BER-TLV decode of the chip data (and ODA evidence), profile
// selection from 9F10 / RID / issuer configuration, ICC master key (Option A / B / SM4),
// session key (PBOC ATC, EMV common, MasterCard SKD, none, PBOC SM4), the AC data block, MAC
// (ISO 9797-1 alg 3 or SM4 CBC-MAC) and compare; fare vs 9F02; cryptogram type from 9F27 or
// the CVR. One findings bitmask and one precedence-ordered status per record.
//
// The readable reference is core/emv/verify.ts; a differential test checks both agree.
// Offline data authentication and duplicate detection are done by the TypeScript wrapper
// (kernel-as/engine.ts) until the public-key family (issue 4) is on main.
//
// ENGINE region map (keys live here only during a batch; engineWipe() zeroes it):
//   +0x00000  u32 key count, u32 issuer-config count
//   +0x00100  key table: KEY_MAX entries of KEY_BYTES
//               +0 u8 algorithm (1 3DES, 4 SM4), +1 u8 dki (0xFF any), +2 u8 prefix length,
//               +3 u8 reserved, +4 prefix digits (ASCII, 20), +24 key (16),
//               +48 SM4 round keys (128) or +48 DES schedule (400)
//   +0x40000  issuer configuration: CFG_MAX entries of CFG_BYTES
//               +0 u8 prefix length, +1 u8 pinned profile (0 none), +2 u8 map count (≤ 4),
//               +3 reserved, +4 prefix digits (20), +24 (cvn, profile) pairs (8)
//   +0x50000  per-record scratch (tag slots, PAN digits, data block, MK, SK, schedules)
//
// Record descriptor (DESC_BYTES, at `desc`): u32 iccPtr, u32 iccLen, u32 odaPtr, u32 odaLen,
// u32 sdPtr, u32 sdLen, i32 fare (-1: none), u32 reserved.
// Record result (RES_BYTES, at `out`):
//   +0 u32 status  +4 u32 findings (bit i = RECORD_STATUSES[i] of core/emv/verify.ts)
//   +8 u8 cryptogram (0 ok, 1 mismatch, 2 no-key, 3 unsupported)  +9 u8 oda (255: not done)
//   +10 u8 type (0 AAC, 1 TC, 2 ARQC, 3 RFU, 255 none)  +11 u8 type source (1 9F27, 2 CVR)
//   +12 u8 profile (0 none, 1..5)  +13 u8 profile reason  +14 u8 missing slot (255 none)
//   +15 u8 reserved  +16 u32 key index (0xFFFFFFFF none)  +20 u32 reserved
//   +24 (offset, length) pairs relative to the chip data: 5A, 5F34, 9F36, 9F26, 9F02
//       (offset 0xFFFFFFFF when absent)

import { ENGINE_BASE, INDEX_BASE, inBounds } from "./memory";
import { ST_BAD_ARGUMENT, ST_OK } from "./status";
import { decodeInto, tlvCount } from "./tlv";
import { desEncryptBlockAt, desKeySchedule } from "./des";
import { macAlg3Into } from "./mac";
import { sm4CbcMacInto, sm4EncryptBlockAt, sm4KeySchedule } from "./sm4";
import { sha1Into } from "./sha1";
import { rsaPublicRaw } from "./rsa";
import { sm2CheckPoint, sm2VerifyRaw } from "./sm2";

// Record statuses (400-419) and call statuses (420-).
export const ST_ENGINE_MALFORMED_TLV: i32 = 401;
export const ST_ENGINE_MISSING_DATA: i32 = 402;
export const ST_ENGINE_FARE_MISMATCH: i32 = 403;
export const ST_ENGINE_REPLAY_SUSPECT: i32 = 404;
export const ST_ENGINE_DUPLICATE: i32 = 405;
export const ST_ENGINE_AC_MISMATCH: i32 = 406;
export const ST_ENGINE_CERT_REVOKED: i32 = 407;
export const ST_ENGINE_CERT_EXPIRED: i32 = 408;
export const ST_ENGINE_ODA_FAILED: i32 = 409;
export const ST_ENGINE_CAPK_UNKNOWN: i32 = 410;
export const ST_ENGINE_CARD_DECLINED: i32 = 411;
export const ST_ENGINE_TOO_MANY_KEYS: i32 = 420;
export const ST_ENGINE_KEY_INVALID: i32 = 421;

// Findings bits, in precedence order (index in RECORD_STATUSES).
const F_MALFORMED: u32 = 1 << 0;
const F_MISSING: u32 = 1 << 1;
const F_FARE: u32 = 1 << 2;
const F_AC_MISMATCH: u32 = 1 << 5;
const F_DECLINED: u32 = 1 << 10;

export const ENGINE_DESC_BYTES: u32 = 32;
export const ENGINE_RES_BYTES: u32 = 64;
export const ENGINE_KEY_MAX: u32 = 256;
export const ENGINE_CFG_MAX: u32 = 256;
const KEY_BYTES: usize = 512;
const CFG_BYTES: usize = 32;
const KEYS: usize = ENGINE_BASE + 0x100;
const CFGS: usize = ENGINE_BASE + 0x40000;
const SCR: usize = ENGINE_BASE + 0x50000;
const ENGINE_USED: usize = 0x60000;

// Scratch.
const SLOTS: usize = SCR; // 32 slots × (ptr u32, len u32)
const PAN: usize = SCR + 0x100; // PAN digits as 0..9 bytes (up to 19)
const DBLK: usize = SCR + 0x200; // AC data block (≤ 128)
const MK: usize = SCR + 0x300;
const SK: usize = SCR + 0x320;
const TMP: usize = SCR + 0x340; // 32 bytes
const MACOUT: usize = SCR + 0x360; // 16 bytes
const SHA: usize = SCR + 0x380; // 20 bytes
const SCHED: usize = SCR + 0x400; // DES schedule (400) / SM4 rk (128)
const INDEX2: usize = INDEX_BASE + 0x100000; // ODA evidence index

// Tag slots.
const S_9F26: i32 = 0;
const S_9F27: i32 = 1;
const S_9F10: i32 = 2;
const S_9F36: i32 = 3;
const S_9F37: i32 = 4;
const S_9F02: i32 = 5;
const S_9F03: i32 = 6;
const S_9F1A: i32 = 7;
const S_95: i32 = 8;
const S_5F2A: i32 = 9;
const S_9A: i32 = 10;
const S_9C: i32 = 11;
const S_82: i32 = 12;
const S_5A: i32 = 13;
const S_5F34: i32 = 14;
const S_4F: i32 = 15;
const S_84: i32 = 16;
const S_9F4B: i32 = 17;
const S_9F69: i32 = 18;
const S_8F: i32 = 19;
const S_90: i32 = 20;
const S_92: i32 = 21;
const S_9F32: i32 = 22;
const S_9F46: i32 = 23;
const S_9F47: i32 = 24;
const S_9F48: i32 = 25;
const S_9F4A: i32 = 26;
const S_93: i32 = 27;
const SLOT_COUNT: i32 = 28;

function slotOf(tag: u32): i32 {
  switch (tag) {
    case 0x9F26: return S_9F26;
    case 0x9F27: return S_9F27;
    case 0x9F10: return S_9F10;
    case 0x9F36: return S_9F36;
    case 0x9F37: return S_9F37;
    case 0x9F02: return S_9F02;
    case 0x9F03: return S_9F03;
    case 0x9F1A: return S_9F1A;
    case 0x95: return S_95;
    case 0x5F2A: return S_5F2A;
    case 0x9A: return S_9A;
    case 0x9C: return S_9C;
    case 0x82: return S_82;
    case 0x5A: return S_5A;
    case 0x5F34: return S_5F34;
    case 0x4F: return S_4F;
    case 0x84: return S_84;
    case 0x9F4B: return S_9F4B;
    case 0x9F69: return S_9F69;
    case 0x8F: return S_8F;
    case 0x90: return S_90;
    case 0x92: return S_92;
    case 0x9F32: return S_9F32;
    case 0x9F46: return S_9F46;
    case 0x9F47: return S_9F47;
    case 0x9F48: return S_9F48;
    case 0x9F4A: return S_9F4A;
    case 0x93: return S_93;
  }
  return -1;
}

// @ts-ignore: decorator
@inline function sPtr(s: i32): usize {
  return <usize>load<u32>(SLOTS + (<usize>s << 3));
}
// @ts-ignore: decorator
@inline function sLen(s: i32): u32 {
  return load<u32>(SLOTS + (<usize>s << 3), 4);
}

/** Fills empty slots from a decoded index (first primitive occurrence wins). */
function fillSlots(src: usize, index: usize, count: u32): void {
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

// ---- key and configuration tables (loaded by the wrapper for the duration of a batch) ----

/**
 * Loads `count` keys from `src` (KEY_IN_BYTES = 48 each: u8 algorithm, u8 dki, u8 prefix
 * length, u8 pad, 20 prefix digits ASCII, 16 key, 8 pad) and precomputes their schedules.
 */
export function engineLoadKeys(src: usize, count: u32): i32 {
  if (count > ENGINE_KEY_MAX) return ST_ENGINE_TOO_MANY_KEYS;
  if (!inBounds(src, count * 48)) return ST_BAD_ARGUMENT;
  for (let i: u32 = 0; i < count; i++) {
    const s = src + <usize>i * 48;
    const d = KEYS + <usize>i * KEY_BYTES;
    const alg = load<u8>(s);
    const plen = load<u8>(s, 2);
    if ((alg != 1 && alg != 4) || plen == 0 || plen > 19) return ST_ENGINE_KEY_INVALID;
    memory.copy(d, s, 48);
    if (alg == 1) desKeySchedule(d + 24, 16, d + 48);
    else sm4KeySchedule(d + 24, d + 48);
  }
  store<u32>(ENGINE_BASE, count);
  return ST_OK;
}

/** Loads `count` issuer configurations (32 bytes each, the CFGS layout) from `src`. */
export function engineLoadConfigs(src: usize, count: u32): i32 {
  if (count > ENGINE_CFG_MAX) return ST_ENGINE_TOO_MANY_KEYS;
  if (!inBounds(src, count * <u32>CFG_BYTES)) return ST_BAD_ARGUMENT;
  memory.copy(CFGS, src, <usize>count * CFG_BYTES);
  store<u32>(ENGINE_BASE, count, 4);
  return ST_OK;
}

/** Zeroes the keys, schedules, configurations and scratch (end of every batch). */
export function engineWipe(): void {
  memory.fill(ENGINE_BASE, 0, ENGINE_USED);
}

// ---- PAN ----

/** PAN digits of 5A into PAN; returns the digit count, or 0 when not 8..19 decimal digits. */
function panDigits(): u32 {
  const p = sPtr(S_5A);
  if (p == 0) return 0;
  const len = sLen(S_5A);
  let n: u32 = 0;
  for (let i: u32 = 0; i < len * 2; i++) {
    const b = <u32>load<u8>(p + (i >> 1));
    const d = (i & 1) == 0 ? b >> 4 : b & 15;
    if (d == 15) break;
    if (d > 9) return 0;
    if (n >= 19) return 0;
    store<u8>(PAN + n, <u8>d);
    n++;
  }
  return n >= 8 ? n : 0;
}

/** True when the PAN starts with the ASCII digits at `prefix` (length `plen`). */
function panStarts(n: u32, prefix: usize, plen: u32): bool {
  if (plen > n) return false;
  for (let i: u32 = 0; i < plen; i++) {
    if (<u32>load<u8>(PAN + i) + 48 != <u32>load<u8>(prefix + i)) return false;
  }
  return true;
}

/** PSN as two BCD digits (0..99 as its byte), or 0 ("00") when absent or not BCD. */
function psnByte(): u32 {
  const p = sPtr(S_5F34);
  if (p == 0 || sLen(S_5F34) != 1) return 0;
  const b = <u32>load<u8>(p);
  if ((b >> 4) > 9 || (b & 15) > 9) return 0;
  return b;
}

// ---- profiles ----
// 1 pboc-cvn01-3des, 2 pboc-sm4, 3 visa-cvn10, 4 visa-cvn18, 5 mastercard-cvn16
// Reasons: 1 pinned, 2 CVN mapped, 3 PBOC alg 04, 4 PBOC CVN 01 3DES, 5 Visa 10, 6 Visa 18,
// 7 MC 16; failures 20 no 9F10, 21 PBOC layout, 22 PBOC alg, 23 PBOC CVN, 24 Visa short,
// 25 Visa CVN, 26 MC CVN, 27 unknown scheme, 28 bad pin.

let reason: u32 = 0;

function selectProfile(n: u32): u32 {
  // Issuer configuration: longest matching prefix.
  const cfgCount = load<u32>(ENGINE_BASE, 4);
  let cfg: usize = 0;
  let best: u32 = 0;
  for (let i: u32 = 0; i < cfgCount; i++) {
    const c = CFGS + <usize>i * CFG_BYTES;
    const pl = <u32>load<u8>(c);
    if (pl > best && panStarts(n, c + 4, pl)) {
      best = pl;
      cfg = c;
    }
  }
  if (cfg != 0 && load<u8>(cfg, 1) != 0) {
    const p = <u32>load<u8>(cfg, 1);
    if (p > 5) { reason = 28; return 0; }
    reason = 1;
    return p;
  }
  const iad = sPtr(S_9F10);
  const il = sLen(S_9F10);
  if (iad == 0 || il == 0) { reason = 20; return 0; }
  // Scheme from the RID (4F, else 84), else from the 9F10 layout.
  let aid = sPtr(S_4F);
  let al = sLen(S_4F);
  if (aid == 0) { aid = sPtr(S_84); al = sLen(S_84); }
  let scheme: u32 = 0; // 1 pboc, 2 visa, 3 mc
  if (aid != 0 && al >= 5 && load<u32>(aid) == 0x000000A0) {
    const r4 = load<u8>(aid, 4);
    scheme = r4 == 0x33 ? 1 : r4 == 0x03 ? 2 : r4 == 0x04 ? 3 : 4;
  }
  if (scheme == 0 || scheme == 4) {
    const b0 = load<u8>(iad);
    scheme = b0 == 0x07 ? 1 : b0 == 0x06 ? 2 : (il >= 18 && load<u8>(iad, 1) == 0x10) ? 3 : 0;
  }
  if (scheme == 1) {
    if (il < 8 || load<u8>(iad) != 0x07 || load<u8>(iad, 3) != 0x03) { reason = 21; return 0; }
    const cvn = load<u8>(iad, 2);
    if (cfg != 0) {
      const m = <u32>load<u8>(cfg, 2);
      for (let i: u32 = 0; i < m && i < 4; i++) {
        if (load<u8>(cfg + 24 + (i << 1)) == cvn) {
          const p = <u32>load<u8>(cfg + 25 + (i << 1));
          if (p >= 1 && p <= 5) { reason = 2; return p; }
        }
      }
    }
    const alg = load<u8>(iad, 7);
    if (alg == 0x04) { reason = 3; return 2; }
    if (alg != 0x01) { reason = 22; return 0; }
    if (cvn == 0x01) { reason = 4; return 1; }
    reason = 23;
    return 0;
  }
  if (scheme == 2) {
    if (il < 7) { reason = 24; return 0; }
    const cvn = load<u8>(iad, 2);
    if (cvn == 0x0A) { reason = 5; return 3; }
    if (cvn == 0x12) { reason = 6; return 4; }
    reason = 25;
    return 0;
  }
  if (scheme == 3) {
    if (il >= 8 && load<u8>(iad, 1) == 0x10) { reason = 7; return 5; }
    reason = 26;
    return 0;
  }
  reason = 27;
  return 0;
}

// ---- AC data block ----

let missing: i32 = -1;

/** Copies a whole tag value of exactly `len` bytes to DBLK+at; false (and `missing`) if not. */
function put(s: i32, len: u32, at: u32): bool {
  const p = sPtr(s);
  if (p == 0 || sLen(s) != len) {
    missing = s;
    return false;
  }
  memory.copy(DBLK + at, p, len);
  return true;
}

/** Builds the data block of `profile`; returns its length, or -1 with `missing` set. */
function buildData(profile: u32): i32 {
  if (!put(S_9F02, 6, 0) || !put(S_9F03, 6, 6) || !put(S_9F1A, 2, 12) || !put(S_95, 5, 14) ||
    !put(S_5F2A, 2, 19) || !put(S_9A, 3, 21) || !put(S_9C, 1, 24) || !put(S_9F37, 4, 25) ||
    !put(S_82, 2, 29) || !put(S_9F36, 2, 31)) return -1;
  const iad = sPtr(S_9F10);
  const il = sLen(S_9F10);
  if (iad == 0) { missing = S_9F10; return -1; }
  if (profile == 4) { // whole 9F10
    if (il > 64) { missing = S_9F10; return -1; }
    memory.copy(DBLK + 33, iad, il);
    return 33 + <i32>il;
  }
  if (profile == 5) { // MasterCard CVR: 9F10 bytes 3-8
    if (il < 8) { missing = S_9F10; return -1; }
    memory.copy(DBLK + 33, iad + 2, 6);
    return 39;
  }
  if (il < 7) { missing = S_9F10; return -1; }
  memory.copy(DBLK + 33, iad + 3, 4); // CVR with its length byte
  return 37;
}

// ---- key derivation ----

// @ts-ignore: decorator
@inline function parity(p: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const b = <u32>load<u8>(p + i) & 0xFE;
    store<u8>(p + i, <u8>(b | ((popcnt<u32>(b) & 1) ^ 1)));
  }
}

/** Option A block (8 bytes BCD) at TMP: rightmost 16 digits of PAN ‖ PSN, zero-padded. */
function optionABlock(n: u32, psn: u32): void {
  // Digits: PAN (n) then PSN (2): total t; take the last 16, left-pad with 0.
  const t = n + 2;
  for (let k: u32 = 0; k < 16; k++) {
    // digit k of the 16-digit block corresponds to index t - 16 + k of the joined string
    const j = <i32>t - 16 + <i32>k;
    let d: u32 = 0;
    if (j >= 0) d = <u32>j < n ? <u32>load<u8>(PAN + <usize>j) : (<u32>j == n ? psn >> 4 : psn & 15);
    const at = TMP + (k >> 1);
    if ((k & 1) == 0) store<u8>(at, <u8>(d << 4));
    else store<u8>(at, <u8>(<u32>load<u8>(at) | d));
  }
}

/** Option B block at TMP (domain.md §3.2) for PANs longer than 16 digits. */
function optionBBlock(n: u32, psn: u32): void {
  if (n <= 16) { optionABlock(n, psn); return; }
  // X = PAN ‖ PSN, left-padded with one 0 when odd, as BCD at TMP+16 (≤ 11 bytes).
  const t = n + 2;
  const odd: u32 = t & 1;
  const bytes = (t + odd) >> 1;
  for (let k: u32 = 0; k < bytes * 2; k++) {
    const j = <i32>k - <i32>odd;
    let d: u32 = 0;
    if (j >= 0) d = <u32>j < n ? <u32>load<u8>(PAN + <usize>j) : (<u32>j == n ? psn >> 4 : psn & 15);
    const at = TMP + 16 + (k >> 1);
    if ((k & 1) == 0) store<u8>(at, <u8>(d << 4));
    else store<u8>(at, <u8>(<u32>load<u8>(at) | d));
  }
  sha1Into(TMP + 16, bytes, SHA);
  let y: u32 = 0;
  for (let pass = 0; pass < 2 && y < 16; pass++) {
    for (let k: u32 = 0; k < 40 && y < 16; k++) {
      const b = <u32>load<u8>(SHA + (k >> 1));
      const d = (k & 1) == 0 ? b >> 4 : b & 15;
      let v: i32 = -1;
      if (pass == 0 && d <= 9) v = <i32>d;
      if (pass == 1 && d >= 10) v = <i32>d - 10;
      if (v < 0) continue;
      const at = TMP + (y >> 1);
      if ((y & 1) == 0) store<u8>(at, <u8>(v << 4));
      else store<u8>(at, <u8>(<u32>load<u8>(at) | <u32>v));
      y++;
    }
  }
}

/** ICC master key at MK from key entry `key` (3DES: Option A/B; SM4 variant). */
function deriveMk(key: usize, profile: u32, n: u32, psn: u32): void {
  if (profile == 2) {
    optionABlock(n, psn);
    for (let i: u32 = 0; i < 8; i++) store<u8>(TMP + 8 + i, ~load<u8>(TMP + i));
    sm4EncryptBlockAt(key + 48, TMP, MK);
    return;
  }
  if (profile == 4) optionBBlock(n, psn);
  else optionABlock(n, psn);
  store<u64>(TMP + 8, ~load<u64>(TMP));
  desEncryptBlockAt(key + 48, TMP, MK);
  desEncryptBlockAt(key + 48, TMP + 8, MK + 8);
  parity(MK, 16);
}

/** Session key at SK from MK by the profile's method. */
function deriveSk(profile: u32): void {
  const atc = sPtr(S_9F36);
  const a0 = load<u8>(atc);
  const a1 = load<u8>(atc, 1);
  if (profile == 3) { // Visa CVN 10: the master key itself
    memory.copy(SK, MK, 16);
    return;
  }
  if (profile == 2) { // PBOC SM4: SM4(MK)[00×6‖ATC‖00×6‖~ATC]
    sm4KeySchedule(MK, SCHED);
    store<u64>(TMP, 0);
    store<u64>(TMP + 8, 0);
    store<u8>(TMP + 6, a0);
    store<u8>(TMP + 7, a1);
    store<u8>(TMP + 14, ~a0);
    store<u8>(TMP + 15, ~a1);
    sm4EncryptBlockAt(SCHED, TMP, SK);
    return;
  }
  desKeySchedule(MK, 16, SCHED);
  store<u64>(TMP, 0);
  store<u64>(TMP + 8, 0);
  if (profile == 1) { // PBOC: 3DES(MK)[00×6‖ATC] ‖ 3DES(MK)[00×6‖~ATC]
    store<u8>(TMP + 6, a0);
    store<u8>(TMP + 7, a1);
    store<u8>(TMP + 14, ~a0);
    store<u8>(TMP + 15, ~a1);
  } else { // EMV common (R = ATC‖00×6) or MasterCard (R = ATC‖0000‖UN); byte 2 F0 / 0F
    store<u8>(TMP, a0);
    store<u8>(TMP + 1, a1);
    if (profile == 5) memory.copy(TMP + 4, sPtr(S_9F37), 4);
    memory.copy(TMP + 8, TMP, 8);
    store<u8>(TMP + 2, 0xF0);
    store<u8>(TMP + 10, 0x0F);
  }
  desEncryptBlockAt(SCHED, TMP, SK);
  desEncryptBlockAt(SCHED, TMP + 8, SK + 8);
  parity(SK, 16);
}

// ---- one record ----

// @ts-ignore: decorator
@inline function putPair(res: usize, at: usize, s: i32, base: usize): void {
  const p = sPtr(s);
  store<u32>(res + at, p == 0 ? 0xFFFFFFFF : <u32>(p - base));
  store<u32>(res + at, sLen(s), 4);
}

function bcdAmount(p: usize, len: u32): i64 {
  if (len != 6) return -1;
  let v: i64 = 0;
  for (let i: u32 = 0; i < 6; i++) {
    const b = <u32>load<u8>(p + i);
    if ((b >> 4) > 9 || (b & 15) > 9) return -1;
    v = v * 100 + <i64>((b >> 4) * 10 + (b & 15));
  }
  return v;
}

/** The status of a findings bitmask: its lowest bit wins (precedence order); 0 is OK. */
export function engineStatusOf(findings: u32): i32 {
  if (findings == 0) return ST_OK;
  const i = ctz<u32>(findings);
  return i < 11 ? ST_ENGINE_MALFORMED_TLV + <i32>i : ST_OK;
}

function verifyOne(d: usize, res: usize): void {
  memory.fill(SLOTS, 0, <usize>SLOT_COUNT << 3);
  memory.fill(res, 0xFF, ENGINE_RES_BYTES);
  let findings: u32 = 0;
  const icc = <usize>load<u32>(d);
  const iccLen = load<u32>(d, 4);
  const oda = <usize>load<u32>(d, 8);
  const odaLen = load<u32>(d, 12);
  const fare = load<i32>(d, 24);
  store<u8>(res, 3, 8); // cryptogram unsupported until proven otherwise
  store<u8>(res, 0, 12);
  store<u8>(res, 0, 13);
  store<u32>(res, 0, 20);
  if (!inBounds(icc, iccLen) || (odaLen != 0 && !inBounds(oda, odaLen))) {
    store<u32>(res, F_MALFORMED, 4);
    store<u32>(res, <u32>ST_ENGINE_MALFORMED_TLV);
    return;
  }
  let st = decodeInto(icc, iccLen, INDEX_BASE, 4096, 8);
  if (st != ST_OK) {
    store<u32>(res, F_MALFORMED, 4);
    store<u32>(res, <u32>ST_ENGINE_MALFORMED_TLV);
    return;
  }
  fillSlots(icc, INDEX_BASE, tlvCount());
  if (odaLen != 0) {
    st = decodeInto(oda, odaLen, INDEX2, 4096, 8);
    if (st != ST_OK) {
      store<u32>(res, F_MALFORMED, 4);
      store<u32>(res, <u32>ST_ENGINE_MALFORMED_TLV);
      return;
    }
    fillSlots(oda, INDEX2, tlvCount());
  }
  putPair(res, 24, S_5A, icc);
  putPair(res, 32, S_5F34, icc);
  putPair(res, 40, S_9F36, icc);
  putPair(res, 48, S_9F26, icc);
  putPair(res, 56, S_9F02, icc);

  // Cryptogram type: 9F27 when 1 byte, else CVR byte 1 b6-b5 of a valid PBOC 9F10.
  const cid = sPtr(S_9F27);
  const iad = sPtr(S_9F10);
  const il = sLen(S_9F10);
  let type: u32 = 255;
  if (cid != 0 && sLen(S_9F27) == 1) {
    type = <u32>load<u8>(cid) >> 6;
    store<u8>(res, 1, 11);
  } else if (iad != 0 && il >= 8 && load<u8>(iad) == 0x07 && load<u8>(iad, 3) == 0x03 &&
    (il == 8 || <u32>9 + <u32>load<u8>(iad, 8) <= il)) {
    type = (<u32>load<u8>(iad, 4) >> 4) & 3;
    store<u8>(res, 2, 11);
  }
  store<u8>(res, <u8>type, 10);
  if (type == 0) findings |= F_DECLINED;

  const n = panDigits();
  const atcP = sPtr(S_9F36);
  if (n == 0 || atcP == 0 || sLen(S_9F36) != 2 || sPtr(S_9F26) == 0) findings |= F_MISSING;
  if (fare >= 0) {
    const amt = bcdAmount(sPtr(S_9F02), sLen(S_9F02));
    if (sPtr(S_9F02) != 0 && amt >= 0 && amt != <i64>fare) findings |= F_FARE;
  }

  // Cryptogram.
  if (n != 0) {
    const profile = selectProfile(n);
    store<u8>(res, <u8>profile, 12);
    store<u8>(res, <u8>reason, 13);
    if (profile != 0) {
      const alg: u8 = profile == 2 ? 4 : 1;
      // DKI: 9F10 byte 2 (PBOC/Visa) or byte 1 (MasterCard); absent without 9F10.
      let dki: i32 = -1;
      const dkiAt: u32 = profile == 5 ? 0 : 1;
      if (iad != 0 && il > dkiAt) dki = <i32>load<u8>(iad + dkiAt);
      const count = load<u32>(ENGINE_BASE);
      let key: usize = 0;
      let keyIdx: u32 = 0xFFFFFFFF;
      let bestLen: u32 = 0;
      for (let i: u32 = 0; i < count; i++) {
        const k = KEYS + <usize>i * KEY_BYTES;
        if (load<u8>(k) != alg) continue;
        const pl = <u32>load<u8>(k, 2);
        if (!panStarts(n, k + 4, pl)) continue;
        const kd = load<u8>(k, 1);
        if (kd != 0xFF && dki >= 0 && <i32>kd != dki) continue;
        if (key == 0 || pl > bestLen) {
          key = k;
          keyIdx = i;
          bestLen = pl;
        }
      }
      if (key == 0) {
        store<u8>(res, 2, 8); // no-key
      } else {
        store<u32>(res, keyIdx, 16);
        const ac = sPtr(S_9F26);
        missing = -1;
        let len: i32 = -1;
        if (ac == 0 || sLen(S_9F26) != 8) missing = S_9F26;
        else len = buildData(profile);
        if (len < 0) {
          findings |= F_MISSING;
          store<u8>(res, <u8>missing, 14);
        } else {
          deriveMk(key, profile, n, psnByte());
          deriveSk(profile);
          let equal = false;
          if (profile == 2) {
            sm4KeySchedule(SK, SCHED);
            sm4CbcMacInto(SCHED, DBLK, <u32>len, 2, MACOUT);
          } else {
            macAlg3Into(SK, DBLK, <u32>len, profile == 3 ? 1 : 2, MACOUT);
          }
          equal = load<u64>(MACOUT) == load<u64>(ac);
          store<u8>(res, equal ? 0 : 1, 8);
          if (!equal) findings |= F_AC_MISMATCH;
          // Intermediate keys and schedules never outlive the record.
          memory.fill(MK, 0, 64);
          memory.fill(SCHED, 0, 400);
        }
      }
    }
  }
  findings |= odaOne(d, res);
  store<u32>(res, findings, 4);
  store<u32>(res, <u32>engineStatusOf(findings));
}

/**
 * Verifies `count` records described at `desc` (ENGINE_DESC_BYTES each) and writes one result
 * of ENGINE_RES_BYTES per record at `out`. Returns OK, or BAD_ARGUMENT for regions out of
 * bounds (a bug of the caller); per-record problems are record statuses.
 */
export function engineVerifyBatch(desc: usize, count: u32, out: usize): i32 {
  if (count > 0x100000) return ST_BAD_ARGUMENT;
  if (!inBounds(desc, count * ENGINE_DESC_BYTES) || !inBounds(out, count * ENGINE_RES_BYTES)) {
    return ST_BAD_ARGUMENT;
  }
  for (let i: u32 = 0; i < count; i++) {
    verifyOne(desc + <usize>i * ENGINE_DESC_BYTES, out + <usize>i * ENGINE_RES_BYTES);
  }
  memory.fill(SCR, 0, 0x1000);
  // The retail MAC keeps the last session key's DES schedules in its own static memory:
  // overwrite them with an all-zero key's.
  macAlg3Into(SK, DBLK, 8, 1, MACOUT);
  memory.fill(SCR, 0, 0x1000);
  return ST_OK;
}

// =============================================================================================
// Offline data authentication in the kernel (domain.md §5; EMV 4.4 Book 2 §5.3, §5.4, §6.4,
// §6.5; SM2 formats 12/14/15). Same checks, same order and same check codes as
// core/emv/oda.ts (codes = 1 + index in ODA_CHECKS there). Handled here: RSA SDA, RSA fDDA
// 00/01 and SM2 fDDA. Anything else (oversized static data) is left to the TypeScript path
// (oda byte 255).
//
// CAPK table (engineLoadCapks, CAPK_IN_BYTES = 336 each): +0 u8 algorithm (1 RSA, 2 SM2),
// +1 u8 index, +2 u8 modulus length, +3 u8 exponent length, +4 RID (5), +12 u32 expiry
// YYYYMMDD, +16 modulus (≤ 248) or x‖y (64), +272 exponent (≤ 4).
// Revocation list (engineLoadRevoked, 12 bytes each): RID (5), index (1), serial (3).
// Recovered-key caches (direct-mapped by a SHA-1 of what the key was recovered from; they
// hold public keys only and survive batches; engineCacheClear empties them):
//   +0 hash (20), +20 u8 valid, +21 u8 algorithm, +22 u8 modulus length, +23 u8 exponent
//   length, +24 exponent (4), +28 u8 id length, +30 expiry MMYY (2), +32 serial (3),
//   +40 id digits ASCII (20), +64 modulus or x‖y (≤ 248)

export const ENGINE_CAPK_MAX: u32 = 64;
export const ENGINE_REVOKED_MAX: u32 = 1024;
const CAPK_BYTES: usize = 336;
const CAPKS: usize = ENGINE_BASE + 0x42000; // 64 × 336 = 21 KiB
const REVOKED: usize = ENGINE_BASE + 0x48000; // 1024 × 12 = 12 KiB
const ISS_CACHE: usize = ENGINE_BASE + 0x100000;
const ISS_ENTRIES: u32 = 256;
const ICC_CACHE: usize = ENGINE_BASE + 0x140000;
const ICC_ENTRIES: u32 = 4096;
const ENTRY: usize = 512;
const HBUF: usize = ENGINE_BASE + 0x80000; // hash / signed-message input
const HBUF_SIZE: u32 = 0x10000;
const XBUF: usize = ENGINE_BASE + 0x90000; // recovered RSA data
const TBUF: usize = ENGINE_BASE + 0x90200; // terminal dynamic data
const OPAN: usize = ENGINE_BASE + 0x90300; // ODA PAN digits, ASCII
const HASH: usize = ENGINE_BASE + 0x90400;
// The default SM2 user ID; copied to IDBUF (the SM2 functions accept only region pointers).
const IDBUF: usize = ENGINE_BASE + 0x90540;
const SM2_ID_STATIC: usize = memory.data<u8>([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38]);

// Check codes (1 + index in core/emv/oda.ts ODA_CHECKS).
const C_CAPK_UNKNOWN: u32 = 1;
const C_CAPK_EXPIRED: u32 = 2;
const C_DATA_MISSING: u32 = 3;
const C_ISS_LENGTH: u32 = 4;
const C_ISS_TRAILER: u32 = 5;
const C_ISS_HEADER: u32 = 6;
const C_ISS_FORMAT: u32 = 7;
const C_ISS_REM_MISSING: u32 = 8;
const C_ISS_REM_LENGTH: u32 = 9;
const C_ISS_EXPONENT: u32 = 10;
const C_ISS_HASH_ALG: u32 = 11;
const C_ISS_HASH: u32 = 12;
const C_ISS_SIGNATURE: u32 = 13;
const C_ISS_ID: u32 = 14;
const C_ISS_EXPIRED: u32 = 15;
const C_ISS_REVOKED: u32 = 16;
const C_ISS_PK_ALG: u32 = 17;
const C_ISS_KEY_INVALID: u32 = 18;
const C_ICC_LENGTH: u32 = 19;
const C_ICC_TRAILER: u32 = 20;
const C_ICC_HEADER: u32 = 21;
const C_ICC_FORMAT: u32 = 22;
const C_ICC_REM_MISSING: u32 = 23;
const C_ICC_REM_LENGTH: u32 = 24;
const C_ICC_EXPONENT: u32 = 25;
const C_ICC_HASH_ALG: u32 = 26;
const C_ICC_HASH: u32 = 27;
const C_ICC_SIGNATURE: u32 = 28;
const C_ICC_PAN: u32 = 29;
const C_ICC_EXPIRED: u32 = 30;
const C_ICC_PK_ALG: u32 = 31;
const C_ICC_KEY_INVALID: u32 = 32;
const C_SDA_TAG_LIST: u32 = 33;
const C_SSAD_LENGTH: u32 = 34;
const C_SSAD_TRAILER: u32 = 35;
const C_SSAD_HEADER: u32 = 36;
const C_SSAD_FORMAT: u32 = 37;
const C_SSAD_HASH_ALG: u32 = 38;
const C_SSAD_HASH: u32 = 39;
const C_SDAD_LENGTH: u32 = 40;
const C_SDAD_TRAILER: u32 = 41;
const C_SDAD_HEADER: u32 = 42;
const C_SDAD_FORMAT: u32 = 43;
const C_SDAD_HASH_ALG: u32 = 44;
const C_SDAD_DYN_LENGTH: u32 = 45;
const C_SDAD_HASH: u32 = 46;
const C_SDAD_SIGNATURE: u32 = 47;
const C_FDDA_VERSION: u32 = 48;

const F_REVOKED: u32 = 1 << 6;
const F_EXPIRED: u32 = 1 << 7;
const F_ODA: u32 = 1 << 8;
const F_CAPK: u32 = 1 << 9;

/** Loads `count` CA public keys (CAPK_IN_BYTES each, the CAPKS layout). */
export function engineLoadCapks(src: usize, count: u32): i32 {
  if (count > ENGINE_CAPK_MAX) return ST_ENGINE_TOO_MANY_KEYS;
  if (!inBounds(src, count * <u32>CAPK_BYTES)) return ST_BAD_ARGUMENT;
  memory.copy(CAPKS, src, <usize>count * CAPK_BYTES);
  store<u32>(ENGINE_BASE, count, 8);
  return ST_OK;
}

/** Loads `count` revoked issuer certificate serials (12 bytes each). */
export function engineLoadRevoked(src: usize, count: u32): i32 {
  if (count > ENGINE_REVOKED_MAX) return ST_ENGINE_TOO_MANY_KEYS;
  if (!inBounds(src, count * 12)) return ST_BAD_ARGUMENT;
  memory.copy(REVOKED, src, <usize>count * 12);
  store<u32>(ENGINE_BASE, count, 12);
  return ST_OK;
}

/** Empties the recovered-key caches: 1 issuer, 2 ICC, 3 both. */
export function engineCacheClear(which: i32): void {
  if (which & 1) memory.fill(ISS_CACHE, 0, <usize>ISS_ENTRIES * ENTRY);
  if (which & 2) memory.fill(ICC_CACHE, 0, <usize>ICC_ENTRIES * ENTRY);
}

let odaCheck: u32 = 0;
let odaEnabled: bool = true;

/** Turns the kernel's ODA on (1) or off (0: the oda byte stays 255 for the caller to fill). */
export function engineSetOda(enabled: i32): void {
  odaEnabled = enabled != 0;
}
let txnYmd: u32 = 0; // YYYYMMDD
let txnMonth: u32 = 0; // year * 12 + month
let opanLen: u32 = 0;

/** ODA PAN: digits of 5A until F, then only F (cn); false when not so. */
function odaPan(): bool {
  const p = sPtr(S_5A);
  if (p == 0) return false;
  const len = sLen(S_5A);
  let n: u32 = 0;
  let f = false;
  for (let i: u32 = 0; i < len * 2; i++) {
    const b = <u32>load<u8>(p + (i >> 1));
    const d = (i & 1) == 0 ? b >> 4 : b & 15;
    if (f) {
      if (d != 15) return false;
      continue;
    }
    if (d == 15) { f = true; continue; }
    if (d > 9) return false;
    if (n < 64) store<u8>(OPAN + n, <u8>(48 + d));
    n++;
  }
  opanLen = n;
  return n > 0 && n <= 64;
}

/** Transaction date from 9A (YYMMDD BCD); false when not a date. */
function txnDate(): bool {
  const p = sPtr(S_9A);
  if (p == 0 || sLen(S_9A) != 3) return false;
  let v: u32 = 0;
  for (let i: u32 = 0; i < 3; i++) {
    const b = <u32>load<u8>(p + i);
    if ((b >> 4) > 9 || (b & 15) > 9) return false;
    v = v * 100 + (b >> 4) * 10 + (b & 15);
  }
  const yy = v / 10000;
  const mm = (v / 100) % 100;
  const dd = v % 100;
  if (mm < 1 || mm > 12 || dd < 1 || dd > 31) return false;
  const y: u32 = yy < 50 ? <u32>2000 + yy : <u32>1900 + yy;
  txnYmd = y * 10000 + mm * 100 + dd;
  txnMonth = y * 12 + mm;
  return true;
}

/** True when MMYY at `p` is before the transaction month, or not a valid MMYY. */
function expired(p: usize): bool {
  const a = <u32>load<u8>(p);
  const b = <u32>load<u8>(p, 1);
  if ((a >> 4) > 9 || (a & 15) > 9 || (b >> 4) > 9 || (b & 15) > 9) return true;
  const mm = (a >> 4) * 10 + (a & 15);
  const yy = (b >> 4) * 10 + (b & 15);
  if (mm < 1 || mm > 12) return true;
  const y: u32 = yy < 50 ? <u32>2000 + yy : <u32>1900 + yy;
  return y * 12 + mm < txnMonth;
}

/** True when the ODA PAN starts with the issuer id of `len` ASCII digits at `id`. */
function opanStarts(id: usize, len: u32): bool {
  if (len > opanLen) return false;
  return memory.compare(OPAN, id, len) == 0;
}

/** Issuer identifier digits (cn, 4 bytes at `p`) as ASCII into `out`; length, or -1 if bad. */
function cnId(p: usize, bytes: u32, out: usize): i32 {
  let n: u32 = 0;
  let f = false;
  for (let i: u32 = 0; i < bytes * 2; i++) {
    const b = <u32>load<u8>(p + (i >> 1));
    const d = (i & 1) == 0 ? b >> 4 : b & 15;
    if (f) {
      if (d != 15) return -1;
      continue;
    }
    if (d == 15) { f = true; continue; }
    if (d > 9) return -1;
    store<u8>(out + n, <u8>(48 + d));
    n++;
  }
  return <i32>n;
}

/** The PAN field of a certificate (10 bytes cn at `p`) equals the ODA PAN F-padded to 20. */
function certPanMatches(p: usize): bool {
  for (let i: u32 = 0; i < 20; i++) {
    const b = <u32>load<u8>(p + (i >> 1));
    const d = (i & 1) == 0 ? b >> 4 : b & 15;
    const want: u32 = i < opanLen ? <u32>load<u8>(OPAN + i) - 48 : 15;
    if (d != want) return false;
  }
  return true;
}

function revoked(capk: usize, serial: usize): bool {
  const n = load<u32>(ENGINE_BASE, 12);
  for (let i: u32 = 0; i < n; i++) {
    const e = REVOKED + <usize>i * 12;
    if (memory.compare(e, capk + 4, 5) == 0 && load<u8>(e, 5) == load<u8>(capk, 1) &&
      memory.compare(e + 6, serial, 3) == 0) return true;
  }
  return false;
}

function validExponent(p: usize, len: u32): bool {
  if (p == 0) return false;
  if (len == 1) return load<u8>(p) == 3;
  return len == 3 && load<u8>(p) == 1 && load<u8>(p, 1) == 0 && load<u8>(p, 2) == 1;
}

/** SHA-1 of `len` bytes at HBUF compared with the 20 bytes at `expect`. */
function hashMatches(len: u32, expect: usize): bool {
  sha1Into(HBUF, len, HASH);
  return memory.compare(HASH, expect, 20) == 0;
}

// @ts-ignore: decorator
@inline function entryAt(base: usize, entries: u32, h: usize): usize {
  return base + <usize>((load<u32>(h) & (entries - 1))) * ENTRY;
}

/** Cache lookup: the entry for hash `h` when it is valid and holds that hash, else 0. */
function cacheFind(base: usize, entries: u32, h: usize): usize {
  const e = entryAt(base, entries, h);
  if (load<u8>(e, 20) == 1 && memory.compare(e, h, 20) == 0) return e;
  return 0;
}

/** SHA-1 over HBUF[0..len) into `out` (the cache key). */
function keyHash(len: u32, out: usize): void {
  sha1Into(HBUF, len, out);
}

const IKEY: usize = ENGINE_BASE + 0x90500; // issuer cache key (20)
const CKEY: usize = ENGINE_BASE + 0x90520; // ICC cache key (20)

/** Appends `len` bytes at `p` to HBUF at `at`; returns the new length (or HBUF_SIZE+1). */
// @ts-ignore: decorator
@inline function app(at: u32, p: usize, len: u32): u32 {
  if (at + len > HBUF_SIZE) return HBUF_SIZE + 1;
  if (len) memory.copy(HBUF + at, p, len);
  return at + len;
}

/** RSA issuer key into cache entry `e` (valid only on success); returns a check code or 0. */
function recoverIssuerRsa(capk: usize, e: usize): u32 {
  const nCa = <u32>load<u8>(capk, 2);
  const cert = sPtr(S_90);
  if (sLen(S_90) != nCa) return C_ISS_LENGTH;
  if (rsaPublicRaw(capk + 16, nCa, capk + 272, <u32>load<u8>(capk, 3), cert, nCa, XBUF) != ST_OK) {
    return C_ISS_LENGTH;
  }
  if (load<u8>(XBUF + nCa - 1) != 0xBC) return C_ISS_TRAILER;
  if (load<u8>(XBUF) != 0x6A) return C_ISS_HEADER;
  if (load<u8>(XBUF, 1) != 0x02) return C_ISS_FORMAT;
  const nI = <u32>load<u8>(XBUF, 13);
  const eLen = <u32>load<u8>(XBUF, 14);
  const inCert = nCa - 36;
  let rem: usize = 0;
  let remLen: u32 = 0;
  if (nI > inCert) {
    rem = sPtr(S_92);
    if (rem == 0) return C_ISS_REM_MISSING;
    remLen = sLen(S_92);
    if (remLen != nI - inCert) return C_ISS_REM_LENGTH;
  }
  const exp = sPtr(S_9F32);
  const expLen = sLen(S_9F32);
  if (!validExponent(exp, expLen) || expLen != eLen) return C_ISS_EXPONENT;
  if (load<u8>(XBUF, 11) != 0x01) return C_ISS_HASH_ALG;
  let l = app(0, XBUF + 1, nCa - 22);
  l = app(l, rem, remLen);
  l = app(l, exp, expLen);
  if (!hashMatches(l, XBUF + nCa - 21)) return C_ISS_HASH;
  const idLen = cnId(XBUF + 2, 4, e + 40);
  if (idLen < 3 || !opanStarts(e + 40, <u32>idLen)) return C_ISS_ID;
  if (expired(XBUF + 6)) return C_ISS_EXPIRED;
  if (revoked(capk, XBUF + 8)) return C_ISS_REVOKED;
  if (load<u8>(XBUF, 12) != 0x01) return C_ISS_PK_ALG;
  if (nI < 64 || nI > 248) return C_ISS_KEY_INVALID;
  if (nI > inCert) {
    memory.copy(e + 64, XBUF + 15, inCert);
    memory.copy(e + 64 + inCert, rem, remLen);
  } else memory.copy(e + 64, XBUF + 15, nI);
  store<u8>(e, 1, 21);
  store<u8>(e, <u8>nI, 22);
  store<u8>(e, <u8>expLen, 23);
  memory.copy(e + 24, exp, expLen);
  store<u8>(e, <u8>idLen, 28);
  memory.copy(e + 30, XBUF + 6, 2);
  memory.copy(e + 32, XBUF + 8, 3);
  return 0;
}

/** SM2 issuer key (format 12) into `e`; returns a check code or 0. */
function recoverIssuerSm2(capk: usize, e: usize): u32 {
  const c = sPtr(S_90);
  const len = sLen(S_90);
  if (len < 78) return C_ISS_LENGTH;
  const keyLen = <u32>load<u8>(c, 13);
  if (keyLen != 0x40 || len != 14 + keyLen + 64) return C_ISS_LENGTH;
  if (load<u8>(c, 10) != 0x04) return C_ISS_PK_ALG;
  if (sm2VerifyRaw(capk + 16, IDBUF, 16, c, 78, c + 78) != ST_OK) return C_ISS_SIGNATURE;
  const idLen = cnId(c + 1, 4, e + 40);
  if (idLen < 3 || !opanStarts(e + 40, <u32>idLen)) return C_ISS_ID;
  if (expired(c + 5)) return C_ISS_EXPIRED;
  if (revoked(capk, c + 7)) return C_ISS_REVOKED;
  if (sm2CheckPoint(c + 14) != ST_OK) return C_ISS_KEY_INVALID;
  memory.copy(e + 64, c + 14, 64);
  store<u8>(e, 2, 21);
  store<u8>(e, 64, 22);
  store<u8>(e, 0, 23);
  store<u8>(e, <u8>idLen, 28);
  memory.copy(e + 30, c + 5, 2);
  memory.copy(e + 32, c + 7, 3);
  return 0;
}

/** RSA ICC key (format 04) with issuer entry `iss` into `e`; static data at HBUF+sdAt. */
function recoverIccRsa(iss: usize, e: usize, sd: usize, sdLen: u32): u32 {
  const nI = <u32>load<u8>(iss, 22);
  const cert = sPtr(S_9F46);
  if (sLen(S_9F46) != nI) return C_ICC_LENGTH;
  if (rsaPublicRaw(iss + 64, nI, iss + 24, <u32>load<u8>(iss, 23), cert, nI, XBUF) != ST_OK) {
    return C_ICC_LENGTH;
  }
  if (load<u8>(XBUF + nI - 1) != 0xBC) return C_ICC_TRAILER;
  if (load<u8>(XBUF) != 0x6A) return C_ICC_HEADER;
  if (load<u8>(XBUF, 1) != 0x04) return C_ICC_FORMAT;
  const nIc = <u32>load<u8>(XBUF, 19);
  const eLen = <u32>load<u8>(XBUF, 20);
  const inCert = nI - 42;
  let rem: usize = 0;
  let remLen: u32 = 0;
  if (nIc > inCert) {
    rem = sPtr(S_9F48);
    if (rem == 0) return C_ICC_REM_MISSING;
    remLen = sLen(S_9F48);
    if (remLen != nIc - inCert) return C_ICC_REM_LENGTH;
  }
  const exp = sPtr(S_9F47);
  const expLen = sLen(S_9F47);
  if (!validExponent(exp, expLen) || expLen != eLen) return C_ICC_EXPONENT;
  if (load<u8>(XBUF, 17) != 0x01) return C_ICC_HASH_ALG;
  let l = app(0, XBUF + 1, nI - 22);
  l = app(l, rem, remLen);
  l = app(l, exp, expLen);
  l = app(l, sd, sdLen);
  if (l > HBUF_SIZE || !hashMatches(l, XBUF + nI - 21)) return C_ICC_HASH;
  if (!certPanMatches(XBUF + 2)) return C_ICC_PAN;
  if (expired(XBUF + 12)) return C_ICC_EXPIRED;
  if (load<u8>(XBUF, 18) != 0x01) return C_ICC_PK_ALG;
  if (nIc < 64 || nIc > nI) return C_ICC_KEY_INVALID;
  if (nIc > inCert) {
    memory.copy(e + 64, XBUF + 21, inCert);
    memory.copy(e + 64 + inCert, rem, remLen);
  } else memory.copy(e + 64, XBUF + 21, nIc);
  store<u8>(e, 1, 21);
  store<u8>(e, <u8>nIc, 22);
  store<u8>(e, <u8>expLen, 23);
  memory.copy(e + 24, exp, expLen);
  store<u8>(e, <u8>opanLen, 28);
  memory.copy(e + 30, XBUF + 12, 2);
  memory.copy(e + 40, OPAN, min<u32>(opanLen, 20));
  return 0;
}

/** SM2 ICC key (format 14) signed by the issuer over cert[0..84) ‖ static data. */
function recoverIccSm2(iss: usize, e: usize, sd: usize, sdLen: u32): u32 {
  const c = sPtr(S_9F46);
  const len = sLen(S_9F46);
  if (len >= 1 && load<u8>(c) != 0x14) return C_ICC_FORMAT;
  if (len < 84) return C_ICC_LENGTH;
  const keyLen = <u32>load<u8>(c, 19);
  if (keyLen != 0x40 || len != 20 + keyLen + 64) return C_ICC_LENGTH;
  if (load<u8>(c, 16) != 0x04) return C_ICC_PK_ALG;
  let l = app(0, c, 84);
  l = app(l, sd, sdLen);
  if (l > HBUF_SIZE) return C_ICC_SIGNATURE;
  if (sm2VerifyRaw(iss + 64, IDBUF, 16, HBUF, l, c + 84) != ST_OK) return C_ICC_SIGNATURE;
  if (!certPanMatches(c + 1)) return C_ICC_PAN;
  if (expired(c + 11)) return C_ICC_EXPIRED;
  if (sm2CheckPoint(c + 20) != ST_OK) return C_ICC_KEY_INVALID;
  memory.copy(e + 64, c + 20, 64);
  store<u8>(e, 2, 21);
  store<u8>(e, 64, 22);
  store<u8>(e, 0, 23);
  store<u8>(e, <u8>opanLen, 28);
  memory.copy(e + 30, c + 11, 2);
  memory.copy(e + 40, OPAN, min<u32>(opanLen, 20));
  return 0;
}

/** fDDA terminal data into TBUF; its length, or 0 with `odaCheck` set. */
function terminalData(): u32 {
  const un = sPtr(S_9F37);
  if (un == 0 || sLen(S_9F37) != 4) { odaCheck = C_DATA_MISSING; return 0; }
  const cad = sPtr(S_9F69);
  const cadLen = sLen(S_9F69);
  const version: u32 = cad != 0 && cadLen > 0 ? <u32>load<u8>(cad) : 0;
  memory.copy(TBUF, un, 4);
  if (version == 0) return 4;
  if (version != 1) { odaCheck = C_FDDA_VERSION; return 0; }
  const amt = sPtr(S_9F02);
  const cur = sPtr(S_5F2A);
  if (amt == 0 || sLen(S_9F02) != 6 || cur == 0 || sLen(S_5F2A) != 2) {
    odaCheck = C_DATA_MISSING;
    return 0;
  }
  if (cadLen > 200) { odaCheck = C_DATA_MISSING; return 0; }
  memory.copy(TBUF + 4, amt, 6);
  memory.copy(TBUF + 10, cur, 2);
  memory.copy(TBUF + 12, cad, cadLen);
  return 12 + cadLen;
}

/** Verdict bits for a failed check. */
function odaFail(res: usize, check: u32): u32 {
  store<u32>(res, check, 20);
  store<u8>(res, check == C_CAPK_UNKNOWN ? 3 : 1, 9);
  if (check == C_CAPK_UNKNOWN) return F_CAPK;
  if (check == C_CAPK_EXPIRED || check == C_ISS_EXPIRED || check == C_ICC_EXPIRED) return F_EXPIRED;
  if (check == C_ISS_REVOKED) return F_REVOKED;
  if (check == C_DATA_MISSING) return F_MISSING;
  return F_ODA;
}

/**
 * ODA of the record in the slots; writes the oda verdict (+9), method (+15) and check (+20)
 * and returns findings bits. The static data is at descriptor +16/+20.
 */
function odaOne(d: usize, res: usize): u32 {
  store<u32>(res, 0, 20);
  store<u8>(res, 0, 15);
  if (!odaEnabled) return 0;
  const cert90 = sPtr(S_90);
  const sdad = sPtr(S_9F4B);
  const ssad = sPtr(S_93);
  if (sPtr(S_8F) == 0 || cert90 == 0 || (sdad == 0 && ssad == 0)) {
    store<u8>(res, 2, 9); // absent
    return 0;
  }
  // The method reported before a CA key is found is a guess from the certificate format; the
  // CA key's algorithm decides (an RSA certificate is signature output: its first byte is 0x12
  // one time in 256).
  let sm2 = sLen(S_90) > 0 && load<u8>(cert90) == 0x12;
  store<u8>(res, sm2 ? 3 : sdad != 0 ? 2 : 1, 15);
  let aid = sPtr(S_4F);
  let al = sLen(S_4F);
  if (aid == 0) { aid = sPtr(S_84); al = sLen(S_84); }
  if (aid == 0 || al < 5 || !odaPan() || !txnDate()) return odaFail(res, C_DATA_MISSING);
  // CA key by RID and index.
  const count = load<u32>(ENGINE_BASE, 8);
  let capk: usize = 0;
  if (sLen(S_8F) >= 1) {
    const idx = load<u8>(sPtr(S_8F));
    for (let i: u32 = 0; i < count; i++) {
      const c = CAPKS + <usize>i * CAPK_BYTES;
      if (load<u8>(c, 1) == idx && memory.compare(c + 4, aid, 5) == 0) { capk = c; break; }
    }
  }
  if (capk == 0) return odaFail(res, C_CAPK_UNKNOWN);
  if (txnYmd > load<u32>(capk, 12)) return odaFail(res, C_CAPK_EXPIRED);
  sm2 = load<u8>(capk) == 2;
  store<u8>(res, sm2 ? 3 : sdad != 0 ? 2 : 1, 15);
  if (sm2 && (sLen(S_90) == 0 || load<u8>(cert90) != 0x12)) return odaFail(res, C_ISS_FORMAT);
  if (sm2) memory.copy(IDBUF, SM2_ID_STATIC, 16);

  // Issuer key: cache by SHA-1(RID ‖ index ‖ 90 ‖ 92 ‖ 9F32); per-record checks on a hit.
  let l = app(0, capk + 4, 5);
  l = app(l, capk + 1, 1);
  l = app(l, cert90, sLen(S_90));
  l = app(l, sPtr(S_92), sLen(S_92));
  store<u8>(HBUF + l, 0xA5); // separator: "92 absent" differs from "92 empty"
  l = app(l + 1, sPtr(S_9F32), sLen(S_9F32));
  if (l > HBUF_SIZE) return 255;
  keyHash(l, IKEY);
  let iss = cacheFind(ISS_CACHE, ISS_ENTRIES, IKEY);
  if (iss != 0) {
    if (!opanStarts(iss + 40, <u32>load<u8>(iss, 28))) return odaFail(res, C_ISS_ID);
    if (expired(iss + 30)) return odaFail(res, C_ISS_EXPIRED);
    if (revoked(capk, iss + 32)) return odaFail(res, C_ISS_REVOKED);
  } else {
    iss = entryAt(ISS_CACHE, ISS_ENTRIES, IKEY);
    store<u8>(iss, 0, 20);
    const c = sm2 ? recoverIssuerSm2(capk, iss) : recoverIssuerRsa(capk, iss);
    if (c != 0) return odaFail(res, c);
    memory.copy(iss, IKEY, 20);
    store<u8>(iss, 1, 20);
  }

  // Static data to be authenticated (AFL records from the descriptor ‖ AIP if 9F4A = 82).
  const sdp = <usize>load<u32>(d, 16);
  const sdl = load<u32>(d, 20);
  const tagList = sPtr(S_9F4A);
  const tl = sLen(S_9F4A);
  let withAip = false;
  if (tagList != 0 && tl > 0) {
    if (tl != 1 || load<u8>(tagList) != 0x82) return odaFail(res, C_SDA_TAG_LIST);
    if (sPtr(S_82) == 0 || sLen(S_82) != 2) return odaFail(res, C_DATA_MISSING);
    withAip = true;
  }
  // Static data is copied after the space the certificate hashes need (≤ 512 bytes).
  const SD_AT: u32 = 1024;
  let sl = app(SD_AT, sdp, sdl);
  if (withAip) sl = app(sl, sPtr(S_82), 2);
  if (sl > HBUF_SIZE) return 255;
  const sdLen = sl - SD_AT;
  const SD: usize = ENGINE_BASE + 0xA0000; // a stable copy: HBUF is reused by the hashes
  memory.copy(SD, HBUF + SD_AT, sdLen);

  if (sdad == 0) { // SDA (RSA only)
    if (sm2) return odaFail(res, C_SSAD_FORMAT);
    const nI = <u32>load<u8>(iss, 22);
    if (sLen(S_93) != nI) return odaFail(res, C_SSAD_LENGTH);
    if (rsaPublicRaw(iss + 64, nI, iss + 24, <u32>load<u8>(iss, 23), ssad, nI, XBUF) != ST_OK) {
      return odaFail(res, C_SSAD_LENGTH);
    }
    if (load<u8>(XBUF + nI - 1) != 0xBC) return odaFail(res, C_SSAD_TRAILER);
    if (load<u8>(XBUF) != 0x6A) return odaFail(res, C_SSAD_HEADER);
    if (load<u8>(XBUF, 1) != 0x03) return odaFail(res, C_SSAD_FORMAT);
    if (load<u8>(XBUF, 2) != 0x01) return odaFail(res, C_SSAD_HASH_ALG);
    let hl = app(0, XBUF + 1, nI - 22);
    hl = app(hl, SD, sdLen);
    if (hl > HBUF_SIZE || !hashMatches(hl, XBUF + nI - 21)) return odaFail(res, C_SSAD_HASH);
    store<u8>(res, 0, 9);
    return 0;
  }

  // ICC key: cache by SHA-1(issuer key ‖ 9F46 ‖ 9F48 ‖ 9F47 ‖ static data).
  if (sPtr(S_9F46) == 0) return odaFail(res, C_DATA_MISSING);
  let k = app(0, iss + 64, <u32>load<u8>(iss, 22));
  k = app(k, sPtr(S_9F46), sLen(S_9F46));
  k = app(k, sPtr(S_9F48), sLen(S_9F48));
  store<u8>(HBUF + k, 0xA5);
  k = app(k + 1, sPtr(S_9F47), sLen(S_9F47));
  k = app(k, SD, sdLen);
  if (k > HBUF_SIZE) return 255;
  keyHash(k, CKEY);
  let icc = cacheFind(ICC_CACHE, ICC_ENTRIES, CKEY);
  if (icc != 0) {
    const n = <u32>load<u8>(icc, 28);
    if (n != opanLen || memory.compare(icc + 40, OPAN, min<u32>(n, 20)) != 0) return odaFail(res, C_ICC_PAN);
    if (expired(icc + 30)) return odaFail(res, C_ICC_EXPIRED);
  } else {
    icc = entryAt(ICC_CACHE, ICC_ENTRIES, CKEY);
    store<u8>(icc, 0, 20);
    const c = sm2 ? recoverIccSm2(iss, icc, SD, sdLen) : recoverIccRsa(iss, icc, SD, sdLen);
    if (c != 0) return odaFail(res, c);
    memory.copy(icc, CKEY, 20);
    store<u8>(icc, 1, 20);
  }

  // Dynamic signature over the fDDA terminal data.
  odaCheck = 0;
  const tl2 = terminalData();
  if (tl2 == 0) return odaFail(res, odaCheck);
  const sLen2 = sLen(S_9F4B);
  if (sm2) {
    if (sLen2 < 66) return odaFail(res, C_SDAD_LENGTH);
    if (load<u8>(sdad) != 0x15) return odaFail(res, C_SDAD_FORMAT);
    const lDd = <u32>load<u8>(sdad, 1);
    if (sLen2 != 2 + lDd + 64) return odaFail(res, C_SDAD_DYN_LENGTH);
    let m = app(0, sdad, 2 + lDd);
    m = app(m, TBUF, tl2);
    if (sm2VerifyRaw(icc + 64, IDBUF, 16, HBUF, m, sdad + 2 + lDd) != ST_OK) {
      return odaFail(res, C_SDAD_SIGNATURE);
    }
  } else {
    const n = <u32>load<u8>(icc, 22);
    if (sLen2 != n) return odaFail(res, C_SDAD_LENGTH);
    if (rsaPublicRaw(icc + 64, n, icc + 24, <u32>load<u8>(icc, 23), sdad, n, XBUF) != ST_OK) {
      return odaFail(res, C_SDAD_LENGTH);
    }
    if (load<u8>(XBUF + n - 1) != 0xBC) return odaFail(res, C_SDAD_TRAILER);
    if (load<u8>(XBUF) != 0x6A) return odaFail(res, C_SDAD_HEADER);
    if (load<u8>(XBUF, 1) != 0x05) return odaFail(res, C_SDAD_FORMAT);
    if (load<u8>(XBUF, 2) != 0x01) return odaFail(res, C_SDAD_HASH_ALG);
    if (<u32>load<u8>(XBUF, 3) > n - 25) return odaFail(res, C_SDAD_DYN_LENGTH);
    let hl = app(0, XBUF + 1, n - 22);
    hl = app(hl, TBUF, tl2);
    if (!hashMatches(hl, XBUF + n - 21)) return odaFail(res, C_SDAD_HASH);
  }
  store<u8>(res, 0, 9);
  return 0;
}
