// Offline data authentication in the kernel (docs/emv-pboc.md; EMV 4.4 Book 2 §5.3, §5.4,
// §6.4, §6.5; SM2 formats 12/14/15). Same checks, same order and the same check codes as the
// readable core/emv/oda.ts (both from kernel-as/contract.ts ODA_CHECKS): RSA SDA, RSA fDDA
// 00/01, SM2 fDDA. Certificate recovery and the recovered-key caches are in engine_certs.ts.

import {
  ENGINE_BASE,
  ENGINE_CAPKS,
  ENGINE_CKEY,
  ENGINE_HBUF,
  ENGINE_HBUF_SIZE,
  ENGINE_ICC_CACHE,
  ENGINE_IDBUF,
  ENGINE_IKEY,
  ENGINE_ISS_CACHE,
  ENGINE_OPAN,
  ENGINE_SD,
  ENGINE_TBUF,
  ENGINE_XBUF,
} from "./memory";
import { ST_OK } from "./status";
import {
  C_CAPK_EXPIRED,
  C_CAPK_UNKNOWN,
  C_FDDA_VERSION,
  C_ICC_CERT_EXPIRED,
  C_ICC_PAN_MISMATCH,
  C_ISSUER_CERT_EXPIRED,
  C_ISSUER_CERT_FORMAT,
  C_ISSUER_CERT_REVOKED,
  C_ISSUER_ID_MISMATCH,
  C_ODA_DATA_MISSING,
  C_ODA_DATA_TOO_LONG,
  C_SDA_TAG_LIST,
  C_SDAD_DYNAMIC_LENGTH,
  C_SDAD_FORMAT,
  C_SDAD_HASH,
  C_SDAD_HASH_ALGORITHM,
  C_SDAD_HEADER,
  C_SDAD_LENGTH,
  C_SDAD_SIGNATURE,
  C_SDAD_TRAILER,
  C_SSAD_FORMAT,
  C_SSAD_HASH,
  C_SSAD_HASH_ALGORITHM,
  C_SSAD_HEADER,
  C_SSAD_LENGTH,
  C_SSAD_TRAILER,
  CAPK_IN_BYTES,
  CAPK_IN_EXPIRY,
  CAPK_IN_INDEX,
  CAPK_IN_RID,
  DESC_SD,
  DESC_SD_LEN,
  LIMIT_STATIC_DATA_MAX,
  METHOD_FDDA,
  METHOD_NONE,
  METHOD_SDA,
  METHOD_SM2_FDDA,
  ODA_ABSENT,
  ODA_FAILED,
  ODA_NO_CAPK,
  ODA_OK,
  odaCheckFinding,
  RES_ODA,
  RES_ODA_CHECK,
  RES_ODA_METHOD,
  S_4F,
  S_5F2A,
  S_82,
  S_84,
  S_8F,
  S_90,
  S_92,
  S_93,
  S_9F02,
  S_9F32,
  S_9F37,
  S_9F46,
  S_9F47,
  S_9F48,
  S_9F4A,
  S_9F4B,
  S_9F69,
  C_SDAD_CTQ,
  C_SDAD_DYNAMIC_NUMBER,
  C_SSAD_SIGNATURE,
  METHOD_CERTS,
  METHOD_SM2_CERTS,
  METHOD_SM2_SDA,
  ODA_CERTS_ONLY,
  RES_ODA_FORMAT,
  S_9F36,
  S_9F6C,
} from "./contract";
import {
  REC_OPAN_LEN,
  REC_TXN_YMD,
  sLen,
  sPtr,
} from "./engine_slots";
import { sha1Into } from "./sha1";
import { rsaPublicRaw } from "./rsa";
import { sm2VerifyRaw } from "./sm2";
import {
  odaPan,
  txnDate,
  expired,
  opanStarts,
  revoked,
  hashMatches,
  cacheFind,
  entryAt,
  app,
  recoverIssuerRsa,
  recoverIccRsa,
  recoverIssuerSm2,
  recoverIccSm2,
  ICC_ENTRIES,
  ISS_ENTRIES,
} from "./engine_certs";

const HBUF = ENGINE_HBUF;
const XBUF = ENGINE_XBUF;
/** Check codes are below this; a step that finds a key returns its cache entry (above). */
const CHECK_LIMIT: usize = 0x100;
// The default SM2 user ID (GM/T 0009; docs/emv-pboc.md); copied to IDBUF because the SM2
// functions accept only region pointers.
const SM2_ID_STATIC: usize = memory.data<u8>([
  0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,
]);

