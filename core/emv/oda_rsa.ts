/**
 * RSA offline data authentication (EMV 4.4 Book 2): issuer public key certificate 90 (format
 * 02, §5.3 Table 6), ICC public key certificate 9F46 (format 04, §6.4 Table 14), SDA 93
 * (format 03, §5.4 Table 7), signed dynamic data 9F4B (format 05, §6.5 Table 17) with the fDDA
 * terminal data of `docs/verification.md`, and CDA (§6.6). Every failure names its check, in
 * the order of Book 2.
 */
import type { Capk } from "./capk.ts";
import { concat, equalBytes, rsaPublic, sha1 } from "./primitives.ts";
import { toHex } from "../hex.ts";
import {
  certPan,
  checkIssuerFields,
  fail,
  type Failure,
  type IccCertInput,
  type IssuerCertInput,
  mmyyExpired,
  type OdaCheck,
  type OdaStep,
  pass,
  type RecoveredKey,
  recoveredKey,
  type Recovery,
  validExponent,
} from "./oda_checks.ts";

/** What differs between an issuer certificate (Table 6) and an ICC certificate (Table 14). */
interface RsaCertKind {
  readonly tag: "90" | "9F46";
  readonly by: string;
  readonly format: number;
  /** Offset of the key part; key length at keyAt - 2, exponent length at keyAt - 1. */
  readonly keyAt: number;
  readonly hashAlgAt: number;
  readonly remTag: "92" | "9F48";
  readonly expTag: "9F32" | "9F47";
  readonly checks: {
    readonly length: OdaCheck;
    readonly trailer: OdaCheck;
    readonly header: OdaCheck;
    readonly format: OdaCheck;
    readonly remMissing: OdaCheck;
    readonly remLength: OdaCheck;
    readonly exponent: OdaCheck;
    readonly hashAlg: OdaCheck;
    readonly hash: OdaCheck;
  };
}

const TABLE_6: RsaCertKind = {
  tag: "90",
  by: "CA key",
  format: 0x02,
  keyAt: 15,
  hashAlgAt: 11,
  remTag: "92",
  expTag: "9F32",
  checks: {
    length: "ISSUER_CERT_LENGTH",
    trailer: "ISSUER_CERT_TRAILER",
    header: "ISSUER_CERT_HEADER",
    format: "ISSUER_CERT_FORMAT",
    remMissing: "ISSUER_REMAINDER_MISSING",
    remLength: "ISSUER_REMAINDER_LENGTH",
    exponent: "ISSUER_EXPONENT",
    hashAlg: "ISSUER_CERT_HASH_ALGORITHM",
    hash: "ISSUER_CERT_HASH",
  },
};

const TABLE_14: RsaCertKind = {
  tag: "9F46",
  by: "issuer key",
  format: 0x04,
  keyAt: 21,
  hashAlgAt: 17,
  remTag: "9F48",
  expTag: "9F47",
  checks: {
    length: "ICC_CERT_LENGTH",
    trailer: "ICC_CERT_TRAILER",
    header: "ICC_CERT_HEADER",
    format: "ICC_CERT_FORMAT",
    remMissing: "ICC_REMAINDER_MISSING",
    remLength: "ICC_REMAINDER_LENGTH",
    exponent: "ICC_EXPONENT",
    hashAlg: "ICC_CERT_HASH_ALGORITHM",
    hash: "ICC_CERT_HASH",
  },
};

/** A recovered certificate that passed the steps common to both tables. */
interface Recovered {
  readonly ok: true;
  readonly x: Uint8Array;
  readonly modulus: Uint8Array;
  readonly exponent: Uint8Array;
  readonly keyLength: number;
}

/**
 * The steps Tables 6 and 14 share (Book 2 §5.3 steps 1-7, §6.4 steps 1-7): recovery with the
 * signer's key, trailer, header, format, remainder, exponent, hash algorithm, and the hash over
 * X[1..N-22] ‖ remainder ‖ exponent ‖ `extra` (the static data for Table 14).
 */
