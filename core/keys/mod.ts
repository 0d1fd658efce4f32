/**
 * Key management (docs/keys.md): the encrypted key store, TR-31 key blocks, KCVs, key
 * components, CA public keys in every form operators receive them, terminal keys with the
 * upload servers' live terminal table, and the audit trail. The verification engine and the
 * server get keys only through `KeyStore`'s getters, `capkSource` and the terminal table.
 *
 * @example
 * ```ts
 * import { KeyStore } from "./mod.ts";
 * const home = await Deno.makeTempDir();
 * const master = crypto.getRandomValues(new Uint8Array(32)); // in service: loadMasterKey(home)
 * const store = await KeyStore.init(home, master, "officer");
 * master.fill(0);
 * const [key] = await store.importDev({
 *   keys: [{
 *     id: "imk-ac-621234",
 *     usage: "imk-ac",
 *     algorithm: "3des",
 *     issuer: "621234",
 *     dki: "01",
 *     value: "0123456789ABCDEFFEDCBA9876543210",
 *     kcv: "08D7B4", // EMV test key; a 4-byte KCV (08D7B4FB) is accepted as well
 *   }],
 * });
 * const imk = store.issuerMasterKey({ pan: "6212345678901234", usage: "imk-ac", algorithm: "3des" });
 * try {
 *   if (imk?.info.kcv !== key.kcv) throw new Error("not the key imported");
 * } finally {
 *   imk?.key.fill(0);
 *   store.close();
 * }
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
export * from "./delivery.ts";
export { openTerminalTable, TerminalTable, terminalTablePath } from "./terminal_table.ts";
