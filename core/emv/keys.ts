/**
 * EMV / PBOC key derivation (docs/emv-pboc.md, key derivation): ICC master keys from issuer master keys
 * (EMV 4.4 Book 2 Annex A1.4, Option A and Option B; the PBOC SM4 variant) and session keys
 * (EMV Common Session Key, MasterCard SKD, Visa secure-messaging XOR, PBOC ATC-based 3DES
 * and SM4).
 *
 * Every function checks its inputs first and names the argument in its error. Keys are
 * returned as new arrays; callers wipe them (`.fill(0)`) when done.
 *
 * @example Option A, the pyemv vector (fixtures/vectors/emv_cryptogram.json)
 * ```ts
 * import { assertEquals } from "@icfare/assert";
 * import { fromHex, toHex } from "../hex.ts";
 * import { deriveIccMkOptionA } from "./keys.ts";
 * const imk = fromHex("0123456789ABCDEFFEDCBA9876543210");
 * const mk = deriveIccMkOptionA(imk, "12345678901234567", "01");
 * assertEquals(toHex(mk), "73AD54688CEF2934B0979857E3C719F1");
 * mk.fill(0);
 * ```
 */
import { adjustParity, concat, desEncryptEcb, sha1, sm4EncryptEcb, xor } from "./primitives.ts";

/** PAN as a digit string (from 5A: the cn digits before the F padding). */
export type Pan = string;

