/**
 * The key-block protection key (KBPK, "master key") of the key store: an AES-256 key that
 * comes from `ICFARE_MASTER_KEY` (64 hex digits) or from a master-key file, and is never
 * stored beside the keys it protects (PCI DSS 3.6.1.2). A file inside the icfare home is
 * refused, and so is a file that group or others may read.
 */
import { dirname, resolve } from "node:path";
import { fromHex } from "../hex.ts";
import { HINTS, KeyStoreError } from "./errors.ts";

/** Where the master key was found, for messages (never the key itself). */
export interface MasterKey {
  key: Uint8Array;
  source: string;
}

function parseMaster(text: Uint8Array, what: string): Uint8Array {
  const s = new TextDecoder().decode(text).trim();
  if (/^[0-9A-Fa-f]{64}$/.test(s)) return fromHex(s, what);
  if (text.length === 32) return text.slice();
  throw new KeyStoreError(
    "MASTER_KEY_INVALID",
    `${what}: a master key is 32 bytes (64 hex digits or 32 raw bytes)`,
  );
}

async function realOrResolved(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    // The home may not exist yet: resolve its parent if it does.
    const abs = resolve(path);
    try {
      return resolve(await Deno.realPath(dirname(abs)), abs.slice(dirname(abs).length + 1));
    } catch {
      return abs;
    }
  }
}

/** True when `inner` is `outer` or below it. */
function isInside(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith("/") ? outer : outer + "/");
}

/** True when `path` (resolved through symbolic links) is `home` or below it. */
export async function pathInside(path: string, home: string): Promise<boolean> {
  return isInside(await realOrResolved(path), await realOrResolved(home));
}

/**
 * Loads the master key for `home`: from `file` when given, else from the environment
 * variable `envName` (default `ICFARE_MASTER_KEY`). `flag` is the command-line option that
 * gives the file, named in refusals (`--new-master-key-file` for `keys rotate-master`).
 */
export async function loadMasterKey(
  home: string,
  file?: string,
  envName = "ICFARE_MASTER_KEY",
  flag = "--master-key-file",
): Promise<MasterKey> {
  if (file !== undefined) {
    const realFile = await realOrResolved(file);
    const realHome = await realOrResolved(home);
    if (isInside(realFile, realHome)) {
      throw new KeyStoreError(
        "MASTER_KEY_IN_HOME",
        `${flag} ${file} is inside the icfare home ${home}; keep it elsewhere`,
      );
    }
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(file);
    } catch {
      throw new KeyStoreError("MASTER_KEY_MISSING", `${flag} ${file} cannot be read`);
    }
    if (st.mode !== null && (st.mode & 0o077) !== 0) {
      throw new KeyStoreError(
        "MASTER_KEY_INVALID",
        `${flag} ${file} is readable by group or others (mode ${
          (st.mode & 0o777).toString(8)
        }); chmod 600 it`,
      );
    }
    const bytes = await Deno.readFile(file);
    try {
      return { key: parseMaster(bytes, `${flag} ${file}`), source: `file ${file}` };
    } finally {
      bytes.fill(0);
    }
  }
  const env = Deno.env.get(envName);
  if (env === undefined || env.trim() === "") {
    throw new KeyStoreError(
      "MASTER_KEY_MISSING",
      `no master key: set ${envName} (64 hex digits) or give ${flag} PATH`,
      {
        hint: flag === "--master-key-file"
          ? HINTS.master
          : `a new key: openssl rand -hex 32 > FILE; chmod 600 FILE; then ${flag} FILE`,
      },
    );
  }
  return { key: parseMaster(new TextEncoder().encode(env), envName), source: `$${envName}` };
}
