/**
 * The vocabulary of offline data authentication: check names (from `kernel-as/contract.ts`,
 * shared with the kernel), their messages and the record status each gives, the steps
 * `explain` shows, recovered keys, and the small field readers every certificate format uses.
 */
import { ODA_CHECKS as CHECK_ROWS } from "../../kernel-as/contract.ts";
import { sha256 } from "./primitives.ts";
import { toHex } from "../hex.ts";

/** Every check that can fail, with a stable name. */
export type OdaCheck = typeof CHECK_ROWS[number]["name"];

/** Every check in the contract's fixed order (the kernel reports check `i + 1`). */
export const ODA_CHECKS: readonly OdaCheck[] = CHECK_ROWS.map((c) => c.name);

/** Human messages for every check. */
export const ODA_CHECK_MESSAGES: Readonly<Record<OdaCheck, string>> = Object.fromEntries(
  CHECK_ROWS.map((c) => [c.name, c.message]),
) as Record<OdaCheck, string>;

/** The record status a failed check gives. */
export const ODA_CHECK_STATUS: Readonly<Record<OdaCheck, typeof CHECK_ROWS[number]["status"]>> =
  Object.fromEntries(CHECK_ROWS.map((c) => [c.name, c.status])) as Record<
    OdaCheck,
    typeof CHECK_ROWS[number]["status"]
  >;

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
  /** SHA-256 of modulus (or x‖y), upper-case hex, for the archive (docs/emv-pboc.md). */
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

export type Failure = { readonly ok: false; readonly check: OdaCheck; readonly steps: OdaStep[] };

export type Recovery =
  | {
    readonly ok: true;
    readonly key: RecoveredKey;
    readonly fields: CertFields;
    readonly steps: OdaStep[];
  }
  | Failure;

/** Records a failed step and returns the failure. */
export function fail(steps: OdaStep[], check: OdaCheck, detail?: string): Failure {
  steps.push({ step: check, ok: false, detail: detail ?? ODA_CHECK_MESSAGES[check] });
  return { ok: false, check, steps };
}

/** Records a passed step. */
export function pass(steps: OdaStep[], step: string, detail: string): void {
  steps.push({ step, ok: true, detail });
}

/**
 * The issuer certificate's identifier, expiry and serial, laid out alike in RSA (from byte 2)
 * and SM2 (from byte 1) certificates: issuer identifier (4 bytes cn) against the leftmost PAN
 * digits, expiry (MMYY) against the transaction date, serial (3 bytes) against the revocation
 * list (EMV 4.4 Book 2 §5.3 steps 8–10; docs/verification.md). The failure, or the three in hex.
 */
export function checkIssuerFields(
  steps: OdaStep[],
  fields: Uint8Array,
  input: { readonly pan: string; readonly txnDate: string },
  revoked: (serial: string) => boolean,
): Failure | {
  readonly ok: true;
  readonly id: string;
  readonly expiry: string;
  readonly serial: string;
} {
  const id = cnField(fields.subarray(0, 4));
  if (id === undefined || id.length < 3 || !input.pan.startsWith(id)) {
    return fail(steps, "ISSUER_ID_MISMATCH", `issuer id ${toHex(fields.subarray(0, 4))}`);
  }
  const expiry = toHex(fields.subarray(4, 6));
  if (mmyyExpired(fields.subarray(4, 6), input.txnDate) !== false) {
    return fail(steps, "ISSUER_CERT_EXPIRED", `expiry ${expiry} (MMYY), 9A ${input.txnDate}`);
  }
  const serial = toHex(fields.subarray(6, 9));
  if (revoked(serial)) return fail(steps, "ISSUER_CERT_REVOKED", `serial ${serial}`);
  return { ok: true, id, expiry, serial };
}

/** A recovered key with its fingerprint. */
export function recoveredKey(
  algorithm: "rsa" | "sm2",
  modulus: Uint8Array,
  exponent: Uint8Array,
): RecoveredKey {
  return { algorithm, modulus, exponent, fingerprint: toHex(sha256(modulus)) };
}

/** True for the exponents EMV allows: 03 and 010001. */
export function validExponent(e: Uint8Array | undefined): boolean {
  if (!e) return false;
  const h = toHex(e);
  return h === "03" || h === "010001";
}

/** Digits of a cn field (stops at the first F); undefined when a non-digit nibble appears. */
export function cnField(b: Uint8Array): string | undefined {
  const s = toHex(b);
  const f = s.indexOf("F");
  const digits = f < 0 ? s : s.slice(0, f);
  if (!/^[0-9]*$/.test(digits)) return undefined;
  if (f >= 0 && !/^F*$/.test(s.slice(f))) return undefined;
  return digits;
}

/** The PAN as a certificate's 10-byte cn field prints it (F-padded to 20 digits). */
export function certPan(pan: string): string {
  return (pan + "F".repeat(20)).slice(0, 20);
}

/**
 * True when the certificate's MMYY is before the transaction month (expired). `txn` is
 * YYYY-MM-DD. Years 00-49 → 20YY (valid through the last day of the month,
 * docs/verification.md).
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
