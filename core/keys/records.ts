/**
 * What the key store holds (docs/keys.md, "Store"): the record shapes of keys, pending
 * components, CA public keys and terminals; the usages icfare knows and their TR-31 binding;
 * the checks on a new key's attributes, and the binding of those attributes inside each
 * wrapped block. No I/O and no key material here.
 */
import { HINTS, KeyStoreError } from "./errors.ts";
import { type KcvMethod, KEY_ALGORITHMS, type KeyAlgorithm } from "./kcv.ts";
import type { Tr31Header } from "./tr31.ts";
import type { AuditAck } from "./audit.ts";

/** What a key is for (icfare names; each maps to a TR-31 key usage and mode of use). */
export type KeyUsage =
  | "imk-ac"
  | "imk-mac"
  | "imk-enc"
  | "kek"
  | "terminal-auth"
  | "pan-hash"
  | "denylist-sign"
  | "archive-sign"
  | "data"
  | "terminal-table"
  | "clearing";

/** TR-31 binding of each usage, and the algorithms it allows. */
export const USAGES: Record<
  KeyUsage,
  { tr31: string; mode: string; algorithms: KeyAlgorithm[]; what: string }
> = {
  "imk-ac": {
    tr31: "E0",
    mode: "X",
    algorithms: ["3des", "sm4", "aes"],
    what: "issuer master key for application cryptograms",
  },
  "imk-mac": {
    tr31: "E2",
    mode: "X",
    algorithms: ["3des", "sm4", "aes"],
    what: "issuer master key for secure messaging integrity",
  },
  "imk-enc": {
    tr31: "E1",
    mode: "X",
    algorithms: ["3des", "sm4", "aes"],
    what: "issuer master key for secure messaging confidentiality",
  },
  "kek": { tr31: "K0", mode: "B", algorithms: ["3des", "aes"], what: "key-encryption key" },
  "terminal-auth": {
    tr31: "M7",
    mode: "C",
    algorithms: ["hmac-sha256"],
    what: "terminal upload authentication (HMAC)",
  },
  "pan-hash": {
    tr31: "M7",
    mode: "G",
    algorithms: ["hmac-sha256"],
    what: "keyed hash of PAN and PSN",
  },
  // Signing keys (ec.ts, signing.ts): an asymmetric key pair for digital signature (TR-31 S0),
  // signature only (S). An HMAC deny-list key of a store made before signing keys is legacy:
  // still accepted, it signs nothing (docs/denylist.md, "Signing key").
  "denylist-sign": {
    tr31: "S0",
    mode: "S",
    algorithms: ["sm2", "ecdsa-p256", "hmac-sha256"],
    what: "deny-list signing (SM2 or ECDSA P-256; an HMAC key is legacy and signs nothing)",
  },
  "archive-sign": {
    tr31: "S0",
    mode: "S",
    algorithms: ["sm2", "ecdsa-p256"],
    what: "archive head signing (SM2 or ECDSA P-256)",
  },
  "data": { tr31: "D0", mode: "B", algorithms: ["aes"], what: "card-data encryption" },
  "terminal-table": {
    tr31: "K1",
    mode: "B",
    algorithms: ["aes"],
    what: "the upload servers' terminal table (made by the key store itself)",
  },
  "clearing": { tr31: "D0", mode: "B", algorithms: ["aes"], what: "clearing-file encryption" },
};

/**
 * The TR-31 key usage and mode of use of a key of `usage` and `algorithm`: the usage's own,
 * except for a legacy HMAC deny-list key, which keeps the M7/G binding it was wrapped with.
 */
export function tr31Binding(
  usage: KeyUsage,
  algorithm: KeyAlgorithm,
): { tr31: string; mode: string } {
  if (usage === "denylist-sign" && algorithm === "hmac-sha256") return { tr31: "M7", mode: "G" };
  return USAGES[usage];
}

/** Usages only the key store itself creates (never generated, imported or entered). */
export const RESERVED_USAGES: readonly KeyUsage[] = ["terminal-table"];

/** TR-31 algorithm character for each algorithm (SM4 has no standard code: icfare uses "4"). */
export const ALGORITHM_CHAR: Record<KeyAlgorithm, string> = {
  "des": "D",
  "3des": "T",
  "sm4": "4",
  "aes": "A",
  "hmac-sha256": "H",
  "sm2": "E",
  "ecdsa-p256": "E",
};

/** Default generated key length in bytes per algorithm. */
export const DEFAULT_LENGTH: Record<KeyAlgorithm, number> = {
  "des": 8,
  "3des": 16,
  "sm4": 16,
  "aes": 32,
  "hmac-sha256": 32,
  "sm2": 32,
  "ecdsa-p256": 32,
};

