/**
 * File work of the archive command: the day lock, the last line of an archive, its SHA-256,
 * and the comparison of a rebuilt archive with the sealed one.
 *
 * The lock: `core/store/` has no day lock yet (the PostgreSQL work brings one), so an archive
 * run takes an exclusive lock file `HOME/archive/.lock` (created with O_EXCL, removed at the
 * end) naming the day and the process. A crash leaves the file behind; the refusal names it.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ArchiveError } from "./auditor_key.ts";

/** Runs `fn` holding the archive lock of the home. */
export async function withDayLock<T>(dir: string, day: string, fn: () => Promise<T>): Promise<T> {
  const path = join(dir, ".lock");
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    const who = await Deno.readTextFile(path).catch(() => "?");
    throw new ArchiveError(
      "ARCHIVE_LOCKED",
      `another archive run holds ${path} (${who.trim()})`,
      "wait for it; if no archive runs, remove the lock file",
    );
  }
  try {
    await f.write(new TextEncoder().encode(`${day} pid ${Deno.pid}\n`));
    f.close();
    return await fn();
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

/** The last line of a file (without its LF), reading only its end. */
export async function lastLine(file: string): Promise<string> {
  const f = await Deno.open(file);
  try {
    const size = (await f.stat()).size;
    const n = Math.min(size, 64 * 1024);
    await f.seek(size - n, Deno.SeekMode.Start);
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = await f.read(buf.subarray(got));
      if (r === null) break;
      got += r;
    }
    const text = new TextDecoder().decode(buf.subarray(0, got)).replace(/\n$/, "");
    return text.slice(text.lastIndexOf("\n") + 1);
  } finally {
    f.close();
  }
}

/** SHA-256 of a file, streamed (lower-case hex). */
export async function fileSha256(file: string): Promise<string> {
  const h = createHash("sha256");
  const f = await Deno.open(file);
  try {
    for await (const chunk of f.readable) h.update(chunk);
  } catch (e) {
    f.close();
    throw e;
  }
  return h.digest("hex");
}

const SIG_TAIL = 128 + 3; // 128 hex digits, then `"}` and LF

/**
 * Null when the two archives are the same, bytes for bytes except the head's signature (an
 * SM2 signature draws a fresh k each time); else where they first differ ("line 12").
 */
export async function sameArchive(a: string, b: string): Promise<string | null> {
  const [sa, sb] = [(await Deno.stat(a)).size, (await Deno.stat(b)).size];
  const fa = await Deno.open(a), fb = await Deno.open(b);
  try {
    const size = Math.max(sa, sb);
    const sigFrom = sa === sb ? size - SIG_TAIL : size;
    const ba = new Uint8Array(1 << 20), bb = new Uint8Array(1 << 20);
    let at = 0, line = 1;
    while (at < size) {
      const na = await readFull(fa, ba), nb = await readFull(fb, bb);
      const n = Math.max(na, nb);
      for (let i = 0; i < n; i++) {
        const pos = at + i;
        if (i >= na || i >= nb || ba[i] !== bb[i]) {
          if (pos >= sigFrom && pos < sigFrom + 128) continue;
          return `line ${line} differs`;
        }
        if (ba[i] === 10) line++;
      }
      if (n === 0) break;
      at += n;
    }
    return null;
  } finally {
    fa.close();
    fb.close();
  }
}

async function readFull(f: Deno.FsFile, buf: Uint8Array): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const r = await f.read(buf.subarray(got));
    if (r === null) break;
    got += r;
  }
  return got;
}
