/**
 * SM2 offline data authentication (PBOC 3.0; formats of `docs/emv-pboc.md`): issuer
 * certificate 90 format 12 signed by the SM2 CA key, ICC certificate 9F46 format 14 signed by
 * the issuer over the certificate ‖ static data, and the dynamic signature 9F4B format 15.
 * Signatures are GB/T 32918.2 with Z over the default user ID `1234567812345678`.
 */
import type { Capk } from "./capk.ts";
import { concat, SM2_DEFAULT_ID, sm2IsOnCurve, sm2Verify } from "./primitives.ts";
import { toHex } from "../hex.ts";
import {
  certPan,
  checkIssuerFields,
  fail,
  type Failure,
  type IccCertInput,
  type IssuerCertInput,
  mmyyExpired,
  type OdaStep,
  pass,
  type RecoveredKey,
  recoveredKey,
  type Recovery,
} from "./oda_checks.ts";

/** Recovers the SM2 issuer key from certificate 90 format 12, signed by the SM2 CA key. */
export function recoverIssuerKeySm2(
  capk: Capk,
  input: IssuerCertInput,
  revoked: (serial: string) => boolean = () => false,
): Recovery {
  const steps: OdaStep[] = [];
  const c = input.cert;
  if (c.length < 14 + 64 || c[0] !== 0x12) {
    return c.length >= 1 && c[0] !== 0x12
      ? fail(steps, "ISSUER_CERT_FORMAT", `format ${toHex(c.subarray(0, 1))}`)
      : fail(steps, "ISSUER_CERT_LENGTH");
  }
  const keyLen = c[13];
  if (keyLen !== 0x40 || c.length !== 14 + keyLen + 64) {
    return fail(steps, "ISSUER_CERT_LENGTH", `90 is ${c.length} bytes, key length byte ${keyLen}`);
  }
  if (c[10] !== 0x04) return fail(steps, "ISSUER_PK_ALGORITHM");
  // Byte 11: key-encryption algorithm 00 (none); byte 12: curve parameter 11 (SM2).
  if (c[11] !== 0x00 || c[12] !== 0x11) {
    return fail(steps, "ISSUER_CERT_CURVE", `bytes 11-12 ${toHex(c.subarray(11, 13))}`);
  }
  const body = c.subarray(0, 14 + keyLen);
  const sig = c.subarray(14 + keyLen);
  if (!sm2Verify(capk.publicKey!, body, sig, SM2_DEFAULT_ID)) {
    return fail(steps, "ISSUER_CERT_SIGNATURE");
  }
  pass(steps, "SM2 signature of the CA over 90[0..77]", `CA ${capk.rid}/${capk.index}`);
  const f = checkIssuerFields(steps, c.subarray(1, 10), input, revoked);
  if (!f.ok) return f;
  const { id, expiry, serial } = f;
  const pub = c.slice(14, 14 + 64);
  if (!sm2IsOnCurve(pub)) return fail(steps, "ISSUER_KEY_INVALID", "not a point of the SM2 curve");
  pass(steps, "issuer id, expiry, serial, key on curve", `id ${id}, serial ${serial}`);
  return {
    ok: true,
    key: recoveredKey("sm2", pub, new Uint8Array(0)),
    fields: { id, expiry, serial },
    steps,
  };
}

