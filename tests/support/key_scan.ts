/**
 * Clear-key scanning for S3 (docs/reliability.md): looks for the bytes of secret keys in files
 * and in text, in every form a key could leak in — raw bytes, hex in either case, base64 and
 * base64url with or without padding. Reusable after any full run (demo, server tests): give it
 * the icfare home (database, WAL, key files, logs, archive) and every output captured.
 */
import { join } from "node:path";
import { toHex } from "../../core/hex.ts";

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Every text form of `key` the scan looks for. */
export function textForms(key: Uint8Array): string[] {
  const hex = toHex(key);
  const std = b64(key);
  const url = std.replace(/\+/g, "-").replace(/\//g, "_");
  return [hex, hex.toLowerCase(), std, std.replace(/=+$/, ""), url, url.replace(/=+$/, "")];
}

/** True when `text` holds `key` in any text form. */
export function textHolds(text: string, key: Uint8Array): boolean {
  return textForms(key).some((t) => text.includes(t));
}

/** True when `hay` contains the byte string `needle`. */
export function containsBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile) yield p;
  }
}

/**
 * Scans every file under `dirs` for every key in `secrets` (raw and text forms). Returns the
 * number of files read and the hits as "path: key #i (form)" — never the key itself.
 */
export async function scanFiles(
  dirs: string[],
  secrets: Uint8Array[],
): Promise<{ files: number; hits: string[] }> {
  let files = 0;
  const hits: string[] = [];
  for (const d of dirs) {
    for await (const f of walk(d)) {
      files++;
      const bytes = await Deno.readFile(f);
      const text = new TextDecoder("latin1").decode(bytes);
      secrets.forEach((s, i) => {
        if (containsBytes(bytes, s)) hits.push(`${f}: key #${i} (raw bytes)`);
        textForms(s).forEach((t, k) => {
          if (text.includes(t)) hits.push(`${f}: key #${i} (text form ${k})`);
        });
      });
    }
  }
  return { files, hits };
}
