/**
 * Where the server's deny-list signer comes from (docs/denylist.md, "Signing key"): the key
 * store's active `denylist-sign` key (SM2 or ECDSA P-256), or, without a key store, the
 * development key file's optional `denyListKey` (`{"algorithm": "sm2"|"ecdsa-p256",
 * "privateKey": "64 hex"}`, clear text, tests and demos only). Without either the server still
 * runs; its deny-list routes answer `503 DENYLIST_UNAVAILABLE`.
 */
import { join } from "node:path";
import { KeyStore, loadMasterKey } from "../core/keys/mod.ts";
import { isSigningAlgorithm } from "../core/keys/ec.ts";
import { openSigner, type Signer, signerFromPrivateKey } from "../core/keys/signing.ts";
import { fromHex } from "../core/hex.ts";

/** The signer and the line the server prints about it (never a key). */
export interface DenyListKey {
  readonly signer?: Signer;
  readonly note: string;
}

function noted(signer: Signer, from: string): DenyListKey {
  const i = signer.info;
  return { signer, note: `deny list signed by ${i.keyId} (${i.algorithm}, KCV ${i.kcv}, ${from})` };
}

const NONE = "no deny-list signing key: GET /v1/denylist answers 503 until one is made " +
  "(icfare keys generate --usage denylist-sign --algorithm sm2) and the server restarts";

/**
 * Loads the deny-list signer the way `startServer` loads the other keys: from the key store
 * when `fromKeyStore`, else from the development key file (when there is one).
 */
export async function loadDenyListKey(
  o: { home: string; devKeys?: string; masterKeyFile?: string },
  fromKeyStore: boolean,
): Promise<DenyListKey> {
  if (fromKeyStore) {
    const m = await loadMasterKey(o.home, o.masterKeyFile);
    let ks: KeyStore;
    try {
      ks = await KeyStore.open(o.home, m.key, "icfare serve");
    } finally {
      m.key.fill(0);
    }
    try {
      const usable = ks.list().keys.some((k) =>
        k.usage === "denylist-sign" && k.state === "active" && isSigningAlgorithm(k.algorithm)
      );
      // none, or only a legacy HMAC key: the server runs, the deny-list routes answer 503
      if (!usable) return { note: NONE };
      return noted(openSigner(ks, "denylist-sign"), "key store");
    } finally {
      ks.close();
    }
  }
  const file = o.devKeys ?? join(o.home, "dev-keys.json");
  const text = await Deno.readTextFile(file).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  });
  if (text === null) return { note: NONE };
  const dev = JSON.parse(text) as {
    denyListKey?: { algorithm?: string; privateKey?: string };
  };
  const k = dev.denyListKey;
  if (k === undefined) return { note: NONE };
  if (typeof k.algorithm !== "string" || !isSigningAlgorithm(k.algorithm)) {
    throw new Error(`${file}: denyListKey.algorithm must be sm2 or ecdsa-p256`);
  }
  const priv = fromHex(String(k.privateKey ?? ""), "denyListKey.privateKey");
  try {
    return noted(
      signerFromPrivateKey("dev-denylist", k.algorithm, priv),
      `development key file ${file} (clear keys: tests and demos only)`,
    );
  } finally {
    priv.fill(0);
  }
}
