/**
 * Elliptic-curve signing keys (docs/keys.md, "Signing keys"): SM2 (GB/T 32918.2, user ID
 * `1234567812345678`) and ECDSA P-256 (FIPS 186-5 with SHA-256). Pure functions over a 32-byte
 * private scalar: its public key, the public key's check value, a signature and its check. The
 * key store wraps the scalar like every other key; `signing.ts` hands out signers.
 *
 * Formats, the same for both algorithms:
 * - public key: the uncompressed point `04 ‖ x ‖ y` (65 bytes, SEC 1 §2.3.3);
 * - signature: `r ‖ s`, 32 bytes each, big-endian (IEEE P1363; what WebCrypto's ECDSA gives);
 * - KCV of a key pair: the leftmost bytes of SHA-256 of the uncompressed public point.
 *
 * SM2 signs e = SM3(Z ‖ M) with Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ x ‖ y) (GB/T 32918.2
 * §5.5, §6.1), with a fresh k from the operating system's CSPRNG for every signature; ECDSA
 * P-256 signs SHA-256(M) with a deterministic k (RFC 6979), through @noble/curves. Point
 * arithmetic is @noble/curves' (constant-time scalar multiplication); the SM2 equations are
 * written here.
 */
import { createHash } from "node:crypto";
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import { p256 } from "@noble/curves/nist.js";
import { SM2_CURVE } from "../../kernel-as/sm2_curve.ts";

/** The asymmetric algorithms of signing keys. */
export type SigningAlgorithm = "sm2" | "ecdsa-p256";

/** Every signing algorithm, as accepted at the boundaries. */
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ["sm2", "ecdsa-p256"];

/** True for the algorithms of signing keys. */
export function isSigningAlgorithm(a: string): a is SigningAlgorithm {
  return (SIGNING_ALGORITHMS as readonly string[]).includes(a);
}

/** The SM2 recommended curve (GB/T 32918.5-2017 / GM/T 0003.5-2012): the kernel's definition. */
const SM2 = SM2_CURVE;

const Sm2Point = weierstrass<bigint>(SM2);

/** The SM2 user ID of PBOC (GM/T 0009-2012 §10); icfare signs with it. */
export const SM2_USER_ID = "1234567812345678";

function toBig(b: Uint8Array): bigint {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}

function toBytes32(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xFFn);
  return out;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function invMod(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError("not invertible");
  return mod(s0, m);
}

/** The order n of the curve of `alg`. */
function order(alg: SigningAlgorithm): bigint {
  return alg === "sm2" ? SM2.n : p256.Point.CURVE().n;
}

/**
 * True when `key` is a valid private scalar of `alg`: 32 bytes, 1 ≤ d ≤ n − 1 (SM2: n − 2, so
 * that 1 + d is invertible, GB/T 32918.1 §6.1).
 */
export function isPrivateKey(alg: SigningAlgorithm, key: Uint8Array): boolean {
  if (key.length !== 32) return false;
  const d = toBig(key);
  return d >= 1n && d <= order(alg) - (alg === "sm2" ? 2n : 1n);
}

/** A fresh private key from the operating system's CSPRNG (rejection sampling). */
export function generatePrivateKey(alg: SigningAlgorithm): Uint8Array {
  for (;;) {
    const k = crypto.getRandomValues(new Uint8Array(32));
    if (isPrivateKey(alg, k)) return k;
    k.fill(0);
  }
}

function checkPrivate(alg: SigningAlgorithm, key: Uint8Array): bigint {
  if (!isPrivateKey(alg, key)) throw new RangeError(`not a valid ${alg} private key`);
  return toBig(key);
}

/** The uncompressed public point `04 ‖ x ‖ y` of private key `key`. */
export function publicKeyOf(alg: SigningAlgorithm, key: Uint8Array): Uint8Array {
  const d = checkPrivate(alg, key);
  if (alg === "ecdsa-p256") return p256.getPublicKey(key, false);
  return Sm2Point.BASE.multiply(d).toBytes(false);
}

