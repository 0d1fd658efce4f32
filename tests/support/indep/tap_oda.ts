/**
 * The offline data authentication part of a tap (docs/emv-pboc.md, ODA): certificates of the
 * chosen chain, the static data to be authenticated (the AFL's ODA records, or none), and the
 * card's signature — fDDA (9F4B over 9F37 ‖ 9F02 ‖ 5F2A ‖ 9F69 for version 01, 9F37 alone for
 * version 00; ICC dynamic data `02 ‖ ATC`) or SDA (93) — or the certificates alone.
 *
 * 9F69 is `01 ‖ 4-byte card random ‖ CTQ ‖ DF61` (JR/T 0025.12 Annex C as the card applet
 * fills it); 9F6C carries the CTQ of the tap.
 */
import { ascii, bcd, cat, compressedNumeric, uint, unhex } from "./bytes.ts";
import {
  rsaIccCertificate,
  rsaIssuerCertificate,
  rsaSignedDynamicData,
  rsaSignedStaticData,
  sm2IccCertificate,
  sm2IssuerCertificate,
  sm2SignedDynamicData,
  sm2SignedStaticData,
} from "./certs.ts";
import { sha256 } from "./sym.ts";
import { encodeTlv, type TlvList } from "./tlv.ts";
import { CHAIN_A, CHAIN_B, ISSUER_BIN, SM2_CHAIN } from "./world.ts";

export type OdaKind =
  | "rsa-fdda"
  | "rsa-sda"
  | "rsa-certs"
  | "sm2-fdda"
  | "sm2-sda"
  | "sm2-certs"
  | "none";

/** Fields of the issuer certificate a test may change. */
export interface IssuerCertFields {
  readonly expiry?: string;
  readonly serial?: string;
  readonly issuerId?: string;
  readonly byte11?: number;
  readonly byte12?: number;
  /** RSA: change the plain block before signing. */
  readonly tweak?: (plain: Uint8Array) => void;
}

/** Fields of the ICC certificate a test may change. */
export interface IccCertFields {
  readonly expiry?: string;
  readonly serial?: string;
  readonly pan?: string;
  readonly byte17?: number;
  readonly byte18?: number;
  readonly tweak?: (plain: Uint8Array) => void;
}

export interface OdaSpec {
  /** Default "rsa-fdda". */
  readonly oda?: OdaKind;
  /** RSA chain A (default) or B. */
  readonly chain?: "A" | "B";
  /** 8F (default the chain's CA index). */
  readonly caIndex?: string;
  /** fDDA version (default 01). */
  readonly fddaVersion?: 0 | 1;
  /** RSA 9F4B format byte (default 0x05; 0x95 seen on a real card). */
  readonly sdadFormat?: number;
  /** ATC inside the ICC dynamic data (default the tap's ATC). */
  readonly signedAtc?: number;
  /** 9F6C hex (default 2000). */
  readonly ctq?: string;
  /** CTQ inside 9F69 (default = ctq). */
  readonly signedCtq?: string;
  /** DF61 byte inside 9F69 (default 00). */
  readonly df61?: number;
  /** Sign this UN (hex) instead of the tap's 9F37. */
  readonly signedUn?: string;
  readonly issuerCert?: IssuerCertFields;
  readonly iccCert?: IccCertFields;
  /** "records" (default) or "empty" (the AFL names no ODA record). */
  readonly staticData?: "records" | "empty";
  /** 9F4A = 82 (default true): the AIP joins the static data. */
  readonly sdaTagList?: boolean;
}

/** Tap values ODA needs. */
export interface OdaContext {
  readonly pan: string;
  readonly psn: string;
  readonly seq: number;
  readonly atc: number;
  readonly un: Uint8Array;
  readonly amount: Uint8Array;
  readonly currency: Uint8Array;
  readonly aip: Uint8Array;
  readonly expiry: string;
}

export interface OdaOut {
  /** Goes into the chip data: 9F6C, 9F69, 9F4B. */
  readonly iccPart: TlvList;
  /** Goes into oda.tlv: 8F 90 92 9F32 9F46 9F47 9F48 9F4A 93. */
  readonly odaPart: TlvList;
  /** Static data records as uploaded (without the AIP). */
  readonly staticRecords: Uint8Array;
}

/** The AFL's ODA records of a card (SFI 1-10 record contents without the 70 wrapper). */
export function staticRecordsOf(pan: string, psn: string, expiry: string): Uint8Array {
  return encodeTlv([
    ["5A", compressedNumeric(pan, Math.ceil(pan.length / 2))],
    ["5F24", bcd(expiry)],
    ["5F34", bcd(psn)],
    ["9F07", unhex("FF00")],
    ["8E", unhex("000000000000000002031F00")],
    ["5F28", unhex("0156")],
    ["9F08", unhex("0030")],
  ]);
}

const memo = new Map<string, unknown>();
function cached<T>(key: string, make: () => T): T {
  if (!memo.has(key)) memo.set(key, make());
  return memo.get(key) as T;
}

function issuerDefaults(f: IssuerCertFields = {}) {
  return {
    expiry: f.expiry ?? "1230",
    serial: f.serial ?? "00A001",
    issuerId: f.issuerId ?? ISSUER_BIN,
  };
}