/** One stored key (never its value). */
export interface KeyRecord {
  id: string;
  usage: KeyUsage;
  algorithm: KeyAlgorithm;
  issuer?: string;
  dki?: string;
  version: number;
  kcv: string;
  kcvMethod: KcvMethod;
  state: "active" | "retired";
  origin: "generated" | "imported" | "components" | "key-block" | "terminal";
  exportable: boolean;
  createdAt: string;
  retiredAt?: string;
  /** The key as a TR-31 version D block under the master key. */
  block: string;
  /** Signing keys (SM2, ECDSA P-256): the public key `04 ‖ x ‖ y`, hex (its KCV is `kcv`). */
  publicKey?: string;
}

/** A key being entered as components (dual control): nothing is active until all are in. */
export interface PendingKey {
  id: string;
  usage: KeyUsage;
  algorithm: KeyAlgorithm;
  issuer?: string;
  dki?: string;
  parts: number;
  exportable: boolean;
  combinedKcv?: string;
  createdAt: string;
  components: { custodian: string; kcv: string; at: string; block: string }[];
}

/** A CA public key's identity and key material (upper-case hex; SM2: x‖y, 64 bytes). */
export interface CapkKey {
  rid: string;
  index: string;
  algorithm: "rsa" | "sm2";
  modulus?: string;
  exponent?: string;
  publicKey?: string;
}

/** A CA public key (public: stored in clear, checksum verified on import). */
export interface CapkRecord extends CapkKey {
  expiry: string;
  checksum: string;
  state: "active" | "revoked";
  importedAt: string;
  revokedAt?: string;
  /** Revoked issuer certificate serials (6 hex digits) under this CA key. */
  revokedSerials: string[];
  /** The form the key came in (`json` when absent: keys stored before forms were kept). */
  form?: "json" | "tlv" | "unionpay-sm2" | "list";
  /** Where the list came from, as its importer said. */
  source?: string;
  /** UnionPay's SM2 form: the root CA's signature over the key (DF39). */
  rootSignature?: string;
  /** What was odd about the key in its list. */
  notes?: string[];
  /** When the expiry last changed by a re-import. */
  updatedAt?: string;
}

/** A terminal allowed to upload; its HMAC key is a `terminal-auth` key record. */
export interface TerminalRecord {
  terminalId: string;
  state: "active" | "disabled";
  keyId: string;
  keyVersion: number;
  createdAt: string;
  updatedAt: string;
  /** The terminal's key under the terminal table key (see terminal_table.ts). */
  tableBlock?: string;
}

/** The whole store file's content (without its MAC). */
export interface StoreData {
  format: "icfare-keystore/1";
  kbpkKcv: string;
  generation: number;
  keys: KeyRecord[];
  pending: PendingKey[];
  capks: CapkRecord[];
  terminals: TerminalRecord[];
  auditHead: { seq: number; hash: string };
  /** The latest acknowledged break of the audit trail (`keys audit-ack`), if any. */
  auditAck?: AuditAck;
}

/** What `list` shows: never the value or the block. */
export type KeyInfo = Omit<KeyRecord, "block">;

/** A key waiting for components, as listed (component KCVs are not shown). */
export type PendingInfo = Omit<PendingKey, "components"> & { have: number; custodians: string[] };

/** A query for an issuer master key (the verification engine's view). */
export interface IssuerKeyQuery {
  /** The card's PAN (digits) or the issuer BIN prefix. */
  pan: string;
  usage: "imk-ac" | "imk-mac" | "imk-enc";
  algorithm: "3des" | "sm4" | "aes";
  /** Derivation key index; any when omitted. */
  dki?: string;
}