// ---- the steps of one record ----

/** The CA key for the record's RID (4F, else 84) and index (8F), or 0. */
function capkOf(aid: usize): usize {
  const count = load<u32>(ENGINE_BASE, 8);
  if (sLen(S_8F) < 1) return 0;
  const idx = load<u8>(sPtr(S_8F));
  for (let i: u32 = 0; i < count; i++) {
    const c = ENGINE_CAPKS + <usize>i * CAPK_IN_BYTES;
    if (load<u8>(c + CAPK_IN_INDEX) == idx && memory.compare(c + CAPK_IN_RID, aid, 5) == 0) {
      return c;
    }
  }
  return 0;
}

/**
 * The issuer key's cache entry (cached by SHA-1(RID ‖ index ‖ 90 ‖ 92 ‖ 9F32), per-record checks
 * again on a hit), or the failed check code (below CHECK_LIMIT).
 */
function issuerKey(capk: usize, sm2: bool): usize {
  const cert90 = sPtr(S_90);
  let l = app(0, capk + CAPK_IN_RID, 5);
  l = app(l, capk + CAPK_IN_INDEX, 1);
  l = app(l, cert90, sLen(S_90));
  l = app(l, sPtr(S_92), sLen(S_92));
  if (l >= ENGINE_HBUF_SIZE) return C_ODA_DATA_TOO_LONG;
  store<u8>(HBUF + l, 0xA5); // separator: "92 absent" differs from "92 empty"
  l = app(l + 1, sPtr(S_9F32), sLen(S_9F32));
  if (l > ENGINE_HBUF_SIZE) return C_ODA_DATA_TOO_LONG;
  sha1Into(HBUF, l, ENGINE_IKEY);
  let iss = cacheFind(ENGINE_ISS_CACHE, ISS_ENTRIES, ENGINE_IKEY);
  if (iss != 0) {
    if (!opanStarts(iss + 40, <u32>load<u8>(iss, 28))) return C_ISSUER_ID_MISMATCH;
    if (expired(iss + 30)) return C_ISSUER_CERT_EXPIRED;
    if (revoked(capk, iss + 32)) return C_ISSUER_CERT_REVOKED;
  } else {
    iss = entryAt(ENGINE_ISS_CACHE, ISS_ENTRIES, ENGINE_IKEY);
    store<u8>(iss, 0, 20);
    const c = sm2 ? recoverIssuerSm2(capk, iss) : recoverIssuerRsa(capk, iss);
    if (c != 0) return c;
    memory.copy(iss, ENGINE_IKEY, 20);
    store<u8>(iss, 1, 20);
  }
  return iss;
}

/** Static data to be authenticated (AFL records ‖ AIP when 9F4A = 82) into SD; length or -check. */
function staticData(d: usize): i32 {
  const sdl = load<u32>(d + DESC_SD_LEN);
  if (sdl > LIMIT_STATIC_DATA_MAX) return -(<i32>C_ODA_DATA_TOO_LONG);
  const tagList = sPtr(S_9F4A);
  const tl = sLen(S_9F4A);
  let withAip = false;
  if (tagList != 0 && tl > 0) {
    if (tl != 1 || load<u8>(tagList) != 0x82) return -(<i32>C_SDA_TAG_LIST);
    if (sPtr(S_82) == 0 || sLen(S_82) != 2) return -(<i32>C_ODA_DATA_MISSING);
    withAip = true;
  }
  if (sdl) memory.copy(ENGINE_SD, <usize>load<u32>(d + DESC_SD), sdl);
  if (withAip) memory.copy(ENGINE_SD + sdl, sPtr(S_82), 2);
  return <i32>(withAip ? sdl + 2 : sdl);
}

/** RSA SDA: signed static application data 93 (Table 7) with the issuer key. */
function sda(iss: usize, sdLen: u32, res: usize): u32 {
  const nI = <u32>load<u8>(iss, 22);
  const ssad = sPtr(S_93);
  if (sLen(S_93) != nI) return C_SSAD_LENGTH;
  if (rsaPublicRaw(iss + 64, nI, iss + 24, <u32>load<u8>(iss, 23), ssad, nI, XBUF) != ST_OK) {
    return C_SSAD_LENGTH;
  }
  if (load<u8>(XBUF + nI - 1) != 0xBC) return C_SSAD_TRAILER;
  if (load<u8>(XBUF) != 0x6A) return C_SSAD_HEADER;
  if (load<u8>(XBUF, 1) != 0x03) return C_SSAD_FORMAT;
  if (load<u8>(XBUF, 2) != 0x01) return C_SSAD_HASH_ALGORITHM;
  let hl = app(0, XBUF + 1, nI - 22);
  hl = app(hl, ENGINE_SD, sdLen);
  if (hl > ENGINE_HBUF_SIZE) return C_ODA_DATA_TOO_LONG;
  if (!hashMatches(hl, XBUF + nI - 21)) return C_SSAD_HASH;
  store<u8>(res + RES_ODA_FORMAT, 0x03);
  return 0;
}

