// Offline data authentication in the kernel, the certificate side (docs/emv-pboc.md; EMV 4.4
// Book 2 §5.3 Table 6, §6.4 Table 14; SM2 formats 12 / 14): recovery of the issuer and ICC
// public keys into recovered-key cache entries, and the per-record readers (ODA PAN,
// transaction date, expiry, revocation) the checks share. engine_oda.ts runs the steps.

import {
  ENGINE_BASE,
  ENGINE_HASH,
  ENGINE_HBUF,
  ENGINE_HBUF_SIZE,
  ENGINE_IDBUF,
  ENGINE_OPAN,
  ENGINE_REVOKED,
  ENGINE_SD,
  ENGINE_XBUF,
} from "./memory";
import { ST_OK } from "./status";
import {
  C_ICC_CERT_EXPIRED,
  C_ICC_CERT_FORMAT,
  C_ICC_CERT_HASH,
  C_ICC_CERT_HASH_ALGORITHM,
  C_ICC_CERT_HEADER,
  C_ICC_CERT_LENGTH,
  C_ICC_CERT_SIGNATURE,
  C_ICC_CERT_TRAILER,
  C_ICC_EXPONENT,
  C_ICC_KEY_INVALID,
  C_ICC_PAN_MISMATCH,
  C_ICC_PK_ALGORITHM,
  C_ICC_REMAINDER_LENGTH,
  C_ICC_REMAINDER_MISSING,
  C_ISSUER_CERT_EXPIRED,
  C_ISSUER_CERT_FORMAT,
  C_ISSUER_CERT_HASH,
  C_ISSUER_CERT_HASH_ALGORITHM,
  C_ISSUER_CERT_HEADER,
  C_ISSUER_CERT_LENGTH,
  C_ISSUER_CERT_REVOKED,
  C_ISSUER_CERT_SIGNATURE,
  C_ISSUER_CERT_TRAILER,
  C_ISSUER_EXPONENT,
  C_ISSUER_ID_MISMATCH,
  C_ISSUER_KEY_INVALID,
  C_ISSUER_PK_ALGORITHM,
  C_ISSUER_REMAINDER_LENGTH,
  C_ISSUER_REMAINDER_MISSING,
  C_ODA_DATA_TOO_LONG,
  CAPK_IN_EXPONENT,
  CAPK_IN_EXPONENT_LENGTH,
  CAPK_IN_INDEX,
  CAPK_IN_KEY,
  CAPK_IN_MODULUS_LENGTH,
  CAPK_IN_RID,
  REVOKED_IN_BYTES,
  REVOKED_IN_INDEX,
  REVOKED_IN_SERIAL,
  S_5A,
  S_90,
  S_92,
  S_9A,
  S_9F32,
  S_9F46,
  S_9F47,
  S_9F48,
  C_ISSUER_CERT_CURVE,
  C_ICC_CERT_CURVE,
} from "./contract";
import {
  REC_OPAN_LEN,
  REC_TXN_MONTH,
  REC_TXN_YMD,
  sLen,
  sPtr,
  yymmdd,
} from "./engine_slots";
import { sha1Into } from "./sha1";
import { rsaPublicRaw } from "./rsa";
import { sm2CheckPoint, sm2VerifyRaw } from "./sm2";

// Recovered-key caches (direct-mapped by a SHA-1 of what the key was recovered from; they hold
// public keys only and survive batches; engineCacheClear empties them), entry layout:
//   +0 hash (20), +20 u8 valid, +21 u8 algorithm, +22 u8 modulus length, +23 u8 exponent
//   length, +24 exponent (4), +28 u8 id length, +30 expiry MMYY (2), +32 serial (3),
//   +40 id digits ASCII (20), +64 modulus or x‖y (≤ 248)
export const ISS_ENTRIES: u32 = 256;
export const ICC_ENTRIES: u32 = 4096;
export const ENTRY: usize = 512;
const HBUF = ENGINE_HBUF;
const XBUF = ENGINE_XBUF;

// ---- per-record helpers ----

