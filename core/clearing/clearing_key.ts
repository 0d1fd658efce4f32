/**
 * The clearing key (usage `clearing`, AES-256, docs/keys.md): it encrypts the day's clearing
 * file with AES-GCM and is exported to the acquirer as a TR-31 block (`icfare keys export`).
 * From it icfare also derives, with HKDF-SHA256, a separate HMAC key that makes each segment's
 * nonce from the segment's content (docs/clearing.md, "Why the nonce is derived"); the acquirer
 * does not need that key, the nonce travels in the file.
 */
import type { KeyStore } from "../keys/store.ts";
import { ClearError } from "./clear.ts";

/** The two WebCrypto keys made from the clearing key, with its identity (never its value). */
export interface ClearingKey {
  readonly id: string;
  readonly kcv: string;
  /** AES-GCM, encrypt and decrypt, not extractable. */
  readonly aes: CryptoKey;
  /** HMAC-SHA256 for nonces, not extractable. */
  readonly nonce: CryptoKey;
}

const enc = new TextEncoder();

/** Imports raw key bytes (which the caller zeroes) as a `ClearingKey`. */
export async function clearingKeyFrom(
  raw: Uint8Array,
  id: string,
  kcv: string,
): Promise<ClearingKey> {
  if (raw.length !== 32 && raw.length !== 16) {
    throw new RangeError(`clearing key must be AES-128 or AES-256, got ${raw.length} bytes`);
  }
  const aes = await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  const ikm = await crypto.subtle.importKey("raw", raw as BufferSource, "HKDF", false, [
    "deriveKey",
  ]);
  const nonce = await crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new Uint8Array(0),
      info: enc.encode("icfare clearing-file nonce key/1"),
    },
    ikm,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
  return { id, kcv, aes, nonce };
}

/** The single active `clearing` key of the key store (or `id`), ready to use. */
export async function clearingKeyOf(ks: KeyStore, id?: string): Promise<ClearingKey> {
  const all = ks.list().keys.filter((k) =>
    k.usage === "clearing" && k.state === "active" && (id === undefined || k.id === id)
  );
  if (all.length !== 1) {
    throw new ClearError(
      "CLEARING_KEY",
      all.length === 0
        ? `no active clearing key${id ? ` ${id}` : ""} in the key store`
        : `${all.length} active clearing keys; name one with --clearing-key`,
      "icfare keys generate --id clearing-1 --usage clearing --algorithm aes --exportable",
    );
  }
  const k = all[0];
  const raw = ks.withKey(k.id, (v) => v.slice());
  try {
    return await clearingKeyFrom(raw, k.id, k.kcv);
  } finally {
    raw.fill(0);
  }
}
