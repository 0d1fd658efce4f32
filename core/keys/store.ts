/**
 * The encrypted key store (issue 8): one file, `<home>/keys/keystore.json`, holding every
 * secret key as a TR-31 version D key block under the master key (AES-256 KBPK), each key's
 * attributes and KCV beside it, pending key components, CA public keys and the terminal
 * registry; the whole file is authenticated with an HMAC key derived from the master key.
 * Every write goes to a temporary file that is fsynced and renamed over the old one (then the
 * directory is fsynced), so a crash leaves either the old or the new store, never a mix.
 * Every operation appends to the hash-chained audit trail `<home>/keys/audit.log`.
 *
 * Keys leave this module only through typed getters that unwrap in memory: `withKey`,
 * `issuerMasterKey`, `hmacCryptoKey`, `terminalKeys()`, `capkSource()`. No clear key value is
 * ever written to a file, the audit trail or a message.
 */
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { fromHex, toHex } from "../hex.ts";
import {
  type AuditEntry,
  auditHead,
  canonicalJson,
  entryHash,
  GENESIS,
  verifyAudit,
} from "./audit.ts";
import type { AuditVerdict } from "./audit.ts";
import { KeyStoreError } from "./errors.ts";
import type { TerminalKeyLookup } from "../auth/terminal_keys.ts";
import {
  checkKeyLength,
  kcv,
  type KcvMethod,
  kcvMethod,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  matchKcv,
} from "./kcv.ts";
import { Tr31Error, type Tr31Header, unwrap, wrap } from "./tr31.ts";

/** What a key is for (icfare names; each maps to a TR-31 key usage and mode of use). */
export type KeyUsage =
  | "imk-ac"
  | "imk-mac"
  | "imk-enc"
  | "kek"
  | "terminal-auth"
  | "pan-hash"
  | "denylist-sign"
  | "data";

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
  "denylist-sign": {
    tr31: "M7",
    mode: "G",
    algorithms: ["hmac-sha256"],
    what: "deny-list signing",
  },
  "data": { tr31: "D0", mode: "B", algorithms: ["aes"], what: "card-data encryption" },
};

/** TR-31 algorithm character for each algorithm (SM4 has no standard code: icfare uses "4"). */
export const ALGORITHM_CHAR: Record<KeyAlgorithm, string> = {
  "des": "D",
  "3des": "T",
  "sm4": "4",
  "aes": "A",
  "hmac-sha256": "H",
};

