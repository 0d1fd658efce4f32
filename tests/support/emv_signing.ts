/**
 * Test-only signing for ODA: RSA private operation (BigInt) and SM2 signing (GB/T 32918.2,
 * with a deterministic nonce) over the fixed test keys of fixtures/vectors/emv_test_keys.json,
 * plus builders of complete RSA/SM2 certificate chains for one card. Never used by the
 * product: a terminal's or issuer's private keys never reach icfare.
 */
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import { fromHex, toHex } from "../../core/hex.ts";
import { concat, sha256, sm2Z, sm3 } from "../../core/emv/primitives.ts";
import {
  iccCertPlain,
  issuerCertPlain,
  sdadPlain,
  sm2DynamicBody,
  sm2IccCertBody,
  sm2IssuerCertBody,
  ssadPlain,
} from "../../core/emv/oda.ts";
import { type Capk, capkChecksum } from "../../core/emv/capk.ts";

const KEYS = JSON.parse(
  await Deno.readTextFile(new URL("../../fixtures/vectors/emv_test_keys.json", import.meta.url)),
);

export interface RsaTestKey {
  readonly modulus: Uint8Array;
  readonly exponent: Uint8Array;
  readonly d: Uint8Array;
}

/** A fixed RSA test key by name (ca1984, issuer1408, icc1152, ca1152, issuer1024, icc1024, icc768). */
export function rsaKey(name: string): RsaTestKey {
  const k = KEYS.rsa[name];
  if (!k) throw new RangeError(`no RSA test key ${name}`);
  return {
    modulus: fromHex(k.modulus),
    exponent: fromHex(k.exponent),
    d: fromHex(k.privateExponent),
  };
}

const big = (b: Uint8Array) => b.length ? BigInt("0x" + toHex(b)) : 0n;
const bytes = (x: bigint, n: number) => fromHex(x.toString(16).padStart(n * 2, "0"));

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** RSA private operation (the "signature" of an EMV certificate plaintext). */
export function rsaSign(key: RsaTestKey, plain: Uint8Array): Uint8Array {
  if (plain.length !== key.modulus.length) {
    throw new RangeError("plain must be as long as the modulus");
  }
  return bytes(modPow(big(plain), big(key.d), big(key.modulus)), key.modulus.length);
}

const N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123n;
const Sm2Point = weierstrass({
  p: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFFn,
  a: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFCn,
  b: 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93n,
  Gx: 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7n,
  Gy: 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0n,
  n: N,
  h: 1n,
});

export interface Sm2TestKey {
  readonly d: bigint;
  readonly publicKey: Uint8Array;
}

/** A fixed SM2 test key by name (ca, issuer, icc). */
export function sm2Key(name: string): Sm2TestKey {
  const d = big(fromHex(KEYS.sm2[name].privateKey));
  const P = Sm2Point.BASE.multiply(d).toAffine();
  return { d, publicKey: concat(bytes(P.x, 32), bytes(P.y, 32)) };
}

function modInv(a: bigint, m: bigint): bigint {
  return modPow(((a % m) + m) % m, m - 2n, m);
}

/** SM2 signature r‖s of `message` with Z (default ID); nonce derived from d and the message. */
export function sm2Sign(key: Sm2TestKey, message: Uint8Array): Uint8Array {
  const e = big(sm3(concat(sm2Z(key.publicKey), message)));
  for (let ctr = 0;; ctr++) {
    const k = big(sha256(concat(bytes(key.d, 32), message, Uint8Array.of(ctr)))) % N;
    if (k === 0n) continue;
    const x1 = Sm2Point.BASE.multiply(k).toAffine().x;
    const r = (e + x1) % N;
    if (r === 0n || r + k === N) continue;
    const s = (modInv(1n + key.d, N) * ((k - r * key.d) % N + N)) % N;
    if (s === 0n) continue;
    return concat(bytes(r, 32), bytes(s, 32));
  }
}

/** A CAPK entry for a test key. */
export function testCapk(
  rid: string,
  index: string,
  key: RsaTestKey | Sm2TestKey,
  expiry = "2049-12-31",
): Capk {
  const base = "d" in key && typeof key.d === "bigint"
    ? { rid, index, algorithm: "sm2" as const, publicKey: (key as Sm2TestKey).publicKey }
    : {
      rid,
      index,
      algorithm: "rsa" as const,
      modulus: (key as RsaTestKey).modulus,
      exponent: (key as RsaTestKey).exponent,
    };
  return { ...base, expiry, checksum: capkChecksum(base) };
}

/** Everything one card presents for RSA fDDA, with the keys that made it. */
export interface RsaCard {
  readonly tags: Map<string, Uint8Array>;
  readonly staticData: Uint8Array;
  readonly capk: Capk;
  readonly icc: RsaTestKey;
}

/** Options for `rsaCard`. */
export interface CardOptions {
  pan?: string;
  issuerId?: string;
  ca?: string;
  issuer?: string;
  iccKey?: string;
  issuerExpiry?: string;
  iccExpiry?: string;
  serial?: string;
  fddaVersion?: 0 | 1;
  /** Terminal data fields. */
  un?: string;
  amount?: string;
  date?: string;
}

/**
 * Builds an RSA fDDA card: CA → issuer cert (90, 92, 9F32) → ICC cert (9F46, 9F47, 9F48) over
 * static data + AIP (9F4A = 82) → 9F4B over the fDDA terminal data.
 */
