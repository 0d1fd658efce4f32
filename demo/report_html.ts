/**
 * The demo's HTML report (`HOME/reports/demo-DATE.html`): the day's figures gathered from the
 * store and the money steps into the report data of core/report, drawn by its charts into one
 * self-contained page.
 */
import { join } from "node:path";
import { openSqliteStore, STORE_FILE } from "../core/store/sqlite.ts";
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
import type { StoredOutcome } from "./money.ts";

type Row = Record<string, unknown>;
type Tally = { -readonly [K in keyof ReconciliationRow]: ReconciliationRow[K] } & {
  reasons: Record<string, number>;
};

/** The deny list's changes from its journal: every event that made a new version. */
export function denyChanges(home: string): DenyChangeRow[] {
  const store = openSqliteStore(join(home, STORE_FILE));
  try {
    const rows = store.connection.prepare(
      `SELECT version, event, reason FROM deny_journal WHERE version IS NOT NULL
       ORDER BY version`,
    ).all() as Row[];
    return rows.map((r) => ({
      version: Number(r.version),
      action: r.event === "hold" ? "add" : "remove",
      reason: String(r.reason),
    }));
  } finally {
    store.close();
  }
}

/**
 * Per line: the totals the terminals declared in their stored batches against the records
 * cleared, the difference explained by what became of the others (reason → fen).
 */
export function reconcileLines(
  home: string,
  outcomes: ReadonlyMap<string, StoredOutcome>,
): ReconciliationRow[] {
  const store = openSqliteStore(join(home, STORE_FILE));
  try {
    const declared = store.connection.prepare(
      `SELECT r.line AS line, b.record_count AS n, b.amount AS fen, b.id AS id
       FROM batches b JOIN records r ON r.batch_id = b.id GROUP BY b.id`,
    ).all() as Row[];
    const lines = new Map<string, Tally>();
    const lineOf = (l: string) => {
      let x = lines.get(l);
      if (!x) {
        x = {
          scope: "line",
          key: l,
          declaredCount: 0,
          declaredFen: 0,
          clearedCount: 0,
          clearedFen: 0,
          differenceFen: 0,
          reasons: {},
        };
        lines.set(l, x);
      }
      return x;
    };
    for (const b of declared) {
      const x = lineOf(String(b.line));
      x.declaredCount += Number(b.n);
      x.declaredFen += Number(b.fen);
    }
    const recs = store.connection.prepare("SELECT terminal_id, batch_no, seq, line FROM records")
      .all() as Row[];
    for (const r of recs) {
      const o = outcomes.get(`${r.terminal_id}/${r.batch_no}/${r.seq}`);
      if (!o) continue;
      const x = lineOf(String(r.line));
      if (o.outcome === "CLEARED") (x.clearedCount++, x.clearedFen += o.fare);
      else {
        const why = o.outcome === "EXCEPTION" || o.outcome === "REJECTED" ? o.reason : o.outcome;
        x.reasons[why] = (x.reasons[why] ?? 0) + o.fare;
      }
    }
    return [...lines.values()].map((x) => ({
      ...x,
      differenceFen: x.declaredFen - x.clearedFen -
        Object.values(x.reasons).reduce((a, b) => a + b, 0),
    })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  } finally {
    store.close();
  }
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
  const store = openSqliteStore(join(home, STORE_FILE));
  let figures;
  try {
    figures = storeFigures(store.connection, p.day);
  } finally {
    store.close();
  }
  const data: ReportData = {
    title: p.title,
    day: p.day,
    subtitle: p.subtitle,
    tapsByHour: figures.tapsByHour,
    outcomes: p.outcomes,
    money: p.money,
    denyChanges: denyChanges(home),
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
