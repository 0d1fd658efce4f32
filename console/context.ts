/**
 * What the console process holds (docs/console.md, "The process"): the store of the home, the
 * accounts, the sessions, the login limit, and the master key — a copy kept in memory so that
 * terminal changes can go through the key store exactly as the CLI's do (each opens the key store
 * as the acting account). The pan-hash and card-data keys are unwrapped once at start as
 * non-extractable Web Crypto keys: PANs typed in are hashed with the first, the second opens a
 * record's sealed chip data for its page.
 */
import { join } from "node:path";
import { KeyStore, keyStorePaths, loadMasterKey, type TerminalRecord } from "../core/keys/mod.ts";
import { openSqliteStore, type SqliteStore, STORE_FILE } from "../core/store/sqlite.ts";
import { IcfareError } from "../core/errors.ts";
import { Accounts } from "./accounts.ts";
import { LoginLimiter, Sessions } from "./sessions.ts";

export interface ConsoleContext {
  readonly home: string;
  readonly store: SqliteStore;
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  /** Failed logins per account name (5 in 15 minutes) and per client address (30). */
  readonly limiter: LoginLimiter;
  readonly clientLimiter: LoginLimiter;
  /** Opens the key store with the held master key; the audit trail names `actor`. */
  keyStore(actor: string): Promise<KeyStore>;
  /**
   * The key store's terminals with their key KCVs, read again whenever the key store file has
   * changed (another process, `icfare terminals`, may change it at any time).
   */
  terminals(): Promise<(TerminalRecord & { kcv?: string })[]>;
  readonly panHashKey: CryptoKey;
  readonly dataKey: CryptoKey;
  /** Forgets the master key and closes the store. */
  close(): void;
}

/** The actor the key store's audit trail and the deny-list journal record for an account. */
export function actorOf(account: string): string {
  return `console:${account}`;
}

/** `terminals()` over `open`: the list kept while the key store file stays the same file. */
export function terminalLister(
  path: string,
  open: () => Promise<KeyStore>,
): () => Promise<(TerminalRecord & { kcv?: string })[]> {
  let seen = "", list: (TerminalRecord & { kcv?: string })[] = [];
  return async () => {
    const st = await Deno.stat(path);
    // every change writes a new file and renames it over the old one: a new inode
    const mark = `${st.ino}/${st.size}/${st.mtime?.getTime()}`;
    if (mark !== seen) {
      const ks = await open();
      try {
        list = ks.terminalList();
      } finally {
        ks.close();
      }
      seen = mark;
    }
    return list;
  };
}

/** Opens the home for the console: its store and key store must exist. */
export async function openConsole(home: string, masterKeyFile?: string): Promise<ConsoleContext> {
  const path = join(home, STORE_FILE);
  if (!(await Deno.stat(path).then(() => true, () => false))) {
    throw new IcfareError("STORE_NOT_FOUND", `no store at ${path}`, {
      hint: "give --home the icfare home that `icfare serve` writes to",
    });
  }
  if (!(await Deno.stat(keyStorePaths(home).store).then(() => true, () => false))) {
    throw new IcfareError("KEYSTORE_NOT_FOUND", `no key store in ${home}`, {
      hint: "icfare keys init",
    });
  }
  const m = await loadMasterKey(home, masterKeyFile);
  const master = m.key;
  let panHashKey: CryptoKey, dataKey: CryptoKey;
  const ks = await KeyStore.open(home, master, "console");
  try {
    panHashKey = await ks.hmacCryptoKey("pan-hash");
    dataKey = await ks.dataCryptoKey();
  } finally {
    ks.close();
  }
  const store = openSqliteStore(path);
  return {
    home,
    store,
    accounts: new Accounts(store.connection),
    sessions: new Sessions(),
    limiter: new LoginLimiter(5),
    clientLimiter: new LoginLimiter(30),
    keyStore: (actor) => KeyStore.open(home, master, actor),
    terminals: terminalLister(
      keyStorePaths(home).store,
      () => KeyStore.open(home, master, "console"),
    ),
    panHashKey,
    dataKey,
    close() {
      master.fill(0);
      store.close();
    },
  };
}
