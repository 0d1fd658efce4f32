/**
 * Offline data authentication of one record, RSA and SM2 (`docs/emv-pboc.md`; EMV 4.4 Book 2
 * §5-§6): the readable reference the kernel (`kernel-as/assembly/engine_oda.ts`) is held
 * against, and what `icfare explain` walks. The method is chosen from the evidence; each step
 * lives in its own module — `oda_rsa.ts` (Tables 6, 7, 14, 17, CDA), `oda_sm2.ts` (formats 12,
 * 14, 15), `oda_checks.ts` (check names from the contract) and `oda_layouts.ts` (the signing
 * direction, for the simulator and tests) — all re-exported here.
 *
 * Expiry checks use the transaction date 9A, never today's date (docs/verification.md): a
 * certificate is valid through the last day of its MMYY month.
 */
import { LIMITS, type ODA_VERDICTS } from "../../kernel-as/contract.ts";
import { type Capk, capkExpired, type CapkSource, txnDateIso } from "./capk.ts";
import { concat, sha256 } from "./primitives.ts";
import { toHex } from "../hex.ts";
import {
  type CertFields,
  cnField,
  type IccCertInput,
  type IssuerCertInput,
  mmyyExpired,
  ODA_CHECK_MESSAGES,
  type OdaCheck,
  type OdaStep,
  type RecoveredKey,
} from "./oda_checks.ts";
import {
  checkCdaDynamicData,
  fddaTerminalData,
  recoverIccKeyRsa,
  recoverIssuerKeyRsa,
  staticDataToAuthenticate,
  verifyDynamicSignatureRsa,
  verifySdaRsa,
} from "./oda_rsa.ts";
import {
  recoverIccKeySm2,
  recoverIssuerKeySm2,
  verifyDynamicSignatureSm2,
  verifySdaSm2,
} from "./oda_sm2.ts";

export * from "./oda_checks.ts";
export * from "./oda_rsa.ts";
export * from "./oda_sm2.ts";
export * from "./oda_layouts.ts";

export type OdaMethod =
  | "SDA"
  | "fDDA"
  | "DDA"
  | "CDA"
  | "SM2-fDDA"
  | "SM2-SDA"
  | "certs"
  | "SM2-certs"
  | "none";

/** Outcome of ODA for one record. `check` names the failing check. */
export interface OdaOutcome {
  readonly verdict: typeof ODA_VERDICTS[number];
  readonly method: OdaMethod;
  readonly check?: OdaCheck;
  /** Format byte of the signed data that verified (03, 05, 95, 13, 15). */
  readonly format?: number;
  readonly message?: string;
  readonly steps: OdaStep[];
  readonly capk?: { rid: string; index: string };
  readonly issuerKey?: string;
  readonly iccKey?: string;
  readonly fddaVersion?: number;
  readonly dac?: string;
  readonly iccDynamicNumber?: string;
}

type CachedKey = { key: RecoveredKey; fields: CertFields };

