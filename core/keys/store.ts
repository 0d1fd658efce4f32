/**
 * The encrypted key store (docs/keys.md): one file, `<home>/keys/keystore.json`, holding every
 * secret key as a TR-31 version D key block under the master key (AES-256 KBPK), each key's
 * attributes and KCV beside it, pending key components, CA public keys and the terminal
 * registry; the whole file is authenticated with an HMAC key derived from the master key, and
 * every operation appends to the hash-chained audit trail `<home>/keys/audit.log`.
 *
 * `KeyStore` is the one face of the store's duties, each in its own module:
 * wrapped key storage and the audit-writing change (`vault.ts`, `store_file.ts`, `audit.ts`),
 * keys and their getters (`key_ops.ts`), components and ceremonies (`components.ts`), key
 * blocks in and out (`key_blocks.ts`), CA keys (`capk_store.ts`, checks in `capk.ts`) and
 * terminals (`terminals.ts`).
 *
 * Keys leave the store only through typed getters that unwrap in memory: `withKey`,
 * `issuerMasterKey`, `hmacCryptoKey`, `panHashKey`, `dataCryptoKey`, `terminalKeys()`,
 * `capkSource()`. No clear key value is ever written to a file, the audit trail or a message.
 */
import type { AuditVerdict } from "./audit.ts";
import type { TerminalKeyLookup } from "../auth/terminal_keys.ts";
import type { KcvMethod } from "./kcv.ts";
import { type CapkAction, capkList, capkRevoke, capkStore } from "./capk_store.ts";
import { componentAdd, type ComponentResult, type ComponentSpec } from "./components.ts";
import { type BlockImportSpec, exportBlock, importBlock } from "./key_blocks.ts";
import * as ops from "./key_ops.ts";
import type {
  CapkRecord,
  IssuerKeyQuery,
  KeyInfo,
  KeySpec,
  PendingInfo,
  TerminalRecord,
} from "./records.ts";
import * as term from "./terminals.ts";
import { Vault } from "./vault.ts";
import { openTerminalTable, type TerminalTable } from "./terminal_table.ts";
import type { Delivery } from "./delivery.ts";

export {
  ALGORITHM_CHAR,
  type CapkRecord,
  type IssuerKeyQuery,
  type KeyInfo,
  type KeyRecord,
  type KeySpec,
  type KeyUsage,
  type PendingInfo,
  type PendingKey,
  type TerminalRecord,
  USAGES,
} from "./records.ts";
export { keyStorePaths, readAudit } from "./store_file.ts";
import { exists, keyStorePaths } from "./store_file.ts";

/** The key store, opened with the master key. */
export class KeyStore {
  private constructor(private v: Vault) {}

  /** The home this store lives in. */
  get home(): string {
    return this.v.home;
  }

  /** Who is acting, for the audit trail. */
  get actor(): string {
    return this.v.actor;
  }

  /** Paths of this store. */
  get paths() {
    return this.v.paths;
  }

  /** True when `home` has a key store. */
  static existsIn(home: string): Promise<boolean> {
    return exists(keyStorePaths(home).store);
  }

  /** Creates an empty key store in `home` (refuses when one exists). */
  static async init(home: string, master: Uint8Array, actor: string): Promise<KeyStore> {
    return new KeyStore(await Vault.init(home, master, actor));
  }

  /** Opens the store in `home`, checking the master key's KCV and the file's MAC. */
  static async open(home: string, master: Uint8Array, actor = "unknown"): Promise<KeyStore> {
    return new KeyStore(await Vault.open(home, master, actor));
  }

  /** Re-reads the store (another process may have changed it since this handle opened). */
  async reload(): Promise<void> {
    await this.v.reload();
  }

  /** Forgets the master key held by this object (zeroes it). */
  close(): void {
    this.v.close();
  }

  /** The master key's KCV (AES-CMAC), recorded in the store. */
  get masterKcv(): string {
    return this.v.data.kbpkKcv;
  }

  // ---------------------------------------------------------------- audit trail

  /** Records a refused or failed operation that did not reach the store (e.g. bad input). */
  auditRefusal(op: string, detail: string, keyId?: string): Promise<void> {
    return this.v.auditRefusal(op, detail, keyId);
  }

  /** Verifies the audit chain and that it contains the head anchored in the store. */
  verifyAudit(): Promise<AuditVerdict> {
    return this.v.verifyAudit();
  }

  /**
   * An officer acknowledges a broken audit trail (with the reason); key operations, stopped
   * while the trail is broken, go on from a new entry. Refused when the trail is intact.
   */
  acknowledgeAudit(reason: string): Promise<AuditVerdict> {
    return this.v.acknowledgeAudit(reason);
  }

  // ---------------------------------------------------------------- keys

  /** Generates a key from the cryptographic RNG (`crypto.getRandomValues`). */
  generate(s: KeySpec & { length?: number }): Promise<KeyInfo> {
    return ops.generate(this.v, s);
  }

  /** Imports keys in the development format (all or nothing, every KCV checked). */
  importDev(json: unknown): Promise<KeyInfo[]> {
    return ops.importDev(this.v, json);
  }

  /**
   * Makes the store ready for service: an active pan-hash, card-data and deny-list signing key
   * each (existing ones kept, missing ones generated), reported with their KCVs.
   */
  prepareService(): Promise<{ key: KeyInfo; created: boolean }[]> {
    return ops.prepareService(this.v);
  }

  /** Retires key `id`: it stays listed (with its KCV) but no getter returns it. */
  retire(id: string): Promise<KeyInfo> {
    return ops.retire(this.v, id);
  }

