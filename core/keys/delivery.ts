/**
 * Where a key leaves the store for (docs/keys.md, "Commit before write"): a terminal's key
 * written to `--key-file`, a key block to `keys export --out`. The delivery runs inside the
 * store's change, before anything is committed: a path that exists, is a directory or cannot
 * be written refuses the change (audited as refused), and a change that fails after the file
 * was written removes the file again, so no one ever holds a key the store does not know, and
 * the store never records a key no one holds.
 */
import { KeyStoreError } from "./errors.ts";
import { ioCode } from "./store_file.ts";

/** A destination for text that leaves the store (a key or a key block). */
export interface Delivery {
  /** Writes `text` durably (fsync); a refusal is a `KeyStoreError`. */
  write(text: string): Promise<void>;
  /** Takes back what `write` wrote (the change it belonged to failed). */
  undo(): Promise<void>;
}

/**
 * A new file at `path`, mode 600, never an existing one (`what` names the option in
 * refusals, e.g. "--key-file").
 */
export function fileDelivery(path: string, what: string): Delivery {
  let created = false;
  return {
    async write(text: string) {
      const st = await Deno.stat(path).catch(() => null);
      if (st?.isDirectory) {
        throw new KeyStoreError("OUTPUT_IS_DIRECTORY", `${what} ${path} is a directory`);
      }
      let f: Deno.FsFile;
      try {
        f = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      } catch (e) {
        throw outputRefusal(e, path, what);
      }
      created = true;
      try {
        const bytes = new TextEncoder().encode(text);
        let off = 0;
        while (off < bytes.length) off += await f.write(bytes.subarray(off));
        bytes.fill(0);
        await f.sync();
      } catch (e) {
        throw outputRefusal(e, path, what);
      } finally {
        f.close();
      }
    },
    async undo() {
      if (created) await Deno.remove(path).catch(() => {});
      created = false;
    },
  };
}

function outputRefusal(e: unknown, path: string, what: string): KeyStoreError {
  const code = ioCode(e) ?? (e instanceof Deno.errors.AlreadyExists ? "EEXIST" : undefined);
  if (code === "EEXIST") {
    return new KeyStoreError(
      "OUTPUT_EXISTS",
      `${what} ${path} already exists; it is not overwritten`,
      { hint: "choose a new path, or move the old file away first" },
    );
  }
  const why = code === "EROFS"
    ? "is on a read-only file system"
    : code === "ENOENT"
    ? "is in a directory that does not exist"
    : code === "ENOSPC"
    ? "cannot be written: no space left"
    : code === "EACCES" || code === "EPERM" || e instanceof Deno.errors.PermissionDenied
    ? "cannot be written (permission denied)"
    : `cannot be written (${(e as Error)?.message ?? String(e)})`;
  return new KeyStoreError("OUTPUT_UNWRITABLE", `${what} ${path} ${why}`, { cause: e });
}
