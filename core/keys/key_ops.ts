/**
 * Keys in the store (docs/keys.md): generating, importing the development file, retiring,
 * checking a KCV, listing — and the getters through which the verification engine and the
 * server get keys (clear values only in memory, zeroed after use).
 */
import { z } from "zod";
import { fromHex } from "../hex.ts";
import { HINTS, KeyStoreError } from "./errors.ts";
import { checkKeyLength, type KcvMethod, type KeyAlgorithm, matchKcv } from "./kcv.ts";
import {
  activeKey,
  checkSpec,
  DEFAULT_LENGTH,
  info,
  type IssuerKeyQuery,
  type KeyInfo,
  type KeyRecord,
  type KeySpec,
  type KeyUsage,
  now,
  type PendingInfo,
  RESERVED_USAGES,
  type StoreData,
  TERMINAL_RE,
  type TerminalRecord,
} from "./records.ts";

/** A terminal registered with key `keyId` (version 1), active. */
export function registeredTerminal(terminalId: string, keyId: string): TerminalRecord {
  return {
    terminalId,
    state: "active",
    keyId,
    keyVersion: 1,
    createdAt: now(),
    updatedAt: now(),
  };
}
import type { Vault } from "./vault.ts";
import { isSigningAlgorithm } from "./ec.ts";

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

/** Generates a key from the cryptographic RNG (`crypto.getRandomValues`). */
export async function generate(v: Vault, s: KeySpec & { length?: number }): Promise<KeyInfo> {
  const rec = await v.mutate("keys.generate", (d) => {
    checkSpec(s);
    const n = s.length ?? DEFAULT_LENGTH[s.algorithm];
    const key = crypto.getRandomValues(new Uint8Array(n));
    try {
      const r = v.addRecord(d, s, key, "generated");
      return { keyId: r.id, kcv: r.kcv, detail: `${r.usage} ${r.algorithm}`, r };
    } finally {
      key.fill(0);
    }
  }, { keyId: s.id });
  return info(rec.r);
}

/**
 * A `terminal-auth` entry of an import file belongs to a terminal: its id must be the
 * terminal id (9F1C) or `terminal:ID`; the terminal must not be registered yet.
 */
function terminalOf(d: StoreData, i: number, id: string): string {
  const tid = /^terminal:([0-9A-Za-z]{8})(:v1)?$/.exec(id)?.[1] ?? id;
  if (!TERMINAL_RE.test(tid)) {
    throw new KeyStoreError(
      "BAD_INPUT",
      `keys[${i}] (${id}): a terminal-auth key is registered as its terminal: name it by the ` +
        `terminal id (9F1C, 8 letters or digits); nothing imported`,
      { keyId: id, hint: "or register the terminal with: icfare terminals add ID" },
    );
  }
  if (d.terminals.some((t) => t.terminalId === tid)) {
    throw new KeyStoreError(
      "TERMINAL_EXISTS",
      `keys[${i}]: terminal ${tid} is already registered; nothing imported`,
      { keyId: id, hint: `give it a new key with: icfare terminals rotate-key ${tid}` },
    );
  }
  return tid;
}

/**
 * Imports keys in the development format (docs/cli.md, "Key import files"). All or nothing:
 * a KCV that does not match (or any bad entry) refuses the whole file. A `terminal-auth` key
 * registers its terminal (key id `terminal:ID:v1`), so that it authenticates uploads.
 */
