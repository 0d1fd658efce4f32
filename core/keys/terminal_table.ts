/**
 * The terminal table of the upload servers (docs/keys.md, "Terminals in a running server").
 *
 * A running `icfare serve` must see every terminal change (add, rotate-key, disable, enable)
 * at once, without holding the master key: the master key opens every issuer key, and the key
 * store's rule is that it is loaded, used and zeroed. So every change of the store also writes
 * `<home>/keys/terminals.json`: each active terminal's HMAC key as a TR-31 version D block
 * under a key of its own, the table key (usage `terminal-table`, TR-31 K1, AES-256, made by the
 * store, kept under the master key like every other key), with a fresh random `version` and an
 * HMAC over the whole table under a key derived from the table key. The server unwraps the
 * table key once at start (with the master key, which it then zeroes), and before each lookup
 * reads the table's first bytes: a new version makes it reload and verify the table. The table
 * key opens terminal keys only; `keys rotate-master` leaves it (and running servers) as it is.
 */
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { canonicalJson } from "./audit.ts";
import { KeyStoreError } from "./errors.ts";
import { kcv } from "./kcv.ts";
import { importHmacWiped } from "./key_ops.ts";
import { now, type StoreData, type TerminalRecord } from "./records.ts";
import { writeAtomic } from "./store_file.ts";
import { parseBlock, unwrap, wrap } from "./tr31.ts";
import type { TerminalKeyLookup } from "../auth/terminal_keys.ts";
import type { MutationReport, Vault } from "./vault.ts";

/** The id of the table key in the store. */
export const TABLE_KEY_ID = "icfare:terminal-table";

/** Where the table lives in a home. */
export function terminalTablePath(home: string): string {
  return join(home, "keys", "terminals.json");
}

/** One terminal as the server sees it (a block only while the terminal is active). */
interface TableEntry {
  terminalId: string;
  state: "active" | "disabled";
  keyId: string;
  keyVersion: number;
  kcv: string;
  block?: string;
}

/** The table file's content (without its MAC). */
interface TableData {
  format: "icfare-terminal-table/1";
  /** Random per write: a server reloads when it changes. */
  version: string;
  storeGeneration: number;
  tableKeyKcv: string;
  writtenAt: string;
  terminals: TableEntry[];
}

function tableMac(tableKey: Uint8Array, data: TableData): string {
  const k = createHmac("sha256", tableKey).update("icfare terminal table integrity v1").digest();
  try {
    return createHmac("sha256", k).update(canonicalJson(data)).digest("hex").toUpperCase();
  } finally {
    k.fill(0);
  }
}

function tableBinding(t: TerminalRecord, keyKcv: string, tableKcv: string): string {
  return `terminal=${t.terminalId};key=${t.keyId};kcv=${keyKcv};tk=${tableKcv}`;
}

/**
 * Makes sure the store has its table key and every terminal its block under it (new keys are
 * added to `d` and reported as audit events); returns the clear table key (the caller zeroes it).
 */
function prepare(v: Vault, d: StoreData): { tableKey: Uint8Array; events: MutationReport[] } {
  const events: MutationReport[] = [];
  let rec = d.keys.find((k) => k.id === TABLE_KEY_ID && k.state === "active");
  if (!rec) {
    const key = crypto.getRandomValues(new Uint8Array(32));
    try {
      rec = v.addRecord(
        d,
        { id: TABLE_KEY_ID, usage: "terminal-table", algorithm: "aes" },
        key,
        "generated",
        { reserved: true },
      );
    } finally {
      key.fill(0);
    }
    events.push({
      keyId: rec.id,
      kcv: rec.kcv,
      detail: "terminal table key for the upload servers created",
    });
  }
  const tableKey = v.unwrapRecord(rec);
  for (const t of d.terminals) {
    const keyRec = d.keys.find((k) => k.id === t.keyId);
    if (!keyRec || keyRec.state !== "active") continue;
    const want = tableBinding(t, keyRec.kcv, rec.kcv);
    if (t.tableBlock && parseBlock(t.tableBlock).header.optionalBlocks[0]?.data === want) continue;
    const raw = v.unwrapRecord(keyRec);
    try {
      t.tableBlock = wrap(
        tableKey,
        {
          version: "D",
          usage: "M7",
          algorithm: "H",
          modeOfUse: "C",
          keyVersion: String(t.keyVersion % 100).padStart(2, "0"),
          exportability: "N",
          optionalBlocks: [{ id: "10", data: want }],
        },
        raw,
        { maskedKeyLength: 32 },
      );
    } finally {
      raw.fill(0);
    }
  }
  return { tableKey, events };
}