export function rsaCard(o: CardOptions = {}): RsaCard {
  const pan = o.pan ?? "6212345678901234";
  const ca = rsaKey(o.ca ?? "ca1984");
  const iss = rsaKey(o.issuer ?? "issuer1408");
  const icc = rsaKey(o.iccKey ?? "icc1152");
  const capk = testCapk("A000000333", "08", ca);
  const aip = fromHex("7C00");
  const staticData = fromHex("5F24032912315A0862123456789012345F3401019F0702FF00");
  const ic = issuerCertPlain(ca.modulus.length, {
    issuerId: o.issuerId ?? pan.slice(0, 6),
    expiry: o.issuerExpiry ?? "1230",
    serial: o.serial ?? "0000A1",
    modulus: iss.modulus,
    exponent: iss.exponent,
  });
  const cc = iccCertPlain(iss.modulus.length, {
    pan,
    expiry: o.iccExpiry ?? "1229",
    serial: "000001",
    modulus: icc.modulus,
    exponent: icc.exponent,
    staticData: concat(staticData, aip),
  });
  const version = o.fddaVersion ?? 1;
  const tags = new Map<string, Uint8Array>([
    ["4F", fromHex("A000000333010101")],
    ["5A", fromHex(pan.length % 2 ? pan + "F" : pan)],
    ["9A", fromHex(o.date ?? "250101")],
    ["9F37", fromHex(o.un ?? "12345678")],
    ["9F02", fromHex(o.amount ?? "000000000200")],
    ["5F2A", fromHex("0156")],
    ["82", aip],
    ["9F69", version === 1 ? fromHex("01A1B2C3D4E5F60000") : fromHex("00A1B2C3D4E5F60000")],
    ["8F", fromHex("08")],
    ["90", rsaSign(ca, ic.plain)],
    ["9F32", iss.exponent],
    ["9F46", rsaSign(iss, cc.plain)],
    ["9F47", icc.exponent],
    ["9F4A", fromHex("82")],
  ]);
  if (ic.remainder.length) tags.set("92", ic.remainder);
  if (cc.remainder.length) tags.set("9F48", cc.remainder);
  const terminal = version === 1
    ? concat(tags.get("9F37")!, tags.get("9F02")!, tags.get("5F2A")!, tags.get("9F69")!)
    : tags.get("9F37")!;
  tags.set("9F4B", rsaSign(icc, sdadPlain(icc.modulus.length, fromHex("0200D1"), terminal)));
  return { tags, staticData, capk, icc };
}

/** Re-signs 9F4B of a card after its terminal data changed. */
export function resignSdad(card: RsaCard, iccDynamicData = fromHex("0200D1")): void {
  const t = card.tags;
  const v = t.get("9F69")?.[0] ?? 0;
  const terminal = v === 1
    ? concat(t.get("9F37")!, t.get("9F02")!, t.get("5F2A")!, t.get("9F69")!)
    : t.get("9F37")!;
  t.set("9F4B", rsaSign(card.icc, sdadPlain(card.icc.modulus.length, iccDynamicData, terminal)));
}

/** An SM2 fDDA card: CA → 90 (format 12) → 9F46 (format 14) → 9F4B (format 15). */
export function sm2Card(
  o: CardOptions = {},
): { tags: Map<string, Uint8Array>; staticData: Uint8Array; capk: Capk } {
  const pan = o.pan ?? "6212345678901234";
  const ca = sm2Key("ca");
  const iss = sm2Key("issuer");
  const icc = sm2Key("icc");
  const capk = testCapk("A000000333", "18", ca);
  const aip = fromHex("7C00");
  const staticData = fromHex("5F24032912315A0862123456789012345F340101");
  const ib = sm2IssuerCertBody({
    issuerId: o.issuerId ?? pan.slice(0, 8),
    expiry: o.issuerExpiry ?? "1230",
    serial: o.serial ?? "001258",
    publicKey: iss.publicKey,
  });
  const cb = sm2IccCertBody({
    pan,
    expiry: o.iccExpiry ?? "1229",
    serial: "007EB0",
    publicKey: icc.publicKey,
  });
  const tags = new Map<string, Uint8Array>([
    ["4F", fromHex("A000000333010101")],
    ["5A", fromHex(pan.length % 2 ? pan + "F" : pan)],
    ["9A", fromHex(o.date ?? "250101")],
    ["9F37", fromHex(o.un ?? "12345678")],
    ["9F02", fromHex(o.amount ?? "000000000200")],
    ["5F2A", fromHex("0156")],
    ["82", aip],
    ["9F69", fromHex("01A1B2C3D4E5F60000")],
    ["8F", fromHex("18")],
    ["90", concat(ib, sm2Sign(ca, ib))],
    ["9F46", concat(cb, sm2Sign(iss, concat(cb, staticData, aip)))],
    ["9F4A", fromHex("82")],
  ]);
  const body = sm2DynamicBody(fromHex("0200D1"));
  const terminal = concat(
    tags.get("9F37")!,
    tags.get("9F02")!,
    tags.get("5F2A")!,
    tags.get("9F69")!,
  );
  tags.set("9F4B", concat(body, sm2Sign(icc, concat(body, terminal))));
  return { tags, staticData, capk };
}

export { ssadPlain };
