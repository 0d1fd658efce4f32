/**
 * Offline data authentication evidence, signed the way a CA, an issuer and a card sign it:
 * - RSA (EMV 4.4 Book 2): issuer public key certificate (§5.3, Table 6), ICC public key
 *   certificate (§6.4, Table 14), signed static application data (§5.4, Table 7) and signed
 *   dynamic application data (§6.5, Table 17; formats 05 and 95);
 * - SM2 (PBOC 3.0, docs/emv-pboc.md): issuer certificate format 12, ICC certificate format
 *   14 (bytes 11-12 / 17-18: key-encryption algorithm 00 and curve parameter 11), dynamic
 *   signature format 15 and static signature format 13 ‖ DAC ‖ signature.
 *
 * Every builder takes the fields it puts in the plain block, so a test can give wrong ones
 * (expired dates, another PAN, other curve bytes) and still get a correct signature.
 */
import { cat, compressedNumeric, uint, unhex } from "./bytes.ts";
import { type RsaKey, rsaPrivate } from "./rsa.ts";
import { type Sm2Key, sm2Sign } from "./sm2.ts";
import { sha1 } from "./sym.ts";

/** MMYY as the two BCD bytes of a certificate. */
function mmyy(s: string): Uint8Array {
  if (!/^[0-9]{4}$/.test(s)) throw new RangeError(`expiry must be MMYY, got ${s}`);
  return unhex(s);
}

function serial3(s: string): Uint8Array {
  if (!/^[0-9A-Fa-f]{6}$/.test(s)) throw new RangeError(`serial must be 6 hex digits`);
  return unhex(s);
}

/**
 * An RSA recoverable block of `n` bytes: 6A ‖ fields ‖ key part ‖ BB… ‖ SHA-1 ‖ BC, the hash
 * over fields ‖ key part ‖ padding ‖ `hashedAfter` (Book 2 §5.3 step 5, §6.4, §5.4, §6.5).
 */
function recoverable(n: number, fields: Uint8Array, keyPart: Uint8Array, hashedAfter: Uint8Array) {
  const body = new Uint8Array(n - 22).fill(0xbb);
  if (fields.length + keyPart.length > body.length) throw new RangeError("block too small");
  body.set(fields);
  body.set(keyPart, fields.length);
  return cat(Uint8Array.of(0x6a), body, sha1(cat(body, hashedAfter)), Uint8Array.of(0xbc));
}

export interface RsaIssuerCertSpec {
  /** Leading PAN digits (3-8), cn 4 bytes. */
  readonly issuerId: string;
  readonly expiry: string;
  readonly serial: string;
  readonly issuer: RsaKey;
  /** Change the plain block before signing (fault injection). */
  readonly tweak?: (plain: Uint8Array) => void;
}

/** RSA issuer certificate 90 with its remainder 92 and exponent 9F32 (Table 6). */
export function rsaIssuerCertificate(ca: RsaKey, s: RsaIssuerCertSpec) {
  const nCa = ca.modulus.length, nI = s.issuer.modulus.length;
  const inCert = nCa - 36;
  const fields = cat(
    Uint8Array.of(0x02),
    compressedNumeric(s.issuerId, 4),
    mmyy(s.expiry),
    serial3(s.serial),
    Uint8Array.of(0x01, 0x01, nI, s.issuer.exponent.length),
  );
  const remainder = s.issuer.modulus.slice(Math.min(inCert, nI));
  const plain = recoverable(
    nCa,
    fields,
    s.issuer.modulus.subarray(0, inCert),
    cat(remainder, s.issuer.exponent),
  );
  s.tweak?.(plain);
  return { cert: rsaPrivate(ca, plain), remainder, exponent: s.issuer.exponent, plain };
}

export interface RsaIccCertSpec {
  readonly pan: string;
  readonly expiry: string;
  readonly serial: string;
  readonly icc: RsaKey;
  /** Static data to be authenticated, AIP already appended when 9F4A lists 82. */
  readonly staticData: Uint8Array;
  readonly tweak?: (plain: Uint8Array) => void;
}

/** RSA ICC certificate 9F46 with remainder 9F48 and exponent 9F47 (Table 14). */
export function rsaIccCertificate(issuer: RsaKey, s: RsaIccCertSpec) {
  const nI = issuer.modulus.length, nIc = s.icc.modulus.length;
  const inCert = nI - 42;
  const fields = cat(
    Uint8Array.of(0x04),
    compressedNumeric(s.pan, 10),
    mmyy(s.expiry),
    serial3(s.serial),
    Uint8Array.of(0x01, 0x01, nIc, s.icc.exponent.length),
  );
  const remainder = s.icc.modulus.slice(Math.min(inCert, nIc));
  const plain = recoverable(
    nI,
    fields,
    s.icc.modulus.subarray(0, inCert),
    cat(remainder, s.icc.exponent, s.staticData),
  );
  s.tweak?.(plain);
  return { cert: rsaPrivate(issuer, plain), remainder, exponent: s.icc.exponent, plain };
}