/** The terminals as the table should list them for store content `d`. */
function entriesOf(d: StoreData): TableEntry[] {
  return d.terminals.map((t) => ({
    terminalId: t.terminalId,
    state: t.state,
    keyId: t.keyId,
    keyVersion: t.keyVersion,
    kcv: d.keys.find((k) => k.id === t.keyId)?.kcv ?? "",
    block: t.state === "active" ? t.tableBlock : undefined,
  }));
}

/** The table as it should be for store content `d`. */
function tableOf(d: StoreData, tableKeyKcv: string): TableData {
  return {
    format: "icfare-terminal-table/1",
    version: crypto.randomUUID(),
    storeGeneration: d.generation,
    tableKeyKcv,
    writtenAt: now(),
    terminals: entriesOf(d),
  };
}

/** See `KeyStore.openTerminalTable`. */
export async function openTerminalTable(
  v: Vault,
  onProblem?: (message: string) => void,
): Promise<TerminalTable> {
  await v.reload();
  const open = async () => {
    const rec = v.data.keys.find((k) => k.id === TABLE_KEY_ID && k.state === "active");
    if (!rec) return null;
    const tk = v.unwrapRecord(rec);
    try {
      return await TerminalTable.open(v.home, tk, onProblem);
    } catch {
      return null;
    } finally {
      tk.fill(0);
    }
  };
  const t = await open();
  if (t?.lists(entriesOf(v.data))) return t;
  t?.close();
  // Missing, stale (a change whose store write failed) or from before the table existed.
  await v.mutate("terminals.table", () => ({ detail: "terminal table written for icfare serve" }));
  const fresh = await open();
  if (!fresh) throw new KeyStoreError("TABLE_INVALID", "the terminal table cannot be opened");
  return fresh;
}

/**
 * Writes the table for store content `d` (after its generation was advanced), unless the file
 * already says exactly that; returns the audit events of keys it had to create. Called by
 * every change of the store, before the store itself is written (see vault.ts).
 */
export async function syncTerminalTable(v: Vault, d: StoreData): Promise<MutationReport[]> {
  const { tableKey, events } = prepare(v, d);
  try {
    const tableKeyKcv = kcv("aes", tableKey);
    const next = tableOf(d, tableKeyKcv);
    const have = await readTable(terminalTablePath(v.home), tableKey).catch(() => null);
    if (
      have && have.tableKeyKcv === tableKeyKcv &&
      canonicalJson(have.terminals) === canonicalJson(next.terminals)
    ) {
      return events;
    }
    const text = JSON.stringify({ ...next, mac: tableMac(tableKey, next) }, null, 1) + "\n";
    await writeAtomic(terminalTablePath(v.home), text);
    return events;
  } finally {
    tableKey.fill(0);
  }
}

/** Reads and verifies a table (its MAC under `tableKey`); refusals are `KeyStoreError`s. */
async function readTable(path: string, tableKey: Uint8Array): Promise<TableData> {
  let obj: TableData & { mac?: string };
  try {
    obj = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new KeyStoreError("TABLE_MISSING", `no terminal table at ${path}`);
    }
    throw new KeyStoreError("TABLE_INVALID", `${path}: not a terminal table`);
  }
  const { mac, ...data } = obj;
  if (data.format !== "icfare-terminal-table/1" || mac !== tableMac(tableKey, data)) {
    throw new KeyStoreError("TABLE_INVALID", `${path}: integrity MAC does not verify`);
  }
  return data;
}

/** The table file's version, read from its first bytes (null when there is none). */
async function peekVersion(path: string): Promise<string | null> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch {
    return null;
  }
  try {
    const buf = new Uint8Array(160);
    const n = await f.read(buf);
    const head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    return /"version": ?"([0-9a-f-]{36})"/.exec(head)?.[1] ?? null;
  } finally {
    f.close();
  }
}

/**
 * The server's live `TerminalKeyLookup`: answers from the terminal table, re-read whenever its
 * version changes (checked before every lookup), so a change made by `icfare terminals` or
 * `icfare keys` is seen by the next request. Holds the table key, never the master key. A
 * table that is missing or fails its MAC answers null for every terminal (uploads are refused,
 * never accepted on stale keys) and is reported once through `onProblem`.
 */
