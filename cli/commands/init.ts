/**
 * `icfare init` — prepares a home for service in one step (docs/keys.md, "A home for
 * service"): the key store (created when there is none), the service keys the upload server
 * and the verifier need — pan-hash, card-data and deny-list signing — and the terminal table
 * of the upload servers, each key shown by its KCV. Run again, it changes nothing and shows
 * what is there.
 */
import { flag, parseArgs, str, UsageError } from "../args.ts";
import { actorOf, type Command, COMMON, guarded, homeOf, out, table } from "../common.ts";
import { KeyStore, loadMasterKey } from "../../core/keys/mod.ts";

const HELP = `usage: icfare init [--home DIR] [--master-key-file PATH] [--operator NAME] [--json]

Prepares the home for service: creates the key store when there is none, generates the
service keys that are missing (pan-hash HMAC-SHA256, card-data AES-256, deny-list signing
SM2) and the upload servers' terminal table, and shows every key's KCV. Idempotent.
Next: icfare terminals add ID (each terminal), icfare capk import FILE, icfare serve.
global: --home DIR (ICFARE_HOME, default ./.icfare), --json,
        --master-key-file PATH (else ICFARE_MASTER_KEY, 64 hex digits; never inside the home),
        --operator NAME (ICFARE_OPERATOR, else $USER) recorded in the audit trail`;

export const command: Command = {
  summary: "prepare a home for service: key store, service keys (KCVs shown), terminal table",
  async run(args) {
    const p = parseArgs(args, COMMON);
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    const json = flag(p, "json");
    return await guarded(json, "init", async () => {
      const home = homeOf(p);
      const m = await loadMasterKey(home, str(p, "master-key-file"));
      let s: KeyStore;
      let createdStore = false;
      try {
        createdStore = !(await KeyStore.existsIn(home));
        s = createdStore
          ? await KeyStore.init(home, m.key, actorOf(p))
          : await KeyStore.open(home, m.key, actorOf(p));
      } finally {
        m.key.fill(0);
      }
      try {
        const keys = await s.prepareService();
        (await s.openTerminalTable()).close();
        const rows = keys.map(({ key, created }) => [
          key.usage,
          key.id,
          key.algorithm,
          `${key.kcv} (${key.kcvMethod})`,
          created ? "created" : "present",
        ]);
        out(json, { ok: true, home, masterKcv: s.masterKcv, createdStore, keys }, () => [
          createdStore
            ? `key store created in ${home}/keys (master key from ${m.source}, KCV ${s.masterKcv})`
            : `key store in ${home}/keys (master key KCV ${s.masterKcv})`,
          ...table(["usage", "id", "algorithm", "kcv", ""], rows),
          "ready for service; next: icfare terminals add ID, icfare capk import FILE, icfare serve",
        ]);
      } finally {
        s.close();
      }
      return 0;
    });
  },
};
