/**
 * Test-only signing for ODA: RSA private operation (BigInt) and SM2 signing (GB/T 32918.2,
 * with a deterministic nonce) over the fixed test keys of fixtures/vectors/emv_test_keys.json,
 * plus builders of complete RSA/SM2 certificate chains for one card. Never used by the
 * product: a terminal's or issuer's private keys never reach icfare.
 */
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import { SM2_CURVE } from "../../kernel-as/sm2_curve.ts";
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

const N = SM2_CURVE.n;
const Sm2Point = weierstrass(SM2_CURVE);

export interface Sm2TestKey {
  readonly d: bigint;
  readonly publicKey: Uint8Array;
}

/** A fixed SM2 test key by name (ca, issuer, icc). */
export function sm2Key(name: string): Sm2TestKey {
  return sm2KeyFromScalar(big(fromHex(KEYS.sm2[name].privateKey)));
}

/** An SM2 test key from its private scalar d (1 <= d < n - 1), e.g. one ICC key per card. */
export function sm2KeyFromScalar(d: bigint): Sm2TestKey {
  if (d < 1n || d >= N - 1n) throw new RangeError("sm2KeyFromScalar: d out of range");
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
  /** SM2 cards: the ICC key pair (default: the shared test key "icc"). */
  sm2Icc?: Sm2TestKey;
  issuerExpiry?: string;
  iccExpiry?: string;
  serial?: string;
  fddaVersion?: 0 | 1;
  /**
   * 9F36, 4 hex digits (default 00D1): the fDDA ICC dynamic data is 02 ‖ ATC, as the card signs
   * it (docs/emv-pboc.md, fDDA).
   */
  atc?: string;
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
  tags.set("9F36", fromHex(o.atc ?? "00D1"));
  tags.set("9F4B", rsaSign(icc, sdadPlain(icc.modulus.length, dynamicNumber(tags), terminal)));
  return { tags, staticData, capk, icc };
}

/** The ICC dynamic data of fDDA: 02 ‖ ATC of the card's 9F36. */
export function dynamicNumber(tags: Map<string, Uint8Array>): Uint8Array {
  return concat(Uint8Array.of(0x02), tags.get("9F36")!);
}

/** Re-signs 9F4B of a card after its terminal data changed. */
export function resignSdad(card: RsaCard, iccDynamicData = dynamicNumber(card.tags)): void {
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
): { tags: Map<string, Uint8Array>; staticData: Uint8Array; capk: Capk; icc: Sm2TestKey } {
  const pan = o.pan ?? "6212345678901234";
  const ca = sm2Key("ca");
  const iss = sm2Key("issuer");
  const icc = o.sm2Icc ?? sm2Key("icc");
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
  tags.set("9F36", fromHex(o.atc ?? "00D1"));
  const body = sm2DynamicBody(dynamicNumber(tags));
  const terminal = concat(
    tags.get("9F37")!,
    tags.get("9F02")!,
    tags.get("5F2A")!,
    tags.get("9F69")!,
  );
  tags.set("9F4B", concat(body, sm2Sign(icc, concat(body, terminal))));
  return { tags, staticData, capk, icc };
}

export { ssadPlain };

// ---------------------------------------------------------------------------------------------
// Complete taps (chip data with a real AC, ODA evidence) for verify/explain/engine tests

import { encodePrimitives } from "../../core/tlv/encode.ts";
import { computeAc, deriveIccMk } from "../../core/emv/ac.ts";
import { PROFILES } from "../../core/emv/profiles.ts";
import { kcv } from "../../core/emv/primitives.ts";
import type { TapRecord } from "../../core/emv/verify.ts";

/** The issuer master key of the test world (docs/emv-pboc.md, test vectors). */
export const TEST_IMK = fromHex("0123456789ABCDEFFEDCBA9876543210");

/** Options of `tap`. */
export interface TapOptions extends CardOptions {
  seq?: number;
  atc?: string;
  psn?: string;
  sm4?: boolean;
  /** "rsa" (default), "sm2" or "none". */
  oda?: "rsa" | "sm2" | "none";
  /** Omit 9F27 (qPBOC): the type comes from the CVR. */
  noCid?: boolean;
  cvr?: string;
  fare?: number;
}