/** SM2 SDA: 93 = 13 ‖ DAC (2) ‖ SM2 signature of the issuer over 13 ‖ DAC ‖ static data. */
function sm2Sda(iss: usize, sdLen: u32, res: usize): u32 {
  const ssad = sPtr(S_93);
  const len = sLen(S_93);
  if (len >= 1 && load<u8>(ssad) != 0x13) return C_SSAD_FORMAT;
  if (len != 3 + 64) return C_SSAD_LENGTH;
  let m = app(0, ssad, 3);
  m = app(m, ENGINE_SD, sdLen);
  if (m > ENGINE_HBUF_SIZE) return C_ODA_DATA_TOO_LONG;
  if (sm2VerifyRaw(iss + 64, ENGINE_IDBUF, 16, HBUF, m, ssad + 3) != ST_OK) {
    return C_SSAD_SIGNATURE;
  }
  store<u8>(res + RES_ODA_FORMAT, 0x13);
  return 0;
}

/**
 * The ICC key's cache entry (cached by SHA-1(issuer key ‖ 9F46 ‖ 9F48 ‖ 9F47 ‖ static data),
 * per-record checks again on a hit), or the failed check code (below CHECK_LIMIT).
 */
function iccKey(iss: usize, sm2: bool, sdLen: u32): usize {
  if (sPtr(S_9F46) == 0) return C_ODA_DATA_MISSING;
  let k = app(0, iss + 64, <u32>load<u8>(iss, 22));
  k = app(k, sPtr(S_9F46), sLen(S_9F46));
  k = app(k, sPtr(S_9F48), sLen(S_9F48));
  if (k >= ENGINE_HBUF_SIZE) return C_ODA_DATA_TOO_LONG;
  store<u8>(HBUF + k, 0xA5);
  k = app(k + 1, sPtr(S_9F47), sLen(S_9F47));
  k = app(k, ENGINE_SD, sdLen);
  if (k > ENGINE_HBUF_SIZE) return C_ODA_DATA_TOO_LONG;
  sha1Into(HBUF, k, ENGINE_CKEY);
  let icc = cacheFind(ENGINE_ICC_CACHE, ICC_ENTRIES, ENGINE_CKEY);
  if (icc != 0) {
    const n = <u32>load<u8>(icc, 28);
    if (
      n != load<u32>(REC_OPAN_LEN) || memory.compare(icc + 40, ENGINE_OPAN, min<u32>(n, 20)) != 0
    ) return C_ICC_PAN_MISMATCH;
    if (expired(icc + 30)) return C_ICC_CERT_EXPIRED;
  } else {
    icc = entryAt(ENGINE_ICC_CACHE, ICC_ENTRIES, ENGINE_CKEY);
    store<u8>(icc, 0, 20);
    const c = sm2 ? recoverIccSm2(iss, icc, sdLen) : recoverIccRsa(iss, icc, sdLen);
    if (c != 0) return c;
    memory.copy(icc, ENGINE_CKEY, 20);
    store<u8>(icc, 1, 20);
  }
  return icc;
}

/** fDDA terminal data into TBUF (docs/verification.md conventions); length, or -check. */
function terminalData(): i32 {
  const un = sPtr(S_9F37);
  if (un == 0 || sLen(S_9F37) != 4) return -(<i32>C_ODA_DATA_MISSING);
  const cad = sPtr(S_9F69);
  const cadLen = sLen(S_9F69);
  const version: u32 = cad != 0 && cadLen > 0 ? <u32>load<u8>(cad) : 0;
  memory.copy(ENGINE_TBUF, un, 4);
  if (version == 0) return 4;
  if (version != 1) return -(<i32>C_FDDA_VERSION);
  const amt = sPtr(S_9F02);
  const cur = sPtr(S_5F2A);
  if (amt == 0 || sLen(S_9F02) != 6 || cur == 0 || sLen(S_5F2A) != 2 || cadLen > 200) {
    return -(<i32>C_ODA_DATA_MISSING);
  }
  memory.copy(ENGINE_TBUF + 4, amt, 6);
  memory.copy(ENGINE_TBUF + 10, cur, 2);
  memory.copy(ENGINE_TBUF + 12, cad, cadLen);
  return <i32>(12 + cadLen);
}

