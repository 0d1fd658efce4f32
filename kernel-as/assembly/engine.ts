// EMV/PBOC verification engine: whole batches of tap records in one call (docs/verification.md,
// docs/emv-pboc.md). Per record: BER-TLV decode of the chip data (and ODA evidence) into tag
// slots, fare vs 9F02, cryptogram type, the cryptogram check (engine_ac.ts) and offline data
// authentication (engine_oda.ts). One findings bitmask and one precedence-ordered status per
// record. Statuses, layouts, profiles and limits come from kernel-as/contract.ts through the
// generated contract.ts; the ENGINE sub-map is drawn in memory.ts.
//
// The readable reference is core/emv/verify.ts; a differential test checks both agree.
// Duplicate and replay detection (across records and batches) is done by the callers.

import {
  ENGINE_BASE,
  ENGINE_CAPKS,
  ENGINE_CFGS,
  ENGINE_ICC_CACHE,
  ENGINE_ISS_CACHE,
  ENGINE_KEYS,
  ENGINE_REVOKED,
  ENGINE_SCR,
  ENGINE_WIPED_END,
  INDEX_BASE,
  inBounds,
} from "./memory";
import { ST_BAD_ARGUMENT, ST_OK } from "./status";
import {
  CAPK_IN_BYTES,
  CFG_IN_BYTES,
  CRYPTO_UNSUPPORTED,
  DESC_BYTES,
  DESC_FARE,
  DESC_ICC,
  DESC_ICC_LEN,
  DESC_ODA,
  DESC_ODA_LEN,
  F_CARD_DECLINED,
  F_FARE_MISMATCH,
  F_MALFORMED_TLV,
  F_MISSING_DATA,
  KEY_IN_ALGORITHM,
  KEY_IN_BYTES,
  KEY_IN_PREFIX_LENGTH,
  LIMIT_BATCH_MAX,
  LIMIT_CAPKS_MAX,
  LIMIT_CONFIGS_MAX,
  LIMIT_KEYS_MAX,
  LIMIT_PREFIX_DIGITS_MAX,
  LIMIT_REVOKED_MAX,
  recordStatusOfRank,
  RECORD_STATUS_COUNT,
  RES_BYTES,
  RES_CRYPTOGRAM,
  RES_FINDINGS,
  RES_ODA_CHECK,
  RES_PROFILE,
  RES_REASON,
  RES_SPANS,
  RES_STATUS,
  RES_TYPE,
  RES_TYPE_SOURCE,
  REVOKED_IN_BYTES,
  S_5A,
  S_5F34,
  S_9F02,
  S_9F10,
  S_9F26,
  S_9F27,
  S_9F36,
  SPAN_5A,
  SPAN_5F34,
  SPAN_9F02,
  SPAN_9F26,
  SPAN_9F36,
  ST_ENGINE_KEY_INVALID,
  ST_ENGINE_MALFORMED_TLV,
  ST_ENGINE_TOO_MANY_KEYS,
  TYPE_AAC,
  TYPE_NONE,
  TYPE_SOURCE_9F27,
  TYPE_SOURCE_CVR,
  CARD_DATE_EXPIRED,
  CARD_DATE_NOT_A_DATE,
  CARD_DATE_NOT_YET_EFFECTIVE,
  CARD_DATE_OK,
  F_CARD_EXPIRED,
  IDD_MAC_NONE,
  NOTE_CID_DISAGREES,
  RES_CARD_DATE,
  RES_CID_TYPE,
  RES_IDD_MAC,
  RES_IDD_TYPE,
  RES_NOTES,
  RES_ODA_FORMAT,
  S_5F24,
  S_5F25,
  S_9A,
  SPAN_9F10,
  KEY_IN_USAGE,
  USAGE_IMK_MAC,
} from "./contract";
import { decodeInto, tlvCount } from "./tlv";
import { desKeySchedule } from "./des";
import { macAlg3Into } from "./mac";
import { sm4KeySchedule } from "./sm4";
import {
  bcdValue,
  clearSlots,
  yymmdd,
  DBLK,
  fillSlots,
  MACOUT,
  SCRATCH_BYTES,
  SK,
  sLen,
  sPtr,
} from "./engine_slots";
import { checkCryptogram, checkIdd, KEY_BYTES, panDigits, selectProfile } from "./engine_ac";
import { odaOne } from "./engine_oda";
import { ENTRY, ICC_ENTRIES, ISS_ENTRIES } from "./engine_certs";

