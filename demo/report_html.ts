/**
 * The demo's HTML report (`HOME/reports/demo-DATE.html`): the day's figures gathered from the
 * store and the money steps into the report data of core/report, drawn by its charts into one
 * self-contained page.
 */
import { join } from "node:path";
import { withOffice } from "./steps.ts";
import {
  type CheckRow,
  type DenyChangeRow,
  type OutcomeCount,
  type PartyMoney,
  type ReconciliationRow,
  type ReportData,
  storeFigures,
} from "../core/report/data.ts";
import { renderReportHtml } from "../core/report/html.ts";

type Row = Record<string, unknown>;

/** The deny list's changes from its journal: every event that made a new version. */
export function denyChanges(home: string): Promise<DenyChangeRow[]> {
  return withOffice(home, ({ db }) => {
    const rows = db.prepare(
      `SELECT version, event, reason FROM deny_journal WHERE version IS NOT NULL
       ORDER BY version`,
    ).all() as Row[];
    return rows.map((r) => ({
      version: Number(r.version),
      action: r.event === "hold" ? "add" : "remove",
      reason: String(r.reason),
    }));
  });
}

/** What the page shows besides what the store gives. */
export interface HtmlParts {
  readonly title: string;
  readonly subtitle: string;
  readonly day: string;
  readonly outcomes: readonly OutcomeCount[];
  readonly money: readonly PartyMoney[];
  readonly reconciliation: readonly ReconciliationRow[];
  readonly checks: readonly CheckRow[];
}

/** Writes the page to `HOME/reports/<file>`; resolves to its path. */
export async function writeHtmlReport(home: string, file: string, p: HtmlParts): Promise<string> {
  const figures = await withOffice(home, ({ db }) => storeFigures(db, p.day));
  const data: ReportData = {
    title: p.title,
    day: p.day,
    subtitle: p.subtitle,
    tapsByHour: figures.tapsByHour,
    outcomes: p.outcomes,
    money: p.money,
    denyChanges: await denyChanges(home),
    verification: figures.verification,
    reconciliation: p.reconciliation,
    checks: p.checks,
  };
  const dir = join(home, "reports");
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, file);
  await Deno.writeTextFile(path, renderReportHtml(data));
  return path;
}
