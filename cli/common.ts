/**
 * What the `icfare` commands share: the command shape, the global options, the home, the
 * acting operator, opening the key store, output (JSON or tables), refusals as exit codes,
 * reading input files, the verification context and progress bars. Commands import this
 * file and `core/`, never each other.
 */
import { flag, type OptionSpec, parseArgs, type Parsed, str, UsageError } from "./args.ts";
import { fsRefusal } from "./fs_errors.ts";
import { KeyStore, KeyStoreError, loadMasterKey } from "../core/keys/mod.ts";
import { describeError, IcfareError } from "../core/errors.ts";

export { fsRefusal };
import { BatchSchema } from "../core/emv/verify.ts";
import { KeyImportError, parseKeyFile } from "../core/emv/issuer_keys.ts";
import { CapkImportError, parseCapkFile } from "../core/emv/capk.ts";
import { dateProblem } from "../core/dates.ts";
import { type AcquirerProfile, parseProfile, profileNamed } from "../core/iso8583/profile.ts";
import { databaseUrlFromEnv, storeLocation } from "../core/store/open.ts";
import { type BackOffice, openBackOffice } from "../core/store/back_office.ts";
import { isPostgresUrl, redactUrl } from "../core/store/pg/connect.ts";

/** One `icfare` command: a one-line summary for the help and its entry. */
export type Command = {
  summary: string;
  run: (args: string[]) => Promise<number>;
};

/**
 * A command's options with its usage text: null after printing the help (`--help`, exit 0);
 * a positional argument where none is taken is a usage error.
 */
export function commandArgs(args: string[], options: OptionSpec, help: string): Parsed | null {
  const p = parseArgs(args, options);
  if (flag(p, "help")) {
    console.log(help);
    return null;
  }
  if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  return p;
}

