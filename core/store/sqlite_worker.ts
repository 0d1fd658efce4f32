/**
 * Worker side of `WorkerStore`: owns the SQLite connection on its own thread, so commits and
 * their fsync never block the server's event loop. Messages: `{id, method, args}`; answers:
 * `{id, ok: true, value}` or `{id, ok: false, name, message}`.
 */
/// <reference lib="deno.worker" />
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";

let store: SqliteStore | null = null;

/** `open`'s arguments: the path, then the options a worker store passes on. */
type OpenArgs = [
  string,
  SqliteStoreOptions["busyTimeoutMs"],
  SqliteStoreOptions["tempStore"],
  SqliteStoreOptions["cacheMiB"],
];

type Msg =
  | { id: number; method: "open"; args: OpenArgs }
  | { id: number; method: string; args: unknown[] };

self.onmessage = async (ev: MessageEvent<Msg>) => {
  const { id, method, args } = ev.data;
  try {
    let value: unknown;
    if (method === "open") {
      const [path, busyTimeoutMs, tempStore, cacheMiB] = args as OpenArgs;
      store = openSqliteStore(path, { busyTimeoutMs, tempStore, cacheMiB });
      value = null;
    } else if (method === "close") {
      store?.close();
      store = null;
      value = null;
    } else {
      if (!store) throw new Error("store is not open");
      const f = (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method];
      if (typeof f !== "function") throw new TypeError(`unknown store method ${method}`);
      value = await f.apply(store, args);
    }
    self.postMessage({ id, ok: true, value });
  } catch (e) {
    const err = e as Error;
    self.postMessage({
      id,
      ok: false,
      name: err?.name ?? "Error",
      message: err?.message ?? String(e),
    });
  }
};