export async function importDev(v: Vault, json: unknown): Promise<KeyInfo[]> {
  const parsed = DevImport.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    const msg = `import file: ${i.path.join(".")}: ${i.message}`;
    await v.auditRefusal("keys.import", msg);
    throw new KeyStoreError("BAD_INPUT", msg);
  }
  const out = await v.mutate("keys.import", (d) => {
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
        const terminalId = s.usage === "terminal-auth" ? terminalOf(d, i, e.id) : undefined;
        if (terminalId) Object.assign(s, { id: `terminal:${terminalId}:v1`, version: 1 });
        checkSpec(s);
        checkKeyLength(s.algorithm, key, `keys[${i}].value`);
        if (!matchKcv(s.algorithm, key, e.kcv)) {
          throw new KeyStoreError(
            "KCV_MISMATCH",
            `keys[${i}] (${e.id}): KCV ${e.kcv.toUpperCase()} does not match the key; nothing imported`,
            { keyId: e.id },
          );
        }
        const rec = v.addRecord(d, s, key, "imported");
        if (terminalId) d.terminals.push(registeredTerminal(terminalId, rec.id));
        recs.push(rec);
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

/** The keys a home needs for service (the upload server and the verifier), by usage. */
export const SERVICE_KEYS = [
  { usage: "pan-hash", id: "pan-hash-1", algorithm: "hmac-sha256" },
  { usage: "data", id: "card-data-1", algorithm: "aes" },
  { usage: "denylist-sign", id: "denylist-sign-sm2-1", algorithm: "sm2" },
] as const;

/**
 * Makes sure the store holds an active key of every service usage (pan-hash, card-data,
 * deny-list signing): an existing one is kept, a missing one generated. Idempotent.
 */
export async function prepareService(
  v: Vault,
): Promise<{ key: KeyInfo; created: boolean }[]> {
  const out: { key: KeyInfo; created: boolean }[] = [];
  for (const s of SERVICE_KEYS) {
    // a legacy HMAC deny-list key does not count: it signs nothing (docs/denylist.md)
    const have = v.data.keys.find((k) =>
      k.state === "active" && k.usage === s.usage &&
      isSigningAlgorithm(k.algorithm) === isSigningAlgorithm(s.algorithm)
    );
    if (have) out.push({ key: info(have), created: false });
    else out.push({ key: await generate(v, { ...s }), created: true });
  }
  return out;
}

/** Retires key `id`: it stays listed (with its KCV) but no getter returns it. */
export async function retire(v: Vault, id: string): Promise<KeyInfo> {
  const r = await v.mutate("keys.retire", (d) => {
    const rec = activeKey(d, id);
    if (RESERVED_USAGES.includes(rec.usage)) {
      throw new KeyStoreError("RESERVED", `${id} is the key store's own key; it is not retired`, {
        keyId: id,
      });
    }
    if (d.terminals.some((t) => t.keyId === id)) {
      throw new KeyStoreError(
        "BAD_INPUT",
        `${id} is a terminal's key; use terminals rotate-key or terminals disable`,
        { keyId: id },
      );
    }
    rec.state = "retired";
    rec.retiredAt = now();
    return { keyId: id, kcv: rec.kcv, rec };
  }, { keyId: id });
  return info(r.rec);
}

/** Unwraps key `id` in memory and returns its KCV (checks the stored block end to end). */
export async function checkKcv(
  v: Vault,
  id: string,
): Promise<{ id: string; kcv: string; method: KcvMethod }> {
  const r = await v.mutate("keys.kcv", (d) => {
    const rec = d.keys.find((k) => k.id === id);
    if (!rec) throw new KeyStoreError("KEY_NOT_FOUND", `no key ${id}`);
    v.unwrapRecord(rec).fill(0);
    return { keyId: id, kcv: rec.kcv, out: { id, kcv: rec.kcv, method: rec.kcvMethod } };
  }, { keyId: id });
  return r.out;
}

/** Every key (active and retired) and every pending component set, never values. */
export function list(v: Vault): { keys: KeyInfo[]; pending: PendingInfo[] } {
  return {
    keys: v.data.keys.map(info),
    pending: v.data.pending.map(({ components, ...p }) => ({
      ...p,
      have: components.length,
      custodians: components.map((c) => c.custodian),
    })),
  };
}

/**
 * Runs `fn` with the clear value of active key `id` (or a retired one, for audits, with
 * `includeRetired`), then zeroes the buffer.
 */
export function withKey<T>(
  v: Vault,
  id: string,
  fn: (key: Uint8Array, rec: KeyInfo) => T,
  includeRetired = false,
): T {
  const rec = includeRetired ? v.data.keys.find((k) => k.id === id) : activeKey(v.data, id);
  if (!rec) throw new KeyStoreError("KEY_NOT_FOUND", `no key ${id}`);
  const key = v.unwrapRecord(rec);
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
export function issuerMasterKey(
  v: Vault,
  q: IssuerKeyQuery,
): { key: Uint8Array; info: KeyInfo } | null {
  if (!/^[0-9]{1,19}$/.test(q.pan)) throw new RangeError("pan: 1-19 digits");
  const dki = q.dki?.toUpperCase();
  let best: KeyRecord | null = null;
  for (const k of v.data.keys) {
    if (k.state !== "active" || k.usage !== q.usage || k.algorithm !== q.algorithm) continue;
    if (dki !== undefined && k.dki !== undefined && k.dki !== dki) continue;
    if (!k.issuer || !q.pan.startsWith(k.issuer)) continue;
    if (!best || k.issuer.length > best.issuer!.length) best = k;
  }
  if (!best) return null;
  return { key: v.unwrapRecord(best), info: info(best) };
}

/** The single active key of `usage` (pan-hash, denylist-sign, data), or `id` when given. */
function singleKey(v: Vault, usage: KeyUsage, id?: string): KeyRecord {
  if (id !== undefined) {
    const r = activeKey(v.data, id);
    if (r.usage !== usage) throw new KeyStoreError("USAGE_MISMATCH", `${id} is not ${usage}`);
    return r;
  }
  const all = v.data.keys.filter((k) => k.state === "active" && k.usage === usage);
  if (all.length === 0) {
    throw new KeyStoreError("KEY_NOT_FOUND", `no active ${usage} key`, { hint: HINTS.init });
  }
  if (all.length > 1) {
    throw new KeyStoreError("BAD_INPUT", `${all.length} active ${usage} keys; name one by id`);
  }
  return all[0];
}

/** A non-extractable WebCrypto HMAC-SHA256 key for `pan-hash` or `denylist-sign`. */
export async function hmacCryptoKey(
  v: Vault,
  usage: "pan-hash" | "denylist-sign",
  id?: string,
): Promise<CryptoKey> {
  return await importHmacWiped(
    v.unwrapRecord(singleKey(v, usage, id)),
    usage === "pan-hash" ? ["sign"] : ["sign", "verify"],
  );
}

/** The clear bytes of the active `pan-hash` key (HMAC-SHA256); the caller zeroes them. */
export function panHashKey(v: Vault, id?: string): Uint8Array {
  return v.unwrapRecord(singleKey(v, "pan-hash", id));
}

/** A non-extractable WebCrypto AES-GCM key of usage `data` (card-data sealing). */
export async function dataCryptoKey(v: Vault, id?: string): Promise<CryptoKey> {
  const raw = v.unwrapRecord(singleKey(v, "data", id));
  try {
    return await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
      "encrypt",
      "decrypt",
    ]);
  } finally {
    raw.fill(0);
  }
}

/** A non-extractable HMAC-SHA256 CryptoKey from clear key bytes, which are zeroed afterwards. */
export async function importHmacWiped(
  raw: Uint8Array,
  usages: ("sign" | "verify")[],
): Promise<CryptoKey> {
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
