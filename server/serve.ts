/**
 * Starts the upload server: opens the store under the icfare home (refusing to run unless
 * WAL + synchronous=FULL), loads the keys, serves the Hono app with Deno.serve.
 *
 * Keys: until the key store (issue 8) provides `TerminalKeyLookup` and the pan-hash/data keys,
 * they come from the INTERIM DEVELOPMENT key file (`--dev-keys`, default HOME/dev-keys.json):
 * `{"interim": "...", "panHashKey": "64 hex", "dataKey": "64 hex", "terminals": {"LC000123": "hex"}}`.
 * It is clear text and for tests and demos only.
 */
import { join } from "node:path";
import {
  closeStore,
  describeLocation,
  openStore,
  type StoreLocation,
  storeLocation,
} from "../core/store/open.ts";
import { DevPanProtector, type PanProtector } from "../core/store/pan.ts";
import { StaticTerminalKeys, type TerminalKeyLookup } from "../core/auth/terminal_keys.ts";
import { createApp } from "./app.ts";
import { serveHttp1 } from "./http1.ts";
import { KeyStore, keyStorePaths, loadMasterKey } from "../core/keys/mod.ts";
import type { Metrics } from "./metrics.ts";

export interface ServeOptions {
  readonly home: string;
  readonly hostname?: string;
  readonly port?: number;
  /**
   * Path of the interim development key file. When absent, the key store of the home is used if
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
   * Where the SQLite connection lives: the main thread (default) or its own worker thread (needs
   * read permission on core/ to load the worker modules).
   */
  readonly storeThread?: "worker" | "main";
  /**
   * The store: a `postgres://` URL or an SQLite file (docs/scale.md); default
   * `ICFARE_DATABASE_URL`, else HOME/icfare.db.
   */
  readonly store?: string;
  /** PostgreSQL: connections in the pool (default 10). */
  readonly poolSize?: number;
  readonly onListen?: (addr: { hostname: string; port: number }) => void;
}

export interface RunningServer {
  readonly url: string;
  /** Where the keys came from (for the start-up line; never a key). */
  readonly keySource: string;
  /** Where the store is (for the start-up line; never a password). */
  readonly storeName: string;
  readonly port: number;
  readonly metrics: Metrics;
  readonly finished: Promise<void>;
  close(): Promise<void>;
}

/** The interim development key file's content. */
export interface DevKeys {
  panHashKey: string;
  dataKey: string;
  terminals: Record<string, string>;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Reads and checks the interim development key file. */
export async function loadDevKeys(path: string): Promise<DevKeys> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(
      `cannot read the interim dev key file ${path} (${(e as Error).name}); ` +
        "create it or pass --dev-keys FILE until the key store provides terminal keys",
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

/** Starts the server; resolves once it listens. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  let keys = o.keys;
  let pan = o.pan;
  let keySource = "given";
  if (!keys || !pan) {
    if (o.devKeys === undefined && await exists(keyStorePaths(o.home).store)) {
      // The key store: terminal keys, the pan-hash key and the card-data key, all
      // non-extractable WebCrypto keys; the master key is zeroed once the store is open.
      const m = await loadMasterKey(o.home, o.masterKeyFile);
      let ks: KeyStore;
      try {
        ks = await KeyStore.open(o.home, m.key, "icfare serve");
      } finally {
        m.key.fill(0);
      }
      keys ??= ks.terminalKeys();
      pan ??= DevPanProtector.fromCryptoKeys(
        await ks.hmacCryptoKey("pan-hash"),
        await ks.dataCryptoKey(),
      );
      keySource = `key store (master key from ${m.source})`;
    } else {
      const file = o.devKeys ?? join(o.home, "dev-keys.json");
      const dev = await loadDevKeys(file);
      keys ??= await StaticTerminalKeys.fromHex(dev.terminals);
      pan ??= await DevPanProtector.fromHex(dev.panHashKey, dev.dataKey);
      keySource = `INTERIM dev key file ${file}`;
    }
  }
  const where: StoreLocation = storeLocation(o.home, o.store);
  const store = await openStore(where, {
    thread: o.storeThread,
    busyTimeoutMs: o.busyTimeoutMs,
    poolSize: o.poolSize,
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
  const finished = server.finished.then(() => closeStore(store));
  return {
    url: `http://${addr.hostname}:${addr.port}`,
    keySource,
    storeName: describeLocation(where),
    port: addr.port,
    metrics,
    finished,
    async close() {
      await server.shutdown();
      await finished;
    },
  };
}