function recoverRsaCert(
  k: RsaCertKind,
  signer: { modulus: Uint8Array; exponent: Uint8Array },
  input: { cert: Uint8Array; remainder?: Uint8Array; exponent?: Uint8Array },
  extra: Uint8Array,
  steps: OdaStep[],
): Recovered | Failure {
  const n = signer.modulus.length;
  const c = k.checks;
  if (input.cert.length !== n) {
    return fail(steps, c.length, `${k.tag} is ${input.cert.length} bytes, ${k.by} ${n} bytes`);
  }
  let x: Uint8Array;
  try {
    x = rsaPublic(signer.modulus, signer.exponent, input.cert);
  } catch {
    return fail(steps, c.length, `certificate value not below the ${k.by} modulus`);
  }
  pass(steps, `recover ${k.tag} with ${k.by}`, `${n * 8} bits`);
  if (x[n - 1] !== 0xbc) return fail(steps, c.trailer);
  if (x[0] !== 0x6a) return fail(steps, c.header);
  if (x[1] !== k.format) return fail(steps, c.format, `format ${toHex(x.subarray(1, 2))}`);
  pass(steps, `header 6A, format ${toHex(Uint8Array.of(k.format))}, trailer BC`, "");
  const keyLength = x[k.keyAt - 2];
  const eLen = x[k.keyAt - 1];
  const inCert = n - k.keyAt - 21;
  let remainder: Uint8Array = new Uint8Array(0);
  if (keyLength > inCert) {
    if (!input.remainder) return fail(steps, c.remMissing);
    if (input.remainder.length !== keyLength - inCert) {
      return fail(
        steps,
        c.remLength,
        `${k.remTag} is ${input.remainder.length} bytes, needs ${keyLength - inCert}`,
      );
    }
    remainder = input.remainder;
  }
  if (!validExponent(input.exponent) || input.exponent!.length !== eLen) {
    return fail(steps, c.exponent);
  }
  if (x[k.hashAlgAt] !== 0x01) return fail(steps, c.hashAlg);
  const hash = sha1(concat(x.subarray(1, n - 21), remainder, input.exponent!, extra));
  if (!equalBytes(hash, x.subarray(n - 21, n - 1))) return fail(steps, c.hash);
  pass(
    steps,
    `hash over certificate ‖ ${k.remTag} ‖ ${k.expTag}${k === TABLE_14 ? " ‖ static data" : ""}`,
    toHex(hash),
  );
  const modulus = keyLength > inCert
    ? concat(x.subarray(k.keyAt, k.keyAt + inCert), remainder)
    : x.slice(k.keyAt, k.keyAt + keyLength);
  return { ok: true, x, modulus, exponent: input.exponent!.slice(), keyLength };
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
  const signer = { modulus: capk.modulus!, exponent: capk.exponent! };
  const r = recoverRsaCert(TABLE_6, signer, input, new Uint8Array(0), steps);
  if (!r.ok) return r;
  const x = r.x;
  // Steps 8-10: issuer identifier, expiry, revocation list on (RID, index, serial).
  const f = checkIssuerFields(steps, x.subarray(2, 11), input, revoked);
  if (!f.ok) return f;
  const { id, expiry, serial } = f;
  // Step 11: public key algorithm.
  if (x[12] !== 0x01) return fail(steps, "ISSUER_PK_ALGORITHM");
  if (r.keyLength < 64 || r.keyLength > 248) {
    return fail(steps, "ISSUER_KEY_INVALID", `N_I ${r.keyLength}`);
  }
  pass(
    steps,
    "issuer id, expiry, serial, algorithm",
    `id ${id}, expiry ${expiry}, serial ${serial}`,
  );
  // Step 12: the modulus.
  return {
    ok: true,
    key: recoveredKey("rsa", r.modulus, r.exponent),
    fields: { id, expiry, serial },
    steps,
  };
}