const INDEX2: usize = INDEX_BASE + 0x100000; // ODA evidence index

// ---- key, configuration and CA key tables (loaded by the wrapper for one batch) ----

/** Loads `count` keys from `src` (contract KEY_IN each) and precomputes their schedules. */
export function engineLoadKeys(src: usize, count: u32): i32 {
  if (count > LIMIT_KEYS_MAX) return ST_ENGINE_TOO_MANY_KEYS;
  if (!inBounds(src, count * KEY_IN_BYTES)) return ST_BAD_ARGUMENT;
  for (let i: u32 = 0; i < count; i++) {
    const s = src + <usize>i * KEY_IN_BYTES;
    const d = ENGINE_KEYS + <usize>i * KEY_BYTES;
    const alg = load<u8>(s + KEY_IN_ALGORITHM);
    const plen = <u32>load<u8>(s + KEY_IN_PREFIX_LENGTH);
    const usage = load<u8>(s + KEY_IN_USAGE);
    if ((alg != 1 && alg != 4) || plen == 0 || plen > LIMIT_PREFIX_DIGITS_MAX || usage > USAGE_IMK_MAC) {
      return ST_ENGINE_KEY_INVALID;
    }
    memory.copy(d, s, KEY_IN_BYTES);
    if (alg == 1) desKeySchedule(d + 24, 16, d + KEY_IN_BYTES);
    else sm4KeySchedule(d + 24, d + KEY_IN_BYTES);
  }
  store<u32>(ENGINE_BASE, count);
  return ST_OK;
}

/** Loads `count` issuer configurations (contract CFG_IN each) from `src`. */
export function engineLoadConfigs(src: usize, count: u32): i32 {
  if (count > LIMIT_CONFIGS_MAX) return ST_ENGINE_TOO_MANY_KEYS;
  if (!inBounds(src, count * CFG_IN_BYTES)) return ST_BAD_ARGUMENT;
  memory.copy(ENGINE_CFGS, src, <usize>count * CFG_IN_BYTES);
  store<u32>(ENGINE_BASE, count, 4);
  return ST_OK;
}

/** Loads `count` CA public keys (contract CAPK_IN each). */
export function engineLoadCapks(src: usize, count: u32): i32 {
  if (count > LIMIT_CAPKS_MAX) return ST_ENGINE_TOO_MANY_KEYS;
  if (!inBounds(src, count * CAPK_IN_BYTES)) return ST_BAD_ARGUMENT;
  memory.copy(ENGINE_CAPKS, src, <usize>count * CAPK_IN_BYTES);
  store<u32>(ENGINE_BASE, count, 8);
  return ST_OK;
}

/** Loads `count` revoked issuer certificate serials (contract REVOKED_IN each). */
export function engineLoadRevoked(src: usize, count: u32): i32 {
  if (count > LIMIT_REVOKED_MAX) return ST_ENGINE_TOO_MANY_KEYS;
  if (!inBounds(src, count * REVOKED_IN_BYTES)) return ST_BAD_ARGUMENT;
  memory.copy(ENGINE_REVOKED, src, <usize>count * REVOKED_IN_BYTES);
  store<u32>(ENGINE_BASE, count, 12);
  return ST_OK;
}

/** Zeroes the keys, schedules, configurations, CA keys and scratch (end of every batch). */
export function engineWipe(): void {
  memory.fill(ENGINE_BASE, 0, ENGINE_WIPED_END - ENGINE_BASE);
}

/** Empties the recovered-key caches: 1 issuer, 2 ICC, 3 both. */
export function engineCacheClear(which: i32): void {
  if (which & 1) memory.fill(ENGINE_ISS_CACHE, 0, <usize>ISS_ENTRIES * ENTRY);
  if (which & 2) memory.fill(ENGINE_ICC_CACHE, 0, <usize>ICC_ENTRIES * ENTRY);
}

/** End of the region engineWipe() zeroes (for the wrapper's tests). */
export function engineWipedEnd(): usize {
  return ENGINE_WIPED_END;
}

// ---- one record ----

