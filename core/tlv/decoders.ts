/**
 * Decoders for the bit fields and structured values of EMV/PBOC chip data: TVR (95),
 * AIP (82), TTQ (9F66), CTQ (9F6C), CID (9F27), the PBOC Issuer Application Data (9F10)
 * and its Card Verification Results (docs/emv-pboc.md, Issuer application data). Bits are numbered b8 (MSB) .. b1
 * within each byte, as in the specifications.
 */

/** One named bit: byte index 1-based, bit b8..b1. */
interface BitDef {
  readonly byte: number;
  readonly bit: number;
  readonly name: string;
}

/** A set bit, spelled out. */
export interface BitFlag {
  readonly byte: number;
  readonly bit: number;
  readonly name: string;
}

function bits(value: Uint8Array, defs: readonly BitDef[]): BitFlag[] {
  const out: BitFlag[] = [];
  for (const d of defs) {
    if (d.byte <= value.length && (value[d.byte - 1] >> (d.bit - 1)) & 1) out.push(d);
  }
  return out;
}

const b = (byte: number, bit: number, name: string): BitDef => ({ byte, bit, name });

// EMV 4.4 Book 3 Annex C5.
const TVR_BITS: readonly BitDef[] = [
  b(1, 8, "Offline data authentication was not performed"),
  b(1, 7, "SDA failed"),
  b(1, 6, "ICC data missing"),
  b(1, 5, "Card appears on terminal exception file"),
  b(1, 4, "DDA failed"),
  b(1, 3, "CDA failed"),
  b(1, 2, "SDA selected"),
  b(2, 8, "ICC and terminal have different application versions"),
  b(2, 7, "Expired application"),
  b(2, 6, "Application not yet effective"),
  b(2, 5, "Requested service not allowed for card product"),
  b(2, 4, "New card"),
  b(3, 8, "Cardholder verification was not successful"),
  b(3, 7, "Unrecognised CVM"),
  b(3, 6, "PIN Try Limit exceeded"),
  b(3, 5, "PIN entry required and PIN pad not present or not working"),
  b(3, 4, "PIN entry required, PIN pad present, but PIN was not entered"),
  b(3, 3, "Online PIN entered"),
  b(4, 8, "Transaction exceeds floor limit"),
  b(4, 7, "Lower consecutive offline limit exceeded"),
  b(4, 6, "Upper consecutive offline limit exceeded"),
  b(4, 5, "Transaction selected randomly for online processing"),
  b(4, 4, "Merchant forced transaction online"),
  b(5, 8, "Default TDOL used"),
  b(5, 7, "Issuer authentication failed"),
  b(5, 6, "Script processing failed before final GENERATE AC"),
  b(5, 5, "Script processing failed after final GENERATE AC"),
];

// EMV 4.4 Book 3 Annex C1.
const AIP_BITS: readonly BitDef[] = [
  b(1, 7, "SDA supported"),
  b(1, 6, "DDA supported"),
  b(1, 5, "Cardholder verification is supported"),
  b(1, 4, "Terminal risk management is to be performed"),
  b(1, 3, "Issuer authentication is supported"),
  b(1, 1, "CDA supported"),
];

// qPBOC / qVSDC Terminal Transaction Qualifiers; byte 4 b8 per [HX] EmvDAuth.c.
const TTQ_BITS: readonly BitDef[] = [
  b(1, 8, "Mag-stripe mode supported"),
  b(1, 6, "qPBOC (quick EMV) mode supported"),
  b(1, 5, "EMV contact chip supported"),
  b(1, 4, "Offline-only reader"),
  b(1, 3, "Online PIN supported"),
  b(1, 2, "Signature supported"),
  b(1, 1, "Offline data authentication for online authorisations supported"),
  b(2, 8, "Online cryptogram required"),
  b(2, 7, "CVM required"),
  b(2, 6, "(Contact chip) offline PIN supported"),
  b(3, 8, "Issuer update processing supported"),
  b(3, 7, "Consumer device CVM supported"),
  b(4, 8, "fDDA version 01 supported"),
];

const CTQ_BITS: readonly BitDef[] = [
  b(1, 8, "Online PIN required"),
  b(1, 7, "Signature required"),
  b(1, 6, "Go online if offline data authentication fails and reader is online capable"),
  b(1, 5, "Switch interface if offline data authentication fails and reader supports contact"),
  b(1, 4, "Go online if application expired"),
  b(1, 3, "Switch interface for cash transactions"),
  b(1, 2, "Switch interface for cashback transactions"),
  b(2, 8, "Consumer device CVM performed"),
  b(2, 7, "Card supports issuer update processing at the POS"),
];

// PBOC CVR bytes after the length byte (docs/emv-pboc.md, Issuer application data; rows other than byte 1 b6-b5 UNSURE).
const CVR_BITS: readonly BitDef[] = [
  b(1, 4, "Issuer authentication performed and failed"),
  b(1, 3, "Offline PIN verification performed"),
  b(1, 2, "Offline PIN verification failed"),
  b(1, 1, "Unable to go online"),
  b(2, 8, "Last online transaction not completed"),
  b(2, 7, "PIN try limit exceeded"),
  b(2, 6, "Exceeded velocity checking counters"),
  b(2, 5, "New card"),
  b(2, 4, "Issuer authentication failure on last online transaction"),
  b(2, 3, "Issuer authentication not performed after online authorisation"),
  b(2, 2, "Application blocked because PIN try limit exceeded"),
  b(2, 1, "Offline SDA failed on last transaction and transaction declined"),
  b(3, 4, "Issuer script processing failed on last transaction"),
  b(3, 3, "Offline DDA failed on last transaction and transaction declined"),
  b(3, 2, "Offline DDA performed"),
];