/** Options every key command accepts. */
export const COMMON: OptionSpec = {
  home: { type: "string" },
  json: { type: "boolean" },
  "master-key-file": { type: "string" },
  operator: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** The icfare home from `--home`, `ICFARE_HOME` or `./.icfare`. */
export function homeOf(p: Parsed): string {
  return str(p, "home") ?? Deno.env.get("ICFARE_HOME") ?? "./.icfare";
}

/**
 * Refuses a command that runs on the SQLite store only (the console: docs/scale.md, "What runs
 * on PostgreSQL") when `ICFARE_DATABASE_URL` names a PostgreSQL database: run there it would read
 * and write the home's SQLite file, not the database the servers share.
 */
export function sqliteOnly(command: string): void {
  const url = databaseUrlFromEnv();
  if (url === undefined || !isPostgresUrl(url)) return;
  throw new IcfareError(
    "STORE_SQLITE_ONLY",
    `icfare ${command} runs on the SQLite store only; ICFARE_DATABASE_URL names PostgreSQL ` +
      `(${redactUrl(url)})`,
    {
      hint:
        "unset ICFARE_DATABASE_URL to use HOME/icfare.db; docs/scale.md lists what runs on PostgreSQL",
    },
  );
}

/**
 * The back office of the home's store: `--store` (where the command has it), else
 * `ICFARE_DATABASE_URL`, else `HOME/icfare.db` (docs/scale.md, "Choosing the store"). With
 * `existing`, a home without an SQLite store is refused (STORE_NOT_FOUND) rather than created.
 */
export async function openHomeBackOffice(
  p: Parsed,
  o: { readonly existing?: boolean } = {},
): Promise<BackOffice> {
  const l = storeLocation(homeOf(p), str(p, "store"));
  if (o.existing && l.kind === "sqlite") {
    const found = await Deno.stat(l.path).then(() => true, (e) => {
      if (e instanceof Deno.errors.NotFound) return false;
      throw e;
    });
    if (!found) {
      throw new IcfareError("STORE_NOT_FOUND", `no store at ${l.path}`, {
        hint: "give --home the icfare home that `icfare serve` writes to",
      });
    }
  }
  return await openBackOffice(l);
}

/** Who is acting, for the audit trail (the uid when nothing names the operator). */
export function actorOf(p: Parsed): string {
  return str(p, "operator") ?? Deno.env.get("ICFARE_OPERATOR") ?? Deno.env.get("USER") ??
    Deno.env.get("LOGNAME") ?? `uid:${uidOrUnknown()}`;
}

/** The process's uid, or "?" where it cannot be read (no --allow-sys, another platform). */
function uidOrUnknown(): string {
  // Query first: asking for a permission would prompt on a terminal (mid-ceremony).
  const q = Deno.permissions.querySync({ name: "sys", kind: "uid" });
  if (q.state !== "granted") return "?";
  try {
    return String(Deno.uid() ?? "?");
  } catch {
    return "?";
  }
}

/** Opens the key store of the home with the master key (zeroed after opening). */
export async function openStore(p: Parsed): Promise<KeyStore> {
  const home = homeOf(p);
  const m = await loadMasterKey(home, str(p, "master-key-file"));
  try {
    return await KeyStore.open(home, m.key, actorOf(p));
  } finally {
    m.key.fill(0);
  }
}

/** Prints a result: JSON when asked, else the human lines. */
export function out(json: boolean, value: unknown, human: () => string[]): void {
  if (json) console.log(JSON.stringify(value, null, 2));
  else console.log(human().join("\n"));
}

/**
 * Runs a key command body; refusals (`IcfareError`, usage errors excepted) become one coded
 * line (with the hint that fixes them) and exit 1 — or, with `--json`, `{ok: false, error}`.
 */
export async function guarded(json: boolean, name: string, body: () => Promise<number>) {
  try {
    return await body();
  } catch (e) {
    if (e instanceof IcfareError && !(e instanceof UsageError)) {
      if (json) {
        const error = { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
        console.log(JSON.stringify({ ok: false, error }));
      } else console.error(`icfare ${name}: ${describeError(e)}`);
      return 1;
    }
    if (e instanceof SyntaxError || e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

/** Reads an import file as JSON; a file that is not JSON is `BAD_INPUT` naming the path. */
export async function readJsonFile(path: string, what = "file"): Promise<unknown> {
  const text = await readInputText(path, what);
  try {
    return JSON.parse(text);
  } catch {
    throw new KeyStoreError("BAD_INPUT", `${path}: not JSON`);
  }
}

/** Renders rows as an aligned text table. */
export function table(head: string[], rows: (string | number | undefined)[][]): string[] {
  const cells = [head, ...rows.map((r) => r.map((c) => c === undefined ? "-" : String(c)))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd());
}

/**
 * Reads an input file named on the command line. A file that cannot be read is a usage error
 * (exit 2) with the precise code (`FILE_NOT_FOUND`, `IS_A_DIRECTORY`, `PERMISSION_DENIED`, …).
 */
export async function readInputFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    const r = fsRefusal(e, what);
    if (r) throw new UsageError(r.message, r.code);
    throw e;
  }
}

/** `readInputFile` as UTF-8 text. */
export async function readInputText(path: string, what: string): Promise<string> {
  return new TextDecoder().decode(await readInputFile(path, what));
}

async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readInputText(path, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} ${path}: not JSON (${(e as Error).message})`, "BAD_INPUT");
  }
}

/** Options shared by `verify` and `explain` for where the keys come from. */
export const KEY_OPTIONS = {
  keys: { type: "string" },
  capk: { type: "string" },
  store: { type: "boolean" },
  home: { type: "string" },
  "master-key-file": { type: "string" },
  operator: { type: "string" },
} as const;

/**
 * The verification context from --keys/--capk files or, with --store, from the key store.
 * `wipe` zeroes the unwrapped store keys; call it when done.
 */
export async function contextOf(p: Parsed) {
  if (!flag(p, "store")) {
    return { ...(await loadContext(str(p, "keys"), str(p, "capk"))), wipe: () => {} };
  }
  if (str(p, "keys") || str(p, "capk")) throw new UsageError("--store excludes --keys and --capk");
  const { issuerKeySource } = await import("../core/keys/engine_source.ts");
  const { capkRegistry } = await import("../core/keys/capk.ts");
  try {
    const store = await openStore(p);
    try {
      const k = issuerKeySource(store);
      // The store's active CA keys as a registry (checksums verified again on `add`), so the
      // kernel can load them and run ODA itself; revoked issuer serials come along.
      const capks = capkRegistry(store.capkList());
      return { keys: k.source, capks, wipe: k.wipe };
    } finally {
      store.close();
    }
  } catch (e) {
    if (e instanceof KeyStoreError) throw new UsageError(`key store: ${e.message} [${e.code}]`);
    if (e instanceof CapkImportError) throw new UsageError(`key store: ${e.message}`);
    throw e;
  }
}

/** Loads --keys / --capk files; shared with `explain`. */
export async function loadContext(keysPath?: string, capkPath?: string) {
  try {
    return {
      keys: keysPath ? parseKeyFile(await readJson(keysPath, "--keys")) : undefined,
      capks: capkPath ? parseCapkFile(await readJson(capkPath, "--capk")) : undefined,
    };
  } catch (e) {
    if (e instanceof KeyImportError || e instanceof CapkImportError) {
      throw new UsageError(e.message);
    }
    throw e;
  }
}

/** Reads and validates an upload file; usage error naming the first problem. */
export async function loadBatch(path: string) {
  const parsed = BatchSchema.safeParse(await readJson(path, "--file"));
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(`--file ${path}: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return parsed.data;
}

/**
 * A date option (`--date`, `--from`, …): absent, or a real calendar day YYYY-MM-DD in
 * 2000-2099 (core/dates.ts); anything else is refused at the door as a usage error.
 */
export function dateOption(p: Parsed, name: string): string | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const problem = dateProblem(v);
  if (problem) throw new UsageError(`--${name}: ${problem}`);
  return v;
}

/** An integer option in `min..max`, or undefined when absent; anything else is a usage error. */
export function intOption(p: Parsed, name: string, min: number, max: number): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  }
  return Number(v);
}

