/**
 * The independent tap builder: one qPBOC tap as a bus terminal uploads it (docs/upload-api.md:
 * `{seq, tappedAt, line, vehicle, fare, icc, oda: {tlv, staticData}}`), built the way the card
 * computes it — cryptogram of CVN 01 or 17 under 3DES or SM4, 9F10 with CVR, algorithm byte and
 * IDD with its MAC, fDDA (RSA formats 05/95, SM2 format 15) or SDA (RSA 03, SM2 13) over the
 * card's certificates — from `pboc.ts`, `certs.ts` and the fixed keys of `world.ts` only.
 *
 * Every field has a default that makes a tap every check passes; a `TapSpec` changes one thing
 * (a fault, an edge) and keeps the rest consistent. `faults.ts` changes bytes after the fact.
 */
import { ascii, bcd, cat, compressedNumeric, hex, numeric, uint, unhex } from "./bytes.ts";
import {
  type Algorithm,
  applicationCryptogram,
  type CryptogramType,
  cvrByte1,
  iccMasterKey,
  type IddSpec,
  issuerApplicationData,
} from "./pboc.ts";
import { buildOda, type OdaKind, type OdaSpec } from "./tap_oda.ts";
import { encodeTlv, type TlvList } from "./tlv.ts";
import { sha256 } from "./sym.ts";
import { AID, DKI, IMK } from "./world.ts";

export type { OdaKind };

/** One tap's description; every field optional. */
export interface TapSpec extends OdaSpec {
  readonly seq?: number;
  /** PAN digits (default 6214830000000018). */
  readonly pan?: string;
  /** PAN sequence number, two digits (default 01). */
  readonly psn?: string;
  readonly alg?: Algorithm;
  /** CVN in 9F10 byte 3: 0x01 (default) or 0x17. */
  readonly cvn?: number;
  /** 9F10 byte 8 (default 01 for 3DES, 04 for SM4). */
  readonly algorithmByte?: number;
  /** Cryptogram type in CVR byte 1 b6-b5 (default TC). */
  readonly type?: CryptogramType;
  /** CVR bytes 2-3 (hex, default 0000). */
  readonly cvr23?: string;
  /** 9F27: "match" (default, agrees with the CVR), "absent", or a byte. */
  readonly cid?: "match" | "absent" | number;
  /** 9F02 in fen (default 200). */
  readonly amount?: number;
  /** Upload fare in fen (default = amount; null leaves it out). */
  readonly fare?: number | null;
  /** 9A, YYMMDD (default 261127). */
  readonly date?: string;
  /** 9F21, HHMMSS (default 073102). */
  readonly time?: string;
  /** 9F36 (default 0x0021). */
  readonly atc?: number;
  /** 9F37 hex (default derived from seq). */
  readonly un?: string;
  /** 5F24 YYMMDD (default 301231). */
  readonly expiry?: string;
  /** 5F25 YYMMDD (default 210101; null leaves it out). */
  readonly effective?: string | null;
  /** IDD (default type 01, EC balance 9800 fen; null: no IDD). */
  readonly idd?: IddSpec | null;
  /** IDD MAC: "ok" (default) or "bad" (last byte inverted). */
  readonly iddMac?: "ok" | "bad";
  /** Replace 9F26 (hex). */
  readonly acOverride?: string;
  /** DF60 CAPP transaction indicator (absent by default). */
  readonly df60?: number;
  /** Electronic-cash tags 9F74/9F79 on a TC (default true). */
  readonly ecTags?: boolean;
}

/** A tap as the upload carries it. */
export interface UploadRecord {
  seq: number;
  tappedAt: string;
  line: string;
  vehicle: string;
  fare?: number;
  icc: string;
  oda?: { tlv: string; staticData: string };
}

/** A built tap: the record plus what it was built from. */
export interface BuiltTap {
  readonly record: UploadRecord;
  readonly icc: TlvList;
  readonly oda: TlvList;
  /** Static data records as uploaded (without the AIP). */
  readonly staticRecords: Uint8Array;
  /** The AC the card computed (before any override). */
  readonly ac: Uint8Array;
  readonly pan: string;
  readonly atc: number;
}

export const DEFAULT_PAN = "6214830000000018";
const AIP = unhex("7C00");
const CNY = unhex("0156");

/** A fixed 4-byte value from a label (UNs, card randoms). */
export function fixedBytes(label: string, n = 4): Uint8Array {
  return sha256(ascii(`icfare indep ${label}`)).slice(0, n);
}

const CID: Record<CryptogramType, number> = { AAC: 0x00, TC: 0x40, ARQC: 0x80 };