/** Default generated key length in bytes per algorithm. */
const DEFAULT_LENGTH: Record<KeyAlgorithm, number> = {
  "des": 8,
  "3des": 16,
  "sm4": 16,
  "aes": 32,
  "hmac-sha256": 32,
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

/** A CA public key (public: stored in clear, checksum verified on import). */
export interface CapkRecord {
  rid: string;
  index: string;
  algorithm: "rsa" | "sm2";
  modulus?: string;
  exponent?: string;
  publicKey?: string;
  expiry: string;
  checksum: string;
  state: "active" | "revoked";
  importedAt: string;
  revokedAt?: string;
  /** Revoked issuer certificate serials (6 hex digits) under this CA key. */
  revokedSerials: string[];
}

/** A terminal allowed to upload; its HMAC key is a `terminal-auth` key record. */
export interface TerminalRecord {
  terminalId: string;
  state: "active" | "disabled";
  keyId: string;
  keyVersion: number;
  createdAt: string;
  updatedAt: string;
}

interface StoreData {
  format: "icfare-keystore/1";
  kbpkKcv: string;
  generation: number;
  keys: KeyRecord[];
  pending: PendingKey[];
  capks: CapkRecord[];
  terminals: TerminalRecord[];
  auditHead: { seq: number; hash: string };
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const ISSUER_RE = /^[0-9]{1,19}$/;
const DKI_RE = /^[0-9A-Fa-f]{2}$/;
const TERMINAL_RE = /^[0-9A-Za-z]{8}$/;

/** The paths the key store uses under a home. */
export function keyStorePaths(home: string) {
  const dir = join(home, "keys");
  return {
    dir,
    store: join(dir, "keystore.json"),
    audit: join(dir, "audit.log"),
    lock: join(dir, ".lock"),
  };
}

function integrityKey(master: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHmac("sha256", master).update("icfare keystore integrity v1").digest(),
  );
}

function storeMac(master: Uint8Array, data: StoreData): string {
  const k = integrityKey(master);
  try {
    return createHmac("sha256", k).update(canonicalJson(data)).digest("hex").toUpperCase();
  } finally {
    k.fill(0);
  }
}

function now(): string {
  return new Date().toISOString();
}

function xorInto(acc: Uint8Array, part: Uint8Array) {
  for (let i = 0; i < acc.length; i++) acc[i] ^= part[i];
}

function keyStrengthBits(algorithm: KeyAlgorithm, length: number): number {
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
  }
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

function checkSpec(s: KeySpec) {
  if (!ID_RE.test(s.id)) {
    throw new KeyStoreError("BAD_INPUT", `id: 1-64 letters, digits, ".", "_", ":", "-"`);
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

/** The binding of a key's attributes inside its block (proprietary optional block "10"). */
function binding(
  r: { id: string; usage: string; algorithm: string; issuer?: string; dki?: string; kcv: string },
) {
  return `id=${r.id};use=${r.usage};alg=${r.algorithm};iss=${r.issuer ?? ""};dki=${
    r.dki ?? ""
  };kcv=${r.kcv}`;
}

function headerFor(
  s: KeySpec,
  kcvText: string,
  keyVersion: string,
  exportable: boolean,
): Tr31Header {
  const u = USAGES[s.usage];
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

/** The key store, opened with the master key. */
export class KeyStore {
  private constructor(
    readonly home: string,
    private master: Uint8Array,
    private data: StoreData,
    /** Who is acting, for the audit trail. */
    readonly actor: string,
  ) {}

  /** Paths of this store. */
  get paths() {
    return keyStorePaths(this.home);
  }

  /** Creates an empty key store in `home` (refuses when one exists). */
  static async init(home: string, master: Uint8Array, actor: string): Promise<KeyStore> {
    if (master.length !== 32) {
      throw new KeyStoreError("MASTER_KEY_INVALID", "master key: AES-256, 32 bytes");
    }
    const p = keyStorePaths(home);
    await Deno.mkdir(p.dir, { recursive: true, mode: 0o700 });
    try {
      await Deno.stat(p.store);
      throw new KeyStoreError("KEYSTORE_EXISTS", `a key store already exists at ${p.store}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const data: StoreData = {
      format: "icfare-keystore/1",
      kbpkKcv: kcv("aes", master),
      generation: 0,
      keys: [],
      pending: [],
      capks: [],
      terminals: [],
      auditHead: { seq: 0, hash: GENESIS },
    };
    const s = new KeyStore(home, master.slice(), data, actor);
    await s.mutate("keystore.init", () => ({ kcv: data.kbpkKcv, detail: "master key KCV" }));
    return s;
  }

  /** Opens the store in `home`, checking the master key's KCV and the file's MAC. */
  static async open(home: string, master: Uint8Array, actor = "unknown"): Promise<KeyStore> {
    const data = await readStore(home, master);
    return new KeyStore(home, master.slice(), data, actor);
  }

  /** Re-reads the store (another process may have changed it since this handle opened). */
  async reload(): Promise<void> {
    this.data = await readStore(this.home, this.master);
  }

  /** Forgets the master key held by this object (zeroes it). */
  close(): void {
    this.master.fill(0);
  }

  /** The master key's KCV (AES-CMAC), recorded in the store. */
  get masterKcv(): string {
    return this.data.kbpkKcv;
  }

  // ---------------------------------------------------------------- writes and audit

  /**
   * Runs `fn` on a fresh copy of the store under the lock, then writes the store and appends
   * one audit entry. A `KeyStoreError`/`Tr31Error` from `fn` is audited as "refused".
   */
  private async mutate<
    T extends {
      keyId?: string;
      kcv?: string;
      detail?: string;
      result?: "ok" | "refused";
      events?: { keyId?: string; kcv?: string; detail?: string }[];
    },
  >(
    op: string,
    fn: (d: StoreData) => T | Promise<T>,
  ): Promise<T> {
    const p = this.paths;
    const lock = await acquireLock(p.lock);
    try {
      let d: StoreData;
      try {
        d = await readStore(this.home, this.master);
      } catch (e) {
        if (
          !(e instanceof KeyStoreError && e.code === "KEYSTORE_MISSING" && op === "keystore.init")
        ) {
          throw e;
        }
        d = structuredClone(this.data);
      }
      await this.refreshLogHead();
      let r: T;
      try {
        r = await fn(d);
      } catch (e) {
        if (e instanceof KeyStoreError || e instanceof Tr31Error) {
          await this.appendAudit({
            op,
            result: "refused",
            detail: `${e.code}: ${e.message}`.slice(0, 300),
          });
        }
        throw e;
      }
      // One audit entry per event (bulk operations), chained, the last one anchored.
      const events = r.events ?? [r];
      const entries: AuditEntry[] = [];
      for (const ev of events) {
        const entry = this.nextEntry({
          op,
          result: r.result ?? "ok",
          keyId: ev.keyId,
          kcv: ev.kcv,
          detail: ev.detail,
        });
        entries.push(entry);
        this.logHead = { seq: entry.seq, hash: entry.hash };
      }
      const last = entries[entries.length - 1];
      d.auditHead = { seq: last.seq, hash: last.hash };
      d.generation++;
      await writeStore(this.home, this.master, d);
      await appendLines(p.audit, entries);
      this.data = d;
      return r;
    } finally {
      await releaseLock(lock, p.lock);
    }
  }

  private nextEntry(
    ev: { op: string; result: AuditEntry["result"]; keyId?: string; kcv?: string; detail?: string },
  ): AuditEntry {
    // The chain continues from the last line of the log (refusals are only in the log).
    const base = {
      seq: this.logHead.seq + 1,
      at: now(),
      actor: this.actor,
      op: ev.op,
      keyId: ev.keyId,
      kcv: ev.kcv,
      result: ev.result,
      detail: ev.detail,
      prev: this.logHead.hash,
    };
    return { ...base, hash: entryHash(base) };
  }

  private logHead = { seq: 0, hash: GENESIS };

  private async refreshLogHead() {
    this.logHead = await auditHead(this.paths.audit);
  }

  private async appendAudit(
    ev: { op: string; result: AuditEntry["result"]; keyId?: string; kcv?: string; detail?: string },
  ) {
    await this.refreshLogHead();
    const e = this.nextEntry(ev);
    await appendLine(this.paths.audit, e);
    this.logHead = { seq: e.seq, hash: e.hash };
  }

  /** Records a refused or failed operation that did not reach the store (e.g. bad input). */
  async auditRefusal(op: string, detail: string, keyId?: string): Promise<void> {
    const lock = await acquireLock(this.paths.lock);
    try {
      await this.appendAudit({ op, result: "refused", detail: detail.slice(0, 300), keyId });
    } finally {
      await releaseLock(lock, this.paths.lock);
    }
  }

  /** Verifies the audit chain and that it contains the head anchored in the store. */
  async verifyAudit(): Promise<AuditVerdict> {
    const d = await readStore(this.home, this.master);
    return verifyAudit(this.paths.audit, d.auditHead);
  }

  // ---------------------------------------------------------------- wrapping

  private wrapKey(s: KeySpec, key: Uint8Array, kcvText: string, exportable: boolean): string {
    return wrap(
      this.master,
      headerFor(s, kcvText, String(s.version ?? 0).padStart(2, "0"), exportable),
      key,
      { maskedKeyLength: 32 },
    );
  }

  /** Unwraps a record's block and checks its binding and KCV (substitution is refused). */
  private unwrapRecord(r: KeyRecord, master = this.master): Uint8Array {
    const u = unwrap(master, r.block);
    const b = u.header.optionalBlocks.find((o) => o.id === "10")?.data;
    if (b !== binding(r) || u.header.usage !== USAGES[r.usage].tr31) {
      u.key.fill(0);
      throw new KeyStoreError(
        "KEYSTORE_TAMPERED",
        `key ${r.id}: block does not belong to this record`,
      );
    }
    if (kcv(r.algorithm, u.key) !== r.kcv) {
      u.key.fill(0);
      throw new KeyStoreError("KEYSTORE_TAMPERED", `key ${r.id}: KCV of the stored key differs`);
    }
    return u.key;
  }

  private addRecord(
    d: StoreData,
    s: KeySpec,
    key: Uint8Array,
    origin: KeyRecord["origin"],
  ): KeyRecord {
    checkSpec(s);
    checkKeyLength(s.algorithm, key);
    if (d.keys.some((k) => k.id === s.id) || d.pending.some((k) => k.id === s.id)) {
      throw new KeyStoreError("KEY_EXISTS", `key ${s.id} already exists`);
    }
    const k = kcv(s.algorithm, key);
    const exportable = s.exportable ?? false;
    const rec: KeyRecord = {
      id: s.id,
      usage: s.usage,
      algorithm: s.algorithm,
      issuer: s.issuer,
      dki: s.dki?.toUpperCase(),
      version: s.version ?? 0,
      kcv: k,
      kcvMethod: kcvMethod(s.algorithm),
      state: "active",
      origin,
      exportable,
      createdAt: now(),
      block: this.wrapKey({ ...s, dki: s.dki?.toUpperCase() }, key, k, exportable),
    };
    d.keys.push(rec);
    return rec;
  }

  // ---------------------------------------------------------------- key operations

  /** Generates a key from the cryptographic RNG (`crypto.getRandomValues`). */
  async generate(s: KeySpec & { length?: number }): Promise<KeyInfo> {
    const rec = await this.mutate("keys.generate", (d) => {
      checkSpec(s);
      const n = s.length ?? DEFAULT_LENGTH[s.algorithm];
      const key = crypto.getRandomValues(new Uint8Array(n));
      try {
        const r = this.addRecord(d, s, key, "generated");
        return { keyId: r.id, kcv: r.kcv, detail: `${r.usage} ${r.algorithm}`, r };
      } finally {
        key.fill(0);
      }
    });
    return info(rec.r);
  }

  /**
   * Imports keys in the development format of design.md §4. All or nothing: a KCV that does
   * not match (or any bad entry) refuses the whole file.
   */
  async importDev(json: unknown): Promise<KeyInfo[]> {
    const parsed = DevImport.safeParse(json);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      const msg = `import file: ${i.path.join(".")}: ${i.message}`;
      await this.auditRefusal("keys.import", msg);
      throw new KeyStoreError("BAD_INPUT", msg);
    }
    const out = await this.mutate("keys.import", (d) => {
      const recs: KeyRecord[] = [];
      for (const [i, e] of parsed.data.keys.entries()) {
        const key = fromHex(e.value, `keys[${i}].value`);
        try {
          const s: KeySpec = {
            id: e.id,
            usage: e.usage as KeyUsage,
            algorithm: e.algorithm as KeyAlgorithm,
            issuer: e.issuer,
            dki: e.dki,
            version: e.version,
            exportable: e.exportable,
          };
          checkSpec(s);
          checkKeyLength(s.algorithm, key, `keys[${i}].value`);
          if (!matchKcv(s.algorithm, key, e.kcv)) {
            throw new KeyStoreError(
              "KCV_MISMATCH",
              `keys[${i}] (${e.id}): KCV ${e.kcv.toUpperCase()} does not match the key; nothing imported`,
            );
          }
          recs.push(this.addRecord(d, s, key, "imported"));
        } finally {
          key.fill(0);
        }
      }
      return {
        detail: recs.map((r) => `${r.id}:${r.kcv}`).join(",").slice(0, 300),
        recs,
      };
    });
    return out.recs.map(info);
  }

  /**
   * Imports a TR-31 key block (version D or B, lenient parsing) wrapped under the store's
   * key-encryption key `kekId`. The header's key usage must match `usage`; `expectKcv`, when
   * given, must match.
   */
  async importBlock(
    block: string,
    kekId: string,
    s: Omit<KeySpec, "algorithm" | "exportable"> & { expectKcv?: string },
  ): Promise<KeyInfo> {
    const r = await this.mutate("keys.import-block", (d) => {
      const kekRec = activeKey(d, kekId);
      if (kekRec.usage !== "kek") {
        throw new KeyStoreError("USAGE_MISMATCH", `${kekId} is a ${kekRec.usage} key, not a kek`);
      }
      const kek = this.unwrapRecord(kekRec);
      let u;
      try {
        const v = block.trim()[0];
        if ((v === "D") !== (kekRec.algorithm === "aes")) {
          throw new KeyStoreError(
            "USAGE_MISMATCH",
            `a version ${v} block needs a ${
              v === "D" ? "AES" : "TDES"
            } KEK; ${kekId} is ${kekRec.algorithm}`,
          );
        }
        u = unwrap(kek, block);
      } finally {
        kek.fill(0);
      }
      try {
        const algorithm = algorithmFromHeader(u.header.algorithm, u.key.length);
        if (!USAGES[s.usage]) throw new KeyStoreError("BAD_INPUT", `usage: unknown "${s.usage}"`);
        if (u.header.usage !== USAGES[s.usage].tr31) {
          throw new KeyStoreError(
            "USAGE_MISMATCH",
            `the block's key usage ${u.header.usage} is not ${USAGES[s.usage].tr31} (${s.usage})`,
          );
        }
        if (s.expectKcv !== undefined && !matchKcv(algorithm, u.key, s.expectKcv)) {
          throw new KeyStoreError("KCV_MISMATCH", `KCV ${s.expectKcv} does not match the key`);
        }
        const version = s.version ??
          (/^[0-9]{2}$/.test(u.header.keyVersion) ? Number(u.header.keyVersion) : 0);
        const rec = this.addRecord(
          d,
          { ...s, algorithm, version, exportable: u.header.exportability === "E" },
          u.key,
          "key-block",
        );
        return { keyId: rec.id, kcv: rec.kcv, detail: `under ${kekId} (${kekRec.kcv})`, rec };
      } finally {
        u.key.fill(0);
      }
    });
    return info(r.rec);
  }

  /**
   * Exports key `id` as a TR-31 block under the KEK `kekId` (strict: D for an AES KEK, B for
   * TDES; the key must be active and exportable, the KEK at least as strong; two different
   * officers must authorise).
   */
  async exportBlock(id: string, kekId: string, officers: string[]): Promise<string> {
    const r = await this.mutate("keys.export", (d) => {
      const names = [...new Set(officers.map((o) => o.trim()).filter((o) => o !== ""))];
      if (names.length < 2) {
        throw new KeyStoreError(
          "DUAL_CONTROL",
          "export needs two different authorising officers (--authorized-by twice)",
        );
      }
      const rec = activeKey(d, id);
      if (!rec.exportable) {
        throw new KeyStoreError("KEY_NOT_EXPORTABLE", `key ${id} is marked non-exportable`);
      }
      const kekRec = activeKey(d, kekId);
      if (kekRec.usage !== "kek") {
        throw new KeyStoreError("USAGE_MISMATCH", `${kekId} is a ${kekRec.usage} key, not a kek`);
      }
      if (kekRec.id === rec.id) throw new KeyStoreError("BAD_INPUT", "a key cannot wrap itself");
      const kek = this.unwrapRecord(kekRec);
      const key = this.unwrapRecord(rec);
      try {
        if (
          keyStrengthBits(kekRec.algorithm, kek.length) < keyStrengthBits(rec.algorithm, key.length)
        ) {
          throw new KeyStoreError(
            "KEK_TOO_WEAK",
            `${kekId} (${kekRec.algorithm}, ${kek.length * 8} bits) is weaker than ${id}`,
          );
        }
        const u = USAGES[rec.usage];
        const block = wrap(
          kek,
          {
            version: kekRec.algorithm === "aes" ? "D" : "B",
            usage: u.tr31,
            algorithm: ALGORITHM_CHAR[rec.algorithm],
            modeOfUse: u.mode,
            keyVersion: String(rec.version).padStart(2, "0"),
            exportability: "N",
            optionalBlocks: [],
          },
          key,
          { maskedKeyLength: kekRec.algorithm === "aes" ? 32 : 24 },
        );
        return {
          keyId: id,
          kcv: rec.kcv,
          detail: `under ${kekId} (${kekRec.kcv}) authorised by ${names.join(" and ")}`,
          block,
        };
      } finally {
        kek.fill(0);
        key.fill(0);
      }
    });
    return r.block;
  }

  /**
   * Adds one key component (dual control). The first component fixes the key's spec and the
   * number of parts (2 or 3); each custodian enters one component with its own KCV, which
   * must match; the same custodian twice, a repeated or all-zero component are refused.
   * When the last component is in, the key is the XOR of all of them and becomes active
   * (refused when `combinedKcv` was given and differs).
   */
  async componentAdd(
    s: KeySpec & { parts: number; combinedKcv?: string },
    custodian: string,
    component: Uint8Array,
    componentKcv: string,
  ): Promise<
    { state: "pending"; have: number; need: number; componentKcv: string } | {
      state: "active";
      componentKcv: string;
      key: KeyInfo;
    }
  > {
    const r = await this.mutate("keys.component-add", (d) => {
      checkSpec(s);
      const who = custodian.trim();
      if (who === "") throw new KeyStoreError("BAD_INPUT", "custodian: a name is required");
      checkKeyLength(s.algorithm, component, "component");
      if (component.every((b) => b === 0)) {
        throw new KeyStoreError("COMPONENT_REFUSED", "component: all zeros");
      }
      const ck = kcv(s.algorithm, component);
      if (!matchKcv(s.algorithm, component, componentKcv)) {
        throw new KeyStoreError(
          "KCV_MISMATCH",
          `component KCV ${componentKcv.toUpperCase()} does not match the component entered`,
        );
      }
      if (d.keys.some((k) => k.id === s.id)) {
        throw new KeyStoreError("KEY_EXISTS", `key ${s.id} already exists`);
      }
      let p = d.pending.find((x) => x.id === s.id);
      if (!p) {
        if (s.parts !== 2 && s.parts !== 3) {
          throw new KeyStoreError("BAD_INPUT", "parts: a key is entered as 2 or 3 components");
        }
        p = {
          id: s.id,
          usage: s.usage,
          algorithm: s.algorithm,
          issuer: s.issuer,
          dki: s.dki?.toUpperCase(),
          parts: s.parts,
          exportable: s.exportable ?? false,
          combinedKcv: s.combinedKcv?.toUpperCase(),
          createdAt: now(),
          components: [],
        };
        d.pending.push(p);
      } else if (
        p.usage !== s.usage || p.algorithm !== s.algorithm || p.issuer !== s.issuer ||
        p.dki !== s.dki?.toUpperCase() || p.parts !== s.parts
      ) {
        throw new KeyStoreError(
          "COMPONENT_REFUSED",
          `component for ${s.id}: usage/algorithm/issuer/dki/parts differ from the first component`,
        );
      }
      if (p.components.some((c) => c.custodian === who)) {
        throw new KeyStoreError(
          "DUAL_CONTROL",
          `custodian ${who} already entered a component of ${s.id}; each component needs a different custodian`,
        );
      }
      if (p.components.some((c) => c.kcv === ck)) {
        throw new KeyStoreError("COMPONENT_REFUSED", `component repeats an earlier component`);
      }
      const n = p.components.length + 1;
      const compSpec = { ...s, id: `${s.id}#c${n}` };
      p.components.push({
        custodian: who,
        kcv: ck,
        at: now(),
        block: wrap(this.master, headerFor(compSpec, ck, `c${n}`, false), component, {
          maskedKeyLength: 32,
        }),
      });
      if (p.components.length < p.parts) {
        return {
          keyId: s.id,
          kcv: ck,
          detail: `component ${n} of ${p.parts} by ${who}`,
          out: { state: "pending" as const, have: n, need: p.parts, componentKcv: ck },
        };
      }
      // All components are in: combine.
      const key = new Uint8Array(component.length);
      try {
        for (const [i, c] of p.components.entries()) {
          const u = unwrap(this.master, c.block);
          if (u.header.keyVersion !== `c${i + 1}` || kcv(s.algorithm, u.key) !== c.kcv) {
            u.key.fill(0);
            throw new KeyStoreError("KEYSTORE_TAMPERED", `component ${i + 1} of ${s.id} altered`);
          }
          xorInto(key, u.key);
          u.key.fill(0);
        }
        const combined = kcv(s.algorithm, key);
        if (p.combinedKcv !== undefined && !combined.startsWith(p.combinedKcv.slice(0, 6))) {
          // Refused, and the components are discarded (committed): the ceremony starts over.
          d.pending = d.pending.filter((x) => x.id !== s.id);
          const msg =
            `combined key KCV ${combined} is not the expected ${p.combinedKcv}; components discarded`;
          return {
            keyId: s.id,
            kcv: combined,
            result: "refused" as const,
            detail: `KCV_MISMATCH: ${msg}`,
            out: { state: "refused" as const, message: msg },
          };
        }
        d.pending = d.pending.filter((x) => x.id !== s.id);
        const rec = this.addRecord(
          d,
          { ...s, dki: p.dki, exportable: p.exportable },
          key,
          "components",
        );
        return {
          keyId: s.id,
          kcv: rec.kcv,
          detail: `component ${n} of ${p.parts} by ${who}; key active (custodians ${
            p.components.map((c) => c.custodian).join(", ")
          })`,
          out: { state: "active" as const, componentKcv: ck, key: info(rec) },
        };
      } finally {
        key.fill(0);
      }
    });
    if (r.out.state === "refused") throw new KeyStoreError("KCV_MISMATCH", r.out.message);
    return r.out;
  }

  /** Retires key `id`: it stays listed (with its KCV) but no getter returns it. */
  async retire(id: string): Promise<KeyInfo> {
    const r = await this.mutate("keys.retire", (d) => {
      const rec = activeKey(d, id);
      rec.state = "retired";
      rec.retiredAt = now();
      return { keyId: id, kcv: rec.kcv, rec };
    });
    return info(r.rec);
  }

  /** Unwraps key `id` in memory and returns its KCV (checks the stored block end to end). */
  async checkKcv(id: string): Promise<{ id: string; kcv: string; method: KcvMethod }> {
    const r = await this.mutate("keys.kcv", (d) => {
      const rec = d.keys.find((k) => k.id === id);
      if (!rec) throw new KeyStoreError("KEY_NOT_FOUND", `no key ${id}`);
      const key = this.unwrapRecord(rec);
      key.fill(0);
      return { keyId: id, kcv: rec.kcv, out: { id, kcv: rec.kcv, method: rec.kcvMethod } };
    });
    return r.out;
  }

  /** Every key (active and retired) and every pending component set, never values. */
  list(): { keys: KeyInfo[]; pending: PendingInfo[] } {
    return {
      keys: this.data.keys.map(info),
      pending: this.data.pending.map(({ components, ...p }) => ({
        ...p,
        have: components.length,
        custodians: components.map((c) => c.custodian),
      })),
    };
  }

  /**
   * Re-wraps every key and component under `newMaster` and writes the store atomically
   * (one rename); every KCV is checked unchanged before the write. The old master key no
   * longer opens the store.
   */
  async rotateMaster(newMaster: Uint8Array): Promise<{ keys: number; newKcv: string }> {
    if (newMaster.length !== 32) {
      throw new KeyStoreError("MASTER_KEY_INVALID", "new master key: AES-256, 32 bytes");
    }
    const newKcv = kcv("aes", newMaster);
    if (newKcv === this.data.kbpkKcv) {
      throw new KeyStoreError("BAD_INPUT", "the new master key is the current one");
    }
    const p = this.paths;
    const lock = await acquireLock(p.lock);
    try {
      const d = await readStore(this.home, this.master);
      const old = this.master;
      const rewrap = (block: string, expectKcv: string, alg: KeyAlgorithm) => {
        const u = unwrap(old, block);
        try {
          if (kcv(alg, u.key) !== expectKcv) {
            throw new KeyStoreError("KEYSTORE_TAMPERED", "KCV changed while re-wrapping");
          }
          const nb = wrap(newMaster, u.header, u.key, { maskedKeyLength: 32 });
          const back = unwrap(newMaster, nb);
          const same = kcv(alg, back.key) === expectKcv;
          back.key.fill(0);
          if (!same) throw new KeyStoreError("KEYSTORE_TAMPERED", "re-wrapped key differs");
          return nb;
        } finally {
          u.key.fill(0);
        }
      };
      let n = 0;
      for (const k of d.keys) {
        this.unwrapRecord(k, old).fill(0);
        k.block = rewrap(k.block, k.kcv, k.algorithm);
        n++;
      }
      for (const pk of d.pending) {
        for (const c of pk.components) c.block = rewrap(c.block, c.kcv, pk.algorithm);
      }
      d.kbpkKcv = newKcv;
      await this.refreshLogHead();
      const entry = this.nextEntry({
        op: "keys.rotate-master",
        result: "ok",
        kcv: newKcv,
        detail: `${n} keys re-wrapped; master KCV ${this.data.kbpkKcv} -> ${newKcv}`,
      });
      d.auditHead = { seq: entry.seq, hash: entry.hash };
      d.generation++;
      await writeStore(this.home, newMaster, d);
      await appendLine(p.audit, entry);
      this.logHead = { seq: entry.seq, hash: entry.hash };
      this.master.fill(0);
      this.master = newMaster.slice();
      this.data = d;
      return { keys: n, newKcv };
    } finally {
      await releaseLock(lock, p.lock);
    }
  }

  // ---------------------------------------------------------------- getters for the others

  /**
   * Runs `fn` with the clear value of active key `id` (or a retired one, for audits, with
   * `includeRetired`), then zeroes the buffer. Use this rather than keeping keys around.
   */
  withKey<T>(id: string, fn: (key: Uint8Array, rec: KeyInfo) => T, includeRetired = false): T {
    const rec = includeRetired ? this.data.keys.find((k) => k.id === id) : activeKey(this.data, id);
    if (!rec) throw new KeyStoreError("KEY_NOT_FOUND", `no key ${id}`);
    const key = this.unwrapRecord(rec);
    try {
      return fn(key, info(rec));
    } finally {
      key.fill(0);
    }
  }

  /**
   * The issuer master key for a card: the active key of that usage and algorithm (and DKI
   * when given) whose issuer prefix is the longest prefix of `pan`. Returns a fresh copy the
   * caller must zero after use, or null when the host holds no such key.
   */
  issuerMasterKey(q: IssuerKeyQuery): { key: Uint8Array; info: KeyInfo } | null {
    if (!/^[0-9]{1,19}$/.test(q.pan)) throw new RangeError("pan: 1-19 digits");
    const dki = q.dki?.toUpperCase();
    let best: KeyRecord | null = null;
    for (const k of this.data.keys) {
      if (k.state !== "active" || k.usage !== q.usage || k.algorithm !== q.algorithm) continue;
      if (dki !== undefined && k.dki !== undefined && k.dki !== dki) continue;
      if (!k.issuer || !q.pan.startsWith(k.issuer)) continue;
      if (!best || k.issuer.length > best.issuer!.length) best = k;
    }
    if (!best) return null;
    return { key: this.unwrapRecord(best), info: info(best) };
  }

  /** The single active key of `usage` (pan-hash, denylist-sign, data), or `id` when given. */
  private singleKey(usage: KeyUsage, id?: string): KeyRecord {
    if (id !== undefined) {
      const r = activeKey(this.data, id);
      if (r.usage !== usage) throw new KeyStoreError("USAGE_MISMATCH", `${id} is not ${usage}`);
      return r;
    }
    const all = this.data.keys.filter((k) => k.state === "active" && k.usage === usage);
    if (all.length === 0) throw new KeyStoreError("KEY_NOT_FOUND", `no active ${usage} key`);
    if (all.length > 1) {
      throw new KeyStoreError("BAD_INPUT", `${all.length} active ${usage} keys; name one by id`);
    }
    return all[0];
  }

  /** A non-extractable WebCrypto HMAC-SHA256 key for `pan-hash` or `denylist-sign`. */
  async hmacCryptoKey(usage: "pan-hash" | "denylist-sign", id?: string): Promise<CryptoKey> {
    return await importHmacWiped(
      this.unwrapRecord(this.singleKey(usage, id)),
      usage === "pan-hash" ? ["sign"] : ["sign", "verify"],
    );
  }

  /** A non-extractable WebCrypto AES-GCM key of usage `data` (card-data sealing). */
  async dataCryptoKey(id?: string): Promise<CryptoKey> {
    const raw = this.unwrapRecord(this.singleKey("data", id));
    try {
      return await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
        "encrypt",
        "decrypt",
      ]);
    } finally {
      raw.fill(0);
    }
  }

  // ---------------------------------------------------------------- terminals

  /** Registers a terminal with a fresh HMAC key; returns the key once (hex) for the terminal. */
  async terminalAdd(
    terminalId: string,
  ): Promise<{ terminal: TerminalRecord; keyHex: string; kcv: string }> {
    if (!TERMINAL_RE.test(terminalId)) {
      throw new KeyStoreError(
        "BAD_INPUT",
        `terminal id: 8 letters or digits (9F1C), got "${terminalId}"`,
      );
    }
    let keyHex = "";
    const r = await this.mutate("terminals.add", (d) => {
      if (d.terminals.some((t) => t.terminalId === terminalId)) {
        throw new KeyStoreError("TERMINAL_EXISTS", `terminal ${terminalId} is already registered`);
      }
      const { rec, hex } = this.newTerminalKey(d, terminalId, 1);
      keyHex = hex;
      const t: TerminalRecord = {
        terminalId,
        state: "active",
        keyId: rec.id,
        keyVersion: 1,
        createdAt: now(),
        updatedAt: now(),
      };
      d.terminals.push(t);
      return { keyId: rec.id, kcv: rec.kcv, detail: `terminal ${terminalId}`, t };
    });
    return { terminal: r.t, keyHex, kcv: r.kcv };
  }

  /**
   * Registers many terminals in one write (one audit entry each); returns each key once.
   * All or nothing: one bad or already registered id refuses the whole list.
   */
  async terminalAddMany(
    terminalIds: string[],
  ): Promise<{ terminalId: string; keyHex: string; kcv: string }[]> {
    for (const id of terminalIds) {
      if (!TERMINAL_RE.test(id)) {
        throw new KeyStoreError(
          "BAD_INPUT",
          `terminal id: 8 letters or digits (9F1C), got "${id}"`,
        );
      }
    }
    if (new Set(terminalIds).size !== terminalIds.length) {
      throw new KeyStoreError("BAD_INPUT", "terminal ids: listed twice");
    }
    const out: { terminalId: string; keyHex: string; kcv: string }[] = [];
    await this.mutate("terminals.add", (d) => {
      const have = new Set(d.terminals.map((t) => t.terminalId));
      const events = [];
      for (const terminalId of terminalIds) {
        if (have.has(terminalId)) {
          throw new KeyStoreError(
            "TERMINAL_EXISTS",
            `terminal ${terminalId} is already registered`,
          );
        }
        const { rec, hex } = this.newTerminalKey(d, terminalId, 1);
        d.terminals.push({
          terminalId,
          state: "active",
          keyId: rec.id,
          keyVersion: 1,
          createdAt: now(),
          updatedAt: now(),
        });
        out.push({ terminalId, keyHex: hex, kcv: rec.kcv });
        events.push({ keyId: rec.id, kcv: rec.kcv, detail: `terminal ${terminalId}` });
      }
      return { events };
    });
    return out;
  }

  private newTerminalKey(d: StoreData, terminalId: string, version: number) {
    const key = crypto.getRandomValues(new Uint8Array(32));
    try {
      const rec = this.addRecord(
        d,
        {
          id: `terminal:${terminalId}:v${version}`,
          usage: "terminal-auth",
          algorithm: "hmac-sha256",
          version: version % 100,
        },
        key,
        "terminal",
      );
      return { rec, hex: toHex(key) };
    } finally {
      key.fill(0);
    }
  }

  /** Gives a terminal a new key (the old one is retired at once); returns it once. */
  async terminalRotate(
    terminalId: string,
  ): Promise<{ terminal: TerminalRecord; keyHex: string; kcv: string }> {
    let keyHex = "";
    const r = await this.mutate("terminals.rotate-key", (d) => {
      const t = d.terminals.find((x) => x.terminalId === terminalId);
      if (!t) throw new KeyStoreError("TERMINAL_NOT_FOUND", `no terminal ${terminalId}`);
      const old = d.keys.find((k) => k.id === t.keyId);
      if (old && old.state === "active") {
        old.state = "retired";
        old.retiredAt = now();
      }
      const { rec, hex } = this.newTerminalKey(d, terminalId, t.keyVersion + 1);
      keyHex = hex;
      t.keyVersion++;
      t.keyId = rec.id;
      t.updatedAt = now();
      return {
        keyId: rec.id,
        kcv: rec.kcv,
        detail: `terminal ${terminalId} key v${t.keyVersion}`,
        t,
      };
    });
    return { terminal: r.t, keyHex, kcv: r.kcv };
  }

  /** Disables a terminal: its key lookups answer null from then on. */
  async terminalDisable(terminalId: string): Promise<TerminalRecord> {
    const r = await this.mutate("terminals.disable", (d) => {
      const t = d.terminals.find((x) => x.terminalId === terminalId);
      if (!t) throw new KeyStoreError("TERMINAL_NOT_FOUND", `no terminal ${terminalId}`);
      t.state = "disabled";
      t.updatedAt = now();
      return { keyId: t.keyId, detail: `terminal ${terminalId}`, t };
    });
    return r.t;
  }

  /** Terminals with their key KCVs. */
  terminalList(): (TerminalRecord & { kcv?: string })[] {
    return this.data.terminals.map((t) => ({
      ...t,
      kcv: this.data.keys.find((k) => k.id === t.keyId)?.kcv,
    }));
  }

  /**
   * The server's `TerminalKeyLookup` (core/auth/terminal_keys.ts): a non-extractable HMAC
   * key per active terminal, imported once and cached; null for unknown or disabled ones.
   */
  terminalKeys(): TerminalKeyLookup {
    const cache = new Map<string, Promise<CryptoKey | null>>();
    return {
      hmacKey: (terminalId: string) => {
        let p = cache.get(terminalId);
        if (!p) {
          p = this.terminalCryptoKey(terminalId);
          cache.set(terminalId, p);
        }
        return p;
      },
    };
  }

  private async terminalCryptoKey(terminalId: string): Promise<CryptoKey | null> {
    const t = this.data.terminals.find((x) => x.terminalId === terminalId);
    if (!t || t.state !== "active") return null;
    const rec = this.data.keys.find((k) => k.id === t.keyId);
    if (!rec || rec.state !== "active") return null;
    return await importHmacWiped(this.unwrapRecord(rec), ["sign", "verify"]);
  }

  // ---------------------------------------------------------------- CA public keys

  /** Current CAPK records (public). */
  capkList(): CapkRecord[] {
    return this.data.capks.map((c) => ({ ...c }));
  }

  /** Stores verified CAPK records (see capk.ts for parsing and checks). */
  async capkStore(records: CapkRecord[], detail: string): Promise<void> {
    await this.mutate("capk.import", (d) => {
      for (const c of records) {
        const i = d.capks.findIndex((x) => x.rid === c.rid && x.index === c.index);
        if (i >= 0) {
          if (d.capks[i].checksum === c.checksum && d.capks[i].state === "active") continue;
          if (d.capks[i].state === "revoked") {
            throw new KeyStoreError(
              "CAPK_CHECKSUM",
              `CAPK ${c.rid}/${c.index} was revoked; a revoked key is not re-imported`,
            );
          }
          d.capks[i] = c;
        } else d.capks.push(c);
      }
      return { detail };
    });
  }

  /** Revokes a CA key, or (with `serial`) one issuer certificate serial under it. */
  async capkRevoke(rid: string, index: string, serial?: string): Promise<CapkRecord> {
    const R = rid.toUpperCase(), I = index.toUpperCase();
    const r = await this.mutate("capk.revoke", (d) => {
      const c = d.capks.find((x) => x.rid === R && x.index === I);
      if (!c) throw new KeyStoreError("CAPK_NOT_FOUND", `no CAPK ${R}/${I}`);
      if (serial !== undefined) {
        if (!/^[0-9A-Fa-f]{6}$/.test(serial)) {
          throw new KeyStoreError("BAD_INPUT", "serial: 6 hex digits");
        }
        const s = serial.toUpperCase();
        if (!c.revokedSerials.includes(s)) c.revokedSerials.push(s);
        return { detail: `CAPK ${R}/${I} issuer certificate serial ${s} revoked`, c };
      }
      c.state = "revoked";
      c.revokedAt = now();
      return { detail: `CAPK ${R}/${I} revoked (checksum ${c.checksum})`, c };
    });
    return r.c;
  }
}