function checkKey(what: string, key: Uint8Array, ...lens: number[]): void {
  if (!(key instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (!lens.includes(key.length)) {
    throw new RangeError(`${what} must be ${lens.join(" or ")} bytes, got ${key.length}`);
  }
}

function checkPan(pan: Pan): void {
  if (typeof pan !== "string" || !/^[0-9]{1,19}$/.test(pan)) {
    throw new RangeError(`pan must be 1-19 decimal digits`);
  }
}

/** PSN as two digits: undefined, "", "FF" (absent) → "00". Accepts a number 0..99 too. */
export function normalisePsn(psn: string | number | undefined): string {
  if (psn === undefined || psn === "" || psn === "FF" || psn === "ff") return "00";
  const s = typeof psn === "number" ? String(psn).padStart(2, "0") : psn;
  if (!/^[0-9]{2}$/.test(s)) throw new RangeError(`psn must be two decimal digits, got "${s}"`);
  return s;
}

function checkAtc(atc: Uint8Array): void {
  checkKey("atc", atc, 2);
}

function bcd(digits: string): Uint8Array {
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function not(b: Uint8Array): Uint8Array {
  return b.map((x) => x ^ 0xff);
}

/**
 * The Option A diversification block: rightmost 16 digits of PAN ‖ PSN, left-padded with
 * '0', as 8 bytes BCD (docs/emv-pboc.md, key derivation).
 */
export function optionABlock(pan: Pan, psn?: string | number): Uint8Array {
  checkPan(pan);
  const y = (pan + normalisePsn(psn)).slice(-16).padStart(16, "0");
  return bcd(y);
}

/**
 * The Option B diversification block (EMV Book 2 A1.4.2): for PANs of up to 16 digits the
 * Option A block; otherwise 16 decimal digits taken from SHA-1(PAN ‖ PSN) (docs/emv-pboc.md, key derivation).
 */
export function optionBBlock(pan: Pan, psn?: string | number): Uint8Array {
  checkPan(pan);
  if (pan.length <= 16) return optionABlock(pan, psn);
  let x = pan + normalisePsn(psn);
  if (x.length % 2) x = "0" + x;
  const h = Array.from(sha1(bcd(x)), (b) => b.toString(16).padStart(2, "0")).join("");
  let y = "";
  for (const c of h) if (c >= "0" && c <= "9" && y.length < 16) y += c;
  for (const c of h) {
    if (y.length >= 16) break;
    if (c >= "a" && c <= "f") y += String(c.charCodeAt(0) - 97);
  }
  return bcd(y);
}

function mkFromBlock(imk: Uint8Array, d: Uint8Array): Uint8Array {
  return adjustParity(concat(desEncryptEcb(imk, d), desEncryptEcb(imk, not(d))));
}

/** ICC master key, EMV Option A: parity(3DES(IMK)[D] ‖ 3DES(IMK)[~D]). */
export function deriveIccMkOptionA(imk: Uint8Array, pan: Pan, psn?: string | number): Uint8Array {
  checkKey("imk", imk, 16);
  return mkFromBlock(imk, optionABlock(pan, psn));
}

/** ICC master key, EMV Option B (SHA-1 decimalisation for PANs longer than 16 digits). */
export function deriveIccMkOptionB(imk: Uint8Array, pan: Pan, psn?: string | number): Uint8Array {
  checkKey("imk", imk, 16);
  return mkFromBlock(imk, optionBBlock(pan, psn));
}

/** ICC master key, PBOC SM4 variant: SM4(IMK)[D ‖ ~D], no parity (docs/emv-pboc.md, key derivation, UNSURE). */
export function deriveIccMkSm4(imk: Uint8Array, pan: Pan, psn?: string | number): Uint8Array {
  checkKey("imk", imk, 16);
  const d = optionABlock(pan, psn);
  return sm4EncryptEcb(imk, concat(d, not(d)));
}

/**
 * EMV Common Session Key derivation (EMV Book 2 A1.3.1):
 * parity(3DES(MK)[R0 R1 F0 R3..R7] ‖ 3DES(MK)[R0 R1 0F R3..R7]).
 */
export function sessionKeyCommon(mk: Uint8Array, r8: Uint8Array): Uint8Array {
  checkKey("mk", mk, 16);
  checkKey("r8", r8, 8);
  const l = r8.slice();
  const r = r8.slice();
  l[2] = 0xf0;
  r[2] = 0x0f;
  return adjustParity(concat(desEncryptEcb(mk, l), desEncryptEcb(mk, r)));
}

/** MasterCard proprietary SKD: R = ATC ‖ 00 00 ‖ UN, then the common construction. */
export function sessionKeyMastercard(mk: Uint8Array, atc: Uint8Array, un: Uint8Array): Uint8Array {
  checkAtc(atc);
  checkKey("un", un, 4);
  return sessionKeyCommon(mk, concat(atc, new Uint8Array(2), un));
}

/** Visa secure-messaging session key (XOR, not encryption). */
export function sessionKeyVisaSm(mk: Uint8Array, atc: Uint8Array): Uint8Array {
  checkKey("mk", mk, 16);
  checkAtc(atc);
  const l = concat(new Uint8Array(6), atc);
  const r = concat(new Uint8Array(6), not(atc));
  return adjustParity(concat(xor(mk.subarray(0, 8), l), xor(mk.subarray(8), r)));
}

/** PBOC ATC-based session key (3DES): parity(3DES(MK)[00×6 ‖ ATC] ‖ 3DES(MK)[00×6 ‖ ~ATC]). */
export function sessionKeyPboc(mk: Uint8Array, atc: Uint8Array): Uint8Array {
  checkKey("mk", mk, 16);
  checkAtc(atc);
  return adjustParity(concat(
    desEncryptEcb(mk, concat(new Uint8Array(6), atc)),
    desEncryptEcb(mk, concat(new Uint8Array(6), not(atc))),
  ));
}

/** PBOC SM4 session key: SM4(MK)[00×6 ‖ ATC ‖ 00×6 ‖ ~ATC] (docs/emv-pboc.md, key derivation, UNSURE). */
export function sessionKeyPbocSm4(mk: Uint8Array, atc: Uint8Array): Uint8Array {
  checkKey("mk", mk, 16);
  checkAtc(atc);
  return sm4EncryptEcb(mk, concat(new Uint8Array(6), atc, new Uint8Array(6), not(atc)));
}
