// The engine's cryptogram check (docs/emv-pboc.md: key derivation, AC data sets, IAD): profile
// selection from 9F10, the RID and the issuer configuration — a walk over the SCHEME_TABLE and
// SELECT_TABLE generated from kernel-as/contract.ts —, the ICC master key (Option A / B, PBOC
// SM4), the session key, the AC data block and the MAC. Every method is chosen by the
// profile's row in PROFILE_TABLE, never by a profile number.
//
// The readable reference is core/emv/ac.ts and core/emv/profiles.ts.

import { ENGINE_BASE, ENGINE_CFGS, ENGINE_KEYS } from "./memory";
import {
  CFG_IN_BYTES,
  CFG_IN_MAP,
  CFG_IN_MAP_COUNT,
  CFG_IN_PINNED,
  CFG_IN_PREFIX,
  CFG_IN_PREFIX_LENGTH,
  CFG_IN_SCHEME,
  CRYPTO_MISMATCH,
  CRYPTO_NO_KEY,
  CRYPTO_OK,
  DATA_ELEMENTS,
  DATA_SET_INDEX,
  E_FIXED,
  E_SLICE,
  F_AC_MISMATCH,
  F_MISSING_DATA,
  KEY_IN_ALGORITHM,
  KEY_IN_BYTES,
  KEY_IN_DKI,
  KEY_IN_PREFIX,
  KEY_IN_PREFIX_LENGTH,
  LIMIT_CVN_MAPPINGS_MAX,
  MAC_SM4_CBC_MAC,
  MK_OPTION_B,
  MK_SM4,
  P_ALG,
  P_DATA_SET,
  P_DKI_AT,
  P_MAC,
  P_MK,
  P_PADDING,
  P_SK,
  PROFILE_BYTES,
  PROFILE_COUNT,
  PROFILE_TABLE,
  R_BAD_PIN,
  R_MAPPED,
  R_NO_IAD,
  R_PINNED,
  R_UNKNOWN_SCHEME,
  RES_CRYPTOGRAM,
  RES_KEY_INDEX,
  RES_MISSING_SLOT,
  S_4F,
  S_5A,
  S_5F34,
  S_84,
  S_9F10,
  S_9F26,
  S_9F36,
  S_9F37,
  SC_ALG_AT,
  SC_ALG_COUNT,
  SC_ALGS,
  SC_BAD_ALG_REASON,
  SC_CVN_AT,
  SC_DETECT_AT,
  SC_DETECT_MIN,
  SC_DETECT_VALUE,
  SC_LAYOUT_BYTES,
  SC_LAYOUT_COUNT,
  SC_LAYOUT_MIN,
  SC_LAYOUT_REASON,
  SC_MAPPABLE,
  SC_UNKNOWN_CVN_REASON,
  SCHEME_BYTES,
  SCHEME_COUNT,
  SCHEME_TABLE,
  SELECT_BYTES,
  SELECT_COUNT,
  SELECT_TABLE,
  SK_COMMON_ATC,
  SK_MASTERCARD,
  SK_NONE,
  SK_PBOC,
  SK_PBOC_SM4,
  IDD_FIELD_BYTES,
  IDD_MAC_BYTES,
  IDD_MAC_MISMATCH,
  IDD_MAC_NO_KEY,
  IDD_MAC_OK,
  iddFieldCount,
  F_IDD_MAC_MISMATCH,
  KEY_IN_USAGE,
  P_IDD,
  RES_IDD_MAC,
  RES_IDD_TYPE,
  RES_MAC_KEY_INDEX,
  USAGE_IMK_AC,
  USAGE_IMK_MAC,
} from "./contract";
import { DBLK, MACOUT, MK, PAN, SCHED, SHA, SK, sLen, sPtr, TMP } from "./engine_slots";
import { desEncryptBlockAt, desKeySchedule } from "./des";
import { macAlg3Into } from "./mac";
import { sm4CbcMacInto, sm4EncryptBlockAt, sm4KeySchedule } from "./sm4";
import { sha1Into } from "./sha1";

/** Bytes of one loaded key entry (KEY_IN as given, then the precomputed schedule at +48). */
export const KEY_BYTES: usize = 512;

// ---- PAN ----