/** Builds the ODA part of a tap. */
export function buildOda(spec: OdaSpec, ctx: OdaContext): OdaOut {
  const kind = spec.oda ?? "rsa-fdda";
  const ctq = unhex(spec.ctq ?? "2000");
  const iccPart: TlvList = [["9F6C", ctq]];
  if (kind === "none") return { iccPart, odaPart: [], staticRecords: new Uint8Array(0) };
  const records = spec.staticData === "empty"
    ? new Uint8Array(0)
    : staticRecordsOf(ctx.pan, ctx.psn, ctx.expiry);
  const listAip = spec.sdaTagList ?? true;
  const staticData = listAip ? cat(records, ctx.aip) : records;
  const version = spec.fddaVersion ?? 1;
  const cad = cat(
    Uint8Array.of(0x01),
    sha256(ascii(`icfare indep card random ${ctx.seq}`)).slice(0, 4),
    unhex(spec.signedCtq ?? spec.ctq ?? "2000"),
    Uint8Array.of(spec.df61 ?? 0),
  );
  const signedUn = spec.signedUn ? unhex(spec.signedUn) : ctx.un;
  const terminalData = version === 1 ? cat(signedUn, ctx.amount, ctx.currency, cad) : signedUn;
  const dd = cat(Uint8Array.of(0x02), uint(spec.signedAtc ?? ctx.atc, 2));
  const dynamic = kind.endsWith("fdda");
  if (dynamic && version === 1) iccPart.push(["9F69", cad]);
  const odaPart: TlvList = kind.startsWith("sm2")
    ? sm2Part(spec, kind, ctx, staticData, dd, terminalData, iccPart)
    : rsaPart(spec, kind, ctx, staticData, dd, terminalData, iccPart);
  if (listAip) odaPart.push(["9F4A", Uint8Array.of(0x82)]);
  return { iccPart, odaPart, staticRecords: records };
}

function rsaPart(
  spec: OdaSpec,
  kind: OdaKind,
  ctx: OdaContext,
  staticData: Uint8Array,
  dd: Uint8Array,
  terminalData: Uint8Array,
  iccPart: TlvList,
): TlvList {
  const chain = spec.chain === "B" ? CHAIN_B : CHAIN_A;
  const ic = issuerDefaults(spec.issuerCert);
  const issuer = spec.issuerCert?.tweak
    ? rsaIssuerCertificate(chain.ca, { ...ic, issuer: chain.issuer, tweak: spec.issuerCert.tweak })
    : cached(
      `rsa ${chain.caIndex} ${JSON.stringify(ic)}`,
      () => rsaIssuerCertificate(chain.ca, { ...ic, issuer: chain.issuer }),
    );
  const out: TlvList = [["8F", unhex(spec.caIndex ?? chain.caIndex)], ["90", issuer.cert]];
  if (issuer.remainder.length) out.push(["92", issuer.remainder]);
  out.push(["9F32", issuer.exponent]);
  if (kind === "rsa-sda") {
    out.push(["93", rsaSignedStaticData(chain.issuer, unhex("DAC1"), staticData)]);
    return out;
  }
  const icc = rsaIccCertificate(chain.issuer, {
    pan: spec.iccCert?.pan ?? ctx.pan,
    expiry: spec.iccCert?.expiry ?? "1229",
    serial: spec.iccCert?.serial ?? "000001",
    icc: chain.icc,
    staticData,
    tweak: spec.iccCert?.tweak,
  });
  out.push(["9F46", icc.cert], ["9F47", icc.exponent]);
  if (icc.remainder.length) out.push(["9F48", icc.remainder]);
  if (kind === "rsa-fdda") {
    const sdad = rsaSignedDynamicData(chain.icc, spec.sdadFormat ?? 0x05, dd, terminalData);
    iccPart.push(["9F4B", sdad]);
  }
  return out;
}

function sm2Part(
  spec: OdaSpec,
  kind: OdaKind,
  ctx: OdaContext,
  staticData: Uint8Array,
  dd: Uint8Array,
  terminalData: Uint8Array,
  iccPart: TlvList,
): TlvList {
  const c = SM2_CHAIN;
  const f = {
    ...issuerDefaults(spec.issuerCert),
    byte11: spec.issuerCert?.byte11,
    byte12: spec.issuerCert?.byte12,
  };
  const cert90 = cached(
    `sm2 ${JSON.stringify(f)}`,
    () => sm2IssuerCertificate(c.ca, { ...f, issuer: c.issuer }),
  );
  const out: TlvList = [["8F", unhex(spec.caIndex ?? c.caIndex)], ["90", cert90]];
  if (kind === "sm2-sda") {
    out.push(["93", sm2SignedStaticData(c.issuer, unhex("DAC2"), staticData)]);
    return out;
  }
  const cert = sm2IccCertificate(c.issuer, {
    pan: spec.iccCert?.pan ?? ctx.pan,
    expiry: spec.iccCert?.expiry ?? "1229",
    serial: spec.iccCert?.serial ?? "000001",
    icc: c.icc,
    staticData,
    byte17: spec.iccCert?.byte17,
    byte18: spec.iccCert?.byte18,
  });
  out.push(["9F46", cert]);
  if (kind === "sm2-fdda") iccPart.push(["9F4B", sm2SignedDynamicData(c.icc, dd, terminalData)]);
  return out;
}
