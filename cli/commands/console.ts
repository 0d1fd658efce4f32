/**
 * `icfare console` — the operator console in the browser (docs/console.md): its own process and
 * Hono app beside the upload server, bound to 127.0.0.1 unless --hostname says otherwise; and
 * `icfare console user …`, the accounts that may log in to it (roles operator, auditor,
 * security). Passwords are read without echo (or as the first line of a pipe) and only their
 * Argon2id hash is stored.
 */
import { flag, parseArgs, type Parsed, str, UsageError } from "../args.ts";
import {
  actorOf,
  type Command,
  COMMON,
  guarded,
  homeOf,
  intOption,
  out,
  table,
} from "../common.ts";
import { readSecretLine } from "../prompt.ts";
import { openSqliteStore, STORE_FILE } from "../../core/store/sqlite.ts";
import { IcfareError } from "../../core/errors.ts";
import { Accounts, ConsoleError, ROLES } from "../../console/accounts.ts";

const HELP = `usage: icfare console [--port N] [--hostname H] [--home DIR] [--master-key-file F]
       icfare console user add NAME --role ROLE | list | passwd NAME | disable NAME | enable NAME

Serves the operator console (pages: the day, terminals, records, deny list, clearing, archive
and audit) on http://H:N/ (default 127.0.0.1:8090). It needs the home's store and key store;
the master key comes from --master-key-file or ICFARE_MASTER_KEY and stays in the console's
memory for terminal changes.
  user add NAME --role ROLE   a new account (${ROLES.join(", ")}); the password is read twice
                              without echo (from a pipe: its first line), at least 12 characters
  user list                   the accounts, their roles and states
  user passwd NAME            a new password
  user disable NAME           the account can no longer log in; enable NAME undoes it
Every change is written to the console audit trail with --operator (or the user's name).`;

const OPTIONS = {
  ...COMMON,
  port: { type: "string" },
  hostname: { type: "string" },
  role: { type: "string" },
} as const;

/** Opens the home's store (it must exist: the console shows what the server stored). */
async function storeOf(p: Parsed) {
  const path = `${homeOf(p)}/${STORE_FILE}`;
  if (!(await Deno.stat(path).then(() => true, () => false))) {
    throw new IcfareError("STORE_NOT_FOUND", `no store at ${path}`, {
      hint: "give --home the icfare home that `icfare serve` writes to",
    });
  }
  return openSqliteStore(path);
}

/** A new password: typed twice on a terminal, or the first line of a pipe. */
async function newPassword(): Promise<string> {
  const first = await readSecretLine("new password (not shown): ");
  if (first === null) throw new UsageError("no password given");
  if (Deno.stdin.isTerminal()) {
    const again = await readSecretLine("the same again: ");
    if (again !== first) throw new ConsoleError("PASSWORD_MISMATCH", "the two passwords differ");
  }
  return first;
}

async function user(p: Parsed, json: boolean): Promise<number> {
  const [sub, name, ...extra] = p.positionals.slice(1);
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const store = await storeOf(p);
  const accounts = new Accounts(store.connection);
  const by = actorOf(p);
  try {
    if (sub === "list") {
      const l = accounts.list();
      out(json, { accounts: l }, () =>
        table(
          ["account", "role", "state", "created", "by", "updated"],
          l.map((a) => [a.name, a.role, a.state, a.createdAt, a.createdBy, a.updatedAt]),
        ));
      return 0;
    }
    if (!name) throw new UsageError(`console user ${sub ?? "add"} NAME`);
    if (sub === "add") {
      const role = str(p, "role");
      if (!role) throw new UsageError(`--role: one of ${ROLES.join(", ")}`);
      const a = await accounts.add(name, role, await newPassword(), by);
      out(json, { ok: true, account: a }, () => [`account ${a.name} (${a.role}) created`]);
    } else if (sub === "passwd") {
      if (!accounts.get(name)) {
        throw new ConsoleError("ACCOUNT_NOT_FOUND", `no account ${name}`, {
          hint: "icfare console user list",
        });
      }
      await accounts.setPassword(name, await newPassword(), by);
      out(json, { ok: true }, () => [`account ${name}: password set`]);
    } else if (sub === "disable" || sub === "enable") {
      accounts.setState(name, sub === "disable" ? "disabled" : "active", by);
      out(json, { ok: true }, () => [`account ${name} ${sub}d`]);
    } else throw new UsageError(`unknown subcommand "user ${sub}"\n\n${HELP}`);
    return 0;
  } finally {
    store.close();
  }
}

async function serve(p: Parsed, json: boolean): Promise<number> {
  const port = intOption(p, "port", 0, 65535) ?? 8090;
  const hostname = str(p, "hostname") ?? "127.0.0.1";
  const { openConsole, consoleApp } = await import("../../console/mod.ts");
  const ctx = await openConsole(homeOf(p), str(p, "master-key-file"));
  const app = consoleApp(ctx);
  const ready = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname,
    port,
    onListen: (a) => ready.resolve(a as Deno.NetAddr),
  }, (req, info) => app.fetch(req, { remoteAddr: info.remoteAddr }));
  const addr = await ready.promise;
  const url = `http://${addr.hostname}:${addr.port}/`;
  out(json, { listening: url, port: addr.port }, () => [
    `icfare console: listening on ${url} (store ${homeOf(p)}/${STORE_FILE}; ` +
    `${ctx.accounts.list().filter((a) => a.state === "active").length} active accounts)`,
  ]);
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
  ctx.close();
  return 0;
}

export const command: Command = {
  summary: "the operator console in the browser; its accounts (user add|list|passwd|disable)",
  async run(args) {
    const p = parseArgs(args, OPTIONS);
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const json = flag(p, "json");
    if (p.positionals[0] === "user") {
      return await guarded(json, "console user", () => user(p, json));
    }
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    return await guarded(json, "console", () => serve(p, json));
  },
};