/** SM2 signed dynamic data (format 15): the address of L_DD ‖ ICC dynamic data, or a check. */
function dynamicSm2(icc: usize, tl: u32): usize {
  const sdad = sPtr(S_9F4B);
  const len = sLen(S_9F4B);
  if (len < 66) return C_SDAD_LENGTH;
  if (load<u8>(sdad) != 0x15) return C_SDAD_FORMAT;
  const lDd = <u32>load<u8>(sdad, 1);
  if (len != 2 + lDd + 64) return C_SDAD_DYNAMIC_LENGTH;
  let m = app(0, sdad, 2 + lDd);
  m = app(m, ENGINE_TBUF, tl);
  if (sm2VerifyRaw(icc + 64, ENGINE_IDBUF, 16, HBUF, m, sdad + 2 + lDd) != ST_OK) {
    return C_SDAD_SIGNATURE;
  }
  return sdad + 1; // L_DD ‖ ICC dynamic data
}

/**
 * RSA signed dynamic data (Table 17; format 05, or 95 as a real contactless card signs it with
 * the same hash over the fDDA terminal data): the recovered L_DD ‖ ICC dynamic data's address,
 * or a check.
 */
function dynamicRsa(icc: usize, tl: u32): usize {
  const sdad = sPtr(S_9F4B);
  const n = <u32>load<u8>(icc, 22);
  if (sLen(S_9F4B) != n) return C_SDAD_LENGTH;
  if (rsaPublicRaw(icc + 64, n, icc + 24, <u32>load<u8>(icc, 23), sdad, n, XBUF) != ST_OK) {
    return C_SDAD_LENGTH;
  }
  if (load<u8>(XBUF + n - 1) != 0xBC) return C_SDAD_TRAILER;
  if (load<u8>(XBUF) != 0x6A) return C_SDAD_HEADER;
  const format = load<u8>(XBUF, 1);
  if (format != 0x05 && format != 0x95) return C_SDAD_FORMAT;
  if (load<u8>(XBUF, 2) != 0x01) return C_SDAD_HASH_ALGORITHM;
  if (<u32>load<u8>(XBUF, 3) > n - 25) return C_SDAD_DYNAMIC_LENGTH;
  let hl = app(0, XBUF + 1, n - 22);
  hl = app(hl, ENGINE_TBUF, tl);
  return hashMatches(hl, XBUF + n - 21) ? XBUF + 3 : C_SDAD_HASH;
}

/**
 * fDDA bound to the tap (docs/emv-pboc.md, fDDA): the ICC dynamic data at `dd` (L_DD first)
 * starts with the dynamic number 02 ‖ ATC of 9F36, and the CTQ inside 9F69 (01 ‖ random ‖
 * CTQ ‖ DF61) equals 9F6C when both are there.
 */
function boundToTap(dd: usize): u32 {
  const atc = sPtr(S_9F36);
  if (atc == 0 || sLen(S_9F36) != 2) return C_ODA_DATA_MISSING;
  if (
    load<u8>(dd) < 3 || load<u8>(dd, 1) != 0x02 || load<u16>(dd + 2) != load<u16>(atc)
  ) return C_SDAD_DYNAMIC_NUMBER;
  const cad = sPtr(S_9F69);
  const ctq = sPtr(S_9F6C);
  if (cad == 0 || sLen(S_9F69) < 7 || load<u8>(cad) != 0x01 || ctq == 0 || sLen(S_9F6C) != 2) {
    return 0;
  }
  return load<u16>(cad + 5) == load<u16>(ctq) ? 0 : C_SDAD_CTQ;
}

/** The dynamic signature 9F4B over the fDDA terminal data with ICC key entry `icc`. */
function dynamicSignature(icc: usize, sm2: bool, res: usize): u32 {
  const tl = terminalData();
  if (tl < 0) return <u32>(-tl);
  const dd = sm2 ? dynamicSm2(icc, <u32>tl) : dynamicRsa(icc, <u32>tl);
  if (dd < CHECK_LIMIT) return <u32>dd;
  const c = boundToTap(dd);
  if (c == 0) store<u8>(res + RES_ODA_FORMAT, sm2 ? 0x15 : load<u8>(XBUF, 1));
  return c;
}

