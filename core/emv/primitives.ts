/**
 * The cryptographic primitives the EMV/PBOC engine stands on, behind one small surface.
 *
 * The symmetric primitives and hashes are the kernel's (issue 3, `kernel-as/sym.ts`). Until
 * the kernel's public-key family (issue 4) lands, RSA is BigInt here and SM2 uses
 * @noble/curves for the curve arithmetic; swapping the implementations here changes no caller.
 * The batch engine (`kernel-as/engine.ts`) is checked against the TS verification path that
 * stands on these functions.
 *
 * Risks: the public-key functions are not constant-time (they handle public data); MAC
 * comparison is done with `equalBytes`, which is. Keys are copied into kernel memory by the
 * symmetric wrappers and stay there until overwritten.
 */
import * as sym from "../../kernel-as/sym.ts";
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";

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

/** Key check value: the key encrypts a zero block, leftmost `len` bytes (design.md §6). */
export function kcv(algorithm: "des" | "3des" | "sm4", key: Uint8Array, len = 3): Uint8Array {
  return sym.kcv(algorithm, key, len);
}

// ---------------------------------------------------------------------------------------------
// RSA public operation (BigInt)

function toBig(b: Uint8Array): bigint {
  // 8 bytes at a time: far fewer BigInt operations than one per byte.
  let x = 0n;
  const head = b.length % 8;
  for (let i = 0; i < head; i++) x = (x << 8n) | BigInt(b[i]);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = head; i < b.length; i += 8) x = (x << 64n) | dv.getBigUint64(i);
  return x;
}

function fromBig(x: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  let i = len;
  for (; i >= 8; i -= 8) (dv.setBigUint64(i - 8, x & 0xFFFFFFFFFFFFFFFFn), x >>= 64n);
  for (; i > 0; i--) (out[i - 1] = Number(x & 0xffn), x >>= 8n);
  return out;
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  if (e === 3n) return (((b * b) % m) * b) % m;
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/**
 * Raw RSA public operation `input^e mod n`, output as long as the modulus. The input must be
 * exactly as long as the modulus and numerically below it (EMV Book 2 §5.3 step 1).
 */
export function rsaPublic(
  modulus: Uint8Array,
  exponent: Uint8Array,
  input: Uint8Array,
): Uint8Array {
  if (modulus.length < 1 || modulus[0] === 0) {
    throw new RangeError("modulus must not start with 00");
  }
  if (exponent.length < 1 || exponent.length > 4) {
    throw new RangeError("exponent must be 1-4 bytes");
  }
  if (input.length !== modulus.length) {
    throw new RangeError(
      `input must be ${modulus.length} bytes (modulus length), got ${input.length}`,
    );
  }
  const n = toBig(modulus);
  const x = toBig(input);
  if (x >= n) throw new RangeError("input must be below the modulus");
  return fromBig(modPow(x, toBig(exponent), n), modulus.length);
}

// ---------------------------------------------------------------------------------------------
// SM2 (GB/T 32918.2) signature verification with Z (noble curve arithmetic)

const SM2 = {
  p: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFFn,
  a: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFCn,
  b: 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93n,
  Gx: 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7n,
  Gy: 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0n,
  n: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123n,
  h: 1n,
};
const Sm2Point = weierstrass(SM2);

/** The SM2 default user ID of GM/T 0009 (design.md §6). */
export const SM2_DEFAULT_ID: Uint8Array = new TextEncoder().encode("1234567812345678");

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ Px ‖ Py) for a 64-byte public key x‖y. */
export function sm2Z(pub64: Uint8Array, userId: Uint8Array = SM2_DEFAULT_ID): Uint8Array {
  checkLen("SM2 public key", pub64, 64);
  if (userId.length > 8191) throw new RangeError("SM2 user ID longer than 8191 bytes");
  const bits = userId.length * 8;
  return sm3(concat(
    Uint8Array.of(bits >> 8, bits & 0xff),
    userId,
    fromBig(SM2.a, 32),
    fromBig(SM2.b, 32),
    fromBig(SM2.Gx, 32),
    fromBig(SM2.Gy, 32),
    pub64,
  ));
}

/** True when the 64-byte x‖y is a point of the SM2 curve. */
export function sm2IsOnCurve(pub64: Uint8Array): boolean {
  checkLen("SM2 public key", pub64, 64);
  try {
    Sm2Point.fromAffine({ x: toBig(pub64.subarray(0, 32)), y: toBig(pub64.subarray(32)) })
      .assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** Verifies an SM2 signature r‖s over the digest e (32 bytes). */
export function sm2VerifyDigest(pub64: Uint8Array, e32: Uint8Array, sig64: Uint8Array): boolean {
  checkLen("SM2 public key", pub64, 64);
  checkLen("SM2 digest", e32, 32);
  checkLen("SM2 signature", sig64, 64);
  const r = toBig(sig64.subarray(0, 32));
  const s = toBig(sig64.subarray(32));
  const n = SM2.n;
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const t = (r + s) % n;
  if (t === 0n) return false;
  let P;
  try {
    P = Sm2Point.fromAffine({ x: toBig(pub64.subarray(0, 32)), y: toBig(pub64.subarray(32)) });
    P.assertValidity();
  } catch {
    return false;
  }
  const X = Sm2Point.BASE.multiply(s).add(P.multiplyUnsafe(t));
  if (X.is0()) return false;
  const x1 = X.toAffine().x;
  return (toBig(e32) + x1) % n === r;
}

/** Verifies an SM2 signature over `message` with e = SM3(Z ‖ M). */
export function sm2Verify(
  pub64: Uint8Array,
  message: Uint8Array,
  sig64: Uint8Array,
  userId: Uint8Array = SM2_DEFAULT_ID,
): boolean {
  return sm2VerifyDigest(pub64, sm3(concat(sm2Z(pub64, userId), message)), sig64);
}
