/**
 * The back office's view of a store (docs/scale.md, "The back office on PostgreSQL"): one
 * synchronous connection (`SqlDb`) for clearing, the ledger, debts, the deny list's changes,
 * the network registry, archives and reports, the deny list over it, and the operator locks of
 * the store it belongs to. On SQLite the connection is the store's own; on PostgreSQL it is one
 * session held by a worker thread (`pg/sync_db.ts`), beside the asynchronous pool that upload
 * servers and verifiers use.
 */
import type { OpenStore, StoreLocation } from "./open.ts";
import type { SqlDb } from "./sql.ts";
import { JournalDenyList } from "../denylist/journal.ts";
import { StoreUnavailableError } from "./store.ts";
import { redactUrl } from "./pg/connect.ts";

export interface BackOffice {
  readonly kind: StoreLocation["kind"];
  /** The store itself (ingest, verification and locks), opened and migrated. */
  readonly store: OpenStore;
  readonly db: SqlDb;
  /** The deny list over `db`: its changes join a transaction open on `db`. */
  readonly denyList: JournalDenyList;
  /** An operator lock held while `fn` runs (a second holder is refused with LOCK_BUSY). */
  withLock<T>(name: string, fn: () => Promise<T>, options?: { wait?: boolean }): Promise<T>;
  close(): Promise<void>;
}

/** Opens the back office of the store at `l` (checking its settings and migrating). */
export async function openBackOffice(l: StoreLocation): Promise<BackOffice> {
  if (l.kind === "sqlite") {
    const { openSqliteStore } = await import("./sqlite.ts");
    const store = openSqliteStore(l.path);
    return {
      kind: "sqlite",
      store,
      db: store.connection,
      denyList: store.denyList,
      withLock: (n, f, o) => store.withLock(n, f, o),
      close: () => Promise.resolve(store.close()),
    };
  }
  const { openPostgresStore } = await import("./postgres.ts");
  const { PgSyncDb, checkCollation } = await import("./pg/sync_db.ts");
  const store = await openPostgresStore(l.url, { max: 2 }).catch((e) => {
    // name the database (never its password): the operator may not know which one it was
    if (!(e instanceof StoreUnavailableError)) throw e;
    throw new StoreUnavailableError(`${e.message} (${redactUrl(l.url)})`, { cause: e });
  });
  const db = new PgSyncDb(l.url);
  try {
    checkCollation(db);
  } catch (e) {
    db.close();
    await store.closeAsync();
    throw e;
  }
  return {
    kind: "postgres",
    store,
    db,
    denyList: new JournalDenyList(db),
    withLock: (n, f, o) => store.withLock(n, f, o),
    close: async () => {
      db.close();
      await store.closeAsync();
    },
  };
}
