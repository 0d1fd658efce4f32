/**
 * `icfare` — the operators' and auditors' command line (docs/cli.md).
 * This file only dispatches; each command lives in `commands/<name>.ts` and every rule it
 * applies lives in `core/` or the kernel.
 */
import { UsageError } from "./args.ts";
import { type Command, sqliteOnly } from "./common.ts";
import { fsRefusal } from "./fs_errors.ts";
import { describeError, IcfareError } from "../core/errors.ts";

const commands: Record<string, () => Promise<Command>> = {
  demo: async () => (await import("./commands/demo.ts")).command,
  explain: async () => (await import("./commands/explain.ts")).command,
  init: async () => (await import("./commands/init.ts")).command,
  serve: async () => (await import("./commands/serve.ts")).command,
  tlv: async () => (await import("./commands/tlv.ts")).command,
  verify: async () => (await import("./commands/verify.ts")).command,
  records: async () => (await import("./commands/records.ts")).command,
  keys: async () => (await import("./commands/keys.ts")).command,
  capk: async () => (await import("./commands/capk.ts")).command,
  denylist: async () => (await import("./commands/denylist.ts")).command,
  terminals: async () => (await import("./commands/terminals.ts")).command,
  simulate: async () => (await import("./commands/simulate.ts")).command,
  "simulate-acquirer": async () => (await import("./commands/simulate_acquirer.ts")).command,
  collect: async () => (await import("./commands/collect.ts")).command,
  clear: async () => (await import("./commands/clear.ts")).command,
  console: async () => (await import("./commands/console.ts")).command,
  debts: async () => (await import("./commands/debts.ts")).command,
  network: async () => (await import("./commands/network.ts")).command,
  archive: async () => (await import("./commands/archive.ts")).command,
  audit: async () => (await import("./commands/audit.ts")).command,
};

/**
 * Commands that run on the SQLite store only (docs/scale.md, "What runs on PostgreSQL"):
 * refused with STORE_SQLITE_ONLY while ICFARE_DATABASE_URL names PostgreSQL.
 */
const SQLITE_ONLY = new Set(["console"]);

/** Usage with each command's one-line summary (loads every command module: help only). */
async function usage(): Promise<string> {
  const names = Object.keys(commands).sort();
  const summaries = await Promise.all(names.map(async (n) => (await commands[n]()).summary));
  return [
    "usage: icfare <command> [options]   (global: --home DIR, --json)",
    "",
    "commands:",
    ...names.map((c, i) => `  ${c.padEnd(10)} ${summaries[i]}`),
    "",
    "icfare <command> --help for the options of one command.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(await usage());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`icfare: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  try {
    if (SQLITE_ONLY.has(name) && !rest.some((a) => a === "--help" || a === "-h")) {
      sqliteOnly(name);
    }
    return await (await load()).run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      // One coded line; a usage text (several lines) is printed as it is.
      console.error(`icfare ${name}: ${e.message.includes("\n") ? e.message : describeError(e)}`);
      return 2;
    }
    // A refusal is one coded line and exit 1, never a stack trace (docs/cli.md).
    // A file the command could not read or write (missing, read-only file system, disk full)
    // is a refusal too.
    const refusal = e instanceof IcfareError ? e : fsRefusal(e);
    if (refusal) {
      console.error(`icfare ${name}: ${describeError(refusal)}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
