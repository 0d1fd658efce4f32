/**
 * `icfare verify` over a home: the keys of its key store (issuer keys, IMK-MACs, CA public keys,
 * the card-data key) unwrapped for one run of `verifyStore` over its store, and zeroed after
 * (docs/verification.md; docs/keys.md).
 */
import type { KeyStore } from "./keys/store.ts";
import type { IssuerKey } from "./emv/issuer_keys.ts";
import {
  type StoreVerifyOptions,
  type StoreVerifySummary,
  type VerifyKeys,
  verifyStore,
} from "./verify_store.ts";

/**
 * SQLite page cache of a verifier's connection, MiB: a day's card index and records are read at
 * random, and SQLite's 2 MiB default made a 1,000,000-record store 15–25 % slower to verify.
 */
export const VERIFY_CACHE_MIB = 256;

/**
 * The key store's active IMK-MAC keys (3DES double length or SM4), unwrapped for one run, for
 * the IDD MAC. `core/keys/engine_source.ts` loads the IMK-ACs; until it loads both usages this
 * small loader sits here.
 */
function imkMacKeys(ks: KeyStore): IssuerKey[] {
  const out: IssuerKey[] = [];
  try {
    collectImkMac(ks, out);
  } catch (e) {
    for (const k of out) k.value.fill(0);
    throw e;
  }
  return out;
}

function collectImkMac(ks: KeyStore, out: IssuerKey[]): void {
  for (const k of ks.list().keys) {
    if (k.state !== "active" || k.usage !== "imk-mac" || !k.issuer) continue;
    if (k.algorithm !== "3des" && k.algorithm !== "sm4") continue;
    const value = ks.withKey(k.id, (v) => v.slice());
    if (value.length !== 16) {
      value.fill(0);
      continue;
    }
    out.push({
      id: k.id,
      usage: "imk-mac",
      algorithm: k.algorithm,
      issuer: k.issuer,
      dki: k.dki,
      value,
      kcv: k.kcv,
    });
  }
}

/** What `verifyHome` needs. */
export interface VerifyHomeOptions extends StoreVerifyOptions {
  /** The icfare home (store HOME/icfare.db, key store HOME/keys). */
  readonly home: string;
  /** The key store's master key (the caller zeroes it afterwards). */
  readonly masterKey: Uint8Array;
  /** Who runs it, for the key store's audit trail. */
  readonly actor: string;
  /** The store (`--store`: a postgres:// URL or an SQLite file; default HOME/icfare.db). */
  readonly store?: string;
}

/**
 * Verifies the pending records of the store in `home` with the keys of its key store: issuer
 * keys and CA public keys for the engine, the card-data key to open the sealed batch bodies.
 * The unwrapped issuer keys are zeroed when the run ends.
 */
export async function verifyHome(o: VerifyHomeOptions): Promise<StoreVerifySummary> {
  const { KeyStore } = await import("./keys/store.ts");
  const { issuerKeySource } = await import("./keys/engine_source.ts");
  const { DevPanProtector } = await import("./store/pan.ts");
  const { closeStore, openStore, storeLocation } = await import("./store/open.ts");
  const ks = await KeyStore.open(o.home, o.masterKey, o.actor);
  let wipe = () => {};
  try {
    const k = issuerKeySource(ks);
    wipe = k.wipe;
    const pan = DevPanProtector.fromCryptoKeys(
      await ks.hmacCryptoKey("pan-hash"),
      await ks.dataCryptoKey(),
    );
    const mac = imkMacKeys(ks);
    const prevWipe = wipe;
    wipe = () => (prevWipe(), mac.forEach((m) => m.value.fill(0)));
    const keys: VerifyKeys = {
      imkAc: k.source.listImkAc(),
      imkMac: mac,
      configs: k.source.listConfigs(),
      capks: ks.capkList(),
    };
    // one chunk's verdicts per transaction: its statement journals fit in memory; a page cache
    // for a day's card index and records
    const store = await openStore(storeLocation(o.home, o.store), {
      tempStore: "memory",
      cacheMiB: VERIFY_CACHE_MIB,
    });
    try {
      return await verifyStore(store, pan, keys, o);
    } finally {
      await closeStore(store);
    }
  } finally {
    wipe();
    ks.close();
  }
}
