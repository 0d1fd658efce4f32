/**
 * Offline data authentication, RSA and SM2 (domain.md §5; EMV 4.4 Book 2 §5-§6).
 *
 * RSA: issuer public key certificate (90, format 02, Book 2 §5.3 Table 6), ICC public key
 * certificate (9F46, format 04, §6.4 Table 14), SDA (93, format 03, §5.4 Table 7), DDA/fDDA
 * (9F4B, format 05, §6.5 Table 17; fDDA 00/01 per domain.md §5.6 and design.md §6) and CDA
 * (§6.6). SM2 (PBOC 3.0): certificate formats 12 and 14 and dynamic signature 15 (domain.md
 * §5.8). Every failure names the exact check (`OdaCheck`), in the order of Book 2.
 *
 * The layout builders (`*Plain`, `sm2*Body`) are the inverse, for the simulator and tests:
 * they produce the data a CA, issuer or card signs.
 *
 * Expiry checks use the transaction date 9A, never today's date (design.md §6): a
 * certificate is valid through the last day of its MMYY month.
 */
import { type Capk, capkExpired, type CapkSource, txnDateIso } from "./capk.ts";
import {
  concat,
  equalBytes,
  rsaPublic,
  sha1,
  sha256,
  SM2_DEFAULT_ID,
  sm2IsOnCurve,
  sm2Verify,
} from "./primitives.ts";
import { toHex } from "../hex.ts";

/** Every check that can fail, with a stable name. */
export type OdaCheck =
  | "CAPK_UNKNOWN"
  | "CAPK_EXPIRED"
  | "ODA_DATA_MISSING"
  | "ISSUER_CERT_LENGTH"
  | "ISSUER_CERT_TRAILER"
  | "ISSUER_CERT_HEADER"
  | "ISSUER_CERT_FORMAT"
  | "ISSUER_REMAINDER_MISSING"
  | "ISSUER_REMAINDER_LENGTH"
  | "ISSUER_EXPONENT"
  | "ISSUER_CERT_HASH_ALGORITHM"
  | "ISSUER_CERT_HASH"
  | "ISSUER_CERT_SIGNATURE"
  | "ISSUER_ID_MISMATCH"
  | "ISSUER_CERT_EXPIRED"
  | "ISSUER_CERT_REVOKED"
  | "ISSUER_PK_ALGORITHM"
  | "ISSUER_KEY_INVALID"
  | "ICC_CERT_LENGTH"
  | "ICC_CERT_TRAILER"
  | "ICC_CERT_HEADER"
  | "ICC_CERT_FORMAT"
  | "ICC_REMAINDER_MISSING"
  | "ICC_REMAINDER_LENGTH"
  | "ICC_EXPONENT"
  | "ICC_CERT_HASH_ALGORITHM"
  | "ICC_CERT_HASH"
  | "ICC_CERT_SIGNATURE"
  | "ICC_PAN_MISMATCH"
  | "ICC_CERT_EXPIRED"
  | "ICC_PK_ALGORITHM"
  | "ICC_KEY_INVALID"
  | "SDA_TAG_LIST"
  | "SSAD_LENGTH"
  | "SSAD_TRAILER"
  | "SSAD_HEADER"
  | "SSAD_FORMAT"
  | "SSAD_HASH_ALGORITHM"
  | "SSAD_HASH"
  | "SDAD_LENGTH"
  | "SDAD_TRAILER"
  | "SDAD_HEADER"
  | "SDAD_FORMAT"
  | "SDAD_HASH_ALGORITHM"
  | "SDAD_DYNAMIC_LENGTH"
  | "SDAD_HASH"
  | "SDAD_SIGNATURE"
  | "FDDA_VERSION"
  | "CDA_CID_MISMATCH"
  | "CDA_AC_MISMATCH"
  | "CDA_TDHC";

/** Every check in a fixed order; the kernel engine reports check `i + 1` for `ODA_CHECKS[i]`. */
export const ODA_CHECKS: readonly OdaCheck[] = [
  "CAPK_UNKNOWN",
  "CAPK_EXPIRED",
  "ODA_DATA_MISSING",
  "ISSUER_CERT_LENGTH",
  "ISSUER_CERT_TRAILER",
  "ISSUER_CERT_HEADER",
  "ISSUER_CERT_FORMAT",
  "ISSUER_REMAINDER_MISSING",
  "ISSUER_REMAINDER_LENGTH",
  "ISSUER_EXPONENT",
  "ISSUER_CERT_HASH_ALGORITHM",
  "ISSUER_CERT_HASH",
  "ISSUER_CERT_SIGNATURE",
  "ISSUER_ID_MISMATCH",
  "ISSUER_CERT_EXPIRED",
  "ISSUER_CERT_REVOKED",
  "ISSUER_PK_ALGORITHM",
  "ISSUER_KEY_INVALID",
  "ICC_CERT_LENGTH",
  "ICC_CERT_TRAILER",
  "ICC_CERT_HEADER",
  "ICC_CERT_FORMAT",
  "ICC_REMAINDER_MISSING",
  "ICC_REMAINDER_LENGTH",
  "ICC_EXPONENT",
  "ICC_CERT_HASH_ALGORITHM",
  "ICC_CERT_HASH",
  "ICC_CERT_SIGNATURE",
  "ICC_PAN_MISMATCH",
  "ICC_CERT_EXPIRED",
  "ICC_PK_ALGORITHM",
  "ICC_KEY_INVALID",
  "SDA_TAG_LIST",
  "SSAD_LENGTH",
  "SSAD_TRAILER",
  "SSAD_HEADER",
  "SSAD_FORMAT",
  "SSAD_HASH_ALGORITHM",
  "SSAD_HASH",
  "SDAD_LENGTH",
  "SDAD_TRAILER",
  "SDAD_HEADER",
  "SDAD_FORMAT",
  "SDAD_HASH_ALGORITHM",
  "SDAD_DYNAMIC_LENGTH",
  "SDAD_HASH",
  "SDAD_SIGNATURE",
  "FDDA_VERSION",
  "CDA_CID_MISMATCH",
  "CDA_AC_MISMATCH",
  "CDA_TDHC",
];

