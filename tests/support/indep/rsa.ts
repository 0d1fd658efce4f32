/**
 * RSA for the independent tap builder: the raw public and private operations on BigInt (EMV
 * 4.4 Book 2 §5.1 and Annex B2.1: certificates and signatures are plain x^d mod n over a
 * formatted block, no PKCS padding), with the private operation by the Chinese remainder
 * theorem. Test keys are fixed (`rsa_keys.json`, made once with node:crypto by
 * `gen_rsa_keys.ts`), so every tap is reproducible.
 */
import { fromBig, toBig } from "./bytes.ts";

export interface RsaKey {
  readonly name: string;
  readonly modulus: Uint8Array;
  readonly exponent: Uint8Array;
  readonly d: bigint;
  readonly p: bigint;
  readonly q: bigint;
  readonly dp: bigint;
  readonly dq: bigint;
  readonly qi: bigint;
}

export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n, b = base % m, e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** The public operation x^e mod n; `x` must be as long as the modulus and below it. */
export function rsaPublic(modulus: Uint8Array, exponent: Uint8Array, x: Uint8Array): Uint8Array {
  const n = toBig(modulus), v = toBig(x);
  if (x.length !== modulus.length || v >= n) {
    throw new RangeError("rsaPublic: input must be modulus-long and below the modulus");
  }
  return fromBig(modPow(v, toBig(exponent), n), modulus.length);
}

/** The private operation (CRT) on a block as long as the modulus; checks the result. */
export function rsaPrivate(key: RsaKey, block: Uint8Array): Uint8Array {
  const n = toBig(key.modulus), m = toBig(block);
  if (block.length !== key.modulus.length || m >= n) {
    throw new RangeError(`rsaPrivate(${key.name}): block must be modulus-long and below it`);
  }
  const m1 = modPow(m % key.p, key.dp, key.p);
  const m2 = modPow(m % key.q, key.dq, key.q);
  let h = (key.qi * (m1 - m2)) % key.p;
  if (h < 0n) h += key.p;
  const s = m2 + h * key.q;
  if (modPow(s, toBig(key.exponent), n) !== m) {
    throw new Error(`rsaPrivate(${key.name}): CRT result does not verify`);
  }
  return fromBig(s, key.modulus.length);
}

const b64 = (s: string) => {
  const t = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(t + "=".repeat((4 - (t.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
};

/** A key from the stored JWK fields (n, e, d, p, q, dp, dq, qi; base64url). */
export function keyFromJwk(name: string, j: Record<string, string>): RsaKey {
  const big = (f: string) => toBig(b64(j[f]));
  return {
    name,
    modulus: b64(j.n),
    exponent: b64(j.e),
    d: big("d"),
    p: big("p"),
    q: big("q"),
    dp: big("dp"),
    dq: big("dq"),
    qi: big("qi"),
  };
}

const STORE = JSON.parse(
  await Deno.readTextFile(new URL("./rsa_keys.json", import.meta.url)),
) as { keys: Record<string, Record<string, string>> };

/** A fixed test key by name (see `rsa_keys.json`). */
export function rsaKey(name: string): RsaKey {
  const j = STORE.keys[name];
  if (!j) throw new RangeError(`no RSA test key "${name}"`);
  return keyFromJwk(name, j);
}
