/**
 * The cryptographic primitives the EMV/PBOC engine stands on, behind one small surface.
 *
 * The symmetric primitives and hashes are the kernel's (issue 3, `kernel-as/sym.ts`); SM2 is
 * the kernel's public-key family (issue 4, `kernel-as/pk.ts`), and so is RSA, through
 * `core/pki/rsa_bigint.ts` `rsaRecover` (cached Montgomery contexts for recurring CA and issuer
 * keys, a set-up-free path for one-off e = 3 ICC keys). Swapping implementations here changes
 * no caller.
 * The batch engine (`kernel-as/engine.ts`) is checked against the TS verification path that
 * stands on these functions.
 *
 * Risks: the public-key functions are not constant-time (they handle public data); MAC
 * comparison is done with `equalBytes`, which is. Keys are copied into kernel memory by the
 * symmetric wrappers and stay there until overwritten.
 */
import * as sym from "../../kernel-as/sym.ts";
import * as pk from "../../kernel-as/pk.ts";
import { mem } from "../../kernel-as/kernel.ts";
import { PARAM_BASE } from "../../kernel-as/layout.ts";
import { rsaRecover } from "../pki/rsa_bigint.ts";

// ---------------------------------------------------------------------------------------------
// Small helpers

function checkLen(what: string, v: Uint8Array, ...allowed: number[]): void {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (!allowed.includes(v.length)) {
    throw new RangeError(`${what} must be ${allowed.join(" or ")} bytes, got ${v.length}`);
  }
}

/** XOR of two equal-length byte strings (new array). */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError(`xor: lengths differ (${a.length}, ${b.length})`);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** Concatenation of byte strings. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

/** Byte equality in time independent of where the first difference is. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** Sets odd parity on every byte (DES key convention); returns a new array. */
export function adjustParity(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const b = key[i] & 0xfe;
    let ones = 0;
    for (let x = b; x; x >>= 1) ones += x & 1;
    out[i] = b | ((ones & 1) ^ 1);
  }
  return out;
}

/** ISO/IEC 9797-1 padding method 1 (zeros to a block multiple, none if already aligned). */
export function padMethod1(data: Uint8Array, block = 8): Uint8Array {
  const n = data.length === 0 ? block : Math.ceil(data.length / block) * block;
  const out = new Uint8Array(n);
  out.set(data);
  return out;
}