/** Builds one tap. */
export function buildTap(spec: TapSpec = {}): BuiltTap {
  const seq = spec.seq ?? 1;
  const pan = spec.pan ?? DEFAULT_PAN;
  const psn = spec.psn ?? "01";
  const alg = spec.alg ?? "3des";
  const cvn = spec.cvn ?? 0x01;
  const type = spec.type ?? "TC";
  const atcN = spec.atc ?? 0x21;
  const atc = uint(atcN, 2);
  const amount = numeric(spec.amount ?? 200, 6);
  const date = bcd(spec.date ?? "261127");
  const un = spec.un ? unhex(spec.un) : fixedBytes(`un ${seq}`);
  const cvr = cat(Uint8Array.of(cvrByte1(type)), unhex(spec.cvr23 ?? "0000"));
  const mkAc = iccMasterKey(alg, IMK[alg].ac, pan, psn);
  const mkMac = iccMasterKey(alg, IMK[alg].mac, pan, psn);
  const idd = spec.idd === undefined ? { type: 1 as const, ecBalance: 9800 } : spec.idd;
  const base = iadBase(spec, alg, cvn, cvr);
  const iad = issuerApplicationData(idd ? { ...base, idd: { spec: idd, mkMac, alg } } : base, atc);
  // "bad": the card's MAC with its last byte inverted.
  if (idd && spec.iddMac === "bad") iad[iad.length - 1] ^= 0xff;
  const inputs = {
    amount,
    amountOther: new Uint8Array(6),
    country: CNY,
    tvr: new Uint8Array(5),
    currency: CNY,
    date,
    txnType: Uint8Array.of(0),
    un,
    aip: AIP,
    atc,
    cvr,
  };
  const ac = applicationCryptogram(alg, cvn, mkAc, inputs);
  const odaOut = buildOda(spec, {
    pan,
    psn,
    seq,
    atc: atcN,
    un,
    amount,
    currency: CNY,
    aip: AIP,
    expiry: spec.expiry ?? "301231",
  });
  const icc = iccList(spec, {
    ac: spec.acOverride ? unhex(spec.acOverride) : ac,
    cid: spec.cid === "absent"
      ? undefined
      : spec.cid === undefined || spec.cid === "match"
      ? CID[type]
      : spec.cid,
    iad,
    inputs,
    pan,
    psn,
    alg,
    idd,
    oda: odaOut.iccPart,
  });
  return {
    record: recordOf(spec, seq, icc, odaOut.odaPart, odaOut.staticRecords),
    icc,
    oda: odaOut.odaPart,
    staticRecords: odaOut.staticRecords,
    ac,
    pan,
    atc: atcN,
  };
}

/** The upload record of a tap. */
function recordOf(
  spec: TapSpec,
  seq: number,
  icc: TlvList,
  oda: TlvList,
  staticRecords: Uint8Array,
): UploadRecord {
  return {
    seq,
    tappedAt: tappedAt(spec.date ?? "261127", spec.time ?? "073102"),
    line: "K1",
    vehicle: "LC-1024",
    ...(spec.fare === null ? {} : { fare: spec.fare ?? spec.amount ?? 200 }),
    icc: hex(encodeTlv(icc)),
    ...(oda.length ? { oda: { tlv: hex(encodeTlv(oda)), staticData: hex(staticRecords) } } : {}),
  };
}

function iadBase(spec: TapSpec, alg: Algorithm, cvn: number, cvr: Uint8Array) {
  return {
    dki: DKI,
    cvn,
    cvr,
    algorithmByte: spec.algorithmByte ?? (alg === "sm4" ? 0x04 : 0x01),
  };
}

function tappedAt(d: string, t: string): string {
  return `20${d.slice(0, 2)}-${d.slice(2, 4)}-${d.slice(4, 6)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${
    t.slice(4, 6)
  }+08:00`;
}

interface IccParts {
  ac: Uint8Array;
  cid: number | undefined;
  iad: Uint8Array;
  inputs: { amount: Uint8Array; date: Uint8Array; un: Uint8Array; atc: Uint8Array };
  pan: string;
  psn: string;
  alg: Algorithm;
  idd: IddSpec | null;
  oda: TlvList;
}

/** The chip data in field-55 order. */
function iccList(spec: TapSpec, p: IccParts): TlvList {
  const panBytes = compressedNumeric(p.pan, Math.ceil(p.pan.length / 2));
  const list: TlvList = [
    ["9F26", p.ac],
    ...(p.cid === undefined ? [] : [["9F27", Uint8Array.of(p.cid)] as [string, Uint8Array]]),
    ["9F10", p.iad],
    ["9F37", p.inputs.un],
    ["9F36", p.inputs.atc],
    ["95", new Uint8Array(5)],
    ["9A", p.inputs.date],
    ["9F21", bcd(spec.time ?? "073102")],
    ["9C", Uint8Array.of(0)],
    ["9F02", p.inputs.amount],
    ["5F2A", CNY],
    ["82", AIP],
    ["9F1A", CNY],
    ["9F03", new Uint8Array(6)],
    ["9F33", unhex("E0E1C8")],
    ["9F35", unhex("22")],
    ["4F", unhex(AID)],
    ["5A", panBytes],
    ["5F34", bcd(p.psn)],
    ["5F24", bcd(spec.expiry ?? "301231")],
  ];
  if (spec.effective !== null) list.push(["5F25", bcd(spec.effective ?? "210101")]);
  list.push(["9F66", unhex("28000080")]);
  list.push(...p.oda);
  const ecBalance = p.idd && (p.idd.type === 1 || p.idd.type === 3) ? p.idd.ecBalance : undefined;
  if ((spec.ecTags ?? true) && (spec.type ?? "TC") === "TC" && ecBalance !== undefined) {
    list.push(["9F74", ascii("ECC001")], ["9F79", numeric(ecBalance, 6)]);
  }
  if (spec.df60 !== undefined) list.push(["DF60", Uint8Array.of(spec.df60)]);
  if (p.alg === "sm4") list.push(["DF69", Uint8Array.of(0x01)]);
  return list;
}

/** A batch around records, as a terminal uploads it (docs/upload-api.md). */
export function uploadBatch(records: readonly UploadRecord[], batchNo = 1) {
  return {
    terminalId: "LC000123",
    merchantId: "898371641110001",
    batchNo,
    denyListVersion: 0,
    records,
    totals: { count: records.length, amount: records.reduce((n, r) => n + (r.fare ?? 0), 0) },
  };
}
