/**
 * The demo's clearing steps over `core/clearing`: the network registry told which lines run the
 * ODA model (before any upload, since the model is stamped at ingest), the day cleared twice (the
 * second run must write nothing and give byte-identical files), and what the report draws of it:
 * reconciliation per line (money per party is core/clearing/ledger.ts `moneyPerParty`).
 */
import { join } from "node:path";
import { setModel } from "../core/clearing/settings.ts";
import { clearDay, type ClearSummary } from "../core/clearing/clear.ts";
import { clearingKeyOf } from "../core/clearing/clearing_key.ts";
import { type DayFiles, writeDayFiles } from "../core/clearing/day_files.ts";
import { checkLedger, type LedgerCheck } from "../core/clearing/ledger.ts";
import type { ReconciliationReport } from "../core/clearing/reports.ts";
import type { ReconciliationRow } from "../core/report/data.ts";
import { withHome, withOffice } from "./steps.ts";

const ACTOR = "icfare demo";

/** Registers every ODA line of the simulated world in the store's network registry. */
export async function registerModels(home: string, simDir: string): Promise<number> {
  const w = JSON.parse(await Deno.readTextFile(join(simDir, "world.json"))) as {
    lines: { id: string; model: "EC" | "ODA" }[];
  };
  return await withOffice(home, ({ db }) => {
    const at = new Date().toISOString();
    const oda = w.lines.filter((l) => l.model === "ODA");
    for (const l of oda) setModel(db, { scope: "line", key: l.id, model: "ODA", by: ACTOR, at });
    return oda.length;
  });
}

/** What the clearing step did. */
export interface DayCleared {
  first: ClearSummary;
  second: ClearSummary;
  files: DayFiles;
  /** The files of the second run have the same SHA-256 as the first's. */
  identical: boolean;
  ledger: LedgerCheck;
}

/** Clears `day` and writes its files; then again, into a second directory, to compare. */
export function clearTwice(home: string, masterKeyFile: string, day: string): Promise<DayCleared> {
  return withHome(home, masterKeyFile, async ({ ks, store, pan }) => {
    const key = await clearingKeyOf(ks);
    const db = store.db;
    const run = async (dir: string) => {
      const summary = clearDay(db, { day, by: ACTOR, deny: store.denyList });
      return { summary, files: await writeDayFiles({ db, pan, key, day, dir }) };
    };
    const a = await run(join(home, "clearing", day));
    const b = await run(join(home, "clearing", `${day}.rerun`));
    const sums = (f: DayFiles) => f.files.map((x) => `${x.name} ${x.sha256}`).join("\n");
    return {
      first: a.summary,
      second: b.summary,
      files: a.files,
      identical: sums(a.files) === sums(b.files),
      ledger: checkLedger(db),
    };
  });
}

/** Reconciliation per line and per terminal with a difference, for the report's table. */
export function reconciliationRows(r: ReconciliationReport): ReconciliationRow[] {
  const row = (
    scope: "line" | "terminal",
    key: string,
    declared: { count: number; amount: number },
    outcomes: Record<string, { count: number; amount: number }>,
  ): ReconciliationRow => {
    const cleared = outcomes["CLEARED"] ?? { count: 0, amount: 0 };
    const reasons: Record<string, number> = {};
    let explained = cleared.amount;
    for (const [k, t] of Object.entries(outcomes)) {
      if (k === "CLEARED") continue;
      reasons[k] = t.amount;
      explained += t.amount;
    }
    return {
      scope,
      key,
      declaredCount: declared.count,
      declaredFen: declared.amount,
      clearedCount: cleared.count,
      clearedFen: cleared.amount,
      differenceFen: declared.amount - explained,
      reasons,
    };
  };
  return [
    ...r.byLine.map((l) => row("line", l.line, l.inDay, l.outcomes)),
    ...r.byTerminal.map((t) => row("terminal", t.terminal, t.inDay, t.outcomes)),
  ];
}

/** The reconciliation report `writeDayFiles` wrote for `day`. */
export async function readReconciliation(home: string, day: string): Promise<ReconciliationReport> {
  return JSON.parse(
    await Deno.readTextFile(join(home, "clearing", day, `reconciliation-${day}.json`)),
  ) as ReconciliationReport;
}