/** ODA PAN: digits of 5A until F, then only F (cn) into OPAN; its length, 0 when not so. */
export function odaPan(): u32 {
  const p = sPtr(S_5A);
  if (p == 0) return 0;
  const len = sLen(S_5A);
  let n: u32 = 0;
  let f = false;
  for (let i: u32 = 0; i < len * 2; i++) {
    const b = <u32>load<u8>(p + (i >> 1));
    const d = (i & 1) == 0 ? b >> 4 : b & 15;
    if (f) {
      if (d != 15) return 0;
      continue;
    }
    if (d == 15) {
      f = true;
      continue;
    }
    if (d > 9) return 0;
    if (n < 64) store<u8>(ENGINE_OPAN + n, <u8>(48 + d));
    n++;
  }
  return n <= 64 ? n : 0;
}

/** Transaction date from 9A into the record state; false when not a date. */
export function txnDate(): bool {
  const p = sPtr(S_9A);
  if (p == 0 || sLen(S_9A) != 3) return false;
  const ymd = yymmdd(p);
  if (ymd == 0) return false;
  store<u32>(REC_TXN_YMD, ymd);
  store<u32>(REC_TXN_MONTH, (ymd / 10000) * 12 + (ymd / 100) % 100);
  return true;
}

/** True when MMYY at `p` is before the transaction month, or not a valid MMYY. */
export function expired(p: usize): bool {
  const a = <u32>load<u8>(p);
  const b = <u32>load<u8>(p, 1);
  if ((a >> 4) > 9 || (a & 15) > 9 || (b >> 4) > 9 || (b & 15) > 9) return true;
  const mm = (a >> 4) * 10 + (a & 15);
  const yy = (b >> 4) * 10 + (b & 15);
  if (mm < 1 || mm > 12) return true;
  const y: u32 = yy < 50 ? <u32>2000 + yy : <u32>1900 + yy;
  return y * 12 + mm < load<u32>(REC_TXN_MONTH);
}

/** True when the ODA PAN starts with the issuer id of `len` ASCII digits at `id`. */
export function opanStarts(id: usize, len: u32): bool {
  if (len > load<u32>(REC_OPAN_LEN)) return false;
  return memory.compare(ENGINE_OPAN, id, len) == 0;
}

/** Issuer identifier digits (cn, `bytes` at `p`) as ASCII into `out`; length, or -1 if bad. */
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
    if (d == 15) {
      f = true;
      continue;
    }
    if (d > 9) return -1;
    store<u8>(out + n, <u8>(48 + d));
    n++;
  }
  return <i32>n;
}

/** The PAN field of a certificate (10 bytes cn at `p`) equals the ODA PAN F-padded to 20. */
function certPanMatches(p: usize): bool {
  const n = load<u32>(REC_OPAN_LEN);
  for (let i: u32 = 0; i < 20; i++) {
    const b = <u32>load<u8>(p + (i >> 1));
    const d = (i & 1) == 0 ? b >> 4 : b & 15;
    const want: u32 = i < n ? <u32>load<u8>(ENGINE_OPAN + i) - 48 : 15;
    if (d != want) return false;
  }
  return true;
}

export function revoked(capk: usize, serial: usize): bool {
  const n = load<u32>(ENGINE_BASE, 12);
  for (let i: u32 = 0; i < n; i++) {
    const e = ENGINE_REVOKED + <usize>i * REVOKED_IN_BYTES;
    if (
      memory.compare(e, capk + CAPK_IN_RID, 5) == 0 &&
      load<u8>(e + REVOKED_IN_INDEX) == load<u8>(capk + CAPK_IN_INDEX) &&
      memory.compare(e + REVOKED_IN_SERIAL, serial, 3) == 0
    ) return true;
  }
  return false;
}

function validExponent(p: usize, len: u32): bool {
  if (p == 0) return false;
  if (len == 1) return load<u8>(p) == 3;
  return len == 3 && load<u8>(p) == 1 && load<u8>(p, 1) == 0 && load<u8>(p, 2) == 1;
}

/** SHA-1 of `len` bytes at HBUF compared with the 20 bytes at `expect`. */
export function hashMatches(len: u32, expect: usize): bool {
  sha1Into(HBUF, len, ENGINE_HASH);
  return memory.compare(ENGINE_HASH, expect, 20) == 0;
}