/** PAN digits of 5A into PAN; returns the digit count, or 0 when not 8..19 decimal digits. */
export function panDigits(): u32 {
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

// ---- profile selection ----

// @ts-ignore: decorator
@inline function pack(profile: u32, reason: u32): u32 {
  return profile | (reason << 8);
}

/** The issuer configuration with the longest prefix of the PAN, or 0. */
function configOf(n: u32): usize {
  const count = load<u32>(ENGINE_BASE, 4);
  let cfg: usize = 0;
  let best: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const c = ENGINE_CFGS + <usize>i * CFG_IN_BYTES;
    const pl = <u32>load<u8>(c + CFG_IN_PREFIX_LENGTH);
    if (pl > best && panStarts(n, c + CFG_IN_PREFIX, pl)) {
      best = pl;
      cfg = c;
    }
  }
  return cfg;
}

/** The scheme (1-based row of SCHEME_TABLE): configuration hint, RID of 4F/84, 9F10 layout. */
function schemeOf(cfg: usize, iad: usize, il: u32): u32 {
  if (cfg != 0 && load<u8>(cfg + CFG_IN_SCHEME) != 0) return <u32>load<u8>(cfg + CFG_IN_SCHEME);
  let aid = sPtr(S_4F);
  let al = sLen(S_4F);
  if (aid == 0) {
    aid = sPtr(S_84);
    al = sLen(S_84);
  }
  if (aid != 0 && al >= 5) {
    for (let s: u32 = 0; s < SCHEME_COUNT; s++) {
      if (memory.compare(SCHEME_TABLE + <usize>s * SCHEME_BYTES, aid, 5) == 0) return s + 1;
    }
  }
  for (let s: u32 = 0; s < SCHEME_COUNT; s++) {
    const t = SCHEME_TABLE + <usize>s * SCHEME_BYTES;
    const at = <u32>load<u8>(t + SC_DETECT_AT);
    if (il >= <u32>load<u8>(t + SC_DETECT_MIN) && il > at && load<u8>(iad + at) == load<u8>(t + SC_DETECT_VALUE)) {
      return s + 1;
    }
  }
  return 0;
}

/** The first SELECT_TABLE row of `scheme` matching (cvn, alg), packed; 0 when none. */
function selectRow(scheme: u32, cvn: u32, alg: u32): u32 {
  for (let r: u32 = 0; r < SELECT_COUNT; r++) {
    const row = SELECT_TABLE + <usize>r * SELECT_BYTES;
    if (<u32>load<u8>(row) != scheme) continue;
    if (load<u8>(row, 1) != 0 && <u32>load<u8>(row, 2) != cvn) continue;
    if (load<u8>(row, 3) != 0 && <u32>load<u8>(row, 4) != alg) continue;
    return pack(<u32>load<u8>(row, 5), <u32>load<u8>(row, 6));
  }
  return 0;
}

/** A CVN mapped by the issuer configuration to a valid profile, packed; 0 when none. */
function mappedProfile(cfg: usize, cvn: u32): u32 {
  const m = <u32>load<u8>(cfg + CFG_IN_MAP_COUNT);
  for (let i: u32 = 0; i < m && i < LIMIT_CVN_MAPPINGS_MAX; i++) {
    if (<u32>load<u8>(cfg + CFG_IN_MAP + (i << 1)) == cvn) {
      const p = <u32>load<u8>(cfg + CFG_IN_MAP + 1 + (i << 1));
      if (p >= 1 && p <= PROFILE_COUNT) return pack(p, R_MAPPED);
    }
  }
  return 0;
}

