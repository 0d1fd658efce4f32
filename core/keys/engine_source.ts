/**
 * The verification engine's key sources backed by the key store: `issuerKeySource` gives the
 * engine's `IssuerKeySource`/`EnumerableKeySource` (core/emv/issuer_keys.ts) from the store's
 * active IMK-AC keys, and `capkSource` (capk.ts) its `CapkSource`. Keys are unwrapped into
 * memory once per verification run; `wipe()` zeroes them when the run is over.
 */
import { type IssuerKey, KeyFileSource } from "../emv/issuer_keys.ts";
import type { IssuerConfig } from "../emv/profiles.ts";
import type { KeyStore } from "./store.ts";

/** An engine key source plus a way to zero the unwrapped keys afterwards. */
export interface StoreIssuerKeys {
  source: KeyFileSource;
  /** Number of keys loaded. */
  loaded: number;
  /** Keys the engine cannot use (e.g. 24-byte 3DES, AES), by id. */
  skipped: string[];
  /** Zeroes every unwrapped key value. */
  wipe(): void;
}

/**
 * Loads every active `imk-ac` key (3DES double-length or SM4) from `store` into the engine's
 * in-memory source (which re-checks each KCV), with the issuer profile configurations
 * `configs` (prefix → config; these are not secrets and live outside the key store).
 */
export function issuerKeySource(
  store: KeyStore,
  configs: Record<string, IssuerConfig> = {},
): StoreIssuerKeys {
  const source = new KeyFileSource();
  const values: Uint8Array[] = [];
  const skipped: string[] = [];
  try {
    for (const k of store.list().keys) {
      if (k.state !== "active" || k.usage !== "imk-ac" || !k.issuer) continue;
      if (k.algorithm !== "3des" && k.algorithm !== "sm4") {
        skipped.push(k.id);
        continue;
      }
      const value = store.withKey(k.id, (v) => v.slice());
      if (value.length !== 16) {
        value.fill(0);
        skipped.push(k.id);
        continue;
      }
      values.push(value);
      const key: IssuerKey = {
        id: k.id,
        algorithm: k.algorithm,
        issuer: k.issuer,
        dki: k.dki,
        value,
        kcv: k.kcv,
      };
      source.add(key);
    }
  } catch (e) {
    for (const v of values) v.fill(0);
    throw e;
  }
  for (const [prefix, c] of Object.entries(configs)) source.configure(prefix, c);
  return {
    source,
    loaded: values.length,
    skipped,
    wipe: () => {
      for (const v of values) v.fill(0);
    },
  };
}
