/**
 * Key management (issue 8): the encrypted key store, TR-31 key blocks, KCVs, key components,
 * CA public keys, terminal keys and the audit trail. The verification engine and the server
 * get keys only through `KeyStore`'s getters, `capkSource` and `KeyStore.terminalKeys()`.
 *
 * @example
 * ```ts
 * import { KeyStore, loadMasterKey } from "@icfare/core/keys";
 * const { key } = await loadMasterKey(home);
 * const store = await KeyStore.open(home, key, "verify");
 * key.fill(0);
 * const imk = store.issuerMasterKey({ pan, usage: "imk-ac", algorithm: "3des", dki: "01" });
 * try { … } finally { imk?.key.fill(0); }
 * ```
 */
export * from "./errors.ts";
export * from "./kcv.ts";
export * from "./master.ts";
export * from "./audit.ts";
export * from "./store.ts";
export * from "./capk.ts";
export * from "./engine_source.ts";
export {
  type OptionalBlock,
  parseBlock,
  type Tr31Code,
  Tr31Error,
  type Tr31Header,
  unwrap,
  wrap,
} from "./tr31.ts";