/** Profile selection for PAN digits `n`: profile number | reason << 8 (profile 0: none). */
export function selectProfile(n: u32): u32 {
  const cfg = configOf(n);
  if (cfg != 0 && load<u8>(cfg + CFG_IN_PINNED) != 0) {
    const p = <u32>load<u8>(cfg + CFG_IN_PINNED);
    return p > PROFILE_COUNT ? pack(0, R_BAD_PIN) : pack(p, R_PINNED);
  }
  const iad = sPtr(S_9F10);
  const il = sLen(S_9F10);
  if (iad == 0 || il == 0) return pack(0, R_NO_IAD);
  const scheme = schemeOf(cfg, iad, il);
  if (scheme == 0 || scheme > SCHEME_COUNT) return pack(0, R_UNKNOWN_SCHEME);
  const t = SCHEME_TABLE + <usize>(scheme - 1) * SCHEME_BYTES;
  const layoutReason = <u32>load<u8>(t + SC_LAYOUT_REASON);
  if (il < <u32>load<u8>(t + SC_LAYOUT_MIN)) return pack(0, layoutReason);
  for (let i: u32 = 0; i < <u32>load<u8>(t + SC_LAYOUT_COUNT); i++) {
    const at = <u32>load<u8>(t + SC_LAYOUT_BYTES + (i << 1));
    if (load<u8>(iad + at) != load<u8>(t + SC_LAYOUT_BYTES + 1 + (i << 1))) {
      return pack(0, layoutReason);
    }
  }
  const cvn = <u32>load<u8>(iad + <usize>load<u8>(t + SC_CVN_AT));
  if (cfg != 0 && load<u8>(t + SC_MAPPABLE) != 0) {
    const m = mappedProfile(cfg, cvn);
    if (m != 0) return m;
  }
  const algAt = <u32>load<u8>(t + SC_ALG_AT);
  const alg: u32 = algAt != 255 ? <u32>load<u8>(iad + algAt) : 0;
  const algCount = <u32>load<u8>(t + SC_ALG_COUNT);
  if (algCount != 0) {
    let known = false;
    for (let i: u32 = 0; i < algCount; i++) {
      if (<u32>load<u8>(t + SC_ALGS + i) == alg) known = true;
    }
    if (!known) return pack(0, <u32>load<u8>(t + SC_BAD_ALG_REASON));
  }
  const row = selectRow(scheme, cvn, alg);
  return row != 0 ? row : pack(0, <u32>load<u8>(t + SC_UNKNOWN_CVN_REASON));
}

// ---- AC data block ----

/**
 * Builds the data block of data set `set` at DBLK; returns its length, or -(1 + slot) for the
 * first element that is absent or has the wrong length.
 */
function buildData(set: u32): i32 {
  const first = <u32>load<u8>(DATA_SET_INDEX + (set << 1));
  const count = <u32>load<u8>(DATA_SET_INDEX + (set << 1) + 1);
  let at: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const e = DATA_ELEMENTS + ((<usize>first + i) << 2);
    const slot = <i32>load<u8>(e);
    const mode = load<u8>(e, 1);
    const off = <u32>load<u8>(e, 2);
    const len = <u32>load<u8>(e, 3);
    const p = sPtr(slot);
    const l = sLen(slot);
    if (p == 0) return -1 - slot;
    if (mode == E_FIXED) {
      if (l != len) return -1 - slot;
      memory.copy(DBLK + at, p, len);
      at += len;
    } else if (mode == E_SLICE) {
      if (l < off + len) return -1 - slot;
      memory.copy(DBLK + at, p + off, len);
      at += len;
    } else {
      if (l > len) return -1 - slot;
      memory.copy(DBLK + at, p, l);
      at += l;
    }
  }
  return <i32>at;
}

// ---- key derivation ----

// @ts-ignore: decorator
@inline function parity(p: usize, n: u32): void {
  for (let i: u32 = 0; i < n; i++) {
    const b = <u32>load<u8>(p + i) & 0xFE;
    store<u8>(p + i, <u8>(b | ((popcnt<u32>(b) & 1) ^ 1)));
  }
}

/** Digit j of PAN ‖ PSN (n PAN digits, then the two PSN digits). */
// @ts-ignore: decorator
@inline function panPsnDigit(j: u32, n: u32, psn: u32): u32 {
  return j < n ? <u32>load<u8>(PAN + <usize>j) : (j == n ? psn >> 4 : psn & 15);
}

/** Option A block (8 bytes BCD) at TMP: rightmost 16 digits of PAN ‖ PSN, zero-padded. */
function optionABlock(n: u32, psn: u32): void {
  const t = n + 2;
  for (let k: u32 = 0; k < 16; k++) {
    const j = <i32>t - 16 + <i32>k;
    const d: u32 = j >= 0 ? panPsnDigit(<u32>j, n, psn) : 0;
    const at = TMP + (k >> 1);
    if ((k & 1) == 0) store<u8>(at, <u8>(d << 4));
    else store<u8>(at, <u8>(<u32>load<u8>(at) | d));
  }
}

