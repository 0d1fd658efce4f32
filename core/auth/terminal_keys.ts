/**
 * Where the upload server gets each terminal's HMAC key. In service the lookup is the key
 * store's live terminal table (core/keys/terminal_table.ts; docs/keys.md, "Terminals in a
 * running server"); `StaticTerminalKeys` is a fixed registry for tests and development key
 * files (`icfare serve --dev-keys FILE`), held only as non-extractable WebCrypto keys.
 */
import { fromHex } from "../hex.ts";

/** Terminal key lookup: null means an unknown or disabled terminal. */
export interface TerminalKeyLookup {
  hmacKey(terminalId: string): Promise<CryptoKey | null>;
}

/** Imports a raw HMAC-SHA256 key for signing and verifying (non-extractable). */
export function importHmacKey(raw: Uint8Array): Promise<CryptoKey> {
  if (!(raw instanceof Uint8Array) || raw.length < 16) {
    throw new RangeError("HMAC key must be at least 16 bytes");
  }
  return crypto.subtle.importKey(
    "raw",
    raw as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** Fixed registry for tests and development key files: terminal id → key, set at construction. */
export class StaticTerminalKeys implements TerminalKeyLookup {
  private constructor(private readonly keys: ReadonlyMap<string, CryptoKey>) {}

  /** From `{ "LC000123": "hex key", … }`; every key at least 16 bytes. */
  static async fromHex(entries: Record<string, string>): Promise<StaticTerminalKeys> {
    const m = new Map<string, CryptoKey>();
    for (const [id, hex] of Object.entries(entries)) {
      if (!/^[0-9A-Za-z]{8}$/.test(id)) {
        throw new RangeError(`terminal id must be 8 letters or digits, got "${id}"`);
      }
      m.set(id, await importHmacKey(fromHex(hex, `key of terminal ${id}`)));
    }
    return new StaticTerminalKeys(m);
  }

  hmacKey(terminalId: string): Promise<CryptoKey | null> {
    return Promise.resolve(this.keys.get(terminalId) ?? null);
  }
}
