/**
 * Signers from the key store (docs/keys.md, "Signing keys"): the deny-list signing key
 * (`denylist-sign`, docs/denylist.md) and the archive signing key (`archive-sign`). The private
 * key is unwrapped once, checked against the record's public key and KCV, and kept in the
 * signer's memory until `close()` zeroes it; only the public key and its KCV ever leave.
 */
import { fromHex, toHex } from "../hex.ts";
import { KeyStoreError } from "./errors.ts";
import {
  checkPublicKey,
  isSigningAlgorithm,
  publicKeyKcv,
  publicKeyOf,
  type SigningAlgorithm,
  signMessage,
  verifyMessage,
} from "./ec.ts";
import type { KeyInfo } from "./records.ts";
import type { KeyStore } from "./store.ts";

/** The usages of signing keys. */
export type SigningUsage = "denylist-sign" | "archive-sign";

/** A public key as served and published: never the private part. */
export interface PublicKeyInfo {
  readonly keyId: string;
  readonly algorithm: SigningAlgorithm;
  /** `04 ‖ x ‖ y`, upper-case hex. */
  readonly publicKey: string;
  /** SHA-256 of the public key, leftmost 3 bytes, hex (`ec.ts`). */
  readonly kcv: string;
  readonly kcvMethod: "public";
}

/** Signs with one private key held in memory; `close()` zeroes it. */
export interface Signer {
  readonly info: PublicKeyInfo;
  /** The signature `r ‖ s` (64 bytes) of `message`. */
  sign(message: Uint8Array): Uint8Array;
  close(): void;
}

/**
 * The active signing key of `usage` (or key `id`): SM2 or ECDSA P-256, one at a time. A legacy
 * HMAC deny-list key is passed over; none, or more than one, is a coded refusal.
 */
export function signingKey(store: KeyStore, usage: SigningUsage, id?: string): KeyInfo {
  const all = store.list().keys.filter((k) =>
    k.state === "active" && k.usage === usage && (id === undefined || k.id === id)
  );
  const usable = all.filter((k) => isSigningAlgorithm(k.algorithm));
  if (usable.length === 1) return usable[0];
  if (usable.length > 1) {
    throw new KeyStoreError("BAD_INPUT", `${usable.length} active ${usage} keys; name one by id`);
  }
  const legacy = all.length > 0 ? ` (${all[0].id} is an HMAC key: it signs nothing)` : "";
  throw new KeyStoreError(
    "KEY_NOT_FOUND",
    `no active SM2 or ECDSA P-256 ${usage} key${id ? ` ${id}` : ""}${legacy}; make one with: ` +
      `icfare keys generate --id ${usage}-1 --usage ${usage} --algorithm sm2`,
  );
}

/** The public key of the active signing key of `usage` (or key `id`). */
export function publicKeyInfo(store: KeyStore, usage: SigningUsage, id?: string): PublicKeyInfo {
  return infoOf(signingKey(store, usage, id));
}

function infoOf(k: KeyInfo): PublicKeyInfo {
  if (!isSigningAlgorithm(k.algorithm) || k.publicKey === undefined) {
    throw new KeyStoreError("KEYSTORE_TAMPERED", `key ${k.id}: a signing key without public key`);
  }
  const pub = fromHex(k.publicKey, "publicKey");
  checkPublicKey(k.algorithm, pub);
  if (publicKeyKcv(pub) !== k.kcv) {
    throw new KeyStoreError("KEYSTORE_TAMPERED", `key ${k.id}: public key does not match its KCV`);
  }
  return {
    keyId: k.id,
    algorithm: k.algorithm,
    publicKey: toHex(pub),
    kcv: k.kcv,
    kcvMethod: "public",
  };
}

/** A signer over the active signing key of `usage` (or key `id`) of the store. */
export function openSigner(store: KeyStore, usage: SigningUsage, id?: string): Signer {
  const k = signingKey(store, usage, id);
  const info = infoOf(k);
  const priv = store.withKey(k.id, (key) => key.slice());
  return signerOf(info, priv);
}

/**
 * A signer over a private key given in memory (development key files and tests); the key is
 * copied, the caller's buffer left as it is.
 */
export function signerFromPrivateKey(
  keyId: string,
  algorithm: SigningAlgorithm,
  privateKey: Uint8Array,
): Signer {
  const pub = publicKeyOf(algorithm, privateKey);
  return signerOf({
    keyId,
    algorithm,
    publicKey: toHex(pub),
    kcv: publicKeyKcv(pub),
    kcvMethod: "public",
  }, privateKey.slice());
}

function signerOf(info: PublicKeyInfo, priv: Uint8Array): Signer {
  const pub = fromHex(info.publicKey, "publicKey");
  if (toHex(publicKeyOf(info.algorithm, priv)) !== info.publicKey) {
    priv.fill(0);
    throw new KeyStoreError("KEYSTORE_TAMPERED", `key ${info.keyId}: private and public differ`);
  }
  let open = true;
  return {
    info,
    sign(message) {
      if (!open) throw new Error(`signer ${info.keyId} is closed`);
      const sig = signMessage(info.algorithm, priv, message);
      // A signature that does not verify never leaves (a fault in the arithmetic leaks keys).
      if (!verifyMessage(info.algorithm, pub, message, sig)) {
        throw new Error(`signer ${info.keyId}: a signature failed its own check`);
      }
      return sig;
    },
    close() {
      open = false;
      priv.fill(0);
    },
  };
}