/** Caches of recovered keys by certificate hash (within and across batches). */
export class OdaKeyCache {
  readonly issuer = new Map<string, CachedKey>();
  readonly icc = new Map<string, CachedKey>();
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

/** What the steps after the CA key share. */
interface Chain {
  readonly values: ReadonlyMap<string, Uint8Array>;
  readonly capk: Capk;
  readonly sm2: boolean;
  readonly method: OdaMethod;
  readonly pan: string;
  readonly txnDate: string;
  readonly revoked: (serial: string) => boolean;
  readonly opts: OdaOptions;
  readonly steps: OdaStep[];
}

function recheckCached(
  c: Chain,
  which: "issuer" | "icc",
  f: CertFields,
): OdaCheck | undefined {
  const expiry = Uint8Array.of(parseInt(f.expiry.slice(0, 2), 16), parseInt(f.expiry.slice(2), 16));
  const expired = mmyyExpired(expiry, c.txnDate) !== false;
  const bad: OdaCheck | undefined = which === "issuer"
    ? (!c.pan.startsWith(f.id)
      ? "ISSUER_ID_MISMATCH"
      : expired
      ? "ISSUER_CERT_EXPIRED"
      : c.revoked(f.serial)
      ? "ISSUER_CERT_REVOKED"
      : undefined)
    : (f.id !== c.pan ? "ICC_PAN_MISMATCH" : expired ? "ICC_CERT_EXPIRED" : undefined);
  c.steps.push({
    step: `${which} key from cache`,
    ok: bad === undefined,
    detail: bad ? ODA_CHECK_MESSAGES[bad] : `expiry ${f.expiry} re-checked against 9A`,
  });
  return bad;
}

/** The issuer key: cached by (CA key, 90, 92, 9F32); the per-record checks run again on a hit. */
function issuerKey(c: Chain): CachedKey | OdaCheck {
  const input: IssuerCertInput = {
    cert: c.values.get("90")!,
    remainder: c.values.get("92"),
    exponent: c.values.get("9F32"),
    pan: c.pan,
    txnDate: c.txnDate,
  };
  const cache = c.opts.cache;
  const id = cacheId(c.capk.rid, c.capk.index, input.cert, input.remainder, input.exponent);
  const hit = cache?.issuer.get(id);
  if (hit) {
    cache!.hits++;
    return recheckCached(c, "issuer", hit.fields) ?? hit;
  }
  if (cache) cache.misses++;
  const r = c.sm2
    ? recoverIssuerKeySm2(c.capk, input, c.revoked)
    : recoverIssuerKeyRsa(c.capk, input, c.revoked);
  c.steps.push(...r.steps);
  if (!r.ok) return r.check;
  const entry = { key: r.key, fields: r.fields };
  cache?.issuer.set(id, entry);
  return entry;
}

/** The ICC key: cached by (issuer key, 9F46, 9F48, 9F47, static data). */
function iccKey(c: Chain, issuer: RecoveredKey, sd: Uint8Array): CachedKey | OdaCheck {
  const cert = c.values.get("9F46");
  if (!cert) return "ODA_DATA_MISSING";
  const input: IccCertInput = {
    cert,
    remainder: c.values.get("9F48"),
    exponent: c.values.get("9F47"),
    pan: c.pan,
    txnDate: c.txnDate,
    staticData: sd,
  };
  const cache = c.opts.cache;
  const id = cacheId(issuer.fingerprint, cert, input.remainder, input.exponent, sd);
  const hit = cache?.icc.get(id);
  if (hit) {
    cache!.hits++;
    return recheckCached(c, "icc", hit.fields) ?? hit;
  }
  if (cache) cache.misses++;
  const r = c.sm2 ? recoverIccKeySm2(issuer, input) : recoverIccKeyRsa(issuer, input);
  c.steps.push(...r.steps);
  if (!r.ok) return r.check;
  const entry = { key: r.key, fields: r.fields };
  cache?.icc.set(id, entry);
  return entry;
}

/** The static data to be authenticated, or the failing check. */
function staticData(c: Chain): Uint8Array | OdaCheck {
  const records = c.opts.staticData ?? new Uint8Array(0);
  if (records.length > LIMITS.staticDataMax) return "ODA_DATA_TOO_LONG";
  return staticDataToAuthenticate(records, c.values.get("9F4A"), c.values.get("82"));
}

/**
 * fDDA bound to the tap (docs/emv-pboc.md, fDDA): the ICC dynamic data starts with the dynamic
 * number 02 ‖ ATC of 9F36, and the CTQ inside 9F69 (01 ‖ random ‖ CTQ ‖ DF61) equals 9F6C
 * when both are there.
 */
function boundToTap(c: Chain, dd: Uint8Array): OdaCheck | undefined {
  const atc = c.values.get("9F36");
  if (!atc || atc.length !== 2) return "ODA_DATA_MISSING";
  if (dd.length < 3 || dd[0] !== 0x02 || dd[1] !== atc[0] || dd[2] !== atc[1]) {
    c.steps.push({
      step: "SDAD_DYNAMIC_NUMBER",
      ok: false,
      detail: `ICC dynamic number ${toHex(dd.subarray(0, 3))}, 02 ‖ 9F36 = 02${toHex(atc)}`,
    });
    return "SDAD_DYNAMIC_NUMBER";
  }
  c.steps.push({ step: "dynamic number = 02 ‖ 9F36", ok: true, detail: `ATC ${toHex(atc)}` });
  const cad = c.values.get("9F69");
  const ctq = c.values.get("9F6C");
  if (!cad || cad.length < 7 || cad[0] !== 0x01 || !ctq || ctq.length !== 2) return undefined;
  const signed = cad.subarray(5, 7);
  if (signed[0] !== ctq[0] || signed[1] !== ctq[1]) {
    c.steps.push({
      step: "SDAD_CTQ",
      ok: false,
      detail: `CTQ in 9F69 ${toHex(signed)}, 9F6C ${toHex(ctq)}`,
    });
    return "SDAD_CTQ";
  }
  c.steps.push({ step: "CTQ in 9F69 = 9F6C", ok: true, detail: toHex(ctq) });
  return undefined;
}

/** The dynamic signature 9F4B (and CDA when asked) once the ICC key is known. */
function dynamicSignature(c: Chain, icc: RecoveredKey, common: Partial<OdaOutcome>): OdaOutcome {
  let terminalData: Uint8Array;
  let fddaVersion: number | undefined;
  if (c.opts.ddolData) terminalData = c.opts.ddolData;
  else {
    const t = fddaTerminalData(c.values);
    if (typeof t === "string") return outcomeFail(c.method, t, c.steps, common);
    terminalData = t.data;
    fddaVersion = t.version;
  }
  const sdad = c.values.get("9F4B")!;
  const r = c.sm2
    ? verifyDynamicSignatureSm2(icc, sdad, terminalData)
    : verifyDynamicSignatureRsa(icc, sdad, terminalData);
  c.steps.push(...r.steps);
  if (!r.ok) return outcomeFail(c.method, r.check, c.steps, { ...common, fddaVersion });
  const dd = r.iccDynamicData;
  const idn = dd.length > 0 && dd[0] <= dd.length - 1
    ? toHex(dd.subarray(1, 1 + dd[0]))
    : undefined;
  if (!c.sm2 && c.opts.cdaTransactionData) {
    const v = c.values;
    const k = checkCdaDynamicData(dd, v.get("9F27"), v.get("9F26"), c.opts.cdaTransactionData);
    c.steps.push(...k.steps);
    if (!k.ok) return outcomeFail("CDA", k.check, c.steps, common);
    return { verdict: "ok", method: "CDA", steps: c.steps, ...common, iccDynamicNumber: idn };
  }
  if (!c.opts.ddolData) {
    const bad = boundToTap(c, dd);
    if (bad) return outcomeFail(c.method, bad, c.steps, { ...common, fddaVersion });
  }
  return {
    verdict: "ok",
    method: c.method,
    steps: c.steps,
    ...common,
    format: r.format,
    fddaVersion,
    iccDynamicNumber: idn,
  };
}

/** SDA (93): RSA Table 7 or SM2 format 13. */
function sda(
  c: Chain,
  issuer: RecoveredKey,
  sd: Uint8Array,
  common: Partial<OdaOutcome>,
): OdaOutcome {
  const ssad = c.values.get("93")!;
  const r = c.sm2 ? verifySdaSm2(issuer, ssad, sd) : verifySdaRsa(issuer, ssad, sd);
  c.steps.push(...r.steps);
  if (!r.ok) return outcomeFail(c.method, r.check, c.steps, common);
  const format = c.sm2 ? 0x13 : 0x03;
  return { verdict: "ok", method: c.method, steps: c.steps, ...common, format, dac: toHex(r.dac) };
}

/** Issuer key, static data, then fDDA (ICC key + 9F4B), SDA (93) or the certificates alone. */
function chain(c: Chain): OdaOutcome {
  const capkId = { rid: c.capk.rid, index: c.capk.index };
  const issuer = issuerKey(c);
  if (typeof issuer === "string") return outcomeFail(c.method, issuer, c.steps, { capk: capkId });
  const common = { capk: capkId, issuerKey: issuer.key.fingerprint };
  const sd = staticData(c);
  if (typeof sd === "string") return outcomeFail(c.method, sd, c.steps, common);
  const signed = !!c.values.get("9F4B");
  if (!signed && c.values.get("93")) return sda(c, issuer.key, sd, common);
  const icc = iccKey(c, issuer.key, sd);
  if (typeof icc === "string") return outcomeFail(c.method, icc, c.steps, common);
  const withIcc = { ...common, iccKey: icc.key.fingerprint };
  if (!signed) {
    // Certificates alone (no 9F4B, no 93): the chain is checked and reported as such.
    return { verdict: "certs-only", method: c.method, steps: c.steps, ...withIcc };
  }
  return dynamicSignature(c, icc.key, withIcc);
}

/**
 * Runs offline data authentication for one record. `values` holds every tag of the chip data
 * and of the ODA evidence (8F 90 92 9F32 9F46 9F47 9F48 9F4A 93 9F4B 9F69 …). The method is
 * chosen from the evidence: SM2 when the CA key is SM2; 9F4B present → fDDA (DDA with
 * `ddolData`, CDA when `cdaTransactionData` is given); 93 only → SDA; 9F46 alone → the
 * certificates are checked and the verdict is `certs-only`.
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
  if (!values.get("8F") || !cert90 || (!sdad && !ssad && !values.get("9F46"))) {
    return { verdict: "absent", method: "none", steps };
  }
  const aid = values.get("4F") ?? values.get("84");
  const d9a = values.get("9A");
  const txnDate = d9a ? txnDateIso(d9a) : undefined;
  const pan5a = values.get("5A");
  const pan = pan5a ? cnField(pan5a) : undefined;
  // Until the CA key is found the method is a guess from the certificate format; the CA key's
  // algorithm decides (an RSA certificate is signature output: its first byte is 0x12 one time
  // in 256).
  const methodOf = (sm2: boolean): OdaMethod =>
    sdad
      ? (sm2 ? "SM2-fDDA" : opts.ddolData ? "DDA" : "fDDA")
      : ssad
      ? (sm2 ? "SM2-SDA" : "SDA")
      : (sm2 ? "SM2-certs" : "certs");
  const looksSm2 = cert90[0] === 0x12;
  const guess = methodOf(looksSm2);
  if (!aid || aid.length < 5 || !pan || !txnDate) {
    return outcomeFail(guess, "ODA_DATA_MISSING", steps, {
      message: `ODA needs ${!aid ? "4F/84" : !pan ? "5A" : "a valid 9A"}`,
    });
  }
  const rid = toHex(aid.subarray(0, 5));
  const index = toHex(values.get("8F")!.subarray(0, 1));
  const capk = capks.capk(rid, index);
  if (!capk) return outcomeFail(guess, "CAPK_UNKNOWN", steps, { capk: { rid, index } });
  if (capkExpired(capk, txnDate)) {
    return outcomeFail(guess, "CAPK_EXPIRED", steps, { capk: { rid, index } });
  }
  const sm2 = capk.algorithm === "sm2";
  const method = methodOf(sm2);
  if (sm2 && !looksSm2) {
    return outcomeFail(method, "ISSUER_CERT_FORMAT", steps, {
      capk: { rid, index },
      message: `certificate format ${toHex(cert90.subarray(0, 1))} does not suit an sm2 CA key`,
    });
  }
  steps.push({
    step: "CA public key",
    ok: true,
    detail: `${rid}/${index} (${capk.algorithm}), valid to ${capk.expiry}`,
  });
  const revoked = (serial: string) => capks.isRevoked(rid, index, serial);
  return chain({ values, capk, sm2, method, pan, txnDate, revoked, opts, steps });
}
