/**
 * Auditor keys (docs/archive.md, "PANs and tag 57"): an auditor makes a P-256 key pair with
 * `icfare audit keygen` and hands the operator the public half; the operator registers it in
 * `HOME/archive/auditors.json` (`icfare archive auditors add`), and every archive seals its
 * evidence key for each registered auditor. Public keys only: nothing here is secret.
 */
import { join } from "node:path";
import { toHex } from "../hex.ts";
import { AUDITOR_KEY_FORMAT, type AuditorKeyFile, parseAuditorKey } from "./auditor_key.ts";

/** The registered auditors of a home (public keys), sorted by KCV. */
export async function readAuditors(
  home: string,
): Promise<{ name: string; publicKey: Uint8Array; kcv: string }[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(home, "archive", "auditors.json"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const o = JSON.parse(text) as { auditors?: unknown[] };
  return (o.auditors ?? []).map((a, i) => parseAuditorKey(a, false, `auditors.json #${i + 1}`))
    .sort((a, b) => a.kcv < b.kcv ? -1 : 1);
}

/** Registers an auditor's public key (a key already registered changes nothing). */
export async function addAuditor(
  home: string,
  json: unknown,
): Promise<{ name: string; kcv: string; added: boolean }> {
  const k = parseAuditorKey(json, false);
  const dir = join(home, "archive");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const all = await readAuditors(home);
  if (all.some((a) => a.kcv === k.kcv)) return { name: k.name, kcv: k.kcv, added: false };
  all.push(k);
  const file: AuditorKeyFile[] = all.sort((a, b) => a.kcv < b.kcv ? -1 : 1).map((a) => ({
    format: AUDITOR_KEY_FORMAT,
    curve: "P-256",
    name: a.name,
    publicKey: toHex(a.publicKey),
    kcv: a.kcv,
  }));
  const tmp = join(dir, "auditors.json.tmp");
  await Deno.writeTextFile(tmp, JSON.stringify({ auditors: file }, null, 2) + "\n", {
    mode: 0o600,
  });
  await Deno.rename(tmp, join(dir, "auditors.json"));
  return { name: k.name, kcv: k.kcv, added: true };
}
