/**
 * Test-only signing: the RSA private operation and SM2 signing (GB/T 32918.2 §6.1), in slow,
 * readable BigInt TypeScript. Used by tests and the simulator to make certificates and
 * signatures; never used for verification. Whatever these functions produce must also be
 * checked by an independent verifier (node:crypto, @noble/curves), never only by the kernel.
 *
 * Risks: not constant time, no protection of secrets in memory — never use with real keys.
 */
import { createHash } from "node:crypto";
import { SM2_CURVE } from "../kernel-as/sm2_curve.ts";

/** SM2 recommended curve parameters: the one definition, `kernel-as/sm2_curve.ts`. */
export { SM2_CURVE };

/** The default SM2 user ID (GM/T 0009-2012 §10), used by PBOC SM2 certificates. */
export const SM2_DEFAULT_USER_ID = "1234567812345678";

/** Big-endian bytes to BigInt. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let x = 0n;
  for (const b of bytes) x = (x << 8n) | BigInt(b);
  return x;
}

/** BigInt to `length` big-endian bytes; throws if it does not fit. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  if (value < 0n) throw new RangeError("value must not be negative");
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xFFn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError(`value does not fit in ${length} bytes`);
  return out;
}

/** base^exp mod m by square-and-multiply. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** Inverse modulo a prime m (Fermat). */
function invPrime(a: bigint, m: bigint): bigint {
  if (mod(a, m) === 0n) throw new RangeError("no inverse of zero");
  return modPow(mod(a, m), m - 2n, m);
}

/**
 * RSA private operation `input^d mod n` (raw, no padding), big-endian bytes; the result has
 * the modulus length. Test and simulator use only.
 */
export function rsaPrivate(n: Uint8Array, d: Uint8Array, input: Uint8Array): Uint8Array {
  if (!(n instanceof Uint8Array) || n.length === 0) throw new TypeError("n must be bytes");
  if (!(d instanceof Uint8Array) || d.length === 0) throw new TypeError("d must be bytes");
  if (!(input instanceof Uint8Array) || input.length !== n.length) {
    throw new RangeError(`input must have the modulus length ${n.length}`);
  }
  const N = bytesToBigInt(n);
  const x = bytesToBigInt(input);
  if (x >= N) throw new RangeError("input must be less than the modulus");
  return bigIntToBytes(modPow(x, bytesToBigInt(d), N), n.length);
}

type Affine = { x: bigint; y: bigint } | null;

/** Affine point addition on the SM2 curve (null is the point at infinity). */
export function sm2Add(P: Affine, Q: Affine): Affine {
  const { p, a } = SM2_CURVE;
  if (P === null) return Q;
  if (Q === null) return P;
  let l: bigint;
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, p) === 0n) return null;
    l = mod(3n * P.x * P.x + a, p) * invPrime(2n * P.y, p);
  } else {
    l = mod(Q.y - P.y, p) * invPrime(Q.x - P.x, p);
  }
  l = mod(l, p);
  const x = mod(l * l - P.x - Q.x, p);
  return { x, y: mod(l * (P.x - x) - P.y, p) };
}

/** k·P by double-and-add (affine, slow, readable). */
export function sm2Mul(k: bigint, P: Affine): Affine {
  let R: Affine = null;
  let A = P;
  let e = k;
  while (e > 0n) {
    if (e & 1n) R = sm2Add(R, A);
    A = sm2Add(A, A);
    e >>= 1n;
  }
  return R;
}

/** Public key x‖y (64 bytes) of a 32-byte private key. */
export function sm2PublicKey(privateKey32: Uint8Array): Uint8Array {
  const d = checkPrivate(privateKey32);
  const P = sm2Mul(d, { x: SM2_CURVE.Gx, y: SM2_CURVE.Gy });
  if (P === null) throw new Error("public key at infinity");
  const out = new Uint8Array(64);
  out.set(bigIntToBytes(P.x, 32));
  out.set(bigIntToBytes(P.y, 32), 32);
  return out;
}

