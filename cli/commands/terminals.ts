/**
 * `icfare terminals add ID | list | rotate-key ID | disable ID | enable ID` — the terminals
 * allowed to upload and their HMAC keys (docs/upload-api.md). A terminal's key is shown once,
 * when it is created or rotated (or written to `--key-file`, mode 600, instead — before the
 * store records the key, so a file that cannot be written changes nothing), and never again.
 * Running servers see every change at once (docs/keys.md, "Terminals in a running server").
 */
import { flag, parseArgs, type Parsed, str, UsageError } from "../args.ts";
import type { Command } from "../common.ts";
import {
  fileDelivery,
  type KeyStore,
  KeyStoreError,
  pathInside,
  type TerminalRecord,
} from "../../core/keys/mod.ts";
import { COMMON, guarded, homeOf, openStore, out, table } from "../common.ts";

const HELP = `usage: icfare terminals <subcommand> [options]

  add ID [--key-file PATH]          register terminal ID (9F1C, 8 characters) with a new
                                    HMAC-SHA256 key; the key is shown once (or written to
                                    PATH, a new file outside the home, mode 600) for loading
                                    into the terminal
  list                              terminals, state, key version and key KCV
  rotate-key ID [--key-file PATH]   a new key (shown once); the old key stops working
  disable ID                        the terminal's uploads are refused from now on
  enable ID                         a disabled terminal uploads again (same key)
Running servers (icfare serve) see each change at the next request; no restart.
global: --home DIR, --json, --master-key-file PATH, --operator NAME (see icfare keys --help)`;

/** `add` and `rotate-key`: the new key is delivered (file or screen) and shown by its KCV. */
async function handOut(s: KeyStore, p: Parsed, sub: string, id: string, json: boolean) {
  const keyFile = str(p, "key-file");
  if (keyFile !== undefined && await pathInside(keyFile, homeOf(p))) {
    // Refused before any key exists: a clear key file must not land in the home.
    const e = new KeyStoreError("BAD_INPUT", `--key-file ${keyFile} is inside the icfare home`);
    await s.auditRefusal(`terminals.${sub}`, `${e.code}: ${e.message}`);
    throw e;
  }
  const deliver = keyFile === undefined ? undefined : fileDelivery(keyFile, "--key-file");
  const r = sub === "add"
    ? await s.terminalAdd(id, { deliver })
    : await s.terminalRotate(id, { deliver });
  const shown = keyFile === undefined ? r.keyHex : undefined;
  out(json, {
    ok: true,
    terminalId: id,
    keyVersion: r.terminal.keyVersion,
    kcv: r.kcv,
    ...(shown ? { key: shown } : { keyFile }),
  }, () => [
    `terminal ${id}: key version ${r.terminal.keyVersion}, KCV ${r.kcv}`,
    shown
      ? `HMAC-SHA256 key (shown once, load it into the terminal now): ${shown}`
      : `key written to ${keyFile} (mode 600); it is not shown again`,
  ]);
}

async function setState(s: KeyStore, sub: string, id: string, json: boolean) {
  const t: TerminalRecord = sub === "disable"
    ? await s.terminalDisable(id)
    : await s.terminalEnable(id);
  out(json, { ok: true, terminal: t }, () => [`terminal ${id} ${sub}d`]);
}

async function run(sub: string, p: Parsed, json: boolean): Promise<number> {
  if (sub === "list") {
    const s = await openStore(p);
    const l = s.terminalList();
    s.close();
    out(json, { terminals: l }, () =>
      table(
        ["terminal", "state", "key version", "key KCV", "updated"],
        l.map((t) => [t.terminalId, t.state, t.keyVersion, t.kcv, t.updatedAt]),
      ));
    return 0;
  }
  if (!["add", "rotate-key", "disable", "enable"].includes(sub)) {
    throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
  }
  if (p.positionals.length !== 1) throw new UsageError(`terminals ${sub} ID`);
  const id = p.positionals[0];
  const s = await openStore(p);
  try {
    if (sub === "add" || sub === "rotate-key") await handOut(s, p, sub, id, json);
    else await setState(s, sub, id, json);
  } finally {
    s.close();
  }
  return 0;
}

export const command: Command = {
  summary: "terminals: add (key shown once), list, rotate-key, disable, enable",
  async run(args) {
    const [sub, ...rest] = args;
    if (!sub || sub === "--help" || sub === "-h") {
      console.log(HELP);
      return sub ? 0 : 2;
    }
    const p = parseArgs(rest, { ...COMMON, "key-file": { type: "string" } });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const json = flag(p, "json");
    return await guarded(json, `terminals ${sub}`, () => run(sub, p, json));
  },
};