/** Human messages for every check. */
export const ODA_CHECK_MESSAGES: Readonly<Record<OdaCheck, string>> = {
  CAPK_UNKNOWN: "no CA public key for this RID and index",
  CAPK_EXPIRED: "CA public key expired at the transaction date",
  ODA_DATA_MISSING: "a data object needed for ODA is absent",
  ISSUER_CERT_LENGTH: "issuer certificate length differs from the CA key length",
  ISSUER_CERT_TRAILER: "recovered issuer certificate does not end with BC",
  ISSUER_CERT_HEADER: "recovered issuer certificate does not start with 6A",
  ISSUER_CERT_FORMAT: "issuer certificate format is not 02 (RSA) / 12 (SM2)",
  ISSUER_REMAINDER_MISSING: "issuer public key remainder (92) needed but absent",
  ISSUER_REMAINDER_LENGTH: "issuer public key remainder (92) has the wrong length",
  ISSUER_EXPONENT: "issuer public key exponent (9F32) absent, not 03/010001, or length differs",
  ISSUER_CERT_HASH_ALGORITHM: "issuer certificate hash algorithm is not 01 (SHA-1)",
  ISSUER_CERT_HASH: "issuer certificate hash does not match",
  ISSUER_CERT_SIGNATURE: "issuer certificate SM2 signature by the CA does not verify",
  ISSUER_ID_MISMATCH: "issuer identifier does not match the leading PAN digits",
  ISSUER_CERT_EXPIRED: "issuer certificate expired at the transaction date",
  ISSUER_CERT_REVOKED: "issuer certificate serial is on the revocation list",
  ISSUER_PK_ALGORITHM: "issuer public key algorithm indicator is not RSA 01 / SM2 04",
  ISSUER_KEY_INVALID: "issuer public key length or point is invalid",
  ICC_CERT_LENGTH: "ICC certificate length differs from the issuer key length",
  ICC_CERT_TRAILER: "recovered ICC certificate does not end with BC",
  ICC_CERT_HEADER: "recovered ICC certificate does not start with 6A",
  ICC_CERT_FORMAT: "ICC certificate format is not 04 (RSA) / 14 (SM2)",
  ICC_REMAINDER_MISSING: "ICC public key remainder (9F48) needed but absent",
  ICC_REMAINDER_LENGTH: "ICC public key remainder (9F48) has the wrong length",
  ICC_EXPONENT: "ICC public key exponent (9F47) absent, not 03/010001, or length differs",
  ICC_CERT_HASH_ALGORITHM: "ICC certificate hash algorithm is not 01 (SHA-1)",
  ICC_CERT_HASH: "ICC certificate hash does not match (certificate or static data altered)",
  ICC_CERT_SIGNATURE: "ICC certificate SM2 signature by the issuer does not verify",
  ICC_PAN_MISMATCH: "PAN in the ICC certificate differs from 5A",
  ICC_CERT_EXPIRED: "ICC certificate expired at the transaction date",
  ICC_PK_ALGORITHM: "ICC public key algorithm indicator is not RSA 01 / SM2 04",
  ICC_KEY_INVALID: "ICC public key length or point is invalid",
  SDA_TAG_LIST: "SDA tag list (9F4A) may contain only 82",
  SSAD_LENGTH: "signed static data (93) length differs from the issuer key length",
  SSAD_TRAILER: "recovered signed static data does not end with BC",
  SSAD_HEADER: "recovered signed static data does not start with 6A",
  SSAD_FORMAT: "signed static data format is not 03",
  SSAD_HASH_ALGORITHM: "signed static data hash algorithm is not 01 (SHA-1)",
  SSAD_HASH: "signed static data hash does not match",
  SDAD_LENGTH: "signed dynamic data (9F4B) length differs from the ICC key length",
  SDAD_TRAILER: "recovered signed dynamic data does not end with BC",
  SDAD_HEADER: "recovered signed dynamic data does not start with 6A",
  SDAD_FORMAT: "signed dynamic data format is not 05 (RSA) / 15 (SM2)",
  SDAD_HASH_ALGORITHM: "signed dynamic data hash algorithm is not 01 (SHA-1)",
  SDAD_DYNAMIC_LENGTH: "ICC dynamic data length does not fit the signed data",
  SDAD_HASH: "signed dynamic data hash does not match (terminal data or card data altered)",
  SDAD_SIGNATURE: "SM2 dynamic signature does not verify",
  FDDA_VERSION: "fDDA version (9F69 byte 1) is not 00 or 01",
  CDA_CID_MISMATCH: "CID inside the CDA signature differs from 9F27",
  CDA_AC_MISMATCH: "cryptogram inside the CDA signature differs from 9F26",
  CDA_TDHC: "transaction data hash code inside the CDA signature does not match",
};