/** A progress bar on standard error, only when it is a terminal; `rate` adds records/s. */
export function progressBar(
  label: string,
  o: { rate?: boolean } = {},
): (done: number, total: number) => void {
  if (!Deno.stderr.isTerminal()) return () => {};
  const enc = new TextEncoder(), t0 = performance.now();
  return (done, total) => {
    const w = 30, f = total ? Math.min(w, Math.round((done / total) * w)) : w;
    const s = (performance.now() - t0) / 1000;
    const rate = o.rate && s > 0 ? ` ${Math.round(done / s)}/s` : "";
    const line = `\r${label} [${"#".repeat(f)}${" ".repeat(w - f)}] ${done}/${total}${rate}`;
    Deno.stderr.writeSync(enc.encode(done >= total ? line + "\n" : line));
  };
}

/**
 * Reads one line of secret input (a key component) from standard input, up to Enter. On a
 * terminal nothing is echoed (raw mode; Backspace edits, Ctrl-C cancels); from a pipe the
 * line ends at the first newline without waiting for the end of input. Returns the bytes of
 * the line without the newline; the caller zeroes them. `prompt` is shown on standard error
 * when standard input is a terminal.
 */
export async function readSecretLine(prompt?: string): Promise<Uint8Array> {
  const tty = Deno.stdin.isTerminal();
  if (tty) {
    Deno.stdin.setRaw(true, { cbreak: true });
    // The prompt comes once echo is off: nothing typed after it can appear.
    if (prompt) console.error(prompt);
  }
  const line = new Uint8Array(4096);
  const buf = new Uint8Array(256);
  let n = 0;
  try {
    for (;;) {
      const got = await Deno.stdin.read(buf);
      if (got === null) break;
      let done = false;
      for (let i = 0; i < got && !done; i++) {
        const b = buf[i];
        if (b === 0x0a || b === 0x0d) done = true;
        else if (tty && (b === 0x7f || b === 0x08)) n = Math.max(0, n - 1);
        else if (tty && b === 0x03) throw new UsageError("input cancelled");
        else if (n < line.length) line[n++] = b;
      }
      if (done) break;
    }
    return line.slice(0, n);
  } finally {
    buf.fill(0);
    line.fill(0);
    if (tty) {
      Deno.stdin.setRaw(false);
      console.error("");
    }
  }
}

/**
 * An acquirer profile option (docs/iso8583.md, "Acquirer profile"): a built-in name, or a
 * profile file (`.json`); `fallback` when absent. An unreadable file is a usage error.
 */
export async function profileOption(
  v: string | undefined,
  fallback = "icfare-sim",
): Promise<AcquirerProfile> {
  if (v === undefined) return profileNamed(fallback);
  if (!v.endsWith(".json")) return profileNamed(v);
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(v));
  } catch (e) {
    throw new UsageError(`--profile ${v}: ${(e as Error).message}`);
  }
  return parseProfile(json);
}

/** `--NAME TIME` (ISO 8601, normalised to UTC), or undefined when absent; else a usage error. */
export function timeOption(p: Parsed, name: string): string | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || !Number.isFinite(t)) {
    throw new UsageError(`--${name} must be an ISO 8601 time, got "${v}"`);
  }
  return new Date(t).toISOString();
}
