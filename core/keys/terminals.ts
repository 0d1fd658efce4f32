/**
 * The terminals allowed to upload (docs/keys.md, "Terminals"): each has an HMAC-SHA256 key
 * (a `terminal-auth` key record) that is shown once, when it is created or rotated, and is
 * otherwise only handed to the server as a non-extractable WebCrypto key.
 */
import { toHex } from "../hex.ts";
import type { TerminalKeyLookup } from "../auth/terminal_keys.ts";
import { HINTS, KeyStoreError } from "./errors.ts";
import { importHmacWiped, registeredTerminal } from "./key_ops.ts";
import {
  checkTerminalId,
  type KeyRecord,
  now,
  type StoreData,
  type TerminalRecord,
} from "./records.ts";
import type { Vault } from "./vault.ts";
import type { Delivery } from "./delivery.ts";

/** Options of the operations that hand out a terminal key. */
export interface HandOut {
  /** Where the key goes (written before the store changes; see delivery.ts). */
  deliver?: Delivery;
}

/** Runs a change that hands out a key; when it fails, the delivered key is taken back. */
async function handingOut<T>(opts: HandOut, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (e) {
    await opts.deliver?.undo();
    throw e;
  }
}

/** A terminal's key as handed out once: hex for the terminal, KCV for the record. */
export interface TerminalKeyOnce {
  terminal: TerminalRecord;
  keyHex: string;
  kcv: string;
}