/** The check value of a public key: SHA-256(04 ‖ x ‖ y), leftmost `bytes` bytes, hex. */
export function publicKeyKcv(publicKey: Uint8Array, bytes = 3): string {
  const h = createHash("sha256").update(publicKey).digest();
  return Array.from(h.subarray(0, bytes), (b) => b.toString(16).padStart(2, "0")).join("")
    .toUpperCase();
}

/** Checks that `publicKey` is an uncompressed point on the curve of `alg`. */
export function checkPublicKey(alg: SigningAlgorithm, publicKey: Uint8Array): void {
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) {
    throw new RangeError("public key: an uncompressed point 04 ‖ x ‖ y of 65 bytes");
  }
  (alg === "sm2" ? Sm2Point : p256.Point).fromBytes(publicKey).assertValidity();
}

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ x ‖ y) (GB/T 32918.2 §5.5). */
export function sm2Za(publicKey: Uint8Array, userId = SM2_USER_ID): Uint8Array {
  const id = new TextEncoder().encode(userId);
  const bits = id.length * 8;
  const h = createHash("sm3").update(Uint8Array.of(bits >> 8, bits & 0xFF)).update(id);
  for (const v of [SM2.a, SM2.b, SM2.Gx, SM2.Gy]) h.update(toBytes32(v));
  h.update(publicKey.subarray(1));
  return new Uint8Array(h.digest());
}

function sm2E(publicKey: Uint8Array, message: Uint8Array): bigint {
  return toBig(createHash("sm3").update(sm2Za(publicKey)).update(message).digest());
}

/** SM2 signature (GB/T 32918.2 §6.1) of `message` under `key`, with a fresh random k. */
function sm2Sign(key: Uint8Array, message: Uint8Array): Uint8Array {
  const d = checkPrivate("sm2", key);
  const n = SM2.n;
  const e = sm2E(publicKeyOf("sm2", key), message);
  for (;;) {
    const kb = generatePrivateKey("sm2");
    const k = toBig(kb);
    kb.fill(0);
    const x1 = Sm2Point.BASE.multiply(k).toAffine().x;
    const r = mod(e + x1, n);
    if (r === 0n || r + k === n) continue;
    const s = mod(invMod(1n + d, n) * (k - r * d), n);
    if (s === 0n) continue;
    const out = new Uint8Array(64);
    out.set(toBytes32(r));
    out.set(toBytes32(s), 32);
    return out;
  }
}

/** SM2 verification (GB/T 32918.2 §7.1). */
function sm2Verify(publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array): boolean {
  const n = SM2.n;
  const r = toBig(sig.subarray(0, 32));
  const s = toBig(sig.subarray(32));
  if (r < 1n || r >= n || s < 1n || s >= n) return false;
  const t = mod(r + s, n);
  if (t === 0n) return false;
  const P = Sm2Point.fromBytes(publicKey);
  const pt = Sm2Point.BASE.multiply(s).add(P.multiply(t));
  if (pt.is0()) return false;
  return mod(sm2E(publicKey, message) + pt.toAffine().x, n) === r;
}

/** The signature `r ‖ s` (64 bytes) of `message` under private key `key`. */
export function signMessage(alg: SigningAlgorithm, key: Uint8Array, message: Uint8Array) {
  if (alg === "sm2") return sm2Sign(key, message);
  checkPrivate(alg, key);
  return p256.sign(message, key, { prehash: true, lowS: false, format: "compact" });
}

/** True when `sig` (`r ‖ s`) is a valid signature of `message` under `publicKey`. */
export function verifyMessage(
  alg: SigningAlgorithm,
  publicKey: Uint8Array,
  message: Uint8Array,
  sig: Uint8Array,
): boolean {
  if (sig.length !== 64) return false;
  try {
    checkPublicKey(alg, publicKey);
  } catch {
    return false;
  }
  if (alg === "sm2") return sm2Verify(publicKey, message, sig);
  return p256.verify(sig, message, publicKey, { prehash: true, lowS: false, format: "compact" });
}
