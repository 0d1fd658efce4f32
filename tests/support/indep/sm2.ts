/**
 * SM2 signatures for the independent tap builder (GB/T 32918.2 §6-§7 over the recommended
 * curve of GB/T 32918.5): Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ Px ‖ Py), e = SM3(Z ‖ M),
 * r = (e + x1) mod n, s = (1 + d)^-1 (k - r·d) mod n. Point arithmetic on @noble/curves, SM3 on
 * sm-crypto. The nonce k is deterministic (SHA-256 of d ‖ e ‖ counter, reduced), so taps are
 * reproducible; a given k reproduces the standard's Annex A example.
 */
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import { ascii, cat, fromBig, toBig, uint } from "./bytes.ts";
import { sha256, sm3 } from "./sym.ts";

export const SM2_CURVE = {
  p: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFFn,
  a: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFCn,
  b: 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93n,
  Gx: 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7n,
  Gy: 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0n,
  n: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123n,
  h: 1n,
};
const N = SM2_CURVE.n;
const Point = weierstrass(SM2_CURVE);

/** The default user ID of GM/T 0009 §10, used by PBOC certificates and signatures. */
export const DEFAULT_ID = "1234567812345678";

export interface Sm2Key {
  readonly name: string;
  readonly d: bigint;
  /** 64 bytes x ‖ y (no 04 prefix). */
  readonly publicKey: Uint8Array;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError("no inverse");
  return mod(s0, m);
}

/** The public key x ‖ y of private key d. */
export function publicKeyOf(d: bigint): Uint8Array {
  const p = Point.BASE.multiply(d).toAffine();
  return cat(fromBig(p.x, 32), fromBig(p.y, 32));
}

/** A key from a private scalar. */
export function sm2KeyFromD(name: string, d: bigint): Sm2Key {
  if (d <= 0n || d >= N - 1n) throw new RangeError("sm2: d must be in 1..n-2");
  return { name, d, publicKey: publicKeyOf(d) };
}

/** A fixed test key from a label: d = SHA-256("icfare indep sm2 " ‖ label) mod (n - 2) + 1. */
export function sm2Key(label: string): Sm2Key {
  const d = toBig(sha256(ascii(`icfare indep sm2 ${label}`))) % (N - 2n) + 1n;
  return sm2KeyFromD(label, d);
}

/** Z of GB/T 32918.2 §5.5 for a public key and user ID. */
export function zValue(publicKey: Uint8Array, id = DEFAULT_ID): Uint8Array {
  const idBytes = ascii(id);
  const c = SM2_CURVE;
  return sm3(cat(
    uint(idBytes.length * 8, 2),
    idBytes,
    fromBig(c.a, 32),
    fromBig(c.b, 32),
    fromBig(c.Gx, 32),
    fromBig(c.Gy, 32),
    publicKey,
  ));
}

/** e = SM3(Z ‖ M) as an integer. */
export function digest(publicKey: Uint8Array, message: Uint8Array, id = DEFAULT_ID): bigint {
  return toBig(sm3(cat(zValue(publicKey, id), message)));
}

/** Signs M (r ‖ s, 64 bytes); `k` forces the nonce (the standard's examples). */
export function sm2Sign(key: Sm2Key, message: Uint8Array, k?: bigint, id = DEFAULT_ID): Uint8Array {
  const e = digest(key.publicKey, message, id);
  for (let counter = 0;; counter++) {
    const nonce = k ??
      toBig(sha256(cat(fromBig(key.d, 32), fromBig(e, 32), uint(counter, 4)))) % (N - 1n) + 1n;
    const x1 = Point.BASE.multiply(nonce).toAffine().x;
    const r = mod(e + x1, N);
    if (r === 0n || r + nonce === N) {
      if (k !== undefined) throw new RangeError("sm2Sign: the given k gives r = 0");
      continue;
    }
    const s = mod(inverse(1n + key.d, N) * (nonce - r * key.d), N);
    if (s === 0n) {
      if (k !== undefined) throw new RangeError("sm2Sign: the given k gives s = 0");
      continue;
    }
    return cat(fromBig(r, 32), fromBig(s, 32));
  }
}

/** True when the point x ‖ y lies on the curve. */
export function onCurve(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 64) return false;
  try {
    Point.fromAffine({ x: toBig(publicKey.subarray(0, 32)), y: toBig(publicKey.subarray(32)) })
      .assertValidity();
    return true;
  } catch {
    return false;
  }
}

/** Verifies r ‖ s over M (GB/T 32918.2 §7). */
export function sm2Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  id = DEFAULT_ID,
): boolean {
  if (signature.length !== 64 || !onCurve(publicKey)) return false;
  const r = toBig(signature.subarray(0, 32)), s = toBig(signature.subarray(32));
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const t = mod(r + s, N);
  if (t === 0n) return false;
  const P = Point.fromAffine({
    x: toBig(publicKey.subarray(0, 32)),
    y: toBig(publicKey.subarray(32)),
  });
  const sum = Point.BASE.multiply(s).add(P.multiply(t));
  if (sum.equals(Point.ZERO)) return false;
  return mod(digest(publicKey, message, id) + sum.toAffine().x, N) === r;
}
