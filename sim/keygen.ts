/**
 * Deterministic key generation for test and simulated worlds: RSA key pairs with a chosen
 * public exponent (EMV CA, issuer and ICC keys use e = 3) from seeded primes, and SM2 key
 * pairs on the GB/T 32918.5 recommended curve.
 *
 * Primes: random odd candidates of exactly `bits/2` bits with the top two bits set (so that
 * p·q has exactly `bits` bits), sieved by small primes, then Miller–Rabin (FIPS 186-5 B.3,
 * 40 rounds, bases from the same stream). For e = 3 the primes satisfy p ≡ 2 (mod 3), so
 * gcd(e, p−1) = 1.
 *
 * Risks: the randomness comes from the caller's seeded, non-cryptographic generator; these keys
 * are for tests and simulations only and must never protect real money. BigInt arithmetic is not
 * constant-time.
 */
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import { SM2_CURVE } from "../kernel-as/sm2_curve.ts";
import { modPowWindow } from "./sign.ts";

/** The source of randomness the generators draw from (the simulator's `Rng` fits). */
export interface RandomSource {
  /** Uniform BigInt of exactly `bits` bits (top bit set). */
  bigBits(bits: number): bigint;
  /** Uniform BigInt in [1, n−1]. */
  bigBelow(n: bigint): bigint;
}

/** An RSA private key with its CRT parameters, all as BigInt. */
export interface RsaKeyPair {
  readonly bits: number;
  readonly n: bigint;
  readonly e: bigint;
  readonly d: bigint;
  readonly p: bigint;
  readonly q: bigint;
  readonly dp: bigint;
  readonly dq: bigint;
  readonly qInv: bigint;
}

/** Modular exponentiation (4-bit fixed window), shared with the signer in sign.ts. */
export const modPow: (base: bigint, exp: bigint, m: bigint) => bigint = modPowWindow;

/** Modular inverse by the extended Euclidean algorithm; throws when none exists. */
export function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [((a % m) + m) % m, m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) throw new RangeError("modInverse: not invertible");
  return ((oldS % m) + m) % m;
}

const SMALL_PRIMES: number[] = (() => {
  const out: number[] = [];
  for (let n = 3; out.length < 400; n += 2) {
    if (out.every((p) => p * p > n || n % p !== 0)) out.push(n);
  }
  return out;
})();

/** Miller–Rabin probable-prime test with `rounds` bases drawn from `rng`. */
export function isProbablePrime(n: bigint, rng: RandomSource, rounds = 40): boolean {
  if (n < 2n) return false;
  for (const p of SMALL_PRIMES) {
    const bp = BigInt(p);
    if (n === bp) return true;
    if (n % bp === 0n) return false;
  }
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) (d >>= 1n, s++);
  for (let i = 0; i < rounds; i++) {
    const a = 2n + rng.bigBelow(n - 3n);
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let composite = true;
    for (let j = 1; j < s; j++) {
      x = (x * x) % n;
      if (x === n - 1n) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

/** A random prime of exactly `bits` bits (top two bits set) with gcd(e, p−1) = 1. */
export function randomPrime(bits: number, e: bigint, rng: RandomSource): bigint {
  if (!Number.isInteger(bits) || bits < 32) throw new RangeError("bits must be an integer ≥ 32");
  const top2 = 3n << BigInt(bits - 2);
  for (;;) {
    let c = rng.bigBits(bits) | top2 | 1n;
    // Walk odd candidates from a random start, sieving cheaply before Miller–Rabin.
    for (let step = 0; step < 2000; step++, c += 2n) {
      if (c.toString(2).length !== bits) break;
      let small = false;
      for (const p of SMALL_PRIMES) {
        if (c % BigInt(p) === 0n) {
          small = true;
          break;
        }
      }
      if (small) continue;
      if ((c - 1n) % e === 0n || gcd(e, c - 1n) !== 1n) continue;
      if (isProbablePrime(c, rng, 1) && isProbablePrime(c, rng, 39)) return c;
    }
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * A deterministic RSA key pair of exactly `bits` bits (even, 512–2048) with public exponent
 * `e` (3 by default, as EMV CA/issuer/ICC keys).
 */
export function generateRsaKeyPair(bits: number, rng: RandomSource, e = 3n): RsaKeyPair {
  if (!Number.isInteger(bits) || bits % 16 !== 0 || bits < 512 || bits > 2048) {
    throw new RangeError(`bits must be a multiple of 16 in 512..2048, got ${bits}`);
  }
  if (e !== 3n && e !== 65537n) throw new RangeError("e must be 3 or 65537 (EMV)");
  for (;;) {
    const p = randomPrime(bits / 2, e, rng);
    const q = randomPrime(bits / 2, e, rng);
    if (p === q) continue;
    const n = p * q;
    if (n.toString(2).length !== bits) continue;
    const phi = (p - 1n) * (q - 1n);
    const d = modInverse(e, phi);
    const [P, Q] = p > q ? [p, q] : [q, p];
    return {
      bits,
      n,
      e,
      d,
      p: P,
      q: Q,
      dp: d % (P - 1n),
      dq: d % (Q - 1n),
      qInv: modInverse(Q, P),
    };
  }
}

/** The SM2 recommended curve: the one definition, `kernel-as/sm2_curve.ts`. */
export { SM2_CURVE };

/** Point arithmetic on the SM2 curve (noble-curves). */
export const Sm2Point = weierstrass(SM2_CURVE);

/** k·G on the SM2 curve with noble-curves (for `sm2SignWith` in sign.ts). */
export function sm2BaseMul(k: bigint): { x: bigint; y: bigint } {
  return Sm2Point.BASE.multiply(k).toAffine();
}

/** An SM2 key pair: private scalar (32 bytes) and public key x‖y (64 bytes, no 04 prefix). */
export interface Sm2KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Big-endian bytes of `x`, left-padded to `len`. */
export function bigToBytes(x: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) (out[i] = Number(x & 0xffn), x >>= 8n);
  if (x !== 0n) throw new RangeError(`value does not fit in ${len} bytes`);
  return out;
}

/** BigInt of big-endian bytes. */
export function bytesToBig(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = 0; i < b.length; i++) x = (x << 8n) | BigInt(b[i]);
  return x;
}

/** The SM2 public key x‖y of a private scalar. */
export function sm2PublicKey(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== 32) throw new RangeError("privateKey must be 32 bytes");
  const d = bytesToBig(privateKey);
  if (d < 1n || d > SM2_CURVE.n - 2n) throw new RangeError("privateKey out of range [1, n-2]");
  const P = Sm2Point.BASE.multiply(d).toAffine();
  const out = new Uint8Array(64);
  out.set(bigToBytes(P.x, 32), 0);
  out.set(bigToBytes(P.y, 32), 32);
  return out;
}

/** A deterministic SM2 key pair: d uniform in [1, n−2] (GB/T 32918.1 §6.1). */
export function generateSm2KeyPair(rng: RandomSource): Sm2KeyPair {
  const d = rng.bigBelow(SM2_CURVE.n - 1n);
  const privateKey = bigToBytes(d, 32);
  return { privateKey, publicKey: sm2PublicKey(privateKey) };
}
