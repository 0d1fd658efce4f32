/**
 * Starts the upload server: opens the store under the icfare home (refusing to run unless
 * WAL + synchronous=FULL), loads the keys, serves the Hono app with Deno.serve.
 *
 * Keys come from the key store of the home (docs/keys.md, "Terminals in a running server"):
 * the master key is loaded once, unwraps the pan-hash key, the card-data key and the terminal
 * table key, and is zeroed; the server then answers terminal lookups from the live terminal
 * table, which every `icfare terminals …`/`keys …` change rewrites, so changes hold at once
 * without a restart. Without a key store, tests and demos may still use a development key
 * file (`--dev-keys`, default HOME/dev-keys.json:
 * `{"panHashKey": "64 hex", "dataKey": "64 hex", "terminals": {"LC000123": "hex"}}`), clear
 * text, fixed at start.
 */
import { join } from "node:path";
import {
  closeStore,
  describeLocation,
  openStore,
  type StoreLocation,
  storeLocation,
  storeWorkerAllowed,
} from "../core/store/open.ts";
import { DevPanProtector, type PanProtector } from "../core/store/pan.ts";
import { StaticTerminalKeys, type TerminalKeyLookup } from "../core/auth/terminal_keys.ts";
import { createApp } from "./app.ts";
import { serveHttp1 } from "./http1.ts";
import { KeyStore, loadMasterKey } from "../core/keys/mod.ts";
import { IcfareError } from "../core/errors.ts";
import type { Metrics } from "./metrics.ts";
import { loadDenyListKey } from "./denylist_key.ts";
import type { Signer } from "../core/keys/signing.ts";

export interface ServeOptions {
  readonly home: string;
  readonly hostname?: string;
  readonly port?: number;
  /**
   * Path of a development key file. When absent, the key store of the home is used if
   * it exists (master key from `masterKeyFile`, else ICFARE_MASTER_KEY), else HOME/dev-keys.json.
   */
  readonly devKeys?: string;
  /** Master-key file of the key store (outside the home). */
  readonly masterKeyFile?: string;
  readonly keys?: TerminalKeyLookup;
  readonly pan?: PanProtector;
  readonly busyTimeoutMs?: number;
  readonly ratePerS?: number;
  readonly burst?: number;
  readonly bodyBytesMax?: number;
  readonly maxInFlight?: number;
  /** Uploads of one terminal at once (default 4). */
  readonly terminalInFlight?: number;
  /** Time a body may take before its rate floor applies (default 10,000 ms). */
  readonly bodyTimeoutMs?: number;
  /** The body's rate floor, bytes a second (default 4,096). */
  readonly bodyMinBytesPerS?: number;
  /** Time allowed for a request head (default 10,000 ms). */
  readonly headerTimeoutMs?: number;
  /** Most open connections (default 1,024). */
  readonly maxConnections?: number;
  /**
   * Where the SQLite connection lives: the main thread (default), its own worker thread (needs
   * read permission on core/ to load the worker modules), or "auto": the worker when that
   * permission is granted (`icfare serve`'s default; docs/performance.md, "Upload server load").
   */
  readonly storeThread?: "worker" | "main" | "auto";
  /**
   * The store: a `postgres://` URL or an SQLite file (docs/scale.md); default
   * `ICFARE_DATABASE_URL`, else HOME/icfare.db.
   */
  readonly store?: string;
  /** PostgreSQL: connections in the pool (default 10). */
  readonly poolSize?: number;
  readonly onListen?: (addr: { hostname: string; port: number }) => void;
  /** The deny-list signer; default: from the key store or the development key file. */
  readonly denyListSigner?: Signer;
}

export interface RunningServer {
  readonly url: string;
  /** Where the keys came from (for the start-up line; never a key). */
  readonly keySource: string;
  /** Where the store is (for the start-up line; never a password). */
  readonly storeName: string;
  /** Which key signs the deny list, or why none does (never a key). */
  readonly denyListKey: string;
  readonly port: number;
  readonly metrics: Metrics;
  readonly finished: Promise<void>;
  close(): Promise<void>;
}

/** A development key file's content. */
export interface DevKeys {
  panHashKey: string;
  dataKey: string;
  terminals: Record<string, string>;
}

/** Reads and checks a development key file (tests and demos; clear keys). */
export async function loadDevKeys(path: string): Promise<DevKeys> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    const hint = "run: icfare init (then icfare terminals add ID for each terminal)";
    throw new IcfareError(
      "KEYS_MISSING",
      `no key store in the home and no development key file ${path} — ${hint}`,
      { hint },
    );
  }
  const j = JSON.parse(text) as Partial<DevKeys>;
  if (typeof j.panHashKey !== "string" || typeof j.dataKey !== "string") {
    throw new Error(`${path}: panHashKey and dataKey (64 hex each) are required`);
  }
  if (typeof j.terminals !== "object" || j.terminals === null) {
    throw new Error(`${path}: terminals must map terminal ids to hex keys`);
  }
  return { panHashKey: j.panHashKey, dataKey: j.dataKey, terminals: j.terminals };
}