const CHIP_ORDER = [
  "9F26",
  "9F27",
  "9F10",
  "9F37",
  "9F36",
  "95",
  "9A",
  "9C",
  "9F02",
  "5F2A",
  "82",
  "9F1A",
  "9F03",
  "5A",
  "5F34",
  "5F24",
  "4F",
  "9F69",
  "9F4B",
];
const ODA_ORDER = ["8F", "90", "92", "9F32", "9F46", "9F47", "9F48", "9F4A"];

/** A PBOC tap with a correct AC under TEST_IMK and (by default) RSA fDDA 01 evidence. */
export function tap(o: TapOptions = {}): TapRecord {
  const pan = o.pan ?? "6212345678901234";
  const card = o.oda === "sm2"
    ? sm2Card({ ...o, atc: o.atc ?? "0001" })
    : rsaCard({ ...o, atc: o.atc ?? "0001" });
  const t = card.tags;
  const profile = PROFILES[o.sm4 ? "pboc-cvn01-sm4" : "pboc-cvn01-3des"];
  t.set(
    "9F10",
    fromHex(`0701${"01"}${o.cvr ?? "03900000"}${o.sm4 ? "04" : "01"}0A01000000000000000000`),
  );
  t.set("9F36", fromHex(o.atc ?? "0001"));
  t.set("95", fromHex("0000000000"));
  t.set("9C", fromHex("00"));
  t.set("9F1A", fromHex("0156"));
  t.set("9F03", fromHex("000000000000"));
  t.set("5F34", fromHex(o.psn ?? "01"));
  t.set("5F24", fromHex("291231"));
  if (!o.noCid) t.set("9F27", fromHex("40"));
  const mk = deriveIccMk(profile, TEST_IMK, pan, o.psn ?? "01");
  t.set("9F26", computeAc(profile, mk, t).ac);
  const icc = encodePrimitives(
    CHIP_ORDER.filter((k) => t.has(k) && (o.oda !== "none" || (k !== "9F4B" && k !== "9F69"))).map((
      k,
    ) => [k, t.get(k)!] as const),
  );
  const oda = encodePrimitives(
    ODA_ORDER.filter((k) => t.has(k)).map((k) => [k, t.get(k)!] as const),
  );
  const amount = Number(toHex(t.get("9F02")!));
  return {
    seq: o.seq ?? 1,
    tappedAt: "2025-01-01T07:31:02+08:00",
    line: "K1",
    vehicle: "LC-1024",
    fare: o.fare ?? amount,
    icc: toHex(icc),
    ...(o.oda === "none" ? {} : { oda: { tlv: toHex(oda), staticData: toHex(card.staticData) } }),
  };
}

/** The key import file (docs/cli.md) of the test world. */
export function testKeyFile(): unknown {
  return {
    keys: [
      {
        id: "imk-ac-3des",
        usage: "imk-ac",
        algorithm: "3des",
        issuer: "621234",
        dki: "01",
        value: toHex(TEST_IMK),
        kcv: toHex(kcv("3des", TEST_IMK)),
      },
      {
        id: "imk-ac-sm4",
        usage: "imk-ac",
        algorithm: "sm4",
        issuer: "621234",
        dki: "01",
        value: toHex(TEST_IMK),
        kcv: toHex(kcv("sm4", TEST_IMK)),
      },
    ],
  };
}

/** The CAPK import file of the test world (RSA 1984-bit index 08, SM2 index 18). */
export function testCapkFile(): unknown {
  const j = (c: Capk) => ({
    rid: c.rid,
    index: c.index,
    algorithm: c.algorithm,
    ...(c.algorithm === "rsa"
      ? { modulus: toHex(c.modulus!), exponent: toHex(c.exponent!) }
      : { publicKey: toHex(c.publicKey!) }),
    expiry: c.expiry,
    checksum: toHex(c.checksum),
  });
  return {
    capks: [
      j(testCapk("A000000333", "08", rsaKey("ca1984"))),
      j(testCapk("A000000333", "18", sm2Key("ca"))),
    ],
  };
}
