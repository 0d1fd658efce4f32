/**
 * Which store a command uses (docs/scale.md, "Choosing the store"): `--store URL` first, then
 * the environment variable `ICFARE_DATABASE_URL`, else SQLite in the home (`HOME/icfare.db`, the
 * default). A `postgres://` or `postgresql://` URL selects PostgreSQL; anything else given is
 * the path of an SQLite file.
 */
import { join } from "node:path";
import type { Store } from "./store.ts";
import { StoreConfigError } from "./store.ts";
import { isPostgresUrl, redactUrl } from "./pg/connect.ts";

/** File name of the SQLite store under the icfare home. */
export const SQLITE_FILE = "icfare.db";

export type StoreLocation =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly url: string };

/** A store that may need to finish asynchronously (PostgreSQL pool, SQLite worker). */
export type OpenStore = Store & { closeAsync?: () => Promise<void> };

/** The environment variable naming the database when `--store` is not given. */
export const DATABASE_URL_ENV = "ICFARE_DATABASE_URL";

/** Reads `ICFARE_DATABASE_URL` when the permission to read it is granted (else undefined). */
export function databaseUrlFromEnv(): string | undefined {
  try {
    const st = Deno.permissions.querySync?.({ name: "env", variable: DATABASE_URL_ENV });
    if (st && st.state !== "granted") return undefined;
    return Deno.env.get(DATABASE_URL_ENV) || undefined;
  } catch {
    return undefined;
  }
}

/** The store of `home` given `--store` (or undefined) and the environment. */
export function storeLocation(
  home: string,
  flag?: string,
  env = databaseUrlFromEnv(),
): StoreLocation {
  const v = flag ?? env;
  if (v === undefined || v === "") return { kind: "sqlite", path: join(home, SQLITE_FILE) };
  if (isPostgresUrl(v)) return { kind: "postgres", url: v };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    throw new StoreConfigError(`store refused: unknown URL scheme in ${redactUrl(v)}`);
  }
  return { kind: "sqlite", path: v };
}

/** What to print for a location (never a password). */
export function describeLocation(l: StoreLocation): string {
  return l.kind === "sqlite" ? `${l.path} (SQLite)` : `${redactUrl(l.url)} (PostgreSQL)`;
}

/** Options both backends understand. */
export interface OpenStoreOptions {
  /** SQLite: lock wait (ms). */
  readonly busyTimeoutMs?: number;
  /**
   * SQLite: the connection on its own worker thread ("worker") or on the caller's ("main", the
   * default); {@link storeWorkerAllowed} tells whether "worker" can start.
   */
  readonly thread?: "main" | "worker";
  /** SQLite: statement journals in memory, for the upload server and verifiers (`SqliteStoreOptions`). */
  readonly tempStore?: "memory" | "file";
  /** SQLite: the connection's page cache in MiB (`SqliteStoreOptions.cacheMiB`). */
  readonly cacheMiB?: number;
  /** PostgreSQL: connections in the pool. */
  readonly poolSize?: number;
}

/** Opens the store at `l` (checking its durability settings and migrating). */
export async function openStore(l: StoreLocation, o: OpenStoreOptions = {}): Promise<OpenStore> {
  if (l.kind === "postgres") {
    const { openPostgresStore } = await import("./postgres.ts");
    return await openPostgresStore(l.url, { max: o.poolSize });
  }
  if (o.thread === "worker") {
    const { WorkerStore } = await import("./worker_store.ts");
    return await WorkerStore.open(l.path, {
      busyTimeoutMs: o.busyTimeoutMs,
      tempStore: o.tempStore,
      cacheMiB: o.cacheMiB,
    });
  }
  const { openSqliteStore } = await import("./sqlite.ts");
  return openSqliteStore(l.path, {
    busyTimeoutMs: o.busyTimeoutMs,
    tempStore: o.tempStore,
    cacheMiB: o.cacheMiB,
  });
}

/**
 * True when this process may start the SQLite worker thread: Deno needs read permission on the
 * worker's entry module (`sqlite_worker.ts` beside this file), which a narrowly permitted server
 * (`--allow-read=HOME`) does not have.
 */
export function storeWorkerAllowed(): boolean {
  const entry = new URL("./sqlite_worker.ts", import.meta.url);
  if (entry.protocol !== "file:") return false;
  try {
    return Deno.permissions.querySync({ name: "read", path: entry }).state === "granted";
  } catch {
    return false;
  }
}

/** Closes a store returned by `openStore`, waiting where the backend needs it. */
export async function closeStore(s: OpenStore): Promise<void> {
  if (s.closeAsync) await s.closeAsync();
  else s.close();
}