/** The status of a findings bitmask: its lowest bit wins (precedence order); 0 is OK. */
export function engineStatusOf(findings: u32): i32 {
  if (findings == 0) return ST_OK;
  const i = ctz<u32>(findings);
  return i < RECORD_STATUS_COUNT ? recordStatusOfRank(i) : ST_OK;
}

// @ts-ignore: decorator
@inline function putSpan(res: usize, which: u32, s: i32, base: usize): void {
  const at = res + RES_SPANS + (which << 3);
  const p = sPtr(s);
  store<u32>(at, p == 0 ? 0xFFFFFFFF : <u32>(p - base));
  store<u32>(at, sLen(s), 4);
}

/** Decodes the record's chip data and ODA evidence into the slots; false when malformed. */
function decodeRecord(d: usize): bool {
  clearSlots();
  const icc = <usize>load<u32>(d + DESC_ICC);
  const iccLen = load<u32>(d + DESC_ICC_LEN);
  const oda = <usize>load<u32>(d + DESC_ODA);
  const odaLen = load<u32>(d + DESC_ODA_LEN);
  if (!inBounds(icc, iccLen) || (odaLen != 0 && !inBounds(oda, odaLen))) return false;
  if (decodeInto(icc, iccLen, INDEX_BASE, 4096, 8) != ST_OK) return false;
  fillSlots(icc, INDEX_BASE, tlvCount());
  if (odaLen != 0) {
    if (decodeInto(oda, odaLen, INDEX2, 4096, 8) != ST_OK) return false;
    fillSlots(oda, INDEX2, tlvCount());
  }
  return true;
}

/**
 * Cryptogram type: CVR byte 1 b6-b5 of a valid PBOC 9F10, else 9F27 (terminals make 9F27 up;
 * docs/verification.md). A 9F27 that disagrees with the CVR is noted, never obeyed.
 */
function cryptogramType(res: usize): u32 {
  const cid = sPtr(S_9F27);
  const iad = sPtr(S_9F10);
  const il = sLen(S_9F10);
  const cidType: u8 = cid != 0 && sLen(S_9F27) == 1 ? load<u8>(cid) >> 6 : TYPE_NONE;
  store<u8>(res + RES_CID_TYPE, cidType);
  let type: u8 = TYPE_NONE;
  if (
    iad != 0 && il >= 8 && load<u8>(iad) == 0x07 && load<u8>(iad, 3) == 0x03 &&
    (il == 8 || <u32>9 + <u32>load<u8>(iad, 8) <= il)
  ) {
    type = (load<u8>(iad, 4) >> 4) & 3;
    store<u8>(res + RES_TYPE_SOURCE, TYPE_SOURCE_CVR);
    if (cidType != TYPE_NONE && cidType != type) store<u8>(res + RES_NOTES, NOTE_CID_DISAGREES);
  } else if (cidType != TYPE_NONE) {
    type = cidType;
    store<u8>(res + RES_TYPE_SOURCE, TYPE_SOURCE_9F27);
  }
  store<u8>(res + RES_TYPE, type);
  return type == TYPE_AAC ? F_CARD_DECLINED : 0;
}

/**
 * Card validity at the transaction date: expired after 5F24, not yet effective before 5F25
 * (EMV 4.4 Book 3 §10.4.3); a 5F24/5F25 that is not a date is missing data. Unchecked without a
 * valid 9A.
 */
function cardDates(res: usize): u32 {
  store<u8>(res + RES_CARD_DATE, CARD_DATE_OK);
  const exp = sPtr(S_5F24);
  const eff = sPtr(S_5F25);
  if ((exp == 0 && eff == 0) || sPtr(S_9A) == 0 || sLen(S_9A) != 3) return 0;
  const txn = yymmdd(sPtr(S_9A));
  if (txn == 0) return 0;
  const expiry: u32 = exp != 0 && sLen(S_5F24) == 3 ? yymmdd(exp) : 0;
  const effective: u32 = eff != 0 && sLen(S_5F25) == 3 ? yymmdd(eff) : 0;
  if ((exp != 0 && expiry == 0) || (eff != 0 && effective == 0)) {
    store<u8>(res + RES_CARD_DATE, CARD_DATE_NOT_A_DATE);
    return F_MISSING_DATA;
  }
  if (exp != 0 && txn > expiry) {
    store<u8>(res + RES_CARD_DATE, CARD_DATE_EXPIRED);
    return F_CARD_EXPIRED;
  }
  if (eff != 0 && txn < effective) {
    store<u8>(res + RES_CARD_DATE, CARD_DATE_NOT_YET_EFFECTIVE);
    return F_CARD_EXPIRED;
  }
  return 0;
}

