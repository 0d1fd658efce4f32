/**
 * The key store on disk (docs/keys.md, "Store"): `<home>/keys/keystore.json` authenticated
 * with an HMAC key derived from the master key, written as temporary file → fsync → rename →
 * fsync of the directory (a crash leaves the old or the new store, never a mix), under a lock
 * file; and the audit trail's lines appended with fsync.
 */
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { type AuditEntry, canonicalJson } from "./audit.ts";
import { HINTS, KeyStoreError } from "./errors.ts";
import { kcv } from "./kcv.ts";
import type { StoreData } from "./records.ts";

/** The paths the key store uses under a home. */
export function keyStorePaths(home: string) {
  const dir = join(home, "keys");
  return {
    dir,
    store: join(dir, "keystore.json"),
    audit: join(dir, "audit.log"),
    lock: join(dir, ".lock"),
  };
}

function integrityKey(master: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHmac("sha256", master).update("icfare keystore integrity v1").digest(),
  );
}

function storeMac(master: Uint8Array, data: StoreData): string {
  const k = integrityKey(master);
  try {
    return createHmac("sha256", k).update(canonicalJson(data)).digest("hex").toUpperCase();
  } finally {
    k.fill(0);
  }
}

/** Reads the store, checking the master key's KCV and the file's MAC. */
export async function readStore(home: string, master: Uint8Array): Promise<StoreData> {
  const p = keyStorePaths(home);
  let text: string;
  try {
    text = await Deno.readTextFile(p.store);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new KeyStoreError("KEYSTORE_MISSING", `no key store at ${p.store}`, {
        hint: HINTS.init,
      });
    }
    throw ioRefusal(e, "KEYSTORE_UNREADABLE", `key store ${p.store}`);
  }
  let obj: StoreData & { mac?: string };
  try {
    obj = JSON.parse(text);
  } catch {
    throw new KeyStoreError("KEYSTORE_TAMPERED", `${p.store} is not valid JSON`);
  }
  if (obj.format !== "icfare-keystore/1") {
    throw new KeyStoreError("KEYSTORE_TAMPERED", `${p.store}: unknown format`);
  }
  if (obj.kbpkKcv !== kcv("aes", master)) {
    throw new KeyStoreError(
      "WRONG_MASTER_KEY",
      `the master key given (KCV ${kcv("aes", master)}) is not this store's (KCV ${obj.kbpkKcv})`,
    );
  }
  const { mac, ...data } = obj;
  if (typeof mac !== "string" || mac !== storeMac(master, data)) {
    throw new KeyStoreError("KEYSTORE_TAMPERED", `${p.store}: integrity MAC does not verify`);
  }
  return data;
}

/** Writes the store atomically (temporary file, fsync, rename, fsync of the directory). */
export async function writeStore(home: string, master: Uint8Array, d: StoreData): Promise<void> {
  const p = keyStorePaths(home);
  const text = JSON.stringify({ ...d, mac: storeMac(master, d) }, null, 1) + "\n";
  await writeAtomic(p.store, text);
  await syncDir(p.dir);
}

/** Writes `text` to `path` through a temporary file that is fsynced and renamed over it. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
  try {
    const bytes = new TextEncoder().encode(text);
    let off = 0;
    while (off < bytes.length) off += await f.write(bytes.subarray(off));
    await f.sync();
  } catch (e) {
    f.close();
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  f.close();
  await Deno.rename(tmp, path);
}

/** Fsyncs a directory (so a rename inside it is durable). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch (e) {
    // Some platforms cannot open a directory for fsync; Linux can, and there it must work.
    if (Deno.build.os === "linux") throw e;
  }
}

/** Takes the store's lock file (waits up to 10 s; a lock older than 60 s is stale). */
export async function acquireLock(path: string): Promise<Deno.FsFile> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const f = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      await f.write(new TextEncoder().encode(String(Deno.pid)));
      return f;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new KeyStoreError("KEYSTORE_MISSING", `no key store directory for ${path}`, {
          hint: HINTS.init,
        });
      }
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw ioRefusal(e, "KEYSTORE_READONLY", `key store lock ${path}`);
      }
      try {
        const st = await Deno.stat(path);
        if (st.mtime && Date.now() - st.mtime.getTime() > 60_000) {
          await Deno.remove(path).catch(() => {});
          continue;
        }
      } catch {
        continue;
      }
      if (Date.now() > deadline) {
        throw new KeyStoreError(
          "KEYSTORE_LOCKED",
          `key store is locked by another process (${path})`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** Releases the lock taken by `acquireLock`. */
export async function releaseLock(f: Deno.FsFile, path: string): Promise<void> {
  f.close();
  await Deno.remove(path).catch(() => {});
}

/** Runs `fn` holding the store's lock. */
export async function withLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(path);
  try {
    return await fn();
  } finally {
    await releaseLock(lock, path);
  }
}

/** True when `path` exists (a missing path is false; any other failure is thrown). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The system error code of a failed file operation (EROFS, EACCES, …), when there is one. */
export function ioCode(e: unknown): string | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === "string" ? c : undefined;
}

/**
 * A coded refusal for a failed file operation on `what` (a read-only file system, no
 * permission, a directory where a file belongs, a full disk); other errors are returned as
 * they are (bugs stay bugs).
 */
export function ioRefusal(e: unknown, code: string, what: string): unknown {
  if (e instanceof KeyStoreError) return e;
  const why: Record<string, string> = {
    EROFS: "is on a read-only file system",
    EACCES: "is not accessible (permission denied)",
    EPERM: "is not accessible (operation not permitted)",
    EISDIR: "is a directory",
    ENOTDIR: "has a file where a directory belongs",
    ENOSPC: "cannot be written: no space left on the device",
    EEXIST: "already exists",
    ENOENT: "does not exist (or its directory does not)",
  };
  const c = ioCode(e) ??
    (e instanceof Deno.errors.IsADirectory
      ? "EISDIR"
      : e instanceof Deno.errors.PermissionDenied
      ? "EACCES"
      : e instanceof Deno.errors.NotFound
      ? "ENOENT"
      : e instanceof Deno.errors.AlreadyExists
      ? "EEXIST"
      : undefined);
  if (c === undefined || !(c in why)) return e;
  return new KeyStoreError(code, `${what} ${why[c]}`, { cause: e });
}

/** Reads the audit entries for display (verification is `verifyAudit`). */
export async function readAudit(home: string): Promise<AuditEntry[]> {
  try {
    const t = await Deno.readTextFile(keyStorePaths(home).audit);
    return t.split("\n").filter((l) => l).map((l, i) => {
      try {
        return JSON.parse(l) as AuditEntry;
      } catch {
        // A broken line is shown as such (`keys audit` names the break).
        return {
          seq: i + 1,
          at: "",
          actor: "",
          op: "(not an entry)",
          result: "failed",
          detail: l.slice(0, 80),
          prev: "",
          hash: "",
        } as AuditEntry;
      }
    });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}