// @ts-ignore: decorator
@inline export function entryAt(base: usize, entries: u32, h: usize): usize {
  return base + <usize>((load<u32>(h) & (entries - 1))) * ENTRY;
}

/** Cache lookup: the entry for hash `h` when it is valid and holds that hash, else 0. */
export function cacheFind(base: usize, entries: u32, h: usize): usize {
  const e = entryAt(base, entries, h);
  if (load<u8>(e, 20) == 1 && memory.compare(e, h, 20) == 0) return e;
  return 0;
}

/** Appends `len` bytes at `p` to HBUF at `at`; returns the new length (or HBUF_SIZE+1). */
// @ts-ignore: decorator
@inline export function app(at: u32, p: usize, len: u32): u32 {
  if (at + len > ENGINE_HBUF_SIZE) return ENGINE_HBUF_SIZE + 1;
  if (len) memory.copy(HBUF + at, p, len);
  return at + len;
}

// ---- certificate recovery (RSA: EMV Book 2 Table 6 / Table 14; SM2: formats 12 / 14) ----

// The checks of one RSA certificate kind: the issuer certificate (Table 6) and the ICC
// certificate (Table 14) differ only in offsets, tags and check codes. One row of u32 each:
const K_FORMAT: usize = 0; // format byte (02 / 04)
const K_KEY_AT: usize = 4; // first key byte (15 / 21); key length at -2, exponent length at -1
const K_HASH_ALG_AT: usize = 8;
const K_REM_SLOT: usize = 12;
const K_EXP_SLOT: usize = 16;
const K_LENGTH: usize = 20; // check codes from here
const K_TRAILER: usize = 24;
const K_HEADER: usize = 28;
const K_FORMAT_CHECK: usize = 32;
const K_REM_MISSING: usize = 36;
const K_REM_LENGTH: usize = 40;
const K_EXPONENT: usize = 44;
const K_HASH_ALG: usize = 48;
const K_HASH: usize = 52;
const ISSUER_CERT: usize = memory.data<u32>([
  0x02, 15, 11, S_92, S_9F32,
  C_ISSUER_CERT_LENGTH, C_ISSUER_CERT_TRAILER, C_ISSUER_CERT_HEADER, C_ISSUER_CERT_FORMAT,
  C_ISSUER_REMAINDER_MISSING, C_ISSUER_REMAINDER_LENGTH, C_ISSUER_EXPONENT,
  C_ISSUER_CERT_HASH_ALGORITHM, C_ISSUER_CERT_HASH,
]);
const ICC_CERT: usize = memory.data<u32>([
  0x04, 21, 17, S_9F48, S_9F47,
  C_ICC_CERT_LENGTH, C_ICC_CERT_TRAILER, C_ICC_CERT_HEADER, C_ICC_CERT_FORMAT,
  C_ICC_REMAINDER_MISSING, C_ICC_REMAINDER_LENGTH, C_ICC_EXPONENT,
  C_ICC_CERT_HASH_ALGORITHM, C_ICC_CERT_HASH,
]);

/**
 * Recovers certificate `cert` (`n` bytes) with key (mod, n, exp, eLen) into XBUF and checks
 * the common steps of both tables: length, trailer, header, format, remainder, exponent, hash
 * algorithm and hash over X[1..n-22] ‖ remainder ‖ exponent ‖ `extra`. Writes the recovered key
 * (modulus, exponent) into cache entry `e` at +64 / +24 and returns 0, or a check code.
 */
