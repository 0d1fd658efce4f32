/**
 * `icfare network` — the operator's network registry and clearing settings (docs/clearing.md,
 * "Settings"): which model (EC or ODA) each terminal or line runs, the settlement cut-off, the
 * presentment window, the ODA fare mode and the fee schedule. Kept in the store; ingest stamps
 * each record with the model and settlement day in force when it arrives.
 */
import { flag, parseArgs, type Parsed, str, UsageError } from "../args.ts";
import { actorOf, type Command, openHomeBackOffice, out, table } from "../common.ts";
import {
  type ClearingSettings,
  listModels,
  readSettings,
  setModel,
  unsetModel,
  writeSettings,
} from "../../core/clearing/settings.ts";
import type { Model } from "../../core/clearing/outcomes.ts";

const HELP = `usage: icfare network list [--json]
       icfare network set-model (--terminal ID | --line L) --model ec|oda
       icfare network unset-model (--terminal ID | --line L)
       icfare network config [--cutoff HH:MM] [--presentment-days N]
                             [--fare-mode single|aggregated] [--fee-ec-bp N] [--fee-oda-bp N]

The model of a record is its terminal's registered model, else its line's, else EC; it is
stamped at upload, so a change applies to records that arrive afterwards.
  list          the registry and the settings
  set-model     register a terminal (8 letters or digits) or a line under a model
  unset-model   remove a registry row
  config        change settings (none given: show them)
    --cutoff HH:MM          taps at or after it (Shanghai time) belong to the next day (23:00)
    --presentment-days N    records reaching icfare later than N days after their tap day are
                            LATE, not presented (10)
    --fare-mode M           ODA debts: single (one per tap) or aggregated (per card per day)
    --fee-ec-bp N, --fee-oda-bp N   acquirer fee in basis points per model (50, 80)
Options: --home DIR, --operator NAME, --json. Exit codes: 0 done; 1 refused; 2 bad usage.`;

function scopeOf(p: Parsed): { scope: "terminal" | "line"; key: string } {
  const t = str(p, "terminal"), l = str(p, "line");
  if ((t === undefined) === (l === undefined)) throw new UsageError("give --terminal or --line");
  return t !== undefined ? { scope: "terminal", key: t } : { scope: "line", key: l! };
}

function intOpt(p: Parsed, name: string): number | undefined {
  const v = str(p, name);
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v)) throw new UsageError(`--${name} must be an integer, got "${v}"`);
  return Number(v);
}

function settingLines(s: ClearingSettings): string[] {
  return [
    `cut-off            ${s.cutoff} (Asia/Shanghai)`,
    `presentment        ${s.presentmentDays} days`,
    `ODA fare mode      ${s.fareMode}`,
    `fee                EC ${s.feeBp.EC} bp, ODA ${s.feeBp.ODA} bp (half up to the fen, per record)`,
  ];
}

function configChange(p: Parsed): Partial<ClearingSettings> {
  const ec = intOpt(p, "fee-ec-bp"), oda = intOpt(p, "fee-oda-bp");
  const feeBp = ec === undefined && oda === undefined
    ? undefined
    : { ...(ec === undefined ? {} : { EC: ec }), ...(oda === undefined ? {} : { ODA: oda }) };
  return {
    cutoff: str(p, "cutoff"),
    presentmentDays: intOpt(p, "presentment-days"),
    fareMode: str(p, "fare-mode") as ClearingSettings["fareMode"] | undefined,
    feeBp: feeBp as ClearingSettings["feeBp"] | undefined,
  };
}

export const command: Command = {
  summary: "network registry (EC/ODA per terminal or line) and clearing settings",
  async run(args) {
    const p = parseArgs(args, {
      terminal: { type: "string" },
      line: { type: "string" },
      model: { type: "string" },
      cutoff: { type: "string" },
      "presentment-days": { type: "string" },
      "fare-mode": { type: "string" },
      "fee-ec-bp": { type: "string" },
      "fee-oda-bp": { type: "string" },
      home: { type: "string" },
      "master-key-file": { type: "string" }, // accepted like every command; not needed here
      operator: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help") || p.positionals.length === 0) {
      console.log(HELP);
      return flag(p, "help") ? 0 : 2;
    }
    const [sub, ...rest] = p.positionals;
    if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`);
    const json = flag(p, "json");
    const bo = await openHomeBackOffice(p);
    const db = bo.db;
    try {
      if (sub === "list") {
        const models = listModels(db), settings = readSettings(db);
        out(json, { models, settings }, () => [
          ...table(
            ["scope", "id", "model", "set by", "at"],
            models.map((m) => [m.scope, m.key, m.model, m.setBy, m.setAt]),
          ),
          "(anything not listed: EC)",
          "",
          ...settingLines(settings),
        ]);
      } else if (sub === "set-model" || sub === "unset-model") {
        const s = scopeOf(p);
        if (sub === "unset-model") {
          const gone = unsetModel(db, s.scope, s.key);
          out(json, { ok: true, removed: gone }, () => [
            gone
              ? `${s.scope} ${s.key}: registry row removed`
              : `${s.scope} ${s.key}: not registered`,
          ]);
        } else {
          const m = (str(p, "model") ?? "").toUpperCase();
          if (m !== "EC" && m !== "ODA") throw new UsageError("--model must be ec or oda");
          setModel(db, { ...s, model: m as Model, by: actorOf(p), at: new Date().toISOString() });
          out(json, { ok: true, ...s, model: m }, () => [
            `${s.scope} ${s.key}: ${m} for records that arrive from now on`,
          ]);
        }
      } else if (sub === "config") {
        writeSettings(db, configChange(p));
        const settings = readSettings(db);
        out(json, { settings }, () => settingLines(settings));
      } else {throw new UsageError(
          `unknown subcommand "${sub}" (list, set-model, unset-model, config)`,
        );}
      return 0;
    } finally {
      await bo.close();
    }
  },
};