function newTerminalKey(
  v: Vault,
  d: StoreData,
  terminalId: string,
  version: number,
): { rec: KeyRecord; hex: string } {
  const key = crypto.getRandomValues(new Uint8Array(32));
  try {
    const rec = v.addRecord(
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

function findTerminal(d: StoreData, terminalId: string): TerminalRecord {
  const t = d.terminals.find((x) => x.terminalId === terminalId);
  if (!t) {
    throw new KeyStoreError("TERMINAL_NOT_FOUND", `no terminal ${terminalId}`, {
      hint: HINTS.terminals,
    });
  }
  return t;
}

/**
 * Registers a terminal with a fresh HMAC key; returns the key once (hex) for the terminal,
 * after delivering it (`opts.deliver`) before the store is written.
 */
export async function terminalAdd(
  v: Vault,
  terminalId: string,
  opts: HandOut = {},
): Promise<TerminalKeyOnce> {
  checkTerminalId(terminalId);
  let keyHex = "";
  const r = await handingOut(opts, () =>
    v.mutate("terminals.add", async (d) => {
      if (d.terminals.some((t) => t.terminalId === terminalId)) {
        throw new KeyStoreError("TERMINAL_EXISTS", `terminal ${terminalId} is already registered`);
      }
      const { rec, hex } = newTerminalKey(v, d, terminalId, 1);
      keyHex = hex;
      await opts.deliver?.write(hex + "\n");
      const t = registeredTerminal(terminalId, rec.id);
      d.terminals.push(t);
      return { keyId: rec.id, kcv: rec.kcv, detail: `terminal ${terminalId}`, t };
    }, { keyId: `terminal:${terminalId}:v1` }));
  return { terminal: r.t, keyHex, kcv: r.kcv };
}

/**
 * Registers many terminals in one write (one audit entry each); returns each key once.
 * All or nothing: one bad or already registered id refuses the whole list.
 */
export async function terminalAddMany(
  v: Vault,
  terminalIds: string[],
): Promise<{ terminalId: string; keyHex: string; kcv: string }[]> {
  for (const id of terminalIds) checkTerminalId(id);
  if (new Set(terminalIds).size !== terminalIds.length) {
    throw new KeyStoreError("BAD_INPUT", "terminal ids: listed twice");
  }
  const out: { terminalId: string; keyHex: string; kcv: string }[] = [];
  await v.mutate("terminals.add", (d) => {
    const have = new Set(d.terminals.map((t) => t.terminalId));
    const events = [];
    for (const terminalId of terminalIds) {
      if (have.has(terminalId)) {
        throw new KeyStoreError("TERMINAL_EXISTS", `terminal ${terminalId} is already registered`);
      }
      const { rec, hex } = newTerminalKey(v, d, terminalId, 1);
      d.terminals.push(registeredTerminal(terminalId, rec.id));
      out.push({ terminalId, keyHex: hex, kcv: rec.kcv });
      events.push({ keyId: rec.id, kcv: rec.kcv, detail: `terminal ${terminalId}` });
    }
    return { events };
  });
  return out;
}

/** The key id of a terminal as this handle knows it (for refusals in the audit trail). */
function knownKeyId(v: Vault, terminalId: string): string | undefined {
  return v.data.terminals.find((t) => t.terminalId === terminalId)?.keyId;
}

/** Gives a terminal a new key (the old one is retired at once); returns it once. */
export async function terminalRotate(
  v: Vault,
  terminalId: string,
  opts: HandOut = {},
): Promise<TerminalKeyOnce> {
  let keyHex = "";
  const r = await handingOut(opts, () =>
    v.mutate("terminals.rotate-key", async (d) => {
      const t = findTerminal(d, terminalId);
      const old = d.keys.find((k) => k.id === t.keyId);
      if (old && old.state === "active") {
        old.state = "retired";
        old.retiredAt = now();
      }
      const { rec, hex } = newTerminalKey(v, d, terminalId, t.keyVersion + 1);
      keyHex = hex;
      await opts.deliver?.write(hex + "\n");
      t.keyVersion++;
      t.keyId = rec.id;
      t.updatedAt = now();
      return {
        keyId: rec.id,
        kcv: rec.kcv,
        detail: `terminal ${terminalId} key v${t.keyVersion}`,
        t,
      };
    }, { keyId: knownKeyId(v, terminalId) }));
  return { terminal: r.t, keyHex, kcv: r.kcv };
}

/** Disables a terminal: its key lookups answer null from then on. */
export async function terminalDisable(v: Vault, terminalId: string): Promise<TerminalRecord> {
  const r = await v.mutate("terminals.disable", (d) => {
    const t = findTerminal(d, terminalId);
    t.state = "disabled";
    t.updatedAt = now();
    return { keyId: t.keyId, detail: `terminal ${terminalId}`, t };
  }, { keyId: knownKeyId(v, terminalId) });
  return r.t;
}

/** Enables a disabled terminal again: its key (unchanged) authenticates uploads at once. */
export async function terminalEnable(v: Vault, terminalId: string): Promise<TerminalRecord> {
  const r = await v.mutate("terminals.enable", (d) => {
    const t = findTerminal(d, terminalId);
    const key = d.keys.find((k) => k.id === t.keyId);
    if (!key || key.state !== "active") {
      throw new KeyStoreError(
        "KEY_NOT_ACTIVE",
        `terminal ${terminalId}: its key ${t.keyId} is not active`,
        {
          keyId: t.keyId,
          hint: `give it a new key with: icfare terminals rotate-key ${terminalId}`,
        },
      );
    }
    t.state = "active";
    t.updatedAt = now();
    return { keyId: t.keyId, detail: `terminal ${terminalId}`, t };
  }, { keyId: knownKeyId(v, terminalId) });
  return r.t;
}

/** Terminals with their key KCVs. */
export function terminalList(v: Vault): (TerminalRecord & { kcv?: string })[] {
  return v.data.terminals.map((t) => ({
    ...t,
    kcv: v.data.keys.find((k) => k.id === t.keyId)?.kcv,
  }));
}

/**
 * The server's `TerminalKeyLookup` (core/auth/terminal_keys.ts): a non-extractable HMAC
 * key per active terminal, imported once and cached; null for unknown or disabled ones.
 */
export function terminalKeys(v: Vault): TerminalKeyLookup {
  const cache = new Map<string, Promise<CryptoKey | null>>();
  return {
    hmacKey: (terminalId: string) => {
      let p = cache.get(terminalId);
      if (!p) {
        p = terminalCryptoKey(v, terminalId);
        cache.set(terminalId, p);
      }
      return p;
    },
  };
}

async function terminalCryptoKey(v: Vault, terminalId: string): Promise<CryptoKey | null> {
  const t = v.data.terminals.find((x) => x.terminalId === terminalId);
  if (!t || t.state !== "active") return null;
  const rec = v.data.keys.find((k) => k.id === t.keyId);
  if (!rec || rec.state !== "active") return null;
  return await importHmacWiped(v.unwrapRecord(rec), ["sign", "verify"]);
}
