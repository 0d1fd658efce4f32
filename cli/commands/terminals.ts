/**
 * `icfare terminals add ID | list | rotate-key ID | disable ID` — the terminals allowed to
 * upload and their HMAC keys (design.md §3). A terminal's key is shown once, when it is
 * created or rotated (or written to `--key-file`, mode 600, instead), and never again.
 */
import { flag, parseArgs, str, UsageError } from "../args.ts";
import type { Command } from "../common.ts";
import { KeyStoreError, pathInside } from "../../core/keys/mod.ts";
import { COMMON, guarded, homeOf, openStore, out, table } from "../common.ts";

const HELP = `usage: icfare terminals <subcommand> [options]

  add ID [--key-file PATH]          register terminal ID (9F1C, 8 characters) with a new
                                    HMAC-SHA256 key; the key is shown once (or written to
                                    PATH, outside the home, mode 600) for loading into the
                                    terminal
  list                              terminals, state, key version and key KCV
  rotate-key ID [--key-file PATH]   a new key (shown once); the old key stops working
  disable ID                        the terminal's uploads are refused from now on
global: --home DIR, --json, --master-key-file PATH, --operator NAME (see icfare keys --help)`;

export const command: Command = {
  summary: "terminals: add (key shown once), list, rotate-key, disable",
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
    const pos = p.positionals;
    return await guarded(json, `terminals ${sub}`, async () => {
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
      if (pos.length !== 1) throw new UsageError(`terminals ${sub} ID`);
      const id = pos[0];
      const s = await openStore(p);
      try {
        if (sub === "add" || sub === "rotate-key") {
          const keyFile = str(p, "key-file");
          if (keyFile !== undefined && await pathInside(keyFile, homeOf(p))) {
            // Refused before any key exists: a clear key file must not land in the home.
            throw new KeyStoreError("BAD_INPUT", `--key-file ${keyFile} is inside the icfare home`);
          }
          const r = sub === "add" ? await s.terminalAdd(id) : await s.terminalRotate(id);
          if (keyFile !== undefined) {
            await Deno.writeTextFile(keyFile, r.keyHex + "\n", { mode: 0o600, createNew: true });
          }
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
          return 0;
        }
        if (sub === "disable") {
          const t = await s.terminalDisable(id);
          out(json, { ok: true, terminal: t }, () => [`terminal ${id} disabled`]);
          return 0;
        }
      } finally {
        s.close();
      }
      throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
    });
  },
};