function checkPrivate(privateKey32: Uint8Array): bigint {
  if (!(privateKey32 instanceof Uint8Array) || privateKey32.length !== 32) {
    throw new RangeError("privateKey32 must be 32 bytes");
  }
  const d = bytesToBigInt(privateKey32);
  if (d < 1n || d >= SM2_CURVE.n - 1n) throw new RangeError("privateKey32 must be in [1, n-2]");
  return d;
}

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ Px ‖ Py) (GB/T 32918.2 §5.5), via node:crypto SM3. */
export function sm2ZReference(publicKey64: Uint8Array, userId: string | Uint8Array): Uint8Array {
  const id = typeof userId === "string" ? new TextEncoder().encode(userId) : userId;
  const bits = id.length * 8;
  if (bits > 0xFFFF) throw new RangeError("userId longer than 8191 bytes");
  const h = createHash("sm3");
  h.update(Uint8Array.of(bits >> 8, bits & 0xFF));
  h.update(id);
  for (const v of [SM2_CURVE.a, SM2_CURVE.b, SM2_CURVE.Gx, SM2_CURVE.Gy]) {
    h.update(bigIntToBytes(v, 32));
  }
  h.update(publicKey64);
  return new Uint8Array(h.digest());
}

/** e = SM3(Z ‖ M) via node:crypto SM3. */
export function sm2DigestReference(
  publicKey64: Uint8Array,
  message: Uint8Array,
  userId: string | Uint8Array = SM2_DEFAULT_USER_ID,
): Uint8Array {
  const h = createHash("sm3");
  h.update(sm2ZReference(publicKey64, userId));
  h.update(message);
  return new Uint8Array(h.digest());
}

/**
 * SM2 signature r‖s (64 bytes) of `message` with `e = SM3(Z ‖ M)` (GB/T 32918.2 §6.1).
 * `k` (32 bytes) fixes the nonce for known-answer tests; otherwise it is random.
 */
export function sm2Sign(
  privateKey32: Uint8Array,
  message: Uint8Array,
  userId: string | Uint8Array = SM2_DEFAULT_USER_ID,
  k?: Uint8Array,
): Uint8Array {
  const d = checkPrivate(privateKey32);
  if (!(message instanceof Uint8Array)) throw new TypeError("message must be a Uint8Array");
  const pub = sm2PublicKey(privateKey32);
  const e = bytesToBigInt(sm2DigestReference(pub, message, userId));
  return sm2SignDigest(d, e, k);
}

/** SM2 signature over a ready digest e (BigInt private key d); exposed for boundary tests. */
export function sm2SignDigest(d: bigint, e: bigint, k?: Uint8Array): Uint8Array {
  const { n, Gx, Gy } = SM2_CURVE;
  for (let attempt = 0; attempt < 64; attempt++) {
    const kk = k
      ? bytesToBigInt(k)
      : mod(bytesToBigInt(crypto.getRandomValues(new Uint8Array(40))), n - 1n) + 1n;
    if (kk < 1n || kk >= n) throw new RangeError("k must be in [1, n-1]");
    const P1 = sm2Mul(kk, { x: Gx, y: Gy });
    if (P1 === null) continue;
    const r = mod(e + P1.x, n);
    if (r === 0n || r + kk === n) {
      if (k) throw new RangeError("k gives r = 0 or r + k = n");
      continue;
    }
    const s = mod(invPrime(1n + d, n) * (kk - r * d), n);
    if (s === 0n) {
      if (k) throw new RangeError("k gives s = 0");
      continue;
    }
    const out = new Uint8Array(64);
    out.set(bigIntToBytes(r, 32));
    out.set(bigIntToBytes(s, 32), 32);
    return out;
  }
  throw new Error("sm2Sign: no usable nonce");
}

// ---------------------------------------------------------------------------------------------
// Fast paths for the simulator: the same operations, fast enough for a day of taps.
// Checked against the readable functions above in sim/keygen_test.ts.

/** RSA private key with CRT parameters (as `sim/keygen.ts` makes them). */
export interface RsaCrtKey {
  readonly bits: number;
  readonly n: bigint;
  readonly p: bigint;
  readonly q: bigint;
  readonly dp: bigint;
  readonly dq: bigint;
  readonly qInv: bigint;
}

/** 4-bit fixed-window modular exponentiation (about 20 % fewer multiplications). */
export function modPowWindow(base: bigint, exp: bigint, m: bigint): bigint {
  const b = mod(base, m);
  const table: bigint[] = [1n, b];
  for (let i = 2; i < 16; i++) table.push((table[i - 1] * b) % m);
  let r = 1n;
  for (const c of exp.toString(16)) {
    r = (r * r) % m;
    r = (r * r) % m;
    r = (r * r) % m;
    r = (r * r) % m;
    const digit = parseInt(c, 16);
    if (digit) r = (r * table[digit]) % m;
  }
  return r % m;
}

