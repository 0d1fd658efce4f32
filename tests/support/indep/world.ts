/**
 * The fixed world of the independent tap builder: one issuer (BIN 621483) with 3DES and SM4
 * issuer master keys for AC and MAC, two RSA CA chains and one SM2 chain under UnionPay's RID,
 * and the import files icfare reads (docs/cli.md "key import file formats"):
 * `{"keys":[{id, usage, algorithm, issuer, dki, value, kcv}]}` and
 * `{"capks":[{rid, index, algorithm, modulus|publicKey, exponent, expiry, checksum}],
 *   "revoked":[{rid, index, serial}]}` with icfare's checksum form (SHA-1 over RID ‖ index ‖
 * modulus ‖ exponent, or RID ‖ index ‖ x ‖ y for SM2).
 *
 * Key values are SHA-256 of fixed labels: reproducible, and test-only.
 */
import { ascii, cat, hex, unhex } from "./bytes.ts";
import { type Algorithm } from "./pboc.ts";
import { type RsaKey, rsaKey } from "./rsa.ts";
import { type Sm2Key, sm2Key } from "./sm2.ts";
import { kcv, sha1, sha256 } from "./sym.ts";

export const RID = "A000000333";
export const AID = "A000000333010101";
export const ISSUER_BIN = "621483";
export const DKI = 0x01;

/** A 16-byte issuer master key from a label. */
export function masterKey(label: string): Uint8Array {
  return sha256(ascii(`icfare indep imk ${label}`)).slice(0, 16);
}

/** Issuer master keys by algorithm and usage. */
export const IMK = {
  "3des": { ac: masterKey("3des ac"), mac: masterKey("3des mac") },
  sm4: { ac: masterKey("sm4 ac"), mac: masterKey("sm4 mac") },
} as const;

/** An RSA certificate chain: CA → issuer → ICC. */
export interface RsaChain {
  readonly caIndex: string;
  readonly ca: RsaKey;
  readonly issuer: RsaKey;
  readonly icc: RsaKey;
}

/** Chain A: 1152/1024/768 bits, e = 3, remainders on both certificates. */
export const CHAIN_A: RsaChain = {
  caIndex: "C1",
  ca: rsaKey("ca1152"),
  issuer: rsaKey("issuer1024"),
  icc: rsaKey("icc768"),
};

/** Chain B: 1984 (e = 65537) / 1408 (e = 65537) / 1024 (e = 3) bits, no remainders. */
export const CHAIN_B: RsaChain = {
  caIndex: "C2",
  ca: rsaKey("ca1984"),
  issuer: rsaKey("issuer1408"),
  icc: rsaKey("icc1024"),
};

export interface Sm2Chain {
  readonly caIndex: string;
  readonly ca: Sm2Key;
  readonly issuer: Sm2Key;
  readonly icc: Sm2Key;
}

export const SM2_CHAIN: Sm2Chain = {
  caIndex: "D1",
  ca: sm2Key("ca"),
  issuer: sm2Key("issuer"),
  icc: sm2Key("icc"),
};

/** A CA index no CA key file holds. */
export const UNKNOWN_CA_INDEX = "C9";

/** What a keys file should hold. */
export interface KeysFileSpec {
  /** Algorithms whose IMK-AC is held (default both). */
  readonly ac?: readonly Algorithm[];
  /** Algorithms whose IMK-MAC is held (default both). */
  readonly mac?: readonly Algorithm[];
  /** Issuer prefix the keys serve (default the BIN). */
  readonly issuer?: string;
  /** Optional per-issuer profile configuration (icfare's `issuers` map). */
  readonly issuers?: Record<string, unknown>;
}

/** A key import file (JSON object) with 3-byte KCVs. */
export function keysFile(spec: KeysFileSpec = {}) {
  const keys: Record<string, string>[] = [];
  const add = (alg: Algorithm, usage: "imk-ac" | "imk-mac") => {
    const value = IMK[alg][usage === "imk-ac" ? "ac" : "mac"];
    keys.push({
      id: `indep-${alg}-${usage}`,
      usage,
      algorithm: alg,
      issuer: spec.issuer ?? ISSUER_BIN,
      dki: hex(Uint8Array.of(DKI)),
      value: hex(value),
      kcv: hex(kcv(alg, value)),
    });
  };
  for (const a of spec.ac ?? ["3des", "sm4"]) add(a, "imk-ac");
  for (const a of spec.mac ?? ["3des", "sm4"]) add(a, "imk-mac");
  return spec.issuers ? { keys, issuers: spec.issuers } : { keys };
}

/** RSA CA key entry with icfare's checksum. */
export function rsaCapkEntry(index: string, ca: RsaKey, expiry = "2049-12-31") {
  const checksum = sha1(cat(unhex(RID), unhex(index), ca.modulus, ca.exponent));
  return {
    rid: RID,
    index,
    algorithm: "rsa",
    modulus: hex(ca.modulus),
    exponent: hex(ca.exponent),
    expiry,
    checksum: hex(checksum),
  };
}

/** SM2 CA key entry with icfare's checksum (x ‖ y without a 04 prefix). */
export function sm2CapkEntry(index: string, ca: Sm2Key, expiry = "2049-12-31") {
  const checksum = sha1(cat(unhex(RID), unhex(index), ca.publicKey));
  return {
    rid: RID,
    index,
    algorithm: "sm2",
    publicKey: hex(ca.publicKey),
    expiry,
    checksum: hex(checksum),
  };
}

export interface CapkFileSpec {
  /** Expiry by CA index (default 2049-12-31). */
  readonly expiry?: Record<string, string>;
  /** Issuer certificate serials revoked under (RID, index). */
  readonly revoked?: readonly { index: string; serial: string }[];
  /** Leave these indices out. */
  readonly omit?: readonly string[];
}

/** The CA key import file holding the three test CA keys. */
export function capkFile(spec: CapkFileSpec = {}) {
  const exp = (i: string) => spec.expiry?.[i];
  const all = [
    rsaCapkEntry(CHAIN_A.caIndex, CHAIN_A.ca, exp(CHAIN_A.caIndex)),
    rsaCapkEntry(CHAIN_B.caIndex, CHAIN_B.ca, exp(CHAIN_B.caIndex)),
    sm2CapkEntry(SM2_CHAIN.caIndex, SM2_CHAIN.ca, exp(SM2_CHAIN.caIndex)),
  ];
  const capks = all.filter((c) => !spec.omit?.includes(c.index));
  const revoked = (spec.revoked ?? []).map((r) => ({ rid: RID, ...r }));
  return revoked.length ? { capks, revoked } : { capks };
}
