/**
 * PBOC card-side cryptography, written from the standards and the public card applet
 * (docs/emv-pboc.md): ICC master keys (EMV 4.4 Book 2 Annex A1.4.1 Option A, rightmost 16
 * digits of PAN ‖ PSN; the SM4 analogue), PBOC session keys (3DES and SM4, ATC method), the
 * application cryptogram data sets of CVN 01 (37 bytes) and CVN 17 (9F02 ‖ 9F37 ‖ 9F36 ‖ CVR
 * byte 1), the Issuer Application Data (9F10) with CVR, algorithm byte and issuer discretionary
 * data (IDD types 01-05) and the IDD MAC.
 *
 * Conventions taken from the card applet (a PBOC 3.0 Java Card applet, docs/emv-pboc.md):
 * - the AC is ISO/IEC 9797-1 MAC algorithm 3 with padding method 2 under the AC session key;
 * - the IDD MAC input is ATC ‖ IDD data zero-filled to 8 bytes (5 data bytes) or 16 bytes
 *   (10 data bytes), then MACed like the AC (algorithm 3, padding method 2) under the MAC
 *   session key; the IDD carries the leftmost 4 bytes;
 * - SM4 cards (algorithm byte 04) use SM4 CBC-MAC with padding method 2 on the same inputs,
 *   leftmost 8 bytes for the AC and 4 for the IDD MAC (SM4 IDD MAC: this builder's analogue).
 */
import { bcd, cat, invert, numeric, uint } from "./bytes.ts";
import { isoMac, oddParity, sm4CbcMac, sm4Ecb, tdesEcb } from "./sym.ts";

export type Algorithm = "3des" | "sm4";

/** Option A block: rightmost 16 digits of PAN ‖ PSN (PSN "00" when absent), as 8 BCD bytes. */
export function optionABlock(pan: string, psn = "00"): Uint8Array {
  return bcd((pan + psn).slice(-16).padStart(16, "0"));
}

/** ICC master key from an issuer master key: 3DES Option A with odd parity, or the SM4 form. */
export function iccMasterKey(alg: Algorithm, imk: Uint8Array, pan: string, psn = "00"): Uint8Array {
  const d = optionABlock(pan, psn);
  if (alg === "sm4") return sm4Ecb(imk, cat(d, invert(d)));
  return oddParity(cat(tdesEcb(imk, d), tdesEcb(imk, invert(d))));
}

/** PBOC session key: E(MK)[00×6 ‖ ATC] ‖ E(MK)[00×6 ‖ ~ATC] (3DES with parity; SM4 one block). */
export function sessionKey(alg: Algorithm, mk: Uint8Array, atc: number): Uint8Array {
  const a = uint(atc, 2);
  const left = cat(new Uint8Array(6), a), right = cat(new Uint8Array(6), invert(a));
  if (alg === "sm4") return sm4Ecb(mk, cat(left, right));
  return oddParity(cat(tdesEcb(mk, left), tdesEcb(mk, right)));
}

/** The MAC of a PBOC card: 3DES → ISO 9797-1 alg 3 pad 2 (8 bytes); SM4 → CBC-MAC pad 2 (16). */
export function cardMac(alg: Algorithm, sk: Uint8Array, data: Uint8Array): Uint8Array {
  return alg === "sm4" ? sm4CbcMac(sk, data, 2) : isoMac(3, sk, data, 2);
}

/** Cryptogram type in CVR byte 1 b6-b5 (first GENERATE AC / GPO): AAC 00, TC 01, ARQC 10. */
export type CryptogramType = "AAC" | "TC" | "ARQC";
const FIRST_AC: Record<CryptogramType, number> = { AAC: 0x00, TC: 0x10, ARQC: 0x20 };

/**
 * CVR byte 1 for a qPBOC GPO reply: b8-b7 = 10 (second GENERATE AC not requested, as the card
 * sets for qPBOC) and b6-b5 the type. Extra bits (b4-b1) may be or-ed in.
 */
export function cvrByte1(type: CryptogramType, extra = 0): number {
  return 0x80 | FIRST_AC[type] | extra;
}