/** Spec of a new key (generate, import, components). */
export interface KeySpec {
  id: string;
  usage: KeyUsage;
  algorithm: KeyAlgorithm;
  issuer?: string;
  dki?: string;
  version?: number;
  exportable?: boolean;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const ISSUER_RE = /^[0-9]{1,19}$/;
const DKI_RE = /^[0-9A-Fa-f]{2}$/;

/** A terminal id as the card reader reports it in 9F1C. */
export const TERMINAL_RE = /^[0-9A-Za-z]{8}$/;

/** The time stamps of records and audit entries. */
export function now(): string {
  return new Date().toISOString();
}

/**
 * Checks a new key's attributes; throws `BAD_INPUT` or `USAGE_MISMATCH` naming the field, and
 * `RESERVED` for a usage or id the key store keeps for itself (unless `reserved`).
 */
export function checkSpec(s: KeySpec, reserved = false): void {
  if (!ID_RE.test(s.id)) {
    throw new KeyStoreError("BAD_INPUT", `id: 1-64 letters, digits, ".", "_", ":", "-"`);
  }
  if (!reserved && (RESERVED_USAGES.includes(s.usage) || s.id.startsWith("icfare:"))) {
    throw new KeyStoreError(
      "RESERVED",
      `${s.usage} keys and ids beginning "icfare:" are made by the key store itself`,
      { keyId: s.id },
    );
  }
  const u = USAGES[s.usage];
  if (!u) {
    throw new KeyStoreError(
      "BAD_INPUT",
      `usage: "${s.usage}" is not one of ${Object.keys(USAGES).join(", ")}`,
    );
  }
  if (!KEY_ALGORITHMS.includes(s.algorithm)) {
    throw new KeyStoreError(
      "BAD_INPUT",
      `algorithm: "${s.algorithm}" is not one of ${KEY_ALGORITHMS.join(", ")}`,
    );
  }
  if (!u.algorithms.includes(s.algorithm)) {
    throw new KeyStoreError(
      "USAGE_MISMATCH",
      `algorithm: a ${s.usage} key is ${u.algorithms.join(" or ")}, not ${s.algorithm}`,
    );
  }
  if (s.issuer !== undefined && !ISSUER_RE.test(s.issuer)) {
    throw new KeyStoreError("BAD_INPUT", `issuer: a BIN/PAN prefix of 1-19 digits`);
  }
  if (s.usage.startsWith("imk-") && s.issuer === undefined) {
    throw new KeyStoreError("BAD_INPUT", `issuer: an issuer master key needs its BIN prefix`);
  }
  if (s.dki !== undefined && !DKI_RE.test(s.dki)) {
    throw new KeyStoreError("BAD_INPUT", `dki: 2 hex digits`);
  }
  if (
    s.version !== undefined && (!Number.isInteger(s.version) || s.version < 0 || s.version > 99)
  ) {
    throw new KeyStoreError("BAD_INPUT", `version: 0-99`);
  }
}

/** Checks a terminal id (9F1C: 8 letters or digits). */
export function checkTerminalId(terminalId: string): void {
  if (!TERMINAL_RE.test(terminalId)) {
    throw new KeyStoreError(
      "BAD_INPUT",
      `terminal id: 8 letters or digits (9F1C), got "${terminalId}"`,
    );
  }
}

/** The binding of a key's attributes inside its block (proprietary optional block "10"). */
export function binding(
  r: { id: string; usage: string; algorithm: string; issuer?: string; dki?: string; kcv: string },
): string {
  return `id=${r.id};use=${r.usage};alg=${r.algorithm};iss=${r.issuer ?? ""};dki=${
    r.dki ?? ""
  };kcv=${r.kcv}`;
}

/** The TR-31 header a key of spec `s` is wrapped with under the master key. */
export function headerFor(
  s: KeySpec,
  kcvText: string,
  keyVersion: string,
  exportable: boolean,
): Tr31Header {
  const u = tr31Binding(s.usage, s.algorithm);
  return {
    version: "D",
    usage: u.tr31,
    algorithm: ALGORITHM_CHAR[s.algorithm],
    modeOfUse: u.mode,
    keyVersion,
    exportability: exportable ? "E" : "N",
    optionalBlocks: [{ id: "10", data: binding({ ...s, kcv: kcvText }) }],
  };
}

/** A record as listed: everything but the block. */
export function info(r: KeyRecord): KeyInfo {
  const { block: _block, ...rest } = r;
  return rest;
}

/** The active key `id`; refused when unknown, pending or retired. */
export function activeKey(d: StoreData, id: string): KeyRecord {
  const rec = d.keys.find((k) => k.id === id);
  if (!rec) {
    if (d.pending.some((p) => p.id === id)) {
      throw new KeyStoreError("KEY_NOT_ACTIVE", `key ${id} is waiting for components`, {
        keyId: id,
      });
    }
    throw new KeyStoreError("KEY_NOT_FOUND", `no key ${id}`, { hint: HINTS.list, keyId: id });
  }
  if (rec.state !== "active") {
    throw new KeyStoreError("KEY_NOT_ACTIVE", `key ${id} is ${rec.state}`, { keyId: id });
  }
  return rec;
}

/** Effective strength of a key in bits (NIST SP 800-57 Part 1 Table 2, simplified). */
export function keyStrengthBits(algorithm: KeyAlgorithm, length: number): number {
  switch (algorithm) {
    case "des":
      return 56;
    case "3des":
      return length === 16 ? 80 : 112;
    case "sm4":
      return 128;
    case "aes":
      return length * 8;
    case "hmac-sha256":
      return Math.min(256, length * 8);
    case "sm2":
    case "ecdsa-p256":
      return 128;
  }
}
