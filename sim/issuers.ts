/**
 * The simulated world's key holders: the test CA keys of RID A000000333 and the issuers with
 * their master keys, issuer key pairs, issuer certificates (one current, one whose serial the CA
 * revoked) and pools of ICC key pairs. Every key is a pure function of the seed; prime searches
 * are skipped when a key cache from an earlier run with the same seed is given.
 */
import type { Rng } from "./prng.ts";
import {
  generateRsaKeyPair,
  generateSm2KeyPair,
  modInverse,
  type RsaKeyPair,
  type Sm2KeyPair,
  sm2PublicKey,
} from "./keygen.ts";
import { issuerCertificateRsa, issuerCertificateSm2, type RsaCertificate } from "./pki.ts";
import { fromHex, toHex } from "../core/hex.ts";

/** A test CA key of the simulated world. */
export interface CaKey {
  readonly index: string;
  readonly algorithm: "rsa" | "sm2";
  readonly rsa?: RsaKeyPair;
  readonly sm2?: Sm2KeyPair;
  /** Last day of validity, YYYY-MM-DD. */
  readonly expiry: string;
}

/** How one issuer of the world is set up. */
export interface IssuerDef {
  readonly id: string;
  readonly name: string;
  readonly bin: string;
  readonly panLength: 16 | 19;
  /** Cryptogram algorithm: PBOC CVN 01 3DES, or SM4 (9F10 algorithm 04). */
  readonly algorithm: "3des" | "sm4";
  readonly caIndex: string;
  /** RSA issuer and ICC key sizes (absent for SM2 issuers). */
  readonly issuerBits?: number;
  readonly iccBits?: number;
  /** False for an issuer whose master keys the host does not hold (cryptogram "no-key"). */
  readonly keysHeld: boolean;
  /** Share of the city's active cards. */
  readonly weight: number;
  /** Share of its cards used for electronic cash (the rest are ODA-model ARQC cards). */
  readonly ecShare: number;
}

/** The issuers of the simulated city. RSA CA sizes: 08 = 1152, 09 = 1408, 0B = 1984 bits. */
export const ISSUERS: readonly IssuerDef[] = [
  {
    id: "A",
    name: "Test Bank A (Liaocheng)",
    bin: "623501",
    panLength: 16,
    algorithm: "3des",
    caIndex: "08",
    issuerBits: 1024,
    iccBits: 768,
    keysHeld: true,
    weight: 30,
    ecShare: 0.8,
  },
  {
    id: "B",
    name: "Test Bank B (Shandong)",
    bin: "623502",
    panLength: 16,
    algorithm: "3des",
    caIndex: "09",
    issuerBits: 1152,
    iccBits: 896,
    keysHeld: true,
    weight: 20,
    ecShare: 0.7,
  },
  {
    id: "C",
    name: "Test Bank C (national, 19-digit PANs)",
    bin: "623503",
    panLength: 19,
    algorithm: "3des",
    caIndex: "0B",
    issuerBits: 1408,
    iccBits: 1024,
    keysHeld: true,
    weight: 15,
    ecShare: 0.6,
  },
  {
    id: "D",
    name: "Test Bank D (SM2/SM4)",
    bin: "623504",
    panLength: 16,
    algorithm: "sm4",
    caIndex: "18",
    keysHeld: true,
    weight: 15,
    ecShare: 0.7,
  },
  {
    id: "E",
    name: "Test Bank E (SM2/SM4, 19-digit PANs)",
    bin: "623505",
    panLength: 19,
    algorithm: "sm4",
    caIndex: "18",
    keysHeld: true,
    weight: 10,
    ecShare: 0.5,
  },
  {
    id: "F",
    name: "Test Bank F (out of province: keys not held)",
    bin: "623599",
    panLength: 16,
    algorithm: "3des",
    caIndex: "09",
    issuerBits: 1152,
    iccBits: 768,
    keysHeld: false,
    weight: 10,
    ecShare: 0.6,
  },
];

const CA_DEFS: readonly { index: string; algorithm: "rsa" | "sm2"; bits?: number }[] = [
  { index: "08", algorithm: "rsa", bits: 1152 },
  { index: "09", algorithm: "rsa", bits: 1408 },
  { index: "0B", algorithm: "rsa", bits: 1984 },
  { index: "18", algorithm: "sm2" },
];

/** One issuer certificate (tag 90, and 92 for RSA) with its serial and expiry. */
export interface IssuerCert {
  readonly serial: string; // 6 hex digits
  readonly expiryMmyy: string;
  readonly certificate: Uint8Array;
  readonly remainder: Uint8Array;
  readonly revoked: boolean;
}

/** An issuer of the world with its keys. */
export interface Issuer extends IssuerDef {
  readonly imkAc: Uint8Array;
  readonly imkMac: Uint8Array;
  readonly dki: string;
  readonly rsa?: RsaKeyPair;
  readonly sm2?: Sm2KeyPair;
  /** [0] the current certificate, [1] an older one whose serial the CA revoked. */
  readonly certs: readonly IssuerCert[];
  readonly iccRsaPool: readonly RsaKeyPair[];
  readonly iccSm2Pool: readonly Sm2KeyPair[];
}

/** Serialisable key material so that a second run with the same seed skips prime searches. */
export interface KeyCache {
  readonly seed: string;
  readonly iccKeyPool: number;
  /** label → RSA primes p, q and e (hex) or SM2 private key (hex). */
  readonly rsa: Record<string, { p: string; q: string; e: string }>;
  readonly sm2: Record<string, string>;
}