/** The terminal values a cryptogram covers (exact bytes the card saw). */
export interface AcInputs {
  readonly amount: Uint8Array; // 9F02, 6
  readonly amountOther: Uint8Array; // 9F03, 6
  readonly country: Uint8Array; // 9F1A, 2
  readonly tvr: Uint8Array; // 95, 5
  readonly currency: Uint8Array; // 5F2A, 2
  readonly date: Uint8Array; // 9A, 3
  readonly txnType: Uint8Array; // 9C, 1
  readonly un: Uint8Array; // 9F37, 4
  readonly aip: Uint8Array; // 82, 2
  readonly atc: Uint8Array; // 9F36, 2
  /** The 3 CVR bytes (without the length byte 03). */
  readonly cvr: Uint8Array;
}

/** CVN 01 data: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36 ‖ 03 ‖ CVR (37 bytes). */
export function acDataCvn01(i: AcInputs): Uint8Array {
  return cat(
    i.amount,
    i.amountOther,
    i.country,
    i.tvr,
    i.currency,
    i.date,
    i.txnType,
    i.un,
    i.aip,
    i.atc,
    Uint8Array.of(0x03),
    i.cvr,
  );
}

/** CVN 17 data: 9F02 ‖ 9F37 ‖ 9F36 ‖ CVR byte 1 (13 bytes). */
export function acDataCvn17(i: AcInputs): Uint8Array {
  return cat(i.amount, i.un, i.atc, i.cvr.subarray(0, 1));
}

/** The application cryptogram (8 bytes) of the given CVN under the ICC AC master key. */
export function applicationCryptogram(
  alg: Algorithm,
  cvn: number,
  mkAc: Uint8Array,
  i: AcInputs,
): Uint8Array {
  const sk = sessionKey(alg, mkAc, (i.atc[0] << 8) | i.atc[1]);
  const data = cvn === 0x17 ? acDataCvn17(i) : acDataCvn01(i);
  return cardMac(alg, sk, data).slice(0, 8);
}

/** Issuer discretionary data contents by type (amounts in fen; the IDD keeps 5 bytes = n10). */
export type IddSpec =
  | { readonly type: 1; readonly ecBalance: number }
  | { readonly type: 2; readonly ctta: number }
  | { readonly type: 3; readonly ecBalance: number; readonly ctta: number }
  | { readonly type: 4; readonly ctta: number; readonly cttal: number }
  | { readonly type: 5; readonly available: number };

/** The IDD data bytes of a spec (without the type byte and the MAC). */
export function iddData(s: IddSpec): Uint8Array {
  switch (s.type) {
    case 1:
      return numeric(s.ecBalance, 5);
    case 2:
      return numeric(s.ctta, 5);
    case 3:
      return cat(numeric(s.ecBalance, 5), numeric(s.ctta, 5));
    case 4:
      return cat(numeric(s.ctta, 5), numeric(s.cttal, 5));
    case 5:
      return numeric(s.available, 5);
  }
}

/** IDD MAC (4 bytes): MAC of ATC ‖ data zero-filled to 8 or 16 bytes, under the MAC session key. */
export function iddMac(alg: Algorithm, mkMac: Uint8Array, atc: Uint8Array, data: Uint8Array) {
  const filled = new Uint8Array(data.length <= 6 ? 8 : 16);
  filled.set(cat(atc, data));
  const sk = sessionKey(alg, mkMac, (atc[0] << 8) | atc[1]);
  return cardMac(alg, sk, filled).slice(0, 4);
}

/** Everything that goes into one 9F10. */
export interface IadSpec {
  readonly dki: number;
  readonly cvn: number;
  readonly cvr: Uint8Array; // 3 bytes
  readonly algorithmByte: number; // 01 3DES, 04 SM4
  /** IDD: contents and the key to MAC them (undefined = no IDD). */
  readonly idd?: { readonly spec: IddSpec; readonly mkMac: Uint8Array; readonly alg: Algorithm };
  /** Replace the IDD MAC (fault injection). */
  readonly iddMacOverride?: Uint8Array;
}

/** Issuer Application Data: 07 ‖ DKI ‖ CVN ‖ 03 ‖ CVR ‖ alg [‖ L ‖ type ‖ data ‖ MAC]. */
export function issuerApplicationData(s: IadSpec, atc: Uint8Array): Uint8Array {
  const head = cat(
    Uint8Array.of(0x07, s.dki, s.cvn, 0x03),
    s.cvr,
    Uint8Array.of(s.algorithmByte),
  );
  if (!s.idd) return head;
  const data = iddData(s.idd.spec);
  const mac = s.iddMacOverride ?? iddMac(s.idd.alg, s.idd.mkMac, atc, data);
  const idd = cat(Uint8Array.of(s.idd.spec.type), data, mac);
  return cat(head, Uint8Array.of(idd.length), idd);
}
