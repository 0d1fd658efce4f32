/**
 * `icfare audit` — re-verifies sealed archives offline (docs/archive.md): no store, no key
 * store; the archive's bytes, the auditor's key, the trusted signing keys and optionally the
 * issuer keys. Also makes an auditor's key pair, and serves the browser page. The audit itself
 * is core/audit (no Deno API); this file only reads files and prints.
 */
import { fileURLToPath } from "node:url";
import { flag, parseArgs, type Parsed, str, UsageError } from "../args.ts";
import { type Command, fsRefusal, out, readInputFile } from "../common.ts";
import { auditArchives, type AuditInput } from "../../core/audit/audit.ts";
import { reportText } from "../../core/audit/report.ts";
import { type TrustedSigner, trustedSigner } from "../../core/audit/head.ts";
import { auditorKeyFiles, parseAuditorKey } from "../../core/archive/auditor_key.ts";
import { newAuditorKey } from "../../core/archive/evidence.ts";
import { parseKeyFile } from "../../core/emv/issuer_keys.ts";

const HELP = `usage: icfare audit ARCHIVE... [--auditor-key FILE] [--signer FILE]... [--keys FILE]
                    [--json]
       icfare audit keygen --out PREFIX [--name NAME]
       icfare audit --serve [--port N]

Checks sealed archives (icfare archive) without the store or the key store: the hash chain of
every segment, the head's signature (with --signer, against the signing key you trust: the
JSON of 'icfare archive key --json' or its hex public key), the link of each day to the day
before it (give the days together), and re-derives every ODA verdict from the archive's CA
keys (with --auditor-key, your auditor key file, which opens the sealed evidence), every
cryptogram verdict (with --keys, the issuer keys file of 'icfare verify --keys'), the clearing
lines, the ledger, the totals and the clearing file's trailer. Names each finding with the
record and field it concerns.
  keygen   make your auditor key pair: PREFIX.key (yours, mode 600) and PREFIX.pub (for the
           operator: icfare archive auditors add PREFIX.pub)
  --serve  serve the browser audit page on 127.0.0.1 (it runs the same audit in the browser)
Exit codes: 0 every archive clean; 1 a finding, or refused; 2 bad usage or unreadable input.`;

