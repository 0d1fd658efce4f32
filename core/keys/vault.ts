/**
 * Wrapped key storage (docs/keys.md, "Store"): the one object that holds the master key (the
 * AES-256 KBPK) in memory. It wraps and unwraps every key block, checks each block's binding
 * and KCV, and runs every change of the store as one locked read–modify–write with its audit
 * entries (`mutate`). The key store's duties (keys, components, key blocks, CA keys,
 * terminals) are functions over a `Vault`; `KeyStore` is their one face.
 */
import {
  appendEntries,
  type AuditEntry,
  auditLines,
  AuditWriter,
  GENESIS,
  prefixHash,
  verifyAudit,
} from "./audit.ts";
import type { AuditVerdict } from "./audit.ts";
import { HINTS, KeyStoreError } from "./errors.ts";
import { checkKeyLength, kcv, kcvMethod, type KeyAlgorithm } from "./kcv.ts";
import {
  binding,
  checkSpec,
  headerFor,
  type KeyRecord,
  type KeySpec,
  now,
  type StoreData,
  tr31Binding,
} from "./records.ts";
import { exists, ioRefusal, keyStorePaths, readStore, withLock, writeStore } from "./store_file.ts";
import { Tr31Error, type Tr31Header, unwrap, wrap } from "./tr31.ts";
import { isSigningAlgorithm, publicKeyOf } from "./ec.ts";
import { toHex } from "../hex.ts";
import { syncTerminalTable } from "./terminal_table.ts";

/** What a change reports for the audit trail (one event, or one per item of a bulk change). */
export interface MutationReport {
  keyId?: string;
  kcv?: string;
  detail?: string;
  result?: "ok" | "refused";
  events?: { keyId?: string; kcv?: string; detail?: string }[];
}

/** The master key, the current store content and the audit writer of one open store. */
export class Vault {
  private audit: AuditWriter;

  private constructor(
    readonly home: string,
    private master: Uint8Array,
    private current: StoreData,
    readonly actor: string,
  ) {
    this.audit = new AuditWriter(keyStorePaths(home).audit, actor);
  }

  /** Opens the store in `home` (master key's KCV and file MAC checked); keeps a copy of `master`. */
  static async open(home: string, master: Uint8Array, actor: string): Promise<Vault> {
    return new Vault(home, master.slice(), await readStore(home, master), actor);
  }