export class TerminalTable implements TerminalKeyLookup {
  private data: TableData | null = null;
  private byId = new Map<string, TableEntry>();
  private keys = new Map<string, Promise<CryptoKey>>();
  private loading: Promise<void> | null = null;
  private problem: string | null = null;

  private constructor(
    private readonly path: string,
    private readonly tableKey: Uint8Array,
    private readonly onProblem: (message: string) => void,
  ) {}

  /** Opens the table of `home` with a copy of `tableKey`; refuses a missing or bad table. */
  static async open(
    home: string,
    tableKey: Uint8Array,
    onProblem: (message: string) => void = () => {},
  ): Promise<TerminalTable> {
    const t = new TerminalTable(terminalTablePath(home), tableKey.slice(), onProblem);
    t.install(await readTable(t.path, t.tableKey));
    return t;
  }

  /** The version of the table in use (changes with every write of the table). */
  get version(): string | null {
    return this.data?.version ?? null;
  }

  /** The store generation the table in use was written for. */
  get storeGeneration(): number | null {
    return this.data?.storeGeneration ?? null;
  }

  /** True when the table in use lists exactly `entries`. */
  lists(entries: TableEntry[]): boolean {
    return this.data !== null &&
      canonicalJson(this.data.terminals) === canonicalJson(entries);
  }

  async hmacKey(terminalId: string): Promise<CryptoKey | null> {
    await this.refresh();
    if (this.problem !== null) return null;
    const e = this.byId.get(terminalId);
    if (!e || e.state !== "active" || !e.block) return null;
    const cacheKey = `${e.keyId}|${e.kcv}|${this.data!.tableKeyKcv}`;
    let p = this.keys.get(cacheKey);
    if (!p) {
      p = this.unwrapEntry(e);
      this.keys.set(cacheKey, p);
      p.catch(() => this.keys.delete(cacheKey));
    }
    return await p.catch(() => null);
  }

  /** Forgets the table key (zeroes it); lookups answer null afterwards. */
  close(): void {
    this.tableKey.fill(0);
    this.problem = "closed";
    this.byId.clear();
    this.keys.clear();
  }

  /**
   * Brings the table up to the version on disk now. A reload already under way may have read
   * the file before this lookup began, so when it does not give the version peeked here, a
   * reload that starts afterwards is awaited as well.
   */
  private async refresh(): Promise<void> {
    if (this.problem === "closed") return;
    const v = await peekVersion(this.path);
    const current = () => v !== null && v === this.data?.version && this.problem === null;
    if (current()) return;
    if (this.loading) {
      await this.loading;
      if (current()) return;
    }
    this.loading ??= this.reload().finally(() => this.loading = null);
    await this.loading;
  }

  private async reload(): Promise<void> {
    try {
      this.install(await readTable(this.path, this.tableKey));
    } catch (e) {
      const message = `terminal table refused, uploads are refused until it is repaired: ${
        (e as Error).message
      }`;
      if (this.problem !== message) this.onProblem(message);
      this.problem = message;
    }
  }

  private install(data: TableData): void {
    this.data = data;
    this.byId = new Map(data.terminals.map((t) => [t.terminalId, t]));
    const live = new Set(data.terminals.map((t) => `${t.keyId}|${t.kcv}|${data.tableKeyKcv}`));
    for (const k of [...this.keys.keys()]) if (!live.has(k)) this.keys.delete(k);
    this.problem = null;
  }

  private async unwrapEntry(e: TableEntry): Promise<CryptoKey> {
    const u = unwrap(this.tableKey, e.block!);
    const b = u.header.optionalBlocks.find((o) => o.id === "10")?.data ?? "";
    if (!b.startsWith(`terminal=${e.terminalId};key=${e.keyId};kcv=${e.kcv};`)) {
      u.key.fill(0);
      throw new KeyStoreError("TABLE_INVALID", `terminal ${e.terminalId}: block not its own`);
    }
    if (kcv("hmac-sha256", u.key) !== e.kcv) {
      u.key.fill(0);
      throw new KeyStoreError("TABLE_INVALID", `terminal ${e.terminalId}: KCV differs`);
    }
    return await importHmacWiped(u.key, ["sign", "verify"]);
  }
}