const OPTIONS = {
  "auditor-key": { type: "string" },
  signer: { type: "string", multiple: true },
  keys: { type: "string" },
  json: { type: "boolean" },
  out: { type: "string" },
  name: { type: "string" },
  serve: { type: "boolean" },
  port: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function jsonOf(path: string, what: string): Promise<unknown> {
  const text = new TextDecoder().decode(await readInputFile(path, what));
  try {
    return JSON.parse(text);
  } catch {
    return text.trim();
  }
}

/** Trusted signers: JSON files (`{publicKey}`) or hex public keys, file or argument. */
async function signersOf(p: Parsed): Promise<TrustedSigner[]> {
  const all = (p.values.signer as string[] | undefined) ?? [];
  const out: TrustedSigner[] = [];
  for (const s of all) {
    const v = /^[0-9A-Fa-f]{130}$/.test(s) ? s : await jsonOf(s, "signer key");
    const hex = typeof v === "string" ? v : String((v as { publicKey?: unknown }).publicKey ?? "");
    try {
      out.push(trustedSigner(hex));
    } catch (e) {
      throw new UsageError(`--signer ${s}: ${(e as Error).message}`, "BAD_INPUT");
    }
  }
  return out;
}

async function inputOf(path: string): Promise<AuditInput> {
  try {
    const f = await Deno.open(path);
    const st = await f.stat();
    if (st.isDirectory) {
      f.close();
      throw new UsageError(`archive ${path} is a directory`, "IS_A_DIRECTORY");
    }
    return { name: path, chunks: f.readable, size: st.size };
  } catch (e) {
    const r = fsRefusal(e, "archive");
    if (r) throw new UsageError(r.message, r.code);
    throw e;
  }
}

function progress(): (done: number, total: number) => void {
  if (!Deno.stderr.isTerminal()) return () => {};
  const enc = new TextEncoder(), t0 = performance.now();
  return (done, total) => {
    const w = 30, f = total ? Math.min(w, Math.round((done / total) * w)) : w;
    const mb = (done / 1048576).toFixed(0), s = (performance.now() - t0) / 1000;
    const line = `\raudit [${"#".repeat(f)}${" ".repeat(w - f)}] ${mb} MiB ${
      s > 0 ? (done / 1048576 / s).toFixed(0) : 0
    } MiB/s`;
    Deno.stderr.writeSync(enc.encode(done >= total ? line + "\n" : line));
  };
}

async function runAudit(p: Parsed): Promise<number> {
  if (p.positionals.length === 0) throw new UsageError("name at least one archive file");
  const json = flag(p, "json");
  const akPath = str(p, "auditor-key");
  const ak = akPath
    ? parseAuditorKey(await jsonOf(akPath, "auditor key file"), true, akPath)
    : undefined;
  const keysPath = str(p, "keys");
  const issuerKeys = keysPath ? parseKeyFile(await jsonOf(keysPath, "keys file")) : undefined;
  const inputs = [];
  for (const a of p.positionals) inputs.push(await inputOf(a));
  try {
    const r = await auditArchives(inputs, {
      auditorKey: ak?.privateKey,
      issuerKeys,
      signers: await signersOf(p),
      onProgress: json ? undefined : progress(),
    });
    out(json, r, () => reportText(r));
    return r.clean ? 0 : 1;
  } finally {
    ak?.privateKey?.fill(0);
  }
}

async function runKeygen(p: Parsed): Promise<number> {
  const prefix = str(p, "out");
  if (!prefix) throw new UsageError("keygen needs --out PREFIX");
  const k = newAuditorKey();
  const files = auditorKeyFiles(
    str(p, "name") ?? prefix.split("/").pop()!,
    k.privateKey,
    k.publicKey,
  );
  k.privateKey.fill(0);
  const write = (path: string, v: unknown, mode: number) =>
    Deno.writeTextFile(path, JSON.stringify(v, null, 2) + "\n", { createNew: true, mode });
  await write(`${prefix}.key`, files.privateFile, 0o600);
  await write(`${prefix}.pub`, files.publicFile, 0o644);
  out(
    flag(p, "json"),
    { key: `${prefix}.key`, pub: `${prefix}.pub`, kcv: files.publicFile.kcv },
    () => [
      `auditor key ${prefix}.key (keep it; mode 600) and ${prefix}.pub (KCV ${files.publicFile.kcv})`,
      `the operator registers the public half: icfare archive auditors add ${prefix}.pub`,
    ],
  );
  return 0;
}

/** The built page (deno task audit:web). */
export const PAGE = fileURLToPath(
  new URL("../../web/audit/dist/icfare-audit.html", import.meta.url),
);

async function runServe(p: Parsed): Promise<number> {
  const port = Number(str(p, "port") ?? "8088");
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError("--port 1..65535");
  const page = await Deno.readFile(PAGE).catch(() => {
    throw new UsageError(`no built page at ${PAGE}: run deno task audit:web`, "FILE_NOT_FOUND");
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    () =>
      new Response(page, {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": "default-src 'none'; script-src 'unsafe-inline' blob: " +
            "'wasm-unsafe-eval'; worker-src blob:; style-src 'unsafe-inline'; img-src data:",
        },
      }),
  );
  console.log(`audit page on http://127.0.0.1:${port}/ (it audits in your browser; Ctrl-C stops)`);
  await server.finished;
  return 0;
}

export const command: Command = {
  summary: "re-verify sealed archives offline (also in a browser)",
  async run(args) {
    const p = parseArgs(args, OPTIONS);
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (flag(p, "serve")) return await runServe(p);
    if (p.positionals[0] === "keygen") {
      if (p.positionals.length > 1) {
        throw new UsageError(`unexpected argument "${p.positionals[1]}"`);
      }
      return await runKeygen(p);
    }
    return await runAudit(p);
  },
};
