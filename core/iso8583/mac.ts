/**
 * The message MAC of field 64 under the working MAC key (MAK, single-length DES) from the
 * last sign-on, by the two methods the UnionPay terminal sources use (docs/iso8583.md, "MAC"):
 *
 * - `unionpay-ecb`, the "ECB" POS method of the CUPS terminal specification as AFC
 *   (`ProcessAlgorithmCreatMacEcb_ChangSha`), CL (`GetUploadMac`) and LY (`CalMAC`) implement
 *   it: zero-pad the MAB, XOR its 8-byte blocks, write the result as 16 hex characters,
 *   DES the first 8, XOR with the last 8, DES again, and send the first 8 hex characters of
 *   the result as ASCII.
 * - `x9.9`, ANSI X9.9 / ISO/IEC 9797-1 MAC algorithm 1 with padding method 1 and single DES
 *   (FIPS 113): CBC with a zero IV, the last block is the MAC (8 binary bytes).
 *
 * The MAC block (MAB) runs from the MTI to the last byte of field 63, bit 64 set in the
 * bitmap; TPDU, header and length are outside it (AFC `:2380-2400`, LY `trancomm.c:618-624`).
 * DES is the kernel's (`core/emv/primitives.ts`). Risk: single-DES MACs are what these
 * acquirers use; they are weak by today's measure (56-bit keys) and icfare cannot change that.
 */
import { desEncryptEcb, equalBytes } from "../emv/primitives.ts";
import { Iso8583Error } from "./errors.ts";

/** The two MAC methods an acquirer profile chooses from. */
export type MacMethod = "unionpay-ecb" | "x9.9";

export const MAC_METHODS: readonly MacMethod[] = ["unionpay-ecb", "x9.9"];

function checkMak(mak: Uint8Array): void {
  if (!(mak instanceof Uint8Array) || mak.length !== 8) {
    throw new Iso8583Error("ISO8583_MAC", "MAC key: must be 8 bytes (single-length DES)");
  }
}

/** Step 1 of the ECB method: the MAB zero-padded to whole blocks, all blocks XORed. */
export function xorFold(mab: Uint8Array): Uint8Array {
  const r = new Uint8Array(8);
  for (let i = 0; i < mab.length; i++) r[i & 7] ^= mab[i];
  return r;
}

const HEX = new TextEncoder().encode("0123456789ABCDEF");

function hexAscii(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 * b.length);
  for (let i = 0; i < b.length; i++) {
    out[2 * i] = HEX[b[i] >> 4];
    out[2 * i + 1] = HEX[b[i] & 15];
  }
  return out;
}

/** The UnionPay POS "ECB" MAC: 8 ASCII hex characters. */
export function macUnionPayEcb(mak: Uint8Array, mab: Uint8Array): Uint8Array {
  checkMak(mak);
  const text = hexAscii(xorFold(mab)); // 16 characters
  const e1 = desEncryptEcb(mak, text.subarray(0, 8));
  for (let i = 0; i < 8; i++) e1[i] ^= text[8 + i];
  const e2 = desEncryptEcb(mak, e1);
  return hexAscii(e2).slice(0, 8);
}

/** ANSI X9.9 CBC-MAC (ISO/IEC 9797-1 algorithm 1, padding 1, single DES): 8 bytes. */
export function macX99(mak: Uint8Array, mab: Uint8Array): Uint8Array {
  checkMak(mak);
  const blocks = Math.max(1, Math.ceil(mab.length / 8));
  let c: Uint8Array = new Uint8Array(8);
  for (let k = 0; k < blocks; k++) {
    for (let i = 0; i < 8; i++) c[i] ^= mab[8 * k + i] ?? 0;
    c = desEncryptEcb(mak, c);
  }
  return c;
}

/** The MAC of `mab` by `method`. */
export function computeMac(method: MacMethod, mak: Uint8Array, mab: Uint8Array): Uint8Array {
  if (method === "unionpay-ecb") return macUnionPayEcb(mak, mab);
  if (method === "x9.9") return macX99(mak, mab);
  throw new Iso8583Error("ISO8583_MAC", `MAC method "${String(method)}" is not known`);
}

/**
 * The MAB of a packed message of the BCD dialect (2-byte MTI, binary primary bitmap) whose
 * last field is field 64: everything before the 8 MAC bytes.
 */
export function macBlock(packed: Uint8Array): Uint8Array {
  if (packed.length < 18 || (packed[2] & 0x80) !== 0 || (packed[9] & 1) === 0) {
    throw new Iso8583Error(
      "ISO8583_MAC",
      "field 64: the message must carry field 64 as its last field (primary bitmap only)",
    );
  }
  return packed.subarray(0, packed.length - 8);
}

/** Writes the MAC into the last 8 bytes (field 64) of a packed message, in place. */
export function signPacked(packed: Uint8Array, method: MacMethod, mak: Uint8Array): Uint8Array {
  packed.set(computeMac(method, mak, macBlock(packed)), packed.length - 8);
  return packed;
}

/** True when field 64 of a packed message is its MAC under `mak` (constant-time compare). */
export function verifyPacked(packed: Uint8Array, method: MacMethod, mak: Uint8Array): boolean {
  const mac = computeMac(method, mak, macBlock(packed));
  return equalBytes(mac, packed.subarray(packed.length - 8));
}