/** The oda verdict byte and failed check of `check` (0: ok); its findings bits. */
function odaVerdict(res: usize, check: u32): u32 {
  store<u32>(res + RES_ODA_CHECK, check);
  if (check == 0) {
    store<u8>(res + RES_ODA, ODA_OK);
    return 0;
  }
  store<u8>(res + RES_ODA, check == C_CAPK_UNKNOWN ? ODA_NO_CAPK : ODA_FAILED);
  return odaCheckFinding(check);
}

/**
 * ODA with the CA key `capk` found: issuer key, static data, then fDDA (ICC key + 9F4B), SDA
 * (93), or the certificates alone.
 */
function odaChain(d: usize, res: usize, capk: usize, sm2: bool): u32 {
  const iss = issuerKey(capk, sm2);
  if (iss < CHECK_LIMIT) return <u32>iss;
  const sd = staticData(d);
  if (sd < 0) return <u32>(-sd);
  if (sPtr(S_9F4B) == 0 && sPtr(S_93) != 0) {
    return sm2 ? sm2Sda(iss, <u32>sd, res) : sda(iss, <u32>sd, res);
  }
  const icc = iccKey(iss, sm2, <u32>sd);
  if (icc < CHECK_LIMIT) return <u32>icc;
  return sPtr(S_9F4B) == 0 ? 0 : dynamicSignature(icc, sm2, res);
}

/** The method the evidence shows: fDDA (9F4B), SDA (93) or the certificates alone. */
function methodOf(sm2: bool): u8 {
  if (sPtr(S_9F4B) != 0) return sm2 ? METHOD_SM2_FDDA : METHOD_FDDA;
  if (sPtr(S_93) != 0) return sm2 ? METHOD_SM2_SDA : METHOD_SDA;
  return sm2 ? METHOD_SM2_CERTS : METHOD_CERTS;
}

/**
 * ODA of the record in the slots (descriptor `d`); writes the oda verdict, method, format and
 * check into the result and returns the findings bits. A chain without 9F4B/93 (certificates
 * alone) is checked and reported as certs-only.
 */
export function odaOne(d: usize, res: usize): u32 {
  store<u32>(res + RES_ODA_CHECK, 0);
  store<u8>(res + RES_ODA_METHOD, METHOD_NONE);
  const cert90 = sPtr(S_90);
  const signed = sPtr(S_9F4B) != 0 || sPtr(S_93) != 0;
  if (sPtr(S_8F) == 0 || cert90 == 0 || (!signed && sPtr(S_9F46) == 0)) {
    store<u8>(res + RES_ODA, ODA_ABSENT);
    return 0;
  }
  // The method reported before a CA key is found is a guess from the certificate format; the
  // CA key's algorithm decides (an RSA certificate is signature output: its first byte is 0x12
  // one time in 256).
  const looksSm2 = sLen(S_90) > 0 && load<u8>(cert90) == 0x12;
  store<u8>(res + RES_ODA_METHOD, methodOf(looksSm2));
  let aid = sPtr(S_4F);
  let al = sLen(S_4F);
  if (aid == 0) {
    aid = sPtr(S_84);
    al = sLen(S_84);
  }
  const opanLen = odaPan();
  store<u32>(REC_OPAN_LEN, opanLen);
  if (aid == 0 || al < 5 || opanLen == 0 || !txnDate()) return odaVerdict(res, C_ODA_DATA_MISSING);
  const capk = capkOf(aid);
  if (capk == 0) return odaVerdict(res, C_CAPK_UNKNOWN);
  if (load<u32>(REC_TXN_YMD) > load<u32>(capk + CAPK_IN_EXPIRY)) {
    return odaVerdict(res, C_CAPK_EXPIRED);
  }
  const sm2 = load<u8>(capk) == 2;
  store<u8>(res + RES_ODA_METHOD, methodOf(sm2));
  if (sm2 && !looksSm2) return odaVerdict(res, C_ISSUER_CERT_FORMAT);
  if (sm2) memory.copy(ENGINE_IDBUF, SM2_ID_STATIC, 16);
  const f = odaVerdict(res, odaChain(d, res, capk, sm2));
  if (f == 0 && !signed) store<u8>(res + RES_ODA, ODA_CERTS_ONLY);
  return f;
}