/** `rsaPrivate` by the Chinese remainder theorem (about 3× faster); same result. */
export function rsaPrivateCrt(key: RsaCrtKey, input: Uint8Array): Uint8Array {
  const len = key.bits / 8;
  if (!(input instanceof Uint8Array) || input.length !== len) {
    throw new RangeError(`input must have the modulus length ${len}`);
  }
  const x = bytesToBigInt(input);
  if (x >= key.n) throw new RangeError("input must be less than the modulus");
  const m1 = modPowWindow(x, key.dp, key.p);
  const m2 = modPowWindow(x, key.dq, key.q);
  const h = mod(key.qInv * (m1 - m2), key.p);
  return bigIntToBytes(m2 + h * key.q, len);
}

/** Multiplies the SM2 base point by k (the caller passes a fast implementation, e.g. noble). */
export type Sm2BaseMul = (k: bigint) => { x: bigint; y: bigint };

/** What `sm2SignWith` keeps per signing key: d, (1 + d)⁻¹ mod n and Z (copies checked on use). */
interface Sm2Signer {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly userId: string;
  readonly d: bigint;
  readonly inv1d: bigint;
  readonly z: Uint8Array;
}

const signerCache = new WeakMap<Uint8Array, Sm2Signer>();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The per-key values of a signer, cached on the private key's array (a WeakMap, so keys that
 * go away take their entries with them). The cached copies are compared byte for byte on every
 * use, so an array changed in place is recomputed, never signed with stale values.
 */
function sm2Signer(
  privateKey32: Uint8Array,
  publicKey64: Uint8Array,
  userId: string | Uint8Array,
): Sm2Signer {
  const id = typeof userId === "string" ? userId : "\u0000" + toHexLower(userId);
  const hit = signerCache.get(privateKey32);
  if (
    hit && hit.userId === id && sameBytes(hit.privateKey, privateKey32) &&
    sameBytes(hit.publicKey, publicKey64)
  ) return hit;
  const d = checkPrivate(privateKey32);
  const signer: Sm2Signer = {
    privateKey: privateKey32.slice(),
    publicKey: publicKey64.slice(),
    userId: id,
    d,
    inv1d: invPrime(1n + d, SM2_CURVE.n),
    z: sm2ZReference(publicKey64, userId),
  };
  signerCache.set(privateKey32, signer);
  return signer;
}

function toHexLower(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * `sm2Sign` with a caller-supplied base-point multiplication, cached per-key values (d,
 * (1 + d)⁻¹ mod n, Z), and a deterministic nonce when `k` is absent (SHA-256 of private key ‖
 * e ‖ counter, reduced to [1, n−1]), so that the simulator's output depends only on its seed.
 * With the same `k` it returns exactly what `sm2Sign` returns.
 */
export function sm2SignWith(
  baseMul: Sm2BaseMul,
  privateKey32: Uint8Array,
  publicKey64: Uint8Array,
  message: Uint8Array,
  userId: string | Uint8Array = SM2_DEFAULT_USER_ID,
  k?: Uint8Array,
): Uint8Array {
  checkPrivate(privateKey32);
  if (!(publicKey64 instanceof Uint8Array) || publicKey64.length !== 64) {
    throw new RangeError("publicKey64 must be 64 bytes x‖y");
  }
  const { d, inv1d, z } = sm2Signer(privateKey32, publicKey64, userId);
  const e = bytesToBigInt(new Uint8Array(createHash("sm3").update(z).update(message).digest()));
  const { n } = SM2_CURVE;
  for (let counter = 0; counter < 64; counter++) {
    let kk: bigint;
    if (k) {
      kk = bytesToBigInt(k);
      if (kk < 1n || kk >= n) throw new RangeError("k must be in [1, n-1]");
    } else {
      const h = createHash("sha256").update(privateKey32).update(bigIntToBytes(e, 32))
        .update(Uint8Array.of(counter)).digest();
      kk = mod(bytesToBigInt(new Uint8Array(h)), n - 1n) + 1n;
    }
    const r = mod(e + baseMul(kk).x, n);
    if (r === 0n || r + kk === n) {
      if (k) throw new RangeError("k gives r = 0 or r + k = n");
      continue;
    }
    const s = mod(inv1d * (kk - r * d), n);
    if (s === 0n) {
      if (k) throw new RangeError("k gives s = 0");
      continue;
    }
    const out = new Uint8Array(64);
    out.set(bigIntToBytes(r, 32));
    out.set(bigIntToBytes(s, 32), 32);
    return out;
  }
  throw new Error("sm2SignWith: no usable nonce");
}