  /** Unwraps key `id` in memory and returns its KCV (checks the stored block end to end). */
  checkKcv(id: string): Promise<{ id: string; kcv: string; method: KcvMethod }> {
    return ops.checkKcv(this.v, id);
  }

  /** Every key (active and retired) and every pending component set, never values. */
  list(): { keys: KeyInfo[]; pending: PendingInfo[] } {
    return ops.list(this.v);
  }

  /** Re-wraps every key and component under `newMaster` (one atomic write). */
  rotateMaster(newMaster: Uint8Array): Promise<{ keys: number; newKcv: string }> {
    return this.v.rotateMaster(newMaster);
  }

  // ---------------------------------------------------------------- components and blocks

  /** Adds one custodian's key component (dual control; see components.ts). */
  componentAdd(
    s: ComponentSpec,
    custodian: string,
    component: Uint8Array,
    componentKcv: string,
  ): Promise<ComponentResult> {
    return componentAdd(this.v, s, custodian, component, componentKcv);
  }

  /** Imports a TR-31 key block wrapped under the store's KEK `kekId` (see key_blocks.ts). */
  importBlock(block: string, kekId: string, s: BlockImportSpec): Promise<KeyInfo> {
    return importBlock(this.v, block, kekId, s);
  }

  /**
   * Exports key `id` as a TR-31 block under the KEK `kekId` (two officers); with
   * `opts.deliver` the block is written there before the export is recorded.
   */
  exportBlock(
    id: string,
    kekId: string,
    officers: string[],
    opts: { deliver?: Delivery } = {},
  ): Promise<string> {
    return exportBlock(this.v, id, kekId, officers, opts);
  }

  // ---------------------------------------------------------------- getters for the others

  /** Runs `fn` with the clear value of active key `id`, then zeroes the buffer. */
  withKey<T>(id: string, fn: (key: Uint8Array, rec: KeyInfo) => T, includeRetired = false): T {
    return ops.withKey(this.v, id, fn, includeRetired);
  }

  /** The issuer master key for a card (longest issuer prefix); the caller zeroes it. */
  issuerMasterKey(q: IssuerKeyQuery): { key: Uint8Array; info: KeyInfo } | null {
    return ops.issuerMasterKey(this.v, q);
  }

  /** A non-extractable WebCrypto HMAC-SHA256 key for `pan-hash` or `denylist-sign`. */
  hmacCryptoKey(usage: "pan-hash" | "denylist-sign", id?: string): Promise<CryptoKey> {
    return ops.hmacCryptoKey(this.v, usage, id);
  }

  /**
   * The clear bytes of the `pan-hash` key, for the upload server's batched card hashing
   * (`DevPanProtector.fromKeyBytes`, which copies and zeroes them); the caller zeroes them.
   */
  panHashKey(id?: string): Uint8Array {
    return ops.panHashKey(this.v, id);
  }

  /** A non-extractable WebCrypto AES-GCM key of usage `data` (card-data sealing). */
  dataCryptoKey(id?: string): Promise<CryptoKey> {
    return ops.dataCryptoKey(this.v, id);
  }

  // ---------------------------------------------------------------- terminals

  /** Registers a terminal with a fresh HMAC key; returns the key once (hex). */
  terminalAdd(terminalId: string, opts: term.HandOut = {}): Promise<term.TerminalKeyOnce> {
    return term.terminalAdd(this.v, terminalId, opts);
  }

  /** Registers many terminals in one write (all or nothing); returns each key once. */
  terminalAddMany(
    terminalIds: string[],
  ): Promise<{ terminalId: string; keyHex: string; kcv: string }[]> {
    return term.terminalAddMany(this.v, terminalIds);
  }

  /** Gives a terminal a new key (the old one is retired at once); returns it once. */
  terminalRotate(terminalId: string, opts: term.HandOut = {}): Promise<term.TerminalKeyOnce> {
    return term.terminalRotate(this.v, terminalId, opts);
  }

  /** Disables a terminal: its key lookups answer null from then on. */
  terminalDisable(terminalId: string): Promise<TerminalRecord> {
    return term.terminalDisable(this.v, terminalId);
  }

  /** Enables a disabled terminal again (its key unchanged). */
  terminalEnable(terminalId: string): Promise<TerminalRecord> {
    return term.terminalEnable(this.v, terminalId);
  }

  /**
   * The upload servers' live terminal table (see terminal_table.ts): brought up to date with
   * the store first (a change, audited, only when the table is missing or stale), then opened
   * with a copy of the table key. The caller may close this store (zeroing the master key):
   * the table goes on seeing every change. `onProblem` hears of a table gone bad.
   */
  openTerminalTable(onProblem?: (message: string) => void): Promise<TerminalTable> {
    return openTerminalTable(this.v, onProblem);
  }

  /** Terminals with their key KCVs. */
  terminalList(): (TerminalRecord & { kcv?: string })[] {
    return term.terminalList(this.v);
  }

  /** The server's `TerminalKeyLookup` over this handle's terminals. */
  terminalKeys(): TerminalKeyLookup {
    return term.terminalKeys(this.v);
  }

  // ---------------------------------------------------------------- CA public keys

  /** Current CAPK records (public). */
  capkList(): CapkRecord[] {
    return capkList(this.v);
  }

  /** Stores verified CAPK records (see capk.ts for parsing and checks); per-key actions. */
  capkStore(records: CapkRecord[], source?: string): Promise<Map<string, CapkAction>> {
    return capkStore(this.v, records, source);
  }

  /** Revokes a CA key, or (with `serial`) one issuer certificate serial under it. */
  capkRevoke(rid: string, index: string, serial?: string): Promise<CapkRecord> {
    return capkRevoke(this.v, rid, index, serial);
  }
}