  /** Creates an empty store in `home` (refused when one exists) and audits its creation. */
  static async init(home: string, master: Uint8Array, actor: string): Promise<Vault> {
    if (master.length !== 32) {
      throw new KeyStoreError("MASTER_KEY_INVALID", "master key: AES-256, 32 bytes");
    }
    const p = keyStorePaths(home);
    try {
      await Deno.mkdir(p.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw ioRefusal(e, "KEYSTORE_READONLY", `key store directory ${p.dir}`);
    }
    if (await exists(p.store)) {
      throw new KeyStoreError("KEYSTORE_EXISTS", `a key store already exists at ${p.store}`);
    }
    if ((await auditLines(p.audit)).length > 0) {
      // A new store would anchor a new chain while the old log goes on: refuse, loudly.
      throw new KeyStoreError(
        "AUDIT_LOG_EXISTS",
        `${p.audit} already holds an audit trail but there is no key store beside it`,
        { hint: `move ${p.audit} away (keep it: it is evidence), then run keys init again` },
      );
    }
    const data: StoreData = {
      format: "icfare-keystore/1",
      kbpkKcv: kcv("aes", master),
      generation: 0,
      keys: [],
      pending: [],
      capks: [],
      terminals: [],
      auditHead: { seq: 0, hash: GENESIS },
    };
    const v = new Vault(home, master.slice(), data, actor);
    await v.mutate("keystore.init", () => ({ kcv: data.kbpkKcv, detail: "master key KCV" }));
    return v;
  }

  /** The store's content as of the last read or write (do not modify). */
  get data(): StoreData {
    return this.current;
  }

  /** Paths of this store. */
  get paths() {
    return keyStorePaths(this.home);
  }

  /** Re-reads the store (another process may have changed it). */
  async reload(): Promise<void> {
    this.current = await readStore(this.home, this.master);
  }

  /** Forgets the master key (zeroes it). */
  close(): void {
    this.master.fill(0);
  }

  /**
   * Runs `fn` on a fresh copy of the store under the lock, then writes the store and appends
   * one audit entry per event. A `KeyStoreError`/`Tr31Error` from `fn` is audited as "refused"
   * (with the key id of the error, else `opts.keyId`). Refused while the audit trail is broken
   * and not acknowledged (`AUDIT_BROKEN`).
   */
  async mutate<T extends MutationReport>(
    op: string,
    fn: (d: StoreData) => T | Promise<T>,
    opts: { keyId?: string } = {},
  ): Promise<T> {
    const p = this.paths;
    return await withLock(p.lock, async () => {
      let d: StoreData;
      try {
        d = await readStore(this.home, this.master);
      } catch (e) {
        if (
          !(e instanceof KeyStoreError && e.code === "KEYSTORE_MISSING" && op === "keystore.init")
        ) {
          throw e;
        }
        d = structuredClone(this.current);
      }
      await this.requireIntactAudit(d);
      await this.audit.refresh();
      let r: T;
      try {
        r = await fn(d);
      } catch (e) {
        if (e instanceof KeyStoreError || e instanceof Tr31Error) {
          await this.audit.append({
            op,
            result: "refused",
            keyId: (e instanceof KeyStoreError ? e.keyId : undefined) ?? opts.keyId,
            detail: `${e.code}: ${e.message}`.slice(0, 300),
          });
        }
        throw e;
      }
      d.generation++;
      // The servers' terminal table goes first: if the store write then fails, the table is
      // ahead (a disable already holds) and the next change writes both again.
      const tableEvents = await syncTerminalTable(this, d);
      // One audit entry per event (bulk operations), chained, the last one anchored.
      const entries: AuditEntry[] = [...(r.events ?? [r]), ...tableEvents].map((ev) =>
        this.audit.next({
          op,
          result: r.result ?? "ok",
          keyId: ev.keyId,
          kcv: ev.kcv,
          detail: ev.detail,
        })
      );
      const last = entries[entries.length - 1];
      d.auditHead = { seq: last.seq, hash: last.hash };
      await writeStore(this.home, this.master, d);
      await appendEntries(p.audit, entries);
      this.current = d;
      return r;
    });
  }

  /**
   * Records a refused or failed operation that did not reach the store (e.g. bad input). A
   * trail whose last line is broken gets nothing chained onto it (the refusal stands).
   */
  async auditRefusal(op: string, detail: string, keyId?: string): Promise<void> {
    await withLock(this.paths.lock, async () => {
      try {
        await this.audit.append({ op, result: "refused", detail: detail.slice(0, 300), keyId });
      } catch (e) {
        if (!(e instanceof KeyStoreError && e.code === "AUDIT_BROKEN")) throw e;
      }
    });
  }

  /** Verifies the audit chain and that it contains the head anchored in the store. */
  async verifyAudit(): Promise<AuditVerdict> {
    const d = await readStore(this.home, this.master);
    return verifyAudit(this.paths.audit, d.auditHead, d.auditAck);
  }

  /** Refuses to change the store while its audit trail is broken and not acknowledged. */
  private async requireIntactAudit(d: StoreData): Promise<void> {
    const v = await verifyAudit(this.paths.audit, d.auditHead, d.auditAck);
    if (v.ok) return;
    throw new KeyStoreError(
      "AUDIT_BROKEN",
      `the audit trail is broken at line ${v.problem!.line} (${
        v.problem!.message
      }); key operations are stopped until an officer acknowledges it`,
      { hint: HINTS.audit },
    );
  }

  /**
   * An officer acknowledges a broken audit trail: the log as it stands is taken (its hash kept
   * under the store's MAC) and the chain goes on from a new entry naming the break, the
   * officer and the reason. Refused when the trail is intact.
   */
  async acknowledgeAudit(reason: string): Promise<AuditVerdict> {
    if (reason.trim() === "") {
      throw new KeyStoreError("BAD_INPUT", "reason: say why the break is acknowledged");
    }
    const p = this.paths;
    return await withLock(p.lock, async () => {
      const d = await readStore(this.home, this.master);
      const v = await verifyAudit(p.audit, d.auditHead, d.auditAck);
      if (v.ok) {
        throw new KeyStoreError(
          "AUDIT_INTACT",
          "the audit trail is intact; nothing to acknowledge",
        );
      }
      const text = await Deno.readTextFile(p.audit).catch(() => "");
      // A torn last line gets its newline, so the acknowledgement starts a line of its own.
      if (text !== "" && !text.endsWith("\n")) {
        await Deno.writeTextFile(p.audit, "\n", { append: true });
      }
      const lines = await auditLines(p.audit);
      const hash = prefixHash(lines, lines.length);
      this.audit.head = { seq: lines.length, hash };
      const entry = this.audit.next({
        op: "audit.ack",
        result: "ok",
        detail: `break at line ${v.problem!.line} (${v.problem!.message}) acknowledged: ${reason}`
          .slice(0, 300),
      });
      d.auditAck = {
        lines: lines.length,
        prefixHash: hash,
        seq: entry.seq,
        problem: v.problem!,
        by: this.actor,
        at: entry.at,
        reason,
      };
      d.auditHead = { seq: entry.seq, hash: entry.hash };
      d.generation++;
      await writeStore(this.home, this.master, d);
      await appendEntries(p.audit, [entry]);
      this.current = d;
      return await verifyAudit(p.audit, d.auditHead, d.auditAck);
    });
  }

  /** Wraps `key` under the master key with the header of spec `s` (key length masked). */
  wrapKey(s: KeySpec, key: Uint8Array, kcvText: string, exportable: boolean): string {
    return this.wrapHeader(
      headerFor(s, kcvText, String(s.version ?? 0).padStart(2, "0"), exportable),
      key,
    );
  }

  /** Wraps `key` under the master key with header `h` (key length masked to 32 bytes). */
  wrapHeader(h: Tr31Header, key: Uint8Array): string {
    return wrap(this.master, h, key, { maskedKeyLength: 32 });
  }

  /** Unwraps a block under the master key (no binding check: components, re-wrapping). */
  unwrapBlock(block: string) {
    return unwrap(this.master, block);
  }

  /** Unwraps a record's block and checks its binding and KCV (substitution is refused). */
  unwrapRecord(r: KeyRecord, master = this.master): Uint8Array {
    const u = unwrap(master, r.block);
    const b = u.header.optionalBlocks.find((o) => o.id === "10")?.data;
    if (b !== binding(r) || u.header.usage !== tr31Binding(r.usage, r.algorithm).tr31) {
      u.key.fill(0);
      throw new KeyStoreError(
        "KEYSTORE_TAMPERED",
        `key ${r.id}: block does not belong to this record`,
      );
    }
    if (kcv(r.algorithm, u.key) !== r.kcv) {
      u.key.fill(0);
      throw new KeyStoreError("KEYSTORE_TAMPERED", `key ${r.id}: KCV of the stored key differs`);
    }
    return u.key;
  }

  /**
   * Adds an active key record for `key` (wrapped under the master key) to `d`; `reserved`
   * lets the store make its own keys (the terminal table key).
   */
  addRecord(
    d: StoreData,
    s: KeySpec,
    key: Uint8Array,
    origin: KeyRecord["origin"],
    opts: { reserved?: boolean } = {},
  ): KeyRecord {
    checkSpec(s, opts.reserved);
    checkKeyLength(s.algorithm, key);
    if (d.keys.some((k) => k.id === s.id) || d.pending.some((k) => k.id === s.id)) {
      throw new KeyStoreError("KEY_EXISTS", `key ${s.id} already exists`);
    }
    const k = kcv(s.algorithm, key);
    const exportable = s.exportable ?? false;
    const rec: KeyRecord = {
      id: s.id,
      usage: s.usage,
      algorithm: s.algorithm,
      issuer: s.issuer,
      dki: s.dki?.toUpperCase(),
      version: s.version ?? 0,
      kcv: k,
      kcvMethod: kcvMethod(s.algorithm),
      state: "active",
      origin,
      exportable,
      createdAt: now(),
      block: this.wrapKey({ ...s, dki: s.dki?.toUpperCase() }, key, k, exportable),
    };
    if (isSigningAlgorithm(s.algorithm)) rec.publicKey = toHex(publicKeyOf(s.algorithm, key));
    d.keys.push(rec);
    return rec;
  }

  /**
   * Re-wraps every key and component under `newMaster` and writes the store atomically
   * (one rename); every KCV is checked unchanged before the write. The old master key no
   * longer opens the store.
   */
  async rotateMaster(newMaster: Uint8Array): Promise<{ keys: number; newKcv: string }> {
    if (newMaster.length !== 32) {
      throw new KeyStoreError("MASTER_KEY_INVALID", "new master key: AES-256, 32 bytes");
    }
    const newKcv = kcv("aes", newMaster);
    if (newKcv === this.current.kbpkKcv) {
      throw new KeyStoreError("BAD_INPUT", "the new master key is the current one");
    }
    const p = this.paths;
    return await withLock(p.lock, async () => {
      const d = await readStore(this.home, this.master);
      await this.requireIntactAudit(d);
      const old = this.master;
      let n = 0;
      for (const k of d.keys) {
        this.unwrapRecord(k, old).fill(0);
        k.block = rewrap(old, newMaster, k.block, k.kcv, k.algorithm);
        n++;
      }
      for (const pk of d.pending) {
        for (const c of pk.components) {
          c.block = rewrap(old, newMaster, c.block, c.kcv, pk.algorithm);
        }
      }
      d.kbpkKcv = newKcv;
      await this.audit.refresh();
      const entry = this.audit.next({
        op: "keys.rotate-master",
        result: "ok",
        kcv: newKcv,
        detail: `${n} keys re-wrapped; master KCV ${this.current.kbpkKcv} -> ${newKcv}`,
      });
      d.auditHead = { seq: entry.seq, hash: entry.hash };
      d.generation++;
      await writeStore(this.home, newMaster, d);
      await appendEntries(p.audit, [entry]);
      this.master.fill(0);
      this.master = newMaster.slice();
      this.current = d;
      return { keys: n, newKcv };
    });
  }
}

/** Unwraps `block` under `old`, re-wraps it under `next` and checks the KCV both ways. */
function rewrap(
  old: Uint8Array,
  next: Uint8Array,
  block: string,
  expectKcv: string,
  alg: KeyAlgorithm,
): string {
  const u = unwrap(old, block);
  try {
    if (kcv(alg, u.key) !== expectKcv) {
      throw new KeyStoreError("KEYSTORE_TAMPERED", "KCV changed while re-wrapping");
    }
    const nb = wrap(next, u.header, u.key, { maskedKeyLength: 32 });
    const back = unwrap(next, nb);
    const same = kcv(alg, back.key) === expectKcv;
    back.key.fill(0);
    if (!same) throw new KeyStoreError("KEYSTORE_TAMPERED", "re-wrapped key differs");
    return nb;
  } finally {
    u.key.fill(0);
  }
}