export function decodeTvr(v: Uint8Array): BitFlag[] {
  return bits(v, TVR_BITS);
}

export function decodeAip(v: Uint8Array): BitFlag[] {
  return bits(v, AIP_BITS);
}

export function decodeTtq(v: Uint8Array): BitFlag[] {
  return bits(v, TTQ_BITS);
}

export function decodeCtq(v: Uint8Array): BitFlag[] {
  return bits(v, CTQ_BITS);
}

export type CryptogramType = "AAC" | "TC" | "ARQC" | "RFU";

const AC_TYPES: readonly CryptogramType[] = ["AAC", "TC", "ARQC", "RFU"];

export interface Cid {
  readonly type: CryptogramType;
  readonly adviceRequired: boolean;
  readonly reason: string;
}

const CID_REASONS = [
  "no information given",
  "service not allowed",
  "PIN try limit exceeded",
  "issuer authentication failed",
];

/** Cryptogram Information Data (9F27), EMV Book 3 Table 15. */
export function decodeCid(v: Uint8Array): Cid {
  if (v.length !== 1) throw new RangeError(`CID (9F27) must be 1 byte, got ${v.length}`);
  const r = v[0] & 7;
  return {
    type: AC_TYPES[v[0] >> 6],
    adviceRequired: (v[0] & 8) !== 0,
    reason: CID_REASONS[r] ?? `RFU (${r})`,
  };
}

export interface Cvr {
  /** Cryptogram returned in the first GENERATE AC / GPO (byte 1 b6-b5). */
  readonly firstAc: CryptogramType;
  /** Cryptogram returned in the second GENERATE AC (byte 1 b8-b7), or "not requested". */
  readonly secondAc: CryptogramType | "not requested";
  readonly issuerScriptCommands: number;
  readonly flags: BitFlag[];
}

/** PBOC CVR: the 3 bytes after the CVR length byte in 9F10 (VIS layout). */
export function decodeCvr(v: Uint8Array): Cvr {
  if (v.length < 3) throw new RangeError(`CVR needs 3 bytes, got ${v.length}`);
  const second = (v[0] >> 6) & 3;
  return {
    firstAc: AC_TYPES[(v[0] >> 4) & 3],
    secondAc: second === 2 ? "not requested" : AC_TYPES[second],
    issuerScriptCommands: v[2] >> 4,
    flags: bits(v, CVR_BITS),
  };
}

export interface PbocIad {
  readonly length: number;
  /** Derivation key index (分散密钥索引). */
  readonly dki: number;
  /** Cryptogram version number (密文版本号), 0x01 or 0x17. */
  readonly cvn: number;
  /** The CVR including its length byte (4 bytes), as the AC input uses it. */
  readonly cvrWithLength: Uint8Array;
  readonly cvr: Cvr;
  /** Algorithm identifier (算法标识): 0x01 3DES, 0x04 SM4 (docs/verification.md, Profile selection). */
  readonly algorithm: number;
  readonly algorithmName: "3DES" | "SM4" | "unknown";
  /** Issuer discretionary data (without its length byte), possibly empty. */
  readonly idd: Uint8Array;
}

/**
 * PBOC Issuer Application Data (9F10), docs/emv-pboc.md (Issuer application data): `07 | DKI | CVN | 03 CVR(3) | alg`
 * then optionally `len | IDD`. Throws (naming the field) when the layout does not hold.
 */
export function decodePbocIad(v: Uint8Array): PbocIad {
  if (v.length < 8) {
    throw new RangeError(`9F10: PBOC layout needs at least 8 bytes, got ${v.length}`);
  }
  if (v[0] !== 0x07) {
    throw new RangeError(`9F10: PBOC part length byte must be 07, got ${hex2(v[0])}`);
  }
  if (v[3] !== 0x03) throw new RangeError(`9F10: CVR length byte must be 03, got ${hex2(v[3])}`);
  let idd: Uint8Array = new Uint8Array(0);
  if (v.length > 8) {
    const n = v[8];
    if (9 + n > v.length) {
      throw new RangeError(`9F10: issuer discretionary data length ${n} exceeds the field`);
    }
    idd = v.subarray(9, 9 + n);
  }
  const algorithm = v[7];
  return {
    length: v[0],
    dki: v[1],
    cvn: v[2],
    cvrWithLength: v.subarray(3, 7),
    cvr: decodeCvr(v.subarray(4, 7)),
    algorithm,
    algorithmName: algorithm === 1 ? "3DES" : algorithm === 4 ? "SM4" : "unknown",
    idd,
  };
}

/**
 * Cryptogram type of a record: from CVR byte 1 b6-b5 of a PBOC 9F10, otherwise from 9F27
 * (docs/verification.md: terminals make 9F27 up — some hard-code it, qPBOC GPO replies carry
 * none — so 9F27 never decides alone when the CVR is there). `cid` is the type 9F27 states,
 * whenever 9F27 is one byte, so a caller can note a disagreement.
 */
export function cryptogramType(cid: Uint8Array | undefined, iad: Uint8Array | undefined): {
  type: CryptogramType;
  source: "9F27" | "CVR";
  cid?: CryptogramType;
} | undefined {
  const stated = cid && cid.length === 1 ? decodeCid(cid).type : undefined;
  if (iad) {
    try {
      const type = decodePbocIad(iad).cvr.firstAc;
      return stated ? { type, source: "CVR", cid: stated } : { type, source: "CVR" };
    } catch { /* not the PBOC layout: 9F27 */ }
  }
  return stated ? { type: stated, source: "9F27", cid: stated } : undefined;
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}