// ------------------------------------------------------------------ helpers

function info(r: KeyRecord): KeyInfo {
  const { block: _block, ...rest } = r;
  return rest;
}

function activeKey(d: StoreData, id: string): KeyRecord {
  const rec = d.keys.find((k) => k.id === id);
  if (!rec) {
    if (d.pending.some((p) => p.id === id)) {
      throw new KeyStoreError("KEY_NOT_ACTIVE", `key ${id} is waiting for components`);
    }
    throw new KeyStoreError("KEY_NOT_FOUND", `no key ${id}`);
  }
  if (rec.state !== "active") {
    throw new KeyStoreError("KEY_NOT_ACTIVE", `key ${id} is ${rec.state}`);
  }
  return rec;
}

function algorithmFromHeader(c: string, length: number): KeyAlgorithm {
  switch (c) {
    case "T":
      return "3des";
    case "D":
      return length === 8 ? "des" : "3des";
    case "A":
      return "aes";
    case "H":
      return "hmac-sha256";
    case "4":
      return "sm4";
  }
  throw new KeyStoreError("BAD_INPUT", `key block algorithm "${c}" is not one icfare stores`);
}

const DevImport = z.object({
  keys: z.array(
    z.object({
      id: z.string(),
      usage: z.string(),
      algorithm: z.string(),
      issuer: z.string().optional(),
      dki: z.string().optional(),
      version: z.number().int().optional(),
      exportable: z.boolean().optional(),
      value: z.string().regex(/^[0-9A-Fa-f]+$/, "hex"),
      kcv: z.string().regex(/^[0-9A-Fa-f]{4,16}$/, "2 to 8 bytes of hex"),
    }).strict(),
  ).min(1).max(10000),
}).strict();