/** ISO/IEC 9797-1 padding method 2 (`80` then zeros; always adds at least one byte). */
export function padMethod2(data: Uint8Array, block = 8): Uint8Array {
  const n = (Math.floor(data.length / block) + 1) * block;
  const out = new Uint8Array(n);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Symmetric primitives and hashes: the kernel's (issue 3, kernel-as/sym.ts)

/** DES (8-byte key) or 3DES EDE (16- or 24-byte key) ECB encryption. */
export const desEncryptEcb: (key: Uint8Array, data: Uint8Array) => Uint8Array = sym.desEncryptEcb;
/** DES or 3DES ECB decryption. */
export const desDecryptEcb: (key: Uint8Array, data: Uint8Array) => Uint8Array = sym.desDecryptEcb;
/** SM4 ECB encryption (data a multiple of 16 bytes). */
export const sm4EncryptEcb: (key: Uint8Array, data: Uint8Array) => Uint8Array = sym.sm4EncryptEcb;
/** SM4 ECB decryption. */
export const sm4DecryptEcb: (key: Uint8Array, data: Uint8Array) => Uint8Array = sym.sm4DecryptEcb;

/**
 * ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC"): single-DES CBC under K_L over every block,
 * then DES⁻¹(K_R) and DES(K_L) on the last result. IV zero. Returns all 8 bytes.
 */
export function macIso9797Alg3(key: Uint8Array, data: Uint8Array, padding: 1 | 2): Uint8Array {
  checkLen("MAC key", key, 16);
  return sym.macIso9797Alg3(key, data, padding);
}

/** SM4 CBC-MAC with IV zero over padded data; returns the last 16-byte block. */
export function sm4CbcMac(key: Uint8Array, data: Uint8Array, padding: 1 | 2): Uint8Array {
  checkLen("SM4 MAC key", key, 16);
  return sym.sm4CbcMac(key, data, padding);
}

/** SHA-1 (FIPS 180-4). */
export const sha1: (data: Uint8Array) => Uint8Array = sym.sha1;
/** SHA-256 (FIPS 180-4). */
export const sha256: (data: Uint8Array) => Uint8Array = sym.sha256;
/** SM3 (GB/T 32905). */
export const sm3: (data: Uint8Array) => Uint8Array = sym.sm3;

/**
 * Overwrites the kernel scratch where the symmetric wrappers leave the last key and its
 * schedules (the PARAM key slot, the DES/SM4 schedules, the retail MAC's schedules) with
 * zero-key material. The verification paths call it when a run ends.
 */
export function wipeKeyScratch(): void {
  const z = new Uint8Array(24);
  sym.macIso9797Alg3(z.subarray(0, 16), z.subarray(0, 8), 1);
  sym.desEncryptEcb(z, z.subarray(0, 8));
  sym.sm4EncryptEcb(z.subarray(0, 16), z.subarray(0, 16));
  mem.fill(0, PARAM_BASE, PARAM_BASE + 64);
}

/** Key check value: the key encrypts a zero block, leftmost `len` bytes (docs/verification.md). */
export function kcv(algorithm: "des" | "3des" | "sm4", key: Uint8Array, len = 3): Uint8Array {
  return sym.kcv(algorithm, key, len);
}

// ---------------------------------------------------------------------------------------------
// RSA public operation: kernel with cached contexts for recurring keys, BigInt for one-off keys

/**
 * Raw RSA public operation `input^e mod n`, output as long as the modulus. The input must be
 * exactly as long as the modulus and numerically below it (EMV Book 2 §5.3 step 1). Refusals
 * throw `PkError` with a stable code (`PK_INPUT_RANGE`, …). Path choice: `rsaRecover`
 * (README "Public-key primitives").
 */
export function rsaPublic(
  modulus: Uint8Array,
  exponent: Uint8Array,
  input: Uint8Array,
): Uint8Array {
  return rsaRecover(modulus, exponent, input);
}

/** The SM2 default user ID of GM/T 0009 (docs/verification.md). */
export const SM2_DEFAULT_ID: Uint8Array = new TextEncoder().encode("1234567812345678");

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ Px ‖ Py) for a 64-byte public key x‖y. */
export function sm2Z(pub64: Uint8Array, userId: Uint8Array = SM2_DEFAULT_ID): Uint8Array {
  checkLen("SM2 public key", pub64, 64);
  return pk.sm2Z(pub64, userId);
}

/** True when the 64-byte x‖y is a point of the SM2 curve. */
export function sm2IsOnCurve(pub64: Uint8Array): boolean {
  checkLen("SM2 public key", pub64, 64);
  return pk.sm2IsOnCurve(pub64);
}

/** Verifies an SM2 signature r‖s over the digest e (32 bytes). */
export function sm2VerifyDigest(pub64: Uint8Array, e32: Uint8Array, sig64: Uint8Array): boolean {
  checkLen("SM2 public key", pub64, 64);
  checkLen("SM2 digest", e32, 32);
  checkLen("SM2 signature", sig64, 64);
  return pk.sm2VerifyDigest(pub64, e32, sig64);
}

/** Verifies an SM2 signature over `message` with e = SM3(Z ‖ M). */
export function sm2Verify(
  pub64: Uint8Array,
  message: Uint8Array,
  sig64: Uint8Array,
  userId: Uint8Array = SM2_DEFAULT_ID,
): boolean {
  checkLen("SM2 public key", pub64, 64);
  checkLen("SM2 signature", sig64, 64);
  return pk.sm2Verify(pub64, message, sig64, userId);
}
