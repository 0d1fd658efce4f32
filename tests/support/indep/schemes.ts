/**
 * The non-PBOC pieces the published scheme examples need (docs/emv-pboc.md, test vectors):
 * EMV Option B master-key derivation (EMV 4.4 Book 2 A1.4.2), the EMV common session key
 * (A1.3.1), the Visa secure-messaging key (XOR form), Visa CVN 10/18 and Mastercard CVN 16
 * cryptograms, and ARPC methods 1 and 2 (Book 2 §8.2). Used only to hold the builder's
 * primitives against those examples; the taps themselves are PBOC.
 */
import { bcd, cat, hex, invert, unhex, xor } from "./bytes.ts";
import { isoMac, oddParity, sha1, tdesEcb } from "./sym.ts";
import { optionABlock } from "./pboc.ts";

/** Option B block: Option A for PANs up to 16 digits, else 16 digits decimalised from SHA-1. */
export function optionBBlock(pan: string, psn = "00"): Uint8Array {
  if (pan.length <= 16) return optionABlock(pan, psn);
  let x = pan + psn;
  if (x.length % 2) x = "0" + x;
  const h = hex(sha1(bcd(x))).toLowerCase();
  let y = [...h].filter((c) => c >= "0" && c <= "9").join("").slice(0, 16);
  for (const c of h) {
    if (y.length >= 16) break;
    if (c >= "a") y += String(c.charCodeAt(0) - 97);
  }
  return bcd(y);
}

/** ICC master key (3DES) from a diversification block: parity(E(IMK)[Y] ‖ E(IMK)[~Y]). */
export function masterKeyFromBlock(imk: Uint8Array, y: Uint8Array): Uint8Array {
  return oddParity(cat(tdesEcb(imk, y), tdesEcb(imk, invert(y))));
}

/** EMV common session key: parity(E(MK)[R0 R1 F0 R3..] ‖ E(MK)[R0 R1 0F R3..]). */
export function commonSessionKey(mk: Uint8Array, r: Uint8Array): Uint8Array {
  const a = r.slice(), b = r.slice();
  a[2] = 0xf0;
  b[2] = 0x0f;
  return oddParity(cat(tdesEcb(mk, a), tdesEcb(mk, b)));
}

/** Visa secure-messaging session key: MK halves XOR 00×6 ‖ ATC and 00×6 ‖ ~ATC. */
export function visaSmSessionKey(mk: Uint8Array, atc: Uint8Array): Uint8Array {
  return oddParity(cat(
    xor(mk.subarray(0, 8), cat(new Uint8Array(6), atc)),
    xor(mk.subarray(8), cat(new Uint8Array(6), invert(atc))),
  ));
}

const TERMINAL_TAGS = ["9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36"];

function terminalData(tags: Record<string, string>): Uint8Array {
  return cat(...TERMINAL_TAGS.map((t) => unhex(tags[t])));
}

/** A scheme example's cryptogram from its tags (hex by tag) and the IMK. */
export function schemeCryptogram(
  profile: "visa-cvn10" | "visa-cvn18" | "mastercard-cvn16",
  imk: Uint8Array,
  pan: string,
  psn: string,
  tags: Record<string, string>,
): { ac: Uint8Array; mk: Uint8Array; sk: Uint8Array } {
  const iad = unhex(tags["9F10"]);
  const atc = unhex(tags["9F36"]);
  if (profile === "visa-cvn10") {
    const mk = masterKeyFromBlock(imk, optionABlock(pan, psn));
    const data = cat(terminalData(tags), iad.subarray(3, 7));
    return { ac: isoMac(3, mk, data, 1), mk, sk: mk };
  }
  if (profile === "visa-cvn18") {
    const mk = masterKeyFromBlock(imk, optionBBlock(pan, psn));
    const sk = commonSessionKey(mk, cat(atc, new Uint8Array(6)));
    return { ac: isoMac(3, sk, cat(terminalData(tags), iad), 2), mk, sk };
  }
  const mk = masterKeyFromBlock(imk, optionABlock(pan, psn));
  const sk = commonSessionKey(mk, cat(atc, new Uint8Array(2), unhex(tags["9F37"])));
  return { ac: isoMac(3, sk, cat(terminalData(tags), iad.subarray(2, 8)), 2), mk, sk };
}

/** ARPC method 1: E(K)[ARQC XOR (ARC ‖ 00×6)] (8 bytes). */
export function arpcMethod1(key: Uint8Array, arqc: Uint8Array, arc: Uint8Array): Uint8Array {
  return tdesEcb(key, xor(arqc, cat(arc, new Uint8Array(6))));
}

/** ARPC method 2: MAC alg 3, padding 2, over ARQC ‖ CSU ‖ proprietary data; leftmost 4. */
export function arpcMethod2(
  key: Uint8Array,
  arqc: Uint8Array,
  csu: Uint8Array,
  prop = new Uint8Array(0),
): Uint8Array {
  return isoMac(3, key, cat(arqc, csu, prop), 2).slice(0, 4);
}