/** Signed static application data 93 (Table 7): 6A 03 01 DAC BB… hash BC. */
export function rsaSignedStaticData(
  issuer: RsaKey,
  dac: Uint8Array,
  staticData: Uint8Array,
  tweak?: (plain: Uint8Array) => void,
): Uint8Array {
  const plain = recoverable(
    issuer.modulus.length,
    cat(Uint8Array.of(0x03, 0x01), dac),
    new Uint8Array(0),
    staticData,
  );
  tweak?.(plain);
  return rsaPrivate(issuer, plain);
}

/**
 * Signed dynamic application data 9F4B (Table 17): 6A ‖ format ‖ 01 ‖ L_DD ‖ ICC dynamic data
 * ‖ BB… ‖ SHA-1(format … padding ‖ terminal dynamic data) ‖ BC. Format 05 (EMV) or 95 (seen
 * on a real contactless card).
 */
export function rsaSignedDynamicData(
  icc: RsaKey,
  format: number,
  iccDynamicData: Uint8Array,
  terminalData: Uint8Array,
  tweak?: (plain: Uint8Array) => void,
): Uint8Array {
  const plain = recoverable(
    icc.modulus.length,
    cat(Uint8Array.of(format, 0x01, iccDynamicData.length), iccDynamicData),
    new Uint8Array(0),
    terminalData,
  );
  tweak?.(plain);
  return rsaPrivate(icc, plain);
}

export interface Sm2IssuerCertSpec {
  readonly issuerId: string;
  readonly expiry: string;
  readonly serial: string;
  readonly issuer: Sm2Key;
  /** Byte 11 (key-encryption algorithm, 00) and byte 12 (curve parameter, 11). */
  readonly byte11?: number;
  readonly byte12?: number;
}

/** SM2 issuer certificate 90: 12 ‖ id ‖ MMYY ‖ serial ‖ 04 ‖ 00 ‖ 11 ‖ 40 ‖ x‖y ‖ r‖s. */
export function sm2IssuerCertificate(ca: Sm2Key, s: Sm2IssuerCertSpec): Uint8Array {
  const body = cat(
    Uint8Array.of(0x12),
    compressedNumeric(s.issuerId, 4),
    mmyy(s.expiry),
    serial3(s.serial),
    Uint8Array.of(0x04, s.byte11 ?? 0x00, s.byte12 ?? 0x11, 0x40),
    s.issuer.publicKey,
  );
  return cat(body, sm2Sign(ca, body));
}

export interface Sm2IccCertSpec {
  readonly pan: string;
  readonly expiry: string;
  readonly serial: string;
  readonly icc: Sm2Key;
  readonly staticData: Uint8Array;
  readonly byte17?: number;
  readonly byte18?: number;
}

/** SM2 ICC certificate 9F46: 14 ‖ PAN ‖ MMYY ‖ serial ‖ 04 00 11 40 ‖ x‖y ‖ sig(body ‖ static). */
export function sm2IccCertificate(issuer: Sm2Key, s: Sm2IccCertSpec): Uint8Array {
  const body = cat(
    Uint8Array.of(0x14),
    compressedNumeric(s.pan, 10),
    mmyy(s.expiry),
    serial3(s.serial),
    Uint8Array.of(0x04, s.byte17 ?? 0x00, s.byte18 ?? 0x11, 0x40),
    s.icc.publicKey,
  );
  return cat(body, sm2Sign(issuer, cat(body, s.staticData)));
}

/** SM2 dynamic signature 9F4B: 15 ‖ L_DD ‖ dd ‖ sig(15 ‖ L_DD ‖ dd ‖ terminal data). */
export function sm2SignedDynamicData(
  icc: Sm2Key,
  iccDynamicData: Uint8Array,
  terminalData: Uint8Array,
): Uint8Array {
  const head = cat(Uint8Array.of(0x15), uint(iccDynamicData.length, 1), iccDynamicData);
  return cat(head, sm2Sign(icc, cat(head, terminalData)));
}

/** SM2 signed static data 93: 13 ‖ DAC ‖ sig(13 ‖ DAC ‖ static data). */
export function sm2SignedStaticData(
  issuer: Sm2Key,
  dac: Uint8Array,
  staticData: Uint8Array,
): Uint8Array {
  const head = cat(Uint8Array.of(0x13), dac);
  return cat(head, sm2Sign(issuer, cat(head, staticData)));
}