async function readStore(home: string, master: Uint8Array): Promise<StoreData> {
  const p = keyStorePaths(home);
  let text: string;
  try {
    text = await Deno.readTextFile(p.store);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new KeyStoreError(
        "KEYSTORE_MISSING",
        `no key store at ${p.store} (run: icfare keys init)`,
      );
    }
    throw e;
  }
  let obj: StoreData & { mac?: string };
  try {
    obj = JSON.parse(text);
  } catch {
    throw new KeyStoreError("KEYSTORE_TAMPERED", `${p.store} is not valid JSON`);
  }
  if (obj.format !== "icfare-keystore/1") {
    throw new KeyStoreError("KEYSTORE_TAMPERED", `${p.store}: unknown format`);
  }
  if (obj.kbpkKcv !== kcv("aes", master)) {
    throw new KeyStoreError(
      "WRONG_MASTER_KEY",
      `the master key given (KCV ${kcv("aes", master)}) is not this store's (KCV ${obj.kbpkKcv})`,
    );
  }
  const { mac, ...data } = obj;
  if (typeof mac !== "string" || mac !== storeMac(master, data)) {
    throw new KeyStoreError("KEYSTORE_TAMPERED", `${p.store}: integrity MAC does not verify`);
  }
  return data;
}

async function writeStore(home: string, master: Uint8Array, d: StoreData): Promise<void> {
  const p = keyStorePaths(home);
  const text = JSON.stringify({ ...d, mac: storeMac(master, d) }, null, 1) + "\n";
  const tmp = `${p.store}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    const bytes = new TextEncoder().encode(text);
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } catch (e) {
    f.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  f.close();
  await Deno.rename(tmp, p.store);
  await syncDir(p.dir);
}

async function syncDir(dir: string) {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch (e) {
    // Some platforms cannot open a directory for fsync; Linux can, and there it must work.
    if (Deno.build.os === "linux") throw e;
  }
}

async function appendLine(path: string, entry: AuditEntry) {
  await appendLines(path, [entry]);
}

async function appendLines(path: string, entries: AuditEntry[]) {
  const f = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  try {
    const line = new TextEncoder().encode(entries.map((e) => canonicalJson(e) + "\n").join(""));
    let off = 0;
    while (off < line.length) off += await f.write(line.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
}

async function acquireLock(path: string): Promise<Deno.FsFile> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const f = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      await f.write(new TextEncoder().encode(String(Deno.pid)));
      return f;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      try {
        const st = await Deno.stat(path);
        if (st.mtime && Date.now() - st.mtime.getTime() > 60_000) {
          await Deno.remove(path).catch(() => {});
          continue;
        }
      } catch {
        continue;
      }
      if (Date.now() > deadline) {
        throw new KeyStoreError(
          "KEYSTORE_LOCKED",
          `key store is locked by another process (${path})`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

async function releaseLock(f: Deno.FsFile, path: string) {
  f.close();
  await Deno.remove(path).catch(() => {});
}

/** Reads the audit entries for display (verification is `verifyAudit`). */
export async function readAudit(home: string): Promise<AuditEntry[]> {
  try {
    const t = await Deno.readTextFile(keyStorePaths(home).audit);
    return t.split("\n").filter((l) => l).map((l) => JSON.parse(l));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/** A non-extractable HMAC-SHA256 CryptoKey from clear key bytes, which are zeroed afterwards. */
async function importHmacWiped(raw: Uint8Array, usages: ("sign" | "verify")[]): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey(
      "raw",
      raw as BufferSource,
      { name: "HMAC", hash: "SHA-256" },
      false,
      usages,
    );
  } finally {
    raw.fill(0);
  }
}