function recoverRsa(
  k: usize, cert: usize, certLen: u32, mod: usize, n: u32, exp: usize, expLen: u32,
  extra: usize, extraLen: u32, e: usize,
): u32 {
  if (certLen != n) return load<u32>(k + K_LENGTH);
  if (rsaPublicRaw(mod, n, exp, expLen, cert, n, XBUF) != ST_OK) return load<u32>(k + K_LENGTH);
  if (load<u8>(XBUF + n - 1) != 0xBC) return load<u32>(k + K_TRAILER);
  if (load<u8>(XBUF) != 0x6A) return load<u32>(k + K_HEADER);
  if (<u32>load<u8>(XBUF, 1) != load<u32>(k + K_FORMAT)) return load<u32>(k + K_FORMAT_CHECK);
  const keyAt = <usize>load<u32>(k + K_KEY_AT);
  const nKey = <u32>load<u8>(XBUF + keyAt - 2);
  const eLen = <u32>load<u8>(XBUF + keyAt - 1);
  const inCert = n - <u32>keyAt - 21;
  let rem: usize = 0;
  let remLen: u32 = 0;
  if (nKey > inCert) {
    const remSlot = <i32>load<u32>(k + K_REM_SLOT);
    rem = sPtr(remSlot);
    if (rem == 0) return load<u32>(k + K_REM_MISSING);
    remLen = sLen(remSlot);
    if (remLen != nKey - inCert) return load<u32>(k + K_REM_LENGTH);
  }
  const expSlot = <i32>load<u32>(k + K_EXP_SLOT);
  const kExp = sPtr(expSlot);
  const kExpLen = sLen(expSlot);
  if (!validExponent(kExp, kExpLen) || kExpLen != eLen) return load<u32>(k + K_EXPONENT);
  if (load<u8>(XBUF + <usize>load<u32>(k + K_HASH_ALG_AT)) != 0x01) return load<u32>(k + K_HASH_ALG);
  let l = app(0, XBUF + 1, n - 22);
  l = app(l, rem, remLen);
  l = app(l, kExp, kExpLen);
  l = app(l, extra, extraLen);
  if (l > ENGINE_HBUF_SIZE) return C_ODA_DATA_TOO_LONG;
  if (!hashMatches(l, XBUF + n - 21)) return load<u32>(k + K_HASH);
  if (nKey > inCert) {
    memory.copy(e + 64, XBUF + keyAt, inCert);
    memory.copy(e + 64 + inCert, rem, remLen);
  } else memory.copy(e + 64, XBUF + keyAt, nKey);
  store<u8>(e, 1, 21);
  store<u8>(e, <u8>nKey, 22);
  store<u8>(e, <u8>kExpLen, 23);
  memory.copy(e + 24, kExp, kExpLen);
  return 0;
}

/** RSA issuer key into cache entry `e` (valid only on success); returns a check code or 0. */
export function recoverIssuerRsa(capk: usize, e: usize): u32 {
  const c = recoverRsa(
    ISSUER_CERT, sPtr(S_90), sLen(S_90), capk + CAPK_IN_KEY,
    <u32>load<u8>(capk + CAPK_IN_MODULUS_LENGTH), capk + CAPK_IN_EXPONENT,
    <u32>load<u8>(capk + CAPK_IN_EXPONENT_LENGTH), 0, 0, e,
  );
  if (c != 0) return c;
  const idLen = cnId(XBUF + 2, 4, e + 40);
  if (idLen < 3 || !opanStarts(e + 40, <u32>idLen)) return C_ISSUER_ID_MISMATCH;
  if (expired(XBUF + 6)) return C_ISSUER_CERT_EXPIRED;
  if (revoked(capk, XBUF + 8)) return C_ISSUER_CERT_REVOKED;
  if (load<u8>(XBUF, 12) != 0x01) return C_ISSUER_PK_ALGORITHM;
  const nI = <u32>load<u8>(e, 22);
  if (nI < 64 || nI > 248) return C_ISSUER_KEY_INVALID;
  store<u8>(e, <u8>idLen, 28);
  memory.copy(e + 30, XBUF + 6, 2);
  memory.copy(e + 32, XBUF + 8, 3);
  return 0;
}

/** RSA ICC key (format 04) with issuer entry `iss` into `e`; static data at SD. */
export function recoverIccRsa(iss: usize, e: usize, sdLen: u32): u32 {
  const nI = <u32>load<u8>(iss, 22);
  const c = recoverRsa(
    ICC_CERT, sPtr(S_9F46), sLen(S_9F46), iss + 64, nI, iss + 24, <u32>load<u8>(iss, 23),
    ENGINE_SD, sdLen, e,
  );
  if (c != 0) return c;
  if (!certPanMatches(XBUF + 2)) return C_ICC_PAN_MISMATCH;
  if (expired(XBUF + 12)) return C_ICC_CERT_EXPIRED;
  if (load<u8>(XBUF, 18) != 0x01) return C_ICC_PK_ALGORITHM;
  const nIc = <u32>load<u8>(e, 22);
  if (nIc < 64 || nIc > nI) return C_ICC_KEY_INVALID;
  const opanLen = load<u32>(REC_OPAN_LEN);
  store<u8>(e, <u8>opanLen, 28);
  memory.copy(e + 30, XBUF + 12, 2);
  memory.copy(e + 40, ENGINE_OPAN, min<u32>(opanLen, 20));
  return 0;
}

