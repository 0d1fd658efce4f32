/**
 * The terminals allowed to upload (docs/keys.md, "Terminals"): each has an HMAC-SHA256 key
 * (a `terminal-auth` key record) that is shown once, when it is created or rotated, and is
 * otherwise only handed to the server as a non-extractable WebCrypto key.
 */
import { toHex } from "../hex.ts";
import type { TerminalKeyLookup } from "../auth/terminal_keys.ts";
import { KeyStoreError } from "./errors.ts";
import { importHmacWiped } from "./key_ops.ts";
import {
  checkTerminalId,
  type KeyRecord,
  now,
  type StoreData,
  type TerminalRecord,
} from "./records.ts";
import type { Vault } from "./vault.ts";

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

function newTerminal(terminalId: string, keyId: string): TerminalRecord {
  return {
    terminalId,
    state: "active",
    keyId,
    keyVersion: 1,
    createdAt: now(),
    updatedAt: now(),
  };
}

function findTerminal(d: StoreData, terminalId: string): TerminalRecord {
  const t = d.terminals.find((x) => x.terminalId === terminalId);
  if (!t) throw new KeyStoreError("TERMINAL_NOT_FOUND", `no terminal ${terminalId}`);
  return t;
}

/** Registers a terminal with a fresh HMAC key; returns the key once (hex) for the terminal. */
export async function terminalAdd(v: Vault, terminalId: string): Promise<TerminalKeyOnce> {
  checkTerminalId(terminalId);
  let keyHex = "";
  const r = await v.mutate("terminals.add", (d) => {
    if (d.terminals.some((t) => t.terminalId === terminalId)) {
      throw new KeyStoreError("TERMINAL_EXISTS", `terminal ${terminalId} is already registered`);
    }
    const { rec, hex } = newTerminalKey(v, d, terminalId, 1);
    keyHex = hex;
    const t = newTerminal(terminalId, rec.id);
    d.terminals.push(t);
    return { keyId: rec.id, kcv: rec.kcv, detail: `terminal ${terminalId}`, t };
  });
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
      d.terminals.push(newTerminal(terminalId, rec.id));
      out.push({ terminalId, keyHex: hex, kcv: rec.kcv });
      events.push({ keyId: rec.id, kcv: rec.kcv, detail: `terminal ${terminalId}` });
    }
    return { events };
  });
  return out;
}

/** Gives a terminal a new key (the old one is retired at once); returns it once. */
export async function terminalRotate(v: Vault, terminalId: string): Promise<TerminalKeyOnce> {
  let keyHex = "";
  const r = await v.mutate("terminals.rotate-key", (d) => {
    const t = findTerminal(d, terminalId);
    const old = d.keys.find((k) => k.id === t.keyId);
    if (old && old.state === "active") {
      old.state = "retired";
      old.retiredAt = now();
    }
    const { rec, hex } = newTerminalKey(v, d, terminalId, t.keyVersion + 1);
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
export async function terminalDisable(v: Vault, terminalId: string): Promise<TerminalRecord> {
  const r = await v.mutate("terminals.disable", (d) => {
    const t = findTerminal(d, terminalId);
    t.state = "disabled";
    t.updatedAt = now();
    return { keyId: t.keyId, detail: `terminal ${terminalId}`, t };
  });
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