/** Option B block at TMP (EMV 4.4 Book 2 A1.4.2) for PANs longer than 16 digits. */
function optionBBlock(n: u32, psn: u32): void {
  if (n <= 16) {
    optionABlock(n, psn);
    return;
  }
  // X = PAN ‖ PSN, left-padded with one 0 when odd, as BCD at TMP+16 (≤ 11 bytes).
  const t = n + 2;
  const odd: u32 = t & 1;
  const bytes = (t + odd) >> 1;
  for (let k: u32 = 0; k < bytes * 2; k++) {
    const j = <i32>k - <i32>odd;
    const d: u32 = j >= 0 ? panPsnDigit(<u32>j, n, psn) : 0;
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

/** ICC master key at MK from key entry `key` by the profile's MK method. */
function deriveMk(key: usize, mk: u8, n: u32, psn: u32): void {
  const sched = key + KEY_IN_BYTES; // the schedule precomputed when the key was loaded
  if (mk == MK_SM4) {
    optionABlock(n, psn);
    for (let i: u32 = 0; i < 8; i++) store<u8>(TMP + 8 + i, ~load<u8>(TMP + i));
    sm4EncryptBlockAt(sched, TMP, MK);
    return;
  }
  if (mk == MK_OPTION_B) optionBBlock(n, psn);
  else optionABlock(n, psn);
  store<u64>(TMP + 8, ~load<u64>(TMP));
  desEncryptBlockAt(sched, TMP, MK);
  desEncryptBlockAt(sched, TMP + 8, MK + 8);
  parity(MK, 16);
}

/** Session key at SK from MK by the profile's SK method. */
function deriveSk(sk: u8): void {
  const atc = sPtr(S_9F36);
  const a0 = load<u8>(atc);
  const a1 = load<u8>(atc, 1);
  if (sk == SK_NONE) { // the master key itself (Visa CVN 10)
    memory.copy(SK, MK, 16);
    return;
  }
  store<u64>(TMP, 0);
  store<u64>(TMP + 8, 0);
  if (sk == SK_PBOC || sk == SK_PBOC_SM4) { // 00×6‖ATC ‖ 00×6‖~ATC
    store<u8>(TMP + 6, a0);
    store<u8>(TMP + 7, a1);
    store<u8>(TMP + 14, ~a0);
    store<u8>(TMP + 15, ~a1);
  }
  if (sk == SK_PBOC_SM4) { // one SM4 block
    sm4KeySchedule(MK, SCHED);
    sm4EncryptBlockAt(SCHED, TMP, SK);
    return;
  }
  if (sk == SK_COMMON_ATC || sk == SK_MASTERCARD) { // R = ATC‖00×6 or ATC‖0000‖UN; F0 / 0F
    store<u8>(TMP, a0);
    store<u8>(TMP + 1, a1);
    if (sk == SK_MASTERCARD) memory.copy(TMP + 4, sPtr(S_9F37), 4);
    memory.copy(TMP + 8, TMP, 8);
    store<u8>(TMP + 2, 0xF0);
    store<u8>(TMP + 10, 0x0F);
  }
  desKeySchedule(MK, 16, SCHED);
  desEncryptBlockAt(SCHED, TMP, SK);
  desEncryptBlockAt(SCHED, TMP + 8, SK + 8);
  parity(SK, 16);
}

/**
 * The loaded key of `usage` for the record (algorithm, longest issuer prefix, DKI); its index
 * goes to the u32 at `indexAt`. 0 when none.
 */
function keyOf(n: u32, alg: u8, dki: i32, usage: u8, indexAt: usize): usize {
  const count = load<u32>(ENGINE_BASE);
  let key: usize = 0;
  let bestLen: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const k = ENGINE_KEYS + <usize>i * KEY_BYTES;
    if (load<u8>(k + KEY_IN_ALGORITHM) != alg || load<u8>(k + KEY_IN_USAGE) != usage) continue;
    const pl = <u32>load<u8>(k + KEY_IN_PREFIX_LENGTH);
    if (!panStarts(n, k + KEY_IN_PREFIX, pl)) continue;
    const kd = load<u8>(k + KEY_IN_DKI);
    if (kd != 0xFF && dki >= 0 && <i32>kd != dki) continue;
    if (key == 0 || pl > bestLen) {
      key = k;
      bestLen = pl;
      store<u32>(indexAt, i);
    }
  }
  return key;
}

/** The DKI of the record's 9F10 for profile row `p`, -1 when absent. */
function dkiOf(p: usize): i32 {
  const iad = sPtr(S_9F10);
  const dkiAt = <u32>load<u8>(p + P_DKI_AT);
  return iad != 0 && sLen(S_9F10) > dkiAt ? <i32>load<u8>(iad + dkiAt) : -1;
}

/**
 * The MAC of `len` bytes at DBLK under the session key the profile derives from the master key
 * of `key` (the card's MAC: ISO 9797-1 algorithm 3 or SM4 CBC-MAC, the profile's padding) into
 * MACOUT; the intermediate keys are wiped.
 */
function cardMac(p: usize, key: usize, n: u32, len: u32): void {
  deriveMk(key, load<u8>(p + P_MK), n, psnByte());
  deriveSk(load<u8>(p + P_SK));
  const padding = <i32>load<u8>(p + P_PADDING);
  if (load<u8>(p + P_MAC) == MAC_SM4_CBC_MAC) {
    sm4KeySchedule(SK, SCHED);
    sm4CbcMacInto(SCHED, DBLK, len, padding, MACOUT);
  } else {
    macAlg3Into(SK, DBLK, len, padding, MACOUT);
  }
  // Intermediate keys and schedules never outlive the record.
  memory.fill(MK, 0, 0x60);
  memory.fill(SCHED, 0, 400);
}

/**
 * Verifies 9F26 of the record in the slots under `profile` (PAN digits `n` in PAN); writes the
 * cryptogram byte, key index and missing slot, and returns the findings bits.
 */
export function checkCryptogram(profile: u32, n: u32, res: usize): u32 {
  const p = PROFILE_TABLE + <usize>(profile - 1) * PROFILE_BYTES;
  const key = keyOf(n, load<u8>(p + P_ALG), dkiOf(p), USAGE_IMK_AC, res + RES_KEY_INDEX);
  if (key == 0) {
    store<u8>(res + RES_CRYPTOGRAM, CRYPTO_NO_KEY);
    return 0;
  }
  const ac = sPtr(S_9F26);
  const len: i32 = ac == 0 || sLen(S_9F26) != 8
    ? -1 - S_9F26
    : buildData(<u32>load<u8>(p + P_DATA_SET));
  if (len < 0) {
    store<u8>(res + RES_MISSING_SLOT, <u8>(-1 - len));
    return F_MISSING_DATA;
  }
  cardMac(p, key, n, <u32>len);
  const equal = load<u64>(MACOUT) == load<u64>(ac);
  store<u8>(res + RES_CRYPTOGRAM, equal ? CRYPTO_OK : CRYPTO_MISMATCH);
  return equal ? 0 : F_AC_MISMATCH;
}

/**
 * PBOC issuer discretionary data (9F10 byte 9 = length, then type ‖ amounts ‖ 4-byte MAC;
 * docs/emv-pboc.md, issuer application data): decodes the type and, where the IMK-MAC is held,
 * checks the MAC the card computed under its MAC session key over ATC ‖ amounts zero-filled to
 * a multiple of 8 bytes, with the profile's MAC (the card applet's generateIssueAppData).
 * Writes the IDD type and MAC verdict; returns the findings bits.
 */
export function checkIdd(profile: u32, n: u32, res: usize): u32 {
  const p = PROFILE_TABLE + <usize>(profile - 1) * PROFILE_BYTES;
  if (load<u8>(p + P_IDD) == 0) return 0;
  const iad = sPtr(S_9F10);
  const il = sLen(S_9F10);
  if (iad == 0 || il < 10) return 0;
  const iddLen = <u32>load<u8>(iad, 8);
  const type = <u32>load<u8>(iad, 9);
  const fields = iddFieldCount(type);
  if (fields == 0 || iddLen != 1 + fields * IDD_FIELD_BYTES + IDD_MAC_BYTES || <u32>9 + iddLen > il) {
    return 0;
  }
  store<u8>(res + RES_IDD_TYPE, <u8>type);
  const atc = sPtr(S_9F36);
  if (atc == 0 || sLen(S_9F36) != 2) return 0;
  const key = keyOf(n, load<u8>(p + P_ALG), dkiOf(p), USAGE_IMK_MAC, res + RES_MAC_KEY_INDEX);
  if (key == 0) {
    store<u8>(res + RES_IDD_MAC, IDD_MAC_NO_KEY);
    return 0;
  }
  const dataLen = fields * IDD_FIELD_BYTES;
  const filled = (2 + dataLen + 7) & ~7;
  memory.fill(DBLK, 0, filled);
  memory.copy(DBLK, atc, 2);
  memory.copy(DBLK + 2, iad + 10, dataLen);
  cardMac(p, key, n, filled);
  const equal = memory.compare(MACOUT, iad + 10 + dataLen, IDD_MAC_BYTES) == 0;
  store<u8>(res + RES_IDD_MAC, equal ? IDD_MAC_OK : IDD_MAC_MISMATCH);
  return equal ? 0 : F_IDD_MAC_MISMATCH;
}