function parity(key: Uint8Array): Uint8Array {
  return key.map((b) => {
    let ones = 0;
    for (let x = b & 0xfe; x; x >>= 1) ones += x & 1;
    return (b & 0xfe) | ((ones & 1) ^ 1);
  });
}

function rsaFromPrimes(bits: number, pHex: string, qHex: string, eHex: string): RsaKeyPair {
  const p = BigInt("0x" + pHex);
  const q = BigInt("0x" + qHex);
  const e = BigInt("0x" + eHex);
  const n = p * q;
  const d = modInverse(e, (p - 1n) * (q - 1n));
  return { bits, n, e, d, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qInv: modInverse(q, p) };
}

/** Makes (or takes from an earlier run's cache) the world's key pairs, recording each. */
export class KeyMaker {
  readonly cache: KeyCache;
  readonly #cached: KeyCache | undefined;

  constructor(readonly rng: Rng, seed: string, pool: number, earlier?: KeyCache) {
    this.#cached = earlier?.seed === seed && earlier.iccKeyPool === pool ? earlier : undefined;
    this.cache = { seed, iccKeyPool: pool, rsa: {}, sm2: {} };
  }

  rsa(label: string, bits: number): RsaKeyPair {
    const c = this.#cached?.rsa[label];
    const key = c
      ? rsaFromPrimes(bits, c.p, c.q, c.e)
      : generateRsaKeyPair(bits, this.rng.fork(`key/${label}`));
    this.cache.rsa[label] = { p: key.p.toString(16), q: key.q.toString(16), e: key.e.toString(16) };
    return key;
  }

  sm2(label: string): Sm2KeyPair {
    const c = this.#cached?.sm2[label];
    const key = c
      ? { privateKey: fromHex(c), publicKey: sm2PublicKey(fromHex(c)) }
      : generateSm2KeyPair(this.rng.fork(`key/${label}`));
    this.cache.sm2[label] = toHex(key.privateKey);
    return key;
  }
}

/** The test CA keys (valid through 2035). */
export function makeCas(keys: KeyMaker): CaKey[] {
  return CA_DEFS.map((d) => ({
    index: d.index,
    algorithm: d.algorithm,
    expiry: "2035-12-31",
    ...(d.algorithm === "rsa"
      ? { rsa: keys.rsa(`ca-${d.index}`, d.bits!) }
      : { sm2: keys.sm2(`ca-${d.index}`) }),
  }));
}

const mmyy = (m: number, y: number) =>
  String(m).padStart(2, "0") + String(y % 100).padStart(2, "0");

/** An SM2/SM4 issuer's key pair, certificates and ICC key pool. */
function sm2Issuer(
  keys: KeyMaker,
  def: IssuerDef,
  ca: CaKey,
  serials: Uint8Array[],
  exp: string[],
  pool: number,
) {
  const key = keys.sm2(`issuer-${def.id}`);
  const certs = serials.map((s, i) => ({
    serial: toHex(s),
    expiryMmyy: exp[i],
    certificate: issuerCertificateSm2(ca.sm2!, key, def.bin, exp[i], s),
    remainder: new Uint8Array(0),
    revoked: i === 1,
  }));
  const iccSm2Pool = Array.from({ length: pool }, (_, i) => keys.sm2(`icc-${def.id}-${i}`));
  return { sm2: key, certs, iccRsaPool: [], iccSm2Pool };
}

/** An RSA issuer's key pair, certificates and ICC key pool. */
function rsaIssuer(
  keys: KeyMaker,
  def: IssuerDef,
  ca: CaKey,
  serials: Uint8Array[],
  exp: string[],
  pool: number,
) {
  const key = keys.rsa(`issuer-${def.id}`, def.issuerBits!);
  const certs = serials.map((s, i) => {
    const c: RsaCertificate = issuerCertificateRsa(ca.rsa!, key, def.bin, exp[i], s);
    return {
      serial: toHex(s),
      expiryMmyy: exp[i],
      certificate: c.certificate,
      remainder: c.remainder,
      revoked: i === 1,
    };
  });
  const iccRsaPool = Array.from(
    { length: pool },
    (_, i) => keys.rsa(`icc-${def.id}-${i}`, def.iccBits!),
  );
  return { rsa: key, certs, iccRsaPool, iccSm2Pool: [] };
}

/** The issuers with their keys; certificates expire 6 and 3 years after the service year. */
export function makeIssuers(
  keys: KeyMaker,
  cas: readonly CaKey[],
  year: number,
  pool: number,
): Issuer[] {
  return ISSUERS.map((def) => {
    const r = keys.rng.fork(`issuer/${def.id}`);
    const imkAc = def.algorithm === "3des" ? parity(r.bytes(16)) : r.bytes(16);
    const imkMac = def.algorithm === "3des" ? parity(r.bytes(16)) : r.bytes(16);
    const ca = cas.find((c) => c.index === def.caIndex)!;
    const serials = [r.bytes(3), r.bytes(3)];
    const expiries = [mmyy(12, year + 6), mmyy(12, year + 3)];
    const made = def.algorithm === "sm4"
      ? sm2Issuer(keys, def, ca, serials, expiries, pool)
      : rsaIssuer(keys, def, ca, serials, expiries, pool);
    return { ...def, imkAc, imkMac, dki: "01", ...made };
  });
}