/**
 * The server's keys from the key store: the pan-hash and card-data keys (non-extractable
 * WebCrypto keys) and the live terminal table; the master key and the store handle are
 * zeroed and closed before the server starts listening. A missing key is a coded refusal
 * whose message names the command that fixes it.
 */
async function keyStoreKeys(
  o: ServeOptions,
  keys: TerminalKeyLookup | undefined,
  pan: PanProtector | undefined,
): Promise<{ keys: TerminalKeyLookup; pan: PanProtector; source: string }> {
  try {
    const m = await loadMasterKey(o.home, o.masterKeyFile);
    let ks: KeyStore;
    try {
      ks = await KeyStore.open(o.home, m.key, "icfare serve");
    } finally {
      m.key.fill(0);
    }
    try {
      // the pan-hash key as bytes: every card of an upload hashed in one kernel call
      pan ??= DevPanProtector.fromKeyBytes(ks.panHashKey(), await ks.dataCryptoKey());
      keys ??= await ks.openTerminalTable((msg) => console.error(`icfare serve: ${msg}`));
      return { keys, pan, source: `key store (master key from ${m.source}; live terminal table)` };
    } finally {
      ks.close();
    }
  } catch (e) {
    // The serve command prints the message: carry the hint in it as well.
    if (e instanceof IcfareError && e.hint) {
      throw new IcfareError(e.code, `${e.message} — ${e.hint}`, { hint: e.hint, cause: e });
    }
    throw e;
  }
}

/** Starts the server; resolves once it listens. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  let keys = o.keys;
  let pan = o.pan;
  let keySource = "given";
  if (!keys || !pan) {
    if (o.devKeys === undefined && await KeyStore.existsIn(o.home)) {
      const r = await keyStoreKeys(o, keys, pan);
      keys = r.keys;
      pan = r.pan;
      keySource = r.source;
    } else {
      const file = o.devKeys ?? join(o.home, "dev-keys.json");
      const dev = await loadDevKeys(file);
      keys ??= await StaticTerminalKeys.fromHex(dev.terminals);
      pan ??= await DevPanProtector.fromHex(dev.panHashKey, dev.dataKey);
      keySource = `development key file ${file} (clear keys: tests and demos only)`;
    }
  }
  const deny = o.denyListSigner
    ? { signer: o.denyListSigner, note: `deny list signed by ${o.denyListSigner.info.keyId}` }
    : await loadDenyListKey(
      o,
      o.devKeys === undefined && await KeyStore.existsIn(o.home),
    );
  const where: StoreLocation = storeLocation(o.home, o.store);
  const thread = o.storeThread === "auto"
    ? (storeWorkerAllowed() ? "worker" : "main")
    : o.storeThread ?? "main";
  const store = await openStore(where, {
    thread,
    busyTimeoutMs: o.busyTimeoutMs,
    poolSize: o.poolSize,
    tempStore: "memory", // one batch per statement: small journals
  });
  const { app, metrics } = createApp({
    store,
    keys,
    pan,
    ratePerS: o.ratePerS,
    burst: o.burst,
    bodyBytesMax: o.bodyBytesMax,
    maxInFlight: o.maxInFlight,
    terminalInFlight: o.terminalInFlight,
    bodyTimeoutMs: o.bodyTimeoutMs,
    bodyMinBytesPerS: o.bodyMinBytesPerS,
    denyListSigner: deny.signer,
  });
  // Our HTTP/1.1 front (http1.ts), not Deno.serve: it bounds the time a request head may take.
  const server = serveHttp1({
    hostname: o.hostname ?? "127.0.0.1",
    port: o.port ?? 8080,
    headerTimeoutMs: o.headerTimeoutMs,
    maxConnections: o.maxConnections,
    onRefusal: (status) => metrics.request("(http)", status, 0),
  }, app.fetch);
  const addr = server.addr;
  o.onListen?.(addr);
  const finished = server.finished.then(() => {
    deny.signer?.close();
    return closeStore(store);
  });
  return {
    url: `http://${addr.hostname}:${addr.port}`,
    keySource,
    storeName: describeLocation(where) +
      (where.kind === "sqlite" && thread === "worker" ? ", on its own thread" : ""),
    denyListKey: deny.note,
    port: addr.port,
    metrics,
    finished,
    async close() {
      await server.shutdown();
      await finished;
    },
  };
}