/** Recovers the SM2 ICC key from 9F46 format 14, signed by the issuer over cert ‖ static data. */
export function recoverIccKeySm2(issuer: RecoveredKey, input: IccCertInput): Recovery {
  const steps: OdaStep[] = [];
  const c = input.cert;
  if (c.length >= 1 && c[0] !== 0x14) {
    return fail(steps, "ICC_CERT_FORMAT", `format ${toHex(c.subarray(0, 1))}`);
  }
  if (c.length < 20 + 64) return fail(steps, "ICC_CERT_LENGTH");
  const keyLen = c[19];
  if (keyLen !== 0x40 || c.length !== 20 + keyLen + 64) return fail(steps, "ICC_CERT_LENGTH");
  if (c[16] !== 0x04) return fail(steps, "ICC_PK_ALGORITHM");
  if (c[17] !== 0x00 || c[18] !== 0x11) {
    return fail(steps, "ICC_CERT_CURVE", `bytes 17-18 ${toHex(c.subarray(17, 19))}`);
  }
  const body = c.subarray(0, 20 + keyLen);
  const sig = c.subarray(20 + keyLen);
  if (!sm2Verify(issuer.modulus, concat(body, input.staticData), sig, SM2_DEFAULT_ID)) {
    return fail(steps, "ICC_CERT_SIGNATURE");
  }
  pass(steps, "SM2 signature of the issuer over 9F46[0..83] ‖ static data", "");
  if (toHex(c.subarray(1, 11)) !== certPan(input.pan)) return fail(steps, "ICC_PAN_MISMATCH");
  const expiry = toHex(c.subarray(11, 13));
  if (mmyyExpired(c.subarray(11, 13), input.txnDate) !== false) {
    return fail(steps, "ICC_CERT_EXPIRED", `expiry ${expiry} (MMYY), 9A ${input.txnDate}`);
  }
  const pub = c.slice(20, 84);
  if (!sm2IsOnCurve(pub)) return fail(steps, "ICC_KEY_INVALID", "not a point of the SM2 curve");
  pass(steps, "PAN, expiry, key on curve", `expiry ${expiry}`);
  return {
    ok: true,
    key: recoveredKey("sm2", pub, new Uint8Array(0)),
    fields: { id: input.pan, expiry, serial: toHex(c.subarray(13, 16)) },
    steps,
  };
}

/** Verifies the SM2 dynamic signature 9F4B format 15: `15 ‖ L_DD ‖ ICC dynamic data ‖ r‖s`. */
export function verifyDynamicSignatureSm2(
  icc: RecoveredKey,
  sdad: Uint8Array,
  terminalData: Uint8Array,
): { ok: true; iccDynamicData: Uint8Array; format: number; steps: OdaStep[] } | Failure {
  const steps: OdaStep[] = [];
  if (sdad.length < 2 + 64) return fail(steps, "SDAD_LENGTH");
  if (sdad[0] !== 0x15) return fail(steps, "SDAD_FORMAT");
  const lDd = sdad[1];
  if (sdad.length !== 2 + lDd + 64) return fail(steps, "SDAD_DYNAMIC_LENGTH");
  const body = sdad.subarray(0, 2 + lDd);
  if (!sm2Verify(icc.modulus, concat(body, terminalData), sdad.subarray(2 + lDd), SM2_DEFAULT_ID)) {
    return fail(steps, "SDAD_SIGNATURE");
  }
  pass(steps, "SM2 dynamic signature over 15 ‖ L_DD ‖ data ‖ terminal data", toHex(terminalData));
  return { ok: true, iccDynamicData: sdad.slice(2, 2 + lDd), format: 0x15, steps };
}

/**
 * SM2 SDA (docs/emv-pboc.md, SM2): 93 = 13 ‖ DAC (2) ‖ the issuer's SM2 signature over
 * 13 ‖ DAC ‖ static data to be authenticated; returns the DAC.
 */
export function verifySdaSm2(
  issuer: RecoveredKey,
  ssad: Uint8Array,
  staticData: Uint8Array,
): { ok: true; dac: Uint8Array; steps: OdaStep[] } | Failure {
  const steps: OdaStep[] = [];
  if (ssad.length >= 1 && ssad[0] !== 0x13) {
    return fail(steps, "SSAD_FORMAT", `format ${toHex(ssad.subarray(0, 1))}`);
  }
  if (ssad.length !== 3 + 64) return fail(steps, "SSAD_LENGTH", `93 is ${ssad.length} bytes`);
  const head = ssad.subarray(0, 3);
  if (!sm2Verify(issuer.modulus, concat(head, staticData), ssad.subarray(3), SM2_DEFAULT_ID)) {
    return fail(steps, "SSAD_SIGNATURE");
  }
  pass(
    steps,
    "SM2 SDA: signature of the issuer over 13 ‖ DAC ‖ static data",
    `DAC ${toHex(ssad.subarray(1, 3))}`,
  );
  return { ok: true, dac: ssad.slice(1, 3), steps };
}