/** Findings of the record's own data: missing PAN/ATC/AC, fare vs 9F02, card dates. */
function dataFindings(d: usize, n: u32, res: usize): u32 {
  let findings: u32 = cardDates(res);
  if (n == 0 || sPtr(S_9F36) == 0 || sLen(S_9F36) != 2 || sPtr(S_9F26) == 0) {
    findings |= F_MISSING_DATA;
  }
  const fare = load<i32>(d + DESC_FARE);
  if (fare >= 0 && sPtr(S_9F02) != 0 && sLen(S_9F02) == 6) {
    const amt = bcdValue(sPtr(S_9F02), 6);
    if (amt >= 0 && amt != <i64>fare) findings |= F_FARE_MISMATCH;
  }
  return findings;
}

function verifyOne(d: usize, res: usize): void {
  memory.fill(res, 0xFF, RES_BYTES);
  store<u8>(res + RES_CRYPTOGRAM, CRYPTO_UNSUPPORTED);
  store<u8>(res + RES_PROFILE, 0);
  store<u8>(res + RES_REASON, 0);
  store<u8>(res + RES_TYPE_SOURCE, 0);
  store<u32>(res + RES_ODA_CHECK, 0);
  store<u8>(res + RES_IDD_TYPE, 0);
  store<u8>(res + RES_IDD_MAC, IDD_MAC_NONE);
  store<u8>(res + RES_NOTES, 0);
  store<u8>(res + RES_ODA_FORMAT, 0);
  if (!decodeRecord(d)) {
    store<u32>(res + RES_FINDINGS, F_MALFORMED_TLV);
    store<u32>(res + RES_STATUS, <u32>ST_ENGINE_MALFORMED_TLV);
    return;
  }
  const icc = <usize>load<u32>(d + DESC_ICC);
  putSpan(res, SPAN_5A, S_5A, icc);
  putSpan(res, SPAN_5F34, S_5F34, icc);
  putSpan(res, SPAN_9F36, S_9F36, icc);
  putSpan(res, SPAN_9F26, S_9F26, icc);
  putSpan(res, SPAN_9F02, S_9F02, icc);
  putSpan(res, SPAN_9F10, S_9F10, icc);
  let findings = cryptogramType(res);
  const n = panDigits();
  findings |= dataFindings(d, n, res);
  if (n != 0) {
    const sel = selectProfile(n);
    const profile = sel & 0xFF;
    store<u8>(res + RES_PROFILE, <u8>profile);
    store<u8>(res + RES_REASON, <u8>(sel >> 8));
    if (profile != 0) findings |= checkCryptogram(profile, n, res) | checkIdd(profile, n, res);
  }
  findings |= odaOne(d, res);
  store<u32>(res + RES_FINDINGS, findings);
  store<u32>(res + RES_STATUS, <u32>engineStatusOf(findings));
}

/**
 * Verifies `count` records described at `desc` (DESC_BYTES each) and writes one result of
 * RES_BYTES per record at `out`. Returns OK, or BAD_ARGUMENT for regions out of bounds (a bug of
 * the caller); per-record problems are record statuses.
 */
export function engineVerifyBatch(desc: usize, count: u32, out: usize): i32 {
  if (count > LIMIT_BATCH_MAX) return ST_BAD_ARGUMENT;
  if (!inBounds(desc, count * DESC_BYTES) || !inBounds(out, count * RES_BYTES)) {
    return ST_BAD_ARGUMENT;
  }
  for (let i: u32 = 0; i < count; i++) {
    verifyOne(desc + <usize>i * DESC_BYTES, out + <usize>i * RES_BYTES);
  }
  memory.fill(ENGINE_SCR, 0, SCRATCH_BYTES);
  // The retail MAC keeps the last session key's DES schedules in its own static memory:
  // overwrite them with an all-zero key's.
  macAlg3Into(SK, DBLK, 8, 1, MACOUT);
  memory.fill(ENGINE_SCR, 0, SCRATCH_BYTES);
  return ST_OK;
}