/** One step of a check chain, for `icfare explain`. */
export interface OdaStep {
  readonly step: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** A public key recovered from a certificate. */
export interface RecoveredKey {
  readonly algorithm: "rsa" | "sm2";
  /** RSA modulus, or SM2 x‖y. */
  readonly modulus: Uint8Array;
  /** RSA exponent (empty for SM2). */
  readonly exponent: Uint8Array;
  /** SHA-256 of modulus (or x‖y), upper-case hex, for the archive (domain.md §5.9). */
  readonly fingerprint: string;
}

/** Fields read from a recovered certificate. */
export interface CertFields {
  /** Issuer identifier digits (issuer cert) or PAN digits (ICC cert). */
  readonly id: string;
  /** Expiry MMYY as printed. */
  readonly expiry: string;
  /** Serial, 6 hex digits. */
  readonly serial: string;
}

export type Recovery =
  | {
    readonly ok: true;
    readonly key: RecoveredKey;
    readonly fields: CertFields;
    readonly steps: OdaStep[];
  }
  | { readonly ok: false; readonly check: OdaCheck; readonly steps: OdaStep[] };

export type Failure = { readonly ok: false; readonly check: OdaCheck; readonly steps: OdaStep[] };

function fail(steps: OdaStep[], check: OdaCheck, detail?: string): Failure {
  steps.push({ step: check, ok: false, detail: detail ?? ODA_CHECK_MESSAGES[check] });
  return { ok: false, check, steps };
}

function pass(steps: OdaStep[], step: string, detail: string): void {
  steps.push({ step, ok: true, detail });
}

function fingerprint(b: Uint8Array): string {
  return toHex(sha256(b));
}

function validExponent(e: Uint8Array | undefined): boolean {
  if (!e) return false;
  const h = toHex(e);
  return h === "03" || h === "010001";
}

/** Digits of a cn field (stops at the first F); undefined when a non-digit nibble appears. */
function cnField(b: Uint8Array): string | undefined {
  const s = toHex(b);
  const f = s.indexOf("F");
  const digits = f < 0 ? s : s.slice(0, f);
  if (!/^[0-9]*$/.test(digits)) return undefined;
  if (f >= 0 && !/^F*$/.test(s.slice(f))) return undefined;
  return digits;
}

/**
 * True when the certificate's MMYY is before the transaction month (expired). `txn` is
 * YYYY-MM-DD. Years 00-49 → 20YY (design.md §6: valid through the last day of the month).
 */
export function mmyyExpired(mmyy: Uint8Array, txn: string): boolean | undefined {
  const s = toHex(mmyy);
  if (!/^[0-9]{4}$/.test(s)) return undefined;
  const mm = +s.slice(0, 2);
  const yy = +s.slice(2, 4);
  if (mm < 1 || mm > 12) return undefined;
  const y = yy < 50 ? 2000 + yy : 1900 + yy;
  const certMonth = y * 12 + mm;
  const txnMonth = +txn.slice(0, 4) * 12 + +txn.slice(5, 7);
  return certMonth < txnMonth;
}

/** Inputs of issuer public key recovery. */
export interface IssuerCertInput {
  /** Tag 90. */
  readonly cert: Uint8Array;
  /** Tag 92, if any. */
  readonly remainder?: Uint8Array;
  /** Tag 9F32 (RSA). */
  readonly exponent?: Uint8Array;
  /** PAN digits from 5A. */
  readonly pan: string;
  /** Transaction date, YYYY-MM-DD (from 9A). */
  readonly txnDate: string;
}

/**
 * Recovers and checks the RSA issuer public key from certificate 90 (EMV Book 2 §5.3, steps
 * 1-12) under the CA key. `revoked(serial)` answers the revocation list.
 */
export function recoverIssuerKeyRsa(
  capk: Capk,
  input: IssuerCertInput,
  revoked: (serial: string) => boolean = () => false,
): Recovery {
  const steps: OdaStep[] = [];
  const nCa = capk.modulus!.length;
  const cert = input.cert;
  // Book 2 §5.3 step 1: certificate length equals the CA modulus length.
  if (cert.length !== nCa) {
    return fail(steps, "ISSUER_CERT_LENGTH", `90 is ${cert.length} bytes, CA key ${nCa} bytes`);
  }
  let x: Uint8Array;
  try {
    x = rsaPublic(capk.modulus!, capk.exponent!, cert);
  } catch {
    return fail(steps, "ISSUER_CERT_LENGTH", "certificate value not below the CA modulus");
  }
  pass(steps, "recover 90 with CA key", `CA ${capk.rid}/${capk.index}, ${nCa * 8} bits`);
  // Step 2: trailer; step 3: header; step 4: format.
  if (x[nCa - 1] !== 0xbc) return fail(steps, "ISSUER_CERT_TRAILER");
  if (x[0] !== 0x6a) return fail(steps, "ISSUER_CERT_HEADER");
  if (x[1] !== 0x02) return fail(steps, "ISSUER_CERT_FORMAT", `format ${toHex(x.subarray(1, 2))}`);
  pass(steps, "header 6A, format 02, trailer BC", "");
  const nI = x[13];
  const eLen = x[14];
  const inCert = nCa - 36;
  // Step 5: the data to hash: X[1..N_CA-22] ‖ remainder ‖ exponent.
  let remainder: Uint8Array = new Uint8Array(0);
  if (nI > inCert) {
    if (!input.remainder) return fail(steps, "ISSUER_REMAINDER_MISSING");
    if (input.remainder.length !== nI - inCert) {
      return fail(
        steps,
        "ISSUER_REMAINDER_LENGTH",
        `92 is ${input.remainder.length} bytes, needs ${nI - inCert}`,
      );
    }
    remainder = input.remainder;
  }
  if (!validExponent(input.exponent) || input.exponent!.length !== eLen) {
    return fail(steps, "ISSUER_EXPONENT");
  }
  if (x[11] !== 0x01) return fail(steps, "ISSUER_CERT_HASH_ALGORITHM");
  const hash = sha1(concat(x.subarray(1, nCa - 21), remainder, input.exponent!));
  // Step 6-7: compare with the hash in the certificate.
  if (!equalBytes(hash, x.subarray(nCa - 21, nCa - 1))) return fail(steps, "ISSUER_CERT_HASH");
  pass(steps, "hash over certificate ‖ 92 ‖ 9F32", toHex(hash));
  // Step 8: issuer identifier matches the leftmost PAN digits.
  const id = cnField(x.subarray(2, 6));
  if (id === undefined || id.length < 3 || !input.pan.startsWith(id)) {
    return fail(steps, "ISSUER_ID_MISMATCH", `issuer id ${toHex(x.subarray(2, 6))}`);
  }
  // Step 9: expiry against the transaction date.
  const expired = mmyyExpired(x.subarray(6, 8), input.txnDate);
  if (expired !== false) {
    return fail(
      steps,
      "ISSUER_CERT_EXPIRED",
      `expiry ${toHex(x.subarray(6, 8))} (MMYY), 9A ${input.txnDate}`,
    );
  }
  // Step 10: revocation list on (RID, index, serial).
  const serial = toHex(x.subarray(8, 11));
  if (revoked(serial)) return fail(steps, "ISSUER_CERT_REVOKED", `serial ${serial}`);
  // Step 11: public key algorithm.
  if (x[12] !== 0x01) return fail(steps, "ISSUER_PK_ALGORITHM");
  if (nI < 64 || nI > 248) return fail(steps, "ISSUER_KEY_INVALID", `N_I ${nI}`);
  pass(
    steps,
    "issuer id, expiry, serial, algorithm",
    `id ${id}, expiry ${toHex(x.subarray(6, 8))}, serial ${serial}`,
  );
  // Step 12: the modulus.
  const modulus = nI > inCert
    ? concat(x.subarray(15, 15 + inCert), remainder)
    : x.slice(15, 15 + nI);
  return {
    ok: true,
    key: {
      algorithm: "rsa",
      modulus,
      exponent: input.exponent!.slice(),
      fingerprint: fingerprint(modulus),
    },
    fields: { id, expiry: toHex(x.subarray(6, 8)), serial },
    steps,
  };
}

/** The static data the ICC certificate / SDA signs: records ‖ AIP when 9F4A lists 82. */
export function staticDataToAuthenticate(
  records: Uint8Array,
  sdaTagList: Uint8Array | undefined,
  aip: Uint8Array | undefined,
): Uint8Array | "SDA_TAG_LIST" | "ODA_DATA_MISSING" {
  if (!sdaTagList || sdaTagList.length === 0) return records;
  if (sdaTagList.length !== 1 || sdaTagList[0] !== 0x82) return "SDA_TAG_LIST";
  if (!aip || aip.length !== 2) return "ODA_DATA_MISSING";
  return concat(records, aip);
}

/** Inputs of ICC public key recovery. */
export interface IccCertInput {
  readonly cert: Uint8Array;
  readonly remainder?: Uint8Array;
  readonly exponent?: Uint8Array;
  readonly pan: string;
  readonly txnDate: string;
  /** Static data to be authenticated, AIP already appended when 9F4A asks for it. */
  readonly staticData: Uint8Array;
}

/** Recovers and checks the RSA ICC public key from 9F46 (EMV Book 2 §6.4, steps 1-11). */
export function recoverIccKeyRsa(issuer: RecoveredKey, input: IccCertInput): Recovery {
  const steps: OdaStep[] = [];
  const nI = issuer.modulus.length;
  const cert = input.cert;
  if (cert.length !== nI) {
    return fail(steps, "ICC_CERT_LENGTH", `9F46 is ${cert.length} bytes, issuer key ${nI} bytes`);
  }
  let x: Uint8Array;
  try {
    x = rsaPublic(issuer.modulus, issuer.exponent, cert);
  } catch {
    return fail(steps, "ICC_CERT_LENGTH", "certificate value not below the issuer modulus");
  }
  pass(steps, "recover 9F46 with issuer key", `${nI * 8} bits`);
  if (x[nI - 1] !== 0xbc) return fail(steps, "ICC_CERT_TRAILER");
  if (x[0] !== 0x6a) return fail(steps, "ICC_CERT_HEADER");
  if (x[1] !== 0x04) return fail(steps, "ICC_CERT_FORMAT", `format ${toHex(x.subarray(1, 2))}`);
  pass(steps, "header 6A, format 04, trailer BC", "");
  const nIc = x[19];
  const eLen = x[20];
  const inCert = nI - 42;
  let remainder: Uint8Array = new Uint8Array(0);
  if (nIc > inCert) {
    if (!input.remainder) return fail(steps, "ICC_REMAINDER_MISSING");
    if (input.remainder.length !== nIc - inCert) {
      return fail(
        steps,
        "ICC_REMAINDER_LENGTH",
        `9F48 is ${input.remainder.length} bytes, needs ${nIc - inCert}`,
      );
    }
    remainder = input.remainder;
  }
  if (!validExponent(input.exponent) || input.exponent!.length !== eLen) {
    return fail(steps, "ICC_EXPONENT");
  }
  if (x[17] !== 0x01) return fail(steps, "ICC_CERT_HASH_ALGORITHM");
  const hash = sha1(concat(x.subarray(1, nI - 21), remainder, input.exponent!, input.staticData));
  if (!equalBytes(hash, x.subarray(nI - 21, nI - 1))) return fail(steps, "ICC_CERT_HASH");
  pass(steps, "hash over certificate ‖ 9F48 ‖ 9F47 ‖ static data", toHex(hash));
  const certPan = toHex(x.subarray(2, 12));
  if (certPan !== (input.pan + "F".repeat(20)).slice(0, 20)) {
    return fail(steps, "ICC_PAN_MISMATCH");
  }
  const expired = mmyyExpired(x.subarray(12, 14), input.txnDate);
  if (expired !== false) {
    return fail(
      steps,
      "ICC_CERT_EXPIRED",
      `expiry ${toHex(x.subarray(12, 14))} (MMYY), 9A ${input.txnDate}`,
    );
  }
  if (x[18] !== 0x01) return fail(steps, "ICC_PK_ALGORITHM");
  if (nIc < 64 || nIc > nI) return fail(steps, "ICC_KEY_INVALID", `N_IC ${nIc}`);
  pass(steps, "PAN, expiry, algorithm", `expiry ${toHex(x.subarray(12, 14))}`);
  const modulus = nIc > inCert
    ? concat(x.subarray(21, 21 + inCert), remainder)
    : x.slice(21, 21 + nIc);
  return {
    ok: true,
    key: {
      algorithm: "rsa",
      modulus,
      exponent: input.exponent!.slice(),
      fingerprint: fingerprint(modulus),
    },
    fields: { id: input.pan, expiry: toHex(x.subarray(12, 14)), serial: toHex(x.subarray(14, 17)) },
    steps,
  };
}

/** SDA: verifies signed static application data 93 (EMV Book 2 §5.4); returns the DAC. */
export function verifySdaRsa(
  issuer: RecoveredKey,
  ssad: Uint8Array,
  staticData: Uint8Array,
): { ok: true; dac: Uint8Array; steps: OdaStep[] } | Failure {
  const steps: OdaStep[] = [];
  const nI = issuer.modulus.length;
  if (ssad.length !== nI) return fail(steps, "SSAD_LENGTH");
  let x: Uint8Array;
  try {
    x = rsaPublic(issuer.modulus, issuer.exponent, ssad);
  } catch {
    return fail(steps, "SSAD_LENGTH", "value not below the issuer modulus");
  }
  if (x[nI - 1] !== 0xbc) return fail(steps, "SSAD_TRAILER");
  if (x[0] !== 0x6a) return fail(steps, "SSAD_HEADER");
  if (x[1] !== 0x03) return fail(steps, "SSAD_FORMAT");
  if (x[2] !== 0x01) return fail(steps, "SSAD_HASH_ALGORITHM");
  const hash = sha1(concat(x.subarray(1, nI - 21), staticData));
  if (!equalBytes(hash, x.subarray(nI - 21, nI - 1))) return fail(steps, "SSAD_HASH");
  pass(steps, "SDA: 93 recovered, hash over static data", `DAC ${toHex(x.subarray(3, 5))}`);
  return { ok: true, dac: x.slice(3, 5), steps };
}

/** Terminal dynamic data for fDDA (domain.md §5.6, design.md §6), or the failing check. */
export function fddaTerminalData(
  values: ReadonlyMap<string, Uint8Array>,
): { version: number; data: Uint8Array } | OdaCheck {
  const un = values.get("9F37");
  if (!un || un.length !== 4) return "ODA_DATA_MISSING";
  const cad = values.get("9F69");
  const version = cad && cad.length > 0 ? cad[0] : 0;
  if (version === 0) return { version, data: un.slice() };
  if (version !== 1) return "FDDA_VERSION";
  const amount = values.get("9F02");
  const currency = values.get("5F2A");
  if (!amount || amount.length !== 6 || !currency || currency.length !== 2) {
    return "ODA_DATA_MISSING";
  }
  return { version, data: concat(un, amount, currency, cad!) };
}

/**
 * Verifies RSA signed dynamic application data 9F4B (format 05; DDA, fDDA, CDA) with the ICC
 * key and the terminal dynamic data; returns the ICC dynamic data.
 */
export function verifyDynamicSignatureRsa(
  icc: RecoveredKey,
  sdad: Uint8Array,
  terminalData: Uint8Array,
): { ok: true; iccDynamicData: Uint8Array; steps: OdaStep[] } | Failure {
  const steps: OdaStep[] = [];
  const n = icc.modulus.length;
  if (sdad.length !== n) {
    return fail(steps, "SDAD_LENGTH", `9F4B is ${sdad.length} bytes, ICC key ${n}`);
  }
  let x: Uint8Array;
  try {
    x = rsaPublic(icc.modulus, icc.exponent, sdad);
  } catch {
    return fail(steps, "SDAD_LENGTH", "value not below the ICC modulus");
  }
  if (x[n - 1] !== 0xbc) return fail(steps, "SDAD_TRAILER");
  if (x[0] !== 0x6a) return fail(steps, "SDAD_HEADER");
  if (x[1] !== 0x05) return fail(steps, "SDAD_FORMAT");
  if (x[2] !== 0x01) return fail(steps, "SDAD_HASH_ALGORITHM");
  const lDd = x[3];
  if (lDd > n - 25) return fail(steps, "SDAD_DYNAMIC_LENGTH");
  const hash = sha1(concat(x.subarray(1, n - 21), terminalData));
  if (!equalBytes(hash, x.subarray(n - 21, n - 1))) return fail(steps, "SDAD_HASH");
  pass(
    steps,
    "9F4B recovered, hash over terminal dynamic data",
    `terminal data ${toHex(terminalData)}`,
  );
  return { ok: true, iccDynamicData: x.slice(4, 4 + lDd), steps };
}

/**
 * CDA (EMV Book 2 §6.6): after the dynamic signature, the ICC dynamic data holds
 * `L_IDN ‖ IDN ‖ CID ‖ AC ‖ TDHC`; CID must equal 9F27, AC must equal 9F26 when present, and
 * TDHC must equal SHA-1 of the transaction data (PDOL ‖ CDOL1 ‖ response TLVs) when given.
 */
export function checkCdaDynamicData(
  iccDynamicData: Uint8Array,
  cid: Uint8Array | undefined,
  ac: Uint8Array | undefined,
  transactionData: Uint8Array | undefined,
): { ok: true; steps: OdaStep[]; ac: Uint8Array } | Failure {
  const steps: OdaStep[] = [];
  const lIdn = iccDynamicData[0] ?? 0;
  if (iccDynamicData.length < 1 + lIdn + 1 + 8 + 20) return fail(steps, "SDAD_DYNAMIC_LENGTH");
  const o = 1 + lIdn;
  const cidIn = iccDynamicData.subarray(o, o + 1);
  const acIn = iccDynamicData.subarray(o + 1, o + 9);
  const tdhc = iccDynamicData.subarray(o + 9, o + 29);
  if (!cid || !equalBytes(cid, cidIn)) return fail(steps, "CDA_CID_MISMATCH");
  if (ac && !equalBytes(ac, acIn)) return fail(steps, "CDA_AC_MISMATCH");
  if (transactionData && !equalBytes(sha1(transactionData), tdhc)) return fail(steps, "CDA_TDHC");
  pass(steps, "CDA: CID, AC and transaction data hash", `AC ${toHex(acIn)}`);
  return { ok: true, steps, ac: acIn.slice() };
}

// ---------------------------------------------------------------------------------------------
// SM2 (PBOC 3.0), domain.md §5.8

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
  const body = c.subarray(0, 14 + keyLen);
  const sig = c.subarray(14 + keyLen);
  if (!sm2Verify(capk.publicKey!, body, sig, SM2_DEFAULT_ID)) {
    return fail(steps, "ISSUER_CERT_SIGNATURE");
  }
  pass(steps, "SM2 signature of the CA over 90[0..77]", `CA ${capk.rid}/${capk.index}`);
  const id = cnField(c.subarray(1, 5));
  if (id === undefined || id.length < 3 || !input.pan.startsWith(id)) {
    return fail(steps, "ISSUER_ID_MISMATCH", `issuer id ${toHex(c.subarray(1, 5))}`);
  }
  const expired = mmyyExpired(c.subarray(5, 7), input.txnDate);
  if (expired !== false) {
    return fail(
      steps,
      "ISSUER_CERT_EXPIRED",
      `expiry ${toHex(c.subarray(5, 7))} (MMYY), 9A ${input.txnDate}`,
    );
  }
  const serial = toHex(c.subarray(7, 10));
  if (revoked(serial)) return fail(steps, "ISSUER_CERT_REVOKED", `serial ${serial}`);
  const pub = c.slice(14, 14 + 64);
  if (!sm2IsOnCurve(pub)) return fail(steps, "ISSUER_KEY_INVALID", "not a point of the SM2 curve");
  pass(steps, "issuer id, expiry, serial, key on curve", `id ${id}, serial ${serial}`);
  return {
    ok: true,
    key: {
      algorithm: "sm2",
      modulus: pub,
      exponent: new Uint8Array(0),
      fingerprint: fingerprint(pub),
    },
    fields: { id, expiry: toHex(c.subarray(5, 7)), serial },
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
  const body = c.subarray(0, 20 + keyLen);
  const sig = c.subarray(20 + keyLen);
  if (!sm2Verify(issuer.modulus, concat(body, input.staticData), sig, SM2_DEFAULT_ID)) {
    return fail(steps, "ICC_CERT_SIGNATURE");
  }
  pass(steps, "SM2 signature of the issuer over 9F46[0..83] ‖ static data", "");
  if (toHex(c.subarray(1, 11)) !== (input.pan + "F".repeat(20)).slice(0, 20)) {
    return fail(steps, "ICC_PAN_MISMATCH");
  }
  const expired = mmyyExpired(c.subarray(11, 13), input.txnDate);
  if (expired !== false) {
    return fail(
      steps,
      "ICC_CERT_EXPIRED",
      `expiry ${toHex(c.subarray(11, 13))} (MMYY), 9A ${input.txnDate}`,
    );
  }
  const pub = c.slice(20, 84);
  if (!sm2IsOnCurve(pub)) return fail(steps, "ICC_KEY_INVALID", "not a point of the SM2 curve");
  pass(steps, "PAN, expiry, key on curve", `expiry ${toHex(c.subarray(11, 13))}`);
  return {
    ok: true,
    key: {
      algorithm: "sm2",
      modulus: pub,
      exponent: new Uint8Array(0),
      fingerprint: fingerprint(pub),
    },
    fields: { id: input.pan, expiry: toHex(c.subarray(11, 13)), serial: toHex(c.subarray(13, 16)) },
    steps,
  };
}

/** Verifies the SM2 dynamic signature 9F4B format 15: `15 ‖ L_DD ‖ ICC dynamic data ‖ r‖s`. */
export function verifyDynamicSignatureSm2(
  icc: RecoveredKey,
  sdad: Uint8Array,
  terminalData: Uint8Array,
): { ok: true; iccDynamicData: Uint8Array; steps: OdaStep[] } | Failure {
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
  return { ok: true, iccDynamicData: sdad.slice(2, 2 + lDd), steps };
}

// ---------------------------------------------------------------------------------------------
// Layout builders (the signing direction), EMV Book 2 Tables 6, 7, 14, 17 and domain.md §5.8

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

// ---------------------------------------------------------------------------------------------
// One record's ODA, choosing the method from the evidence

export type OdaMethod = "SDA" | "fDDA" | "DDA" | "CDA" | "SM2-fDDA" | "SM2-ICC" | "none";

/** Outcome of ODA for one record. `check` names the failing check. */
export interface OdaOutcome {
  readonly verdict: "ok" | "failed" | "absent" | "no-capk";
  readonly method: OdaMethod;
  readonly check?: OdaCheck;
  readonly message?: string;
  readonly steps: OdaStep[];
  readonly capk?: { rid: string; index: string };
  readonly issuerKey?: string;
  readonly iccKey?: string;
  readonly fddaVersion?: number;
  readonly dac?: string;
  readonly iccDynamicNumber?: string;
}

/** Caches of recovered keys by certificate hash (within and across batches). */
export class OdaKeyCache {
  readonly issuer = new Map<string, { key: RecoveredKey; fields: CertFields }>();
  readonly icc = new Map<string, { key: RecoveredKey; fields: CertFields }>();
  hits = 0;
  misses = 0;
  clear(): void {
    this.issuer.clear();
    this.icc.clear();
  }
}

function cacheId(...parts: (Uint8Array | string | undefined)[]): string {
  const enc = new TextEncoder();
  return toHex(sha256(concat(
    ...parts.map((p) =>
      p === undefined
        ? Uint8Array.of(0)
        : typeof p === "string"
        ? enc.encode(p + "|")
        : concat(p, enc.encode("|"))
    ),
  )));
}

/** Options of `authenticateRecord`. */
export interface OdaOptions {
  /** Static data to be authenticated (AFL records), without the AIP. */
  readonly staticData?: Uint8Array;
  /** For CDA: the transaction data hashed into TDHC (PDOL ‖ CDOL1 ‖ response TLVs). */
  readonly cdaTransactionData?: Uint8Array;
  /** For DDA: the DDOL data (terminal dynamic data) instead of the fDDA fixed data. */
  readonly ddolData?: Uint8Array;
  readonly cache?: OdaKeyCache;
}

function outcomeFail(
  method: OdaMethod,
  check: OdaCheck,
  steps: OdaStep[],
  extra: Partial<OdaOutcome> = {},
): OdaOutcome {
  const verdict = check === "CAPK_UNKNOWN" ? "no-capk" : "failed";
  return { verdict, method, check, message: ODA_CHECK_MESSAGES[check], steps, ...extra };
}

/**
 * Runs offline data authentication for one record. `values` holds every tag of the chip data
 * and of the ODA evidence (8F 90 92 9F32 9F46 9F47 9F48 9F4A 93 9F4B 9F69 …). The method is
 * chosen from the evidence: SM2 when 90 has format 12; 9F4B present → fDDA (DDA with
 * `ddolData`, CDA when `cdaTransactionData` is given or 9F4B carries CID+AC); 93 only → SDA.
 */
export function authenticateRecord(
  values: ReadonlyMap<string, Uint8Array>,
  capks: CapkSource,
  opts: OdaOptions = {},
): OdaOutcome {
  const steps: OdaStep[] = [];
  const cert90 = values.get("90");
  const sdad = values.get("9F4B");
  const ssad = values.get("93");
  if (!values.get("8F") || !cert90 || (!sdad && !ssad)) {
    return { verdict: "absent", method: "none", steps };
  }
  const aid = values.get("4F") ?? values.get("84");
  const pan5a = values.get("5A");
  const d9a = values.get("9A");
  const txnDate = d9a ? txnDateIso(d9a) : undefined;
  const pan = pan5a ? cnField(pan5a) : undefined;
  // Until the CA key is found the method is a guess from the certificate format; the CA key's
  // algorithm decides (an RSA certificate is signature output: its first byte is 0x12 one time
  // in 256).
  const rsaMethod: OdaMethod = sdad ? (opts.ddolData ? "DDA" : "fDDA") : "SDA";
  let sm2 = cert90[0] === 0x12;
  let baseMethod: OdaMethod = sm2 ? "SM2-fDDA" : rsaMethod;
  if (!aid || aid.length < 5 || !pan || !txnDate) {
    return outcomeFail(baseMethod, "ODA_DATA_MISSING", steps, {
      message: `ODA needs ${!aid ? "4F/84" : !pan ? "5A" : "a valid 9A"}`,
    });
  }
  const rid = toHex(aid.subarray(0, 5));
  const index = toHex(values.get("8F")!.subarray(0, 1));
  const capk = capks.capk(rid, index);
  if (!capk) return outcomeFail(baseMethod, "CAPK_UNKNOWN", steps, { capk: { rid, index } });
  if (capkExpired(capk, txnDate)) {
    return outcomeFail(baseMethod, "CAPK_EXPIRED", steps, { capk: { rid, index } });
  }
  sm2 = capk.algorithm === "sm2";
  baseMethod = sm2 ? "SM2-fDDA" : rsaMethod;
  if (sm2 && cert90[0] !== 0x12) {
    return outcomeFail(baseMethod, "ISSUER_CERT_FORMAT", steps, {
      capk: { rid, index },
      message: `certificate format ${
        toHex(cert90.subarray(0, 1))
      } does not suit a ${capk.algorithm} CA key`,
    });
  }
  pass(steps, "CA public key", `${rid}/${index} (${capk.algorithm}), valid to ${capk.expiry}`);
  const cache = opts.cache;
  const revoked = (serial: string) => capks.isRevoked(rid, index, serial);

  // Issuer key: cached by (CA key, certificate, remainder, exponent); per-record checks again.
  const issuerInput: IssuerCertInput = {
    cert: cert90,
    remainder: values.get("92"),
    exponent: values.get("9F32"),
    pan,
    txnDate,
  };
  const iId = cacheId(rid, index, cert90, issuerInput.remainder, issuerInput.exponent);
  let issuer = cache?.issuer.get(iId);
  if (issuer) {
    cache!.hits++;
    const r = recheckCached("ISSUER", issuer.fields, pan, txnDate, revoked, steps, true);
    if (r) return outcomeFail(baseMethod, r, steps, { capk: { rid, index } });
  } else {
    if (cache) cache.misses++;
    const r = sm2
      ? recoverIssuerKeySm2(capk, issuerInput, revoked)
      : recoverIssuerKeyRsa(capk, issuerInput, revoked);
    steps.push(...r.steps);
    if (!r.ok) return outcomeFail(baseMethod, r.check, steps, { capk: { rid, index } });
    issuer = { key: r.key, fields: r.fields };
    cache?.issuer.set(iId, issuer);
  }
  const common = { capk: { rid, index }, issuerKey: issuer.key.fingerprint };

  const sd = staticDataToAuthenticate(
    opts.staticData ?? new Uint8Array(0),
    values.get("9F4A"),
    values.get("82"),
  );
  if (typeof sd === "string") return outcomeFail(baseMethod, sd, steps, common);

  if (!sdad) {
    // SDA (RSA only; SM2 SDA format 13 is not verified on a sample, domain.md §5.8).
    if (sm2) {
      return outcomeFail("SDA", "SSAD_FORMAT", steps, {
        ...common,
        message: "SM2 SDA (13) is not supported",
      });
    }
    const r = verifySdaRsa(issuer.key, ssad!, sd);
    steps.push(...r.steps);
    if (!r.ok) return outcomeFail("SDA", r.check, steps, common);
    return { verdict: "ok", method: "SDA", steps, ...common, dac: toHex(r.dac) };
  }

  // ICC key.
  const icc9F46 = values.get("9F46");
  if (!icc9F46) {
    return outcomeFail(baseMethod, "ODA_DATA_MISSING", steps, {
      ...common,
      message: "9F46 absent",
    });
  }
  const iccInput: IccCertInput = {
    cert: icc9F46,
    remainder: values.get("9F48"),
    exponent: values.get("9F47"),
    pan,
    txnDate,
    staticData: sd,
  };
  const cId = cacheId(issuer.key.fingerprint, icc9F46, iccInput.remainder, iccInput.exponent, sd);
  let icc = cache?.icc.get(cId);
  if (icc) {
    cache!.hits++;
    const r = recheckCached("ICC", icc.fields, pan, txnDate, revoked, steps, false);
    if (r) return outcomeFail(baseMethod, r, steps, common);
  } else {
    if (cache) cache.misses++;
    const r = sm2 ? recoverIccKeySm2(issuer.key, iccInput) : recoverIccKeyRsa(issuer.key, iccInput);
    steps.push(...r.steps);
    if (!r.ok) return outcomeFail(baseMethod, r.check, steps, common);
    icc = { key: r.key, fields: r.fields };
    cache?.icc.set(cId, icc);
  }
  const withIcc = { ...common, iccKey: icc.key.fingerprint };

  // Dynamic signature.
  let terminalData: Uint8Array;
  let fddaVersion: number | undefined;
  if (opts.ddolData) terminalData = opts.ddolData;
  else {
    const t = fddaTerminalData(values);
    if (typeof t === "string") return outcomeFail(baseMethod, t, steps, withIcc);
    terminalData = t.data;
    fddaVersion = t.version;
  }
  const r = sm2
    ? verifyDynamicSignatureSm2(icc.key, sdad, terminalData)
    : verifyDynamicSignatureRsa(icc.key, sdad, terminalData);
  steps.push(...r.steps);
  if (!r.ok) return outcomeFail(baseMethod, r.check, steps, { ...withIcc, fddaVersion });
  const dd = r.iccDynamicData;
  const idn = dd.length > 0 && dd[0] <= dd.length - 1
    ? toHex(dd.subarray(1, 1 + dd[0]))
    : undefined;
  if (!sm2 && opts.cdaTransactionData) {
    const c = checkCdaDynamicData(
      dd,
      values.get("9F27"),
      values.get("9F26"),
      opts.cdaTransactionData,
    );
    steps.push(...c.steps);
    if (!c.ok) return outcomeFail("CDA", c.check, steps, withIcc);
    return { verdict: "ok", method: "CDA", steps, ...withIcc, iccDynamicNumber: idn };
  }
  return {
    verdict: "ok",
    method: baseMethod,
    steps,
    ...withIcc,
    fddaVersion,
    iccDynamicNumber: idn,
  };
}

function recheckCached(
  which: "ISSUER" | "ICC",
  f: CertFields,
  pan: string,
  txnDate: string,
  revoked: (serial: string) => boolean,
  steps: OdaStep[],
  issuer: boolean,
): OdaCheck | undefined {
  const expiry = Uint8Array.of(parseInt(f.expiry.slice(0, 2), 16), parseInt(f.expiry.slice(2), 16));
  const bad: OdaCheck | undefined = issuer
    ? (!pan.startsWith(f.id)
      ? "ISSUER_ID_MISMATCH"
      : mmyyExpired(expiry, txnDate) !== false
      ? "ISSUER_CERT_EXPIRED"
      : revoked(f.serial)
      ? "ISSUER_CERT_REVOKED"
      : undefined)
    : (f.id !== pan
      ? "ICC_PAN_MISMATCH"
      : mmyyExpired(expiry, txnDate) !== false
      ? "ICC_CERT_EXPIRED"
      : undefined);
  steps.push({
    step: `${which.toLowerCase()} key from cache`,
    ok: bad === undefined,
    detail: bad ? ODA_CHECK_MESSAGES[bad] : `expiry ${f.expiry} re-checked against 9A`,
  });
  return bad;
}