/** SM2 issuer key (format 12) into `e`; returns a check code or 0. */
export function recoverIssuerSm2(capk: usize, e: usize): u32 {
  const c = sPtr(S_90);
  const len = sLen(S_90);
  if (len < 78) return C_ISSUER_CERT_LENGTH;
  const keyLen = <u32>load<u8>(c, 13);
  if (keyLen != 0x40 || len != 14 + keyLen + 64) return C_ISSUER_CERT_LENGTH;
  if (load<u8>(c, 10) != 0x04) return C_ISSUER_PK_ALGORITHM;
  // Byte 11: key-encryption algorithm 00 (none); byte 12: curve parameter 11 (SM2).
  if (load<u8>(c, 11) != 0x00 || load<u8>(c, 12) != 0x11) return C_ISSUER_CERT_CURVE;
  if (sm2VerifyRaw(capk + CAPK_IN_KEY, ENGINE_IDBUF, 16, c, 78, c + 78) != ST_OK) {
    return C_ISSUER_CERT_SIGNATURE;
  }
  const idLen = cnId(c + 1, 4, e + 40);
  if (idLen < 3 || !opanStarts(e + 40, <u32>idLen)) return C_ISSUER_ID_MISMATCH;
  if (expired(c + 5)) return C_ISSUER_CERT_EXPIRED;
  if (revoked(capk, c + 7)) return C_ISSUER_CERT_REVOKED;
  if (sm2CheckPoint(c + 14) != ST_OK) return C_ISSUER_KEY_INVALID;
  memory.copy(e + 64, c + 14, 64);
  store<u8>(e, 2, 21);
  store<u8>(e, 64, 22);
  store<u8>(e, 0, 23);
  store<u8>(e, <u8>idLen, 28);
  memory.copy(e + 30, c + 5, 2);
  memory.copy(e + 32, c + 7, 3);
  return 0;
}

/** SM2 ICC key (format 14) signed by the issuer over cert[0..84) ‖ static data. */
export function recoverIccSm2(iss: usize, e: usize, sdLen: u32): u32 {
  const c = sPtr(S_9F46);
  const len = sLen(S_9F46);
  if (len >= 1 && load<u8>(c) != 0x14) return C_ICC_CERT_FORMAT;
  if (len < 84) return C_ICC_CERT_LENGTH;
  const keyLen = <u32>load<u8>(c, 19);
  if (keyLen != 0x40 || len != 20 + keyLen + 64) return C_ICC_CERT_LENGTH;
  if (load<u8>(c, 16) != 0x04) return C_ICC_PK_ALGORITHM;
  if (load<u8>(c, 17) != 0x00 || load<u8>(c, 18) != 0x11) return C_ICC_CERT_CURVE;
  let l = app(0, c, 84);
  l = app(l, ENGINE_SD, sdLen);
  if (l > ENGINE_HBUF_SIZE) return C_ODA_DATA_TOO_LONG;
  if (sm2VerifyRaw(iss + 64, ENGINE_IDBUF, 16, HBUF, l, c + 84) != ST_OK) {
    return C_ICC_CERT_SIGNATURE;
  }
  if (!certPanMatches(c + 1)) return C_ICC_PAN_MISMATCH;
  if (expired(c + 11)) return C_ICC_CERT_EXPIRED;
  if (sm2CheckPoint(c + 20) != ST_OK) return C_ICC_KEY_INVALID;
  const opanLen = load<u32>(REC_OPAN_LEN);
  memory.copy(e + 64, c + 20, 64);
  store<u8>(e, 2, 21);
  store<u8>(e, 64, 22);
  store<u8>(e, 0, 23);
  store<u8>(e, <u8>opanLen, 28);
  memory.copy(e + 30, c + 11, 2);
  memory.copy(e + 40, ENGINE_OPAN, min<u32>(opanLen, 20));
  return 0;
}
