/**
 * Layout builders (the signing direction) for EMV Book 2 Tables 6, 7, 14, 17 and the PBOC SM2
 * formats 12, 14, 15 of `docs/emv-pboc.md`: they produce the data a CA, issuer or card signs,
 * for the simulator and tests. Nothing here signs.
 */
import { concat, sha1 } from "./primitives.ts";

function mmyy(expiry: string): Uint8Array {
  if (!/^[0-9]{4}$/.test(expiry)) throw new RangeError(`expiry must be MMYY, got "${expiry}"`);
  return Uint8Array.of(parseInt(expiry.slice(0, 2), 16), parseInt(expiry.slice(2), 16));
}

function cnPad(digits: string, bytes: number, what: string): Uint8Array {
  if (!/^[0-9]+$/.test(digits) || digits.length > bytes * 2) {
    throw new RangeError(`${what} must be at most ${bytes * 2} digits`);
  }
  const s = (digits + "F".repeat(bytes * 2)).slice(0, bytes * 2);
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function serial3(serial: string): Uint8Array {
  if (!/^[0-9A-Fa-f]{6}$/.test(serial)) throw new RangeError(`serial must be 6 hex digits`);
  return Uint8Array.of(...[0, 2, 4].map((i) => parseInt(serial.slice(i, i + 2), 16)));
}

function wrapRsa(n: number, headFields: Uint8Array, keyPart: Uint8Array, extraHashed: Uint8Array) {
  // 6A ‖ fields ‖ key part (padded BB) ‖ SHA-1 ‖ BC, hash over fields..padding ‖ extraHashed
  const body = new Uint8Array(n - 22);
  body.set(headFields);
  body.set(keyPart, headFields.length);
  body.fill(0xbb, headFields.length + keyPart.length);
  const hash = sha1(concat(body, extraHashed));
  return concat(Uint8Array.of(0x6a), body, hash, Uint8Array.of(0xbc));
}

/**
 * The plaintext of an RSA issuer certificate (Table 6), `nCa` bytes, to be signed with the CA
 * private key. Returns the plaintext and the remainder (92) it implies.
 */
export function issuerCertPlain(
  nCa: number,
  o: {
    issuerId: string;
    expiry: string;
    serial: string;
    modulus: Uint8Array;
    exponent: Uint8Array;
  },
): { plain: Uint8Array; remainder: Uint8Array } {
  const inCert = nCa - 36;
  const fields = concat(
    Uint8Array.of(0x02),
    cnPad(o.issuerId, 4, "issuerId"),
    mmyy(o.expiry),
    serial3(o.serial),
    Uint8Array.of(0x01, 0x01, o.modulus.length, o.exponent.length),
  );
  const keyPart = o.modulus.subarray(0, inCert);
  const remainder = o.modulus.slice(Math.min(inCert, o.modulus.length));
  return { plain: wrapRsa(nCa, fields, keyPart, concat(remainder, o.exponent)), remainder };
}

/** The plaintext of an RSA ICC certificate (Table 14), `nI` bytes, and its remainder (9F48). */
export function iccCertPlain(
  nI: number,
  o: {
    pan: string;
    expiry: string;
    serial: string;
    modulus: Uint8Array;
    exponent: Uint8Array;
    staticData: Uint8Array;
  },
): { plain: Uint8Array; remainder: Uint8Array } {
  const inCert = nI - 42;
  const fields = concat(
    Uint8Array.of(0x04),
    cnPad(o.pan, 10, "pan"),
    mmyy(o.expiry),
    serial3(o.serial),
    Uint8Array.of(0x01, 0x01, o.modulus.length, o.exponent.length),
  );
  const remainder = o.modulus.slice(Math.min(inCert, o.modulus.length));
  return {
    plain: wrapRsa(
      nI,
      fields,
      o.modulus.subarray(0, inCert),
      concat(remainder, o.exponent, o.staticData),
    ),
    remainder,
  };
}

/** The plaintext of signed static application data (Table 7), `nI` bytes. */
export function ssadPlain(nI: number, dac: Uint8Array, staticData: Uint8Array): Uint8Array {
  if (dac.length !== 2) throw new RangeError("dac must be 2 bytes");
  return wrapRsa(nI, concat(Uint8Array.of(0x03, 0x01), dac), new Uint8Array(0), staticData);
}

/** The plaintext of signed dynamic application data (Table 17), `nIc` bytes. */
export function sdadPlain(
  nIc: number,
  iccDynamicData: Uint8Array,
  terminalData: Uint8Array,
): Uint8Array {
  if (iccDynamicData.length > nIc - 25) throw new RangeError("iccDynamicData too long for the key");
  return wrapRsa(
    nIc,
    concat(Uint8Array.of(0x05, 0x01, iccDynamicData.length), iccDynamicData),
    new Uint8Array(0),
    terminalData,
  );
}

/** The signed part of an SM2 issuer certificate (format 12); the CA signs it, r‖s is appended. */
export function sm2IssuerCertBody(
  o: { issuerId: string; expiry: string; serial: string; publicKey: Uint8Array },
): Uint8Array {
  if (o.publicKey.length !== 64) throw new RangeError("publicKey must be 64 bytes x‖y");
  return concat(
    Uint8Array.of(0x12),
    cnPad(o.issuerId, 4, "issuerId"),
    mmyy(o.expiry),
    serial3(o.serial),
    Uint8Array.of(0x04, 0x00, 0x11, 0x40),
    o.publicKey,
  );
}

/** The signed part of an SM2 ICC certificate (format 14), before the static data. */
export function sm2IccCertBody(
  o: { pan: string; expiry: string; serial: string; publicKey: Uint8Array },
): Uint8Array {
  if (o.publicKey.length !== 64) throw new RangeError("publicKey must be 64 bytes x‖y");
  return concat(
    Uint8Array.of(0x14),
    cnPad(o.pan, 10, "pan"),
    mmyy(o.expiry),
    serial3(o.serial),
    Uint8Array.of(0x04, 0x00, 0x11, 0x40),
    o.publicKey,
  );
}

/** The head of an SM2 dynamic signature (format 15): `15 ‖ L_DD ‖ ICC dynamic data`. */
export function sm2DynamicBody(iccDynamicData: Uint8Array): Uint8Array {
  if (iccDynamicData.length > 255) throw new RangeError("iccDynamicData longer than 255 bytes");
  return concat(Uint8Array.of(0x15, iccDynamicData.length), iccDynamicData);
}