/** Recovers and checks the RSA ICC public key from 9F46 (EMV Book 2 §6.4, steps 1-11). */
export function recoverIccKeyRsa(issuer: RecoveredKey, input: IccCertInput): Recovery {
  const steps: OdaStep[] = [];
  const r = recoverRsaCert(TABLE_14, issuer, input, input.staticData, steps);
  if (!r.ok) return r;
  const x = r.x;
  if (toHex(x.subarray(2, 12)) !== certPan(input.pan)) return fail(steps, "ICC_PAN_MISMATCH");
  const expiry = toHex(x.subarray(12, 14));
  if (mmyyExpired(x.subarray(12, 14), input.txnDate) !== false) {
    return fail(steps, "ICC_CERT_EXPIRED", `expiry ${expiry} (MMYY), 9A ${input.txnDate}`);
  }
  if (x[18] !== 0x01) return fail(steps, "ICC_PK_ALGORITHM");
  const nI = issuer.modulus.length;
  if (r.keyLength < 64 || r.keyLength > nI) {
    return fail(steps, "ICC_KEY_INVALID", `N_IC ${r.keyLength}`);
  }
  pass(steps, "PAN, expiry, algorithm", `expiry ${expiry}`);
  return {
    ok: true,
    key: recoveredKey("rsa", r.modulus, r.exponent),
    fields: { id: input.pan, expiry, serial: toHex(x.subarray(14, 17)) },
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

/** Recovers `n`-byte signed data with an RSA key, or a failure with `lengthCheck`. */
function recoverSigned(
  key: RecoveredKey,
  signed: Uint8Array,
  lengthCheck: OdaCheck,
  steps: OdaStep[],
): Uint8Array | Failure {
  const n = key.modulus.length;
  if (signed.length !== n) {
    return fail(steps, lengthCheck, `${signed.length} bytes, key ${n} bytes`);
  }
  try {
    return rsaPublic(key.modulus, key.exponent, signed);
  } catch {
    return fail(steps, lengthCheck, "value not below the modulus");
  }
}

/** SDA: verifies signed static application data 93 (EMV Book 2 §5.4); returns the DAC. */
export function verifySdaRsa(
  issuer: RecoveredKey,
  ssad: Uint8Array,
  staticData: Uint8Array,
): { ok: true; dac: Uint8Array; steps: OdaStep[] } | Failure {
  const steps: OdaStep[] = [];
  const nI = issuer.modulus.length;
  const x = recoverSigned(issuer, ssad, "SSAD_LENGTH", steps);
  if (!(x instanceof Uint8Array)) return x;
  if (x[nI - 1] !== 0xbc) return fail(steps, "SSAD_TRAILER");
  if (x[0] !== 0x6a) return fail(steps, "SSAD_HEADER");
  if (x[1] !== 0x03) return fail(steps, "SSAD_FORMAT");
  if (x[2] !== 0x01) return fail(steps, "SSAD_HASH_ALGORITHM");
  const hash = sha1(concat(x.subarray(1, nI - 21), staticData));
  if (!equalBytes(hash, x.subarray(nI - 21, nI - 1))) return fail(steps, "SSAD_HASH");
  pass(steps, "SDA: 93 recovered, hash over static data", `DAC ${toHex(x.subarray(3, 5))}`);
  return { ok: true, dac: x.slice(3, 5), steps };
}

/** Terminal dynamic data for fDDA (docs/verification.md conventions), or the failing check. */
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
  if (!amount || amount.length !== 6 || !currency || currency.length !== 2 || cad!.length > 200) {
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
): { ok: true; iccDynamicData: Uint8Array; format: number; steps: OdaStep[] } | Failure {
  const steps: OdaStep[] = [];
  const n = icc.modulus.length;
  const x = recoverSigned(icc, sdad, "SDAD_LENGTH", steps);
  if (!(x instanceof Uint8Array)) return x;
  if (x[n - 1] !== 0xbc) return fail(steps, "SDAD_TRAILER");
  if (x[0] !== 0x6a) return fail(steps, "SDAD_HEADER");
  // Format 05 (Book 2 Table 17) or 95, as a real contactless card signs fDDA (same hash).
  if (x[1] !== 0x05 && x[1] !== 0x95) {
    return fail(steps, "SDAD_FORMAT", `format ${toHex(x.subarray(1, 2))}`);
  }
  if (x[2] !== 0x01) return fail(steps, "SDAD_HASH_ALGORITHM");
  const lDd = x[3];
  if (lDd > n - 25) return fail(steps, "SDAD_DYNAMIC_LENGTH");
  const hash = sha1(concat(x.subarray(1, n - 21), terminalData));
  if (!equalBytes(hash, x.subarray(n - 21, n - 1))) return fail(steps, "SDAD_HASH");
  pass(
    steps,
    `9F4B recovered (format ${toHex(x.subarray(1, 2))}), hash over terminal dynamic data`,
    `terminal data ${toHex(terminalData)}`,
  );
  return { ok: true, iccDynamicData: x.slice(4, 4 + lDd), format: x[1], steps };
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
