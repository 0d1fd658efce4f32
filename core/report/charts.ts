/**
 * The report's charts, drawn at report time by Observable Plot into SVG on a server-side DOM
 * (linkedom), so a page can show them without scripts or a network: taps per hour per line,
 * outcomes by reason, money per party, deny-list changes and verdicts. Each chart is a function
 * of report rows (`data.ts`) and returns its markup; the demo's HTML report and the operator
 * console use the same functions.
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import type {
  DenyChangeRow,
  OutcomeCount,
  PartyMoney,
  TapsByHour,
  VerificationFigures,
} from "./data.ts";

/** A drawn chart: its id (for the page and tests), title, markup, and the data rows drawn. */
export interface Chart {
  readonly id: string;
  readonly title: string;
  /** A `<figure>` or `<svg>` element's outer HTML; a short note when there is no data. */
  readonly html: string;
  /** Data rows behind the marks (0: the chart says it has nothing to draw). */
  readonly rows: number;
}

const WIDTH = 760;
const FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif";

/** A fresh server-side document for Plot to draw into. */
function newDocument(): NonNullable<Plot.PlotOptions["document"]> {
  // linkedom's types describe a browser window, which Deno's type library does not declare.
  const w = parseHTML("<!doctype html><html><head></head><body></body></html>") as unknown as {
    document: NonNullable<Plot.PlotOptions["document"]>;
  };
  return w.document;
}

/** Runs Plot on a fresh document; a chart without rows is a one-line note instead. */
function draw(
  id: string,
  title: string,
  rows: number,
  options: () => Plot.PlotOptions,
): Chart {
  if (rows === 0) {
    return { id, title, rows, html: `<p class="empty">Nothing to draw for this day.</p>` };
  }
  const el = Plot.plot({
    width: WIDTH,
    style: { fontFamily: FONT, fontSize: "12px", background: "transparent" },
    ...options(),
    document: newDocument(),
  });
  return { id, title, rows, html: (el as unknown as { outerHTML: string }).outerHTML };
}

const yuan = (fen: number) => fen / 100;

/** Stacked bars: taps in each hour of the day, one colour per line. */
export function tapsPerHourChart(rows: readonly TapsByHour[]): Chart {
  const lines = [...new Set(rows.map((r) => r.line))].sort();
  return draw("taps-per-hour", "Taps per hour and line", rows.length, () => ({
    height: 300,
    x: { type: "band", domain: Array.from({ length: 24 }, (_, h) => h), label: "hour (Shanghai)" },
    y: { grid: true, label: "taps" },
    color: { type: "ordinal", domain: lines, scheme: "tableau10", legend: true },
    marks: [
      Plot.barY(rows as TapsByHour[], { x: "hour", y: "taps", fill: "line", tip: false }),
      Plot.ruleY([0]),
    ],
  }));
}

const OUTCOME_ORDER = ["CLEARED", "DEBT", "RECOVERED", "WRITTEN_OFF", "EXCEPTION", "DUPLICATE"];

/** Horizontal bars: records by outcome and reason, longest first. */
export function outcomesChart(rows: readonly OutcomeCount[]): Chart {
  const data = rows.map((r) => ({ ...r, label: `${r.outcome} · ${r.reason}` }));
  const outcomes = OUTCOME_ORDER.filter((o) => rows.some((r) => r.outcome === o))
    .concat([...new Set(rows.map((r) => r.outcome))].filter((o) => !OUTCOME_ORDER.includes(o)));
  return draw("outcomes", "Outcomes by reason", rows.length, () => ({
    height: 60 + 24 * data.length,
    marginLeft: 230,
    marginRight: 60,
    x: { type: "log", grid: true, label: "records (log scale)" },
    y: { label: null },
    color: { type: "ordinal", domain: outcomes, scheme: "set2", legend: true },
    marks: [
      Plot.barX(data, {
        y: "label",
        x1: 0.8,
        x2: "records",
        fill: "outcome",
        sort: { y: "x2", reverse: true },
      }),
      Plot.text(data, {
        y: "label",
        x: "records",
        text: (d) => String(d.records),
        dx: 4,
        textAnchor: "start",
      }),
    ],
  }));
}

/** Horizontal bars: each party's balance in yuan (owed to it right of zero, owed by it left). */
export function moneyChart(rows: readonly PartyMoney[]): Chart {
  const data = rows.map((r) => ({
    ...r,
    label: r.account ? `${r.party} · ${r.account}` : r.party,
    yuan: yuan(r.fen),
    side: r.fen >= 0 ? "owed to the party" : "owed by the party",
  }));
  return draw("money", "Money per party (yuan)", rows.length, () => ({
    height: 60 + 26 * data.length,
    marginLeft: 260,
    marginRight: 80,
    x: { grid: true, label: "yuan" },
    y: { label: null },
    color: {
      type: "ordinal",
      domain: ["owed to the party", "owed by the party"],
      range: ["#4e79a7", "#e15759"],
      legend: true,
    },
    marks: [
      Plot.barX(data, { y: "label", x: "yuan", fill: "side", sort: { y: "x" } }),
      Plot.ruleX([0]),
      // Values right of the zero line: at a bar's end when owed to the party, by the axis when not.
      Plot.text(data, {
        y: "label",
        x: (d) => Math.max(0, d.yuan),
        text: (d) => d.yuan.toFixed(2),
        dx: 4,
        textAnchor: "start",
      }),
    ],
  }));
}

/**
 * The deny list over its versions: cards listed after each version (a step line) and each
 * change as a mark (up: added, down: removed), coloured by reason.
 */
export function denyChangesChart(rows: readonly DenyChangeRow[]): Chart {
  let listed = 0;
  const data = [...rows].sort((a, b) => a.version - b.version).map((r) => {
    listed += r.action === "add" ? 1 : -1;
    return { ...r, listed };
  });
  const reasons = [...new Set(rows.map((r) => r.reason))].sort();
  return draw("deny-changes", "Deny-list changes", rows.length, () => ({
    height: 280,
    x: {
      label: "version",
      ticks: data.length <= 12 ? data.map((d) => d.version) : 10,
      tickFormat: "d",
    },
    y: { label: "cards listed", grid: true },
    color: { type: "ordinal", domain: reasons, scheme: "dark2", legend: true },
    symbol: { type: "ordinal", domain: ["add", "remove"], range: ["triangle", "times"] },
    marks: [
      Plot.lineY(data, { x: "version", y: "listed", curve: "step-after", stroke: "#999" }),
      Plot.dot(data, {
        x: "version",
        y: "listed",
        fill: "reason",
        stroke: "reason",
        symbol: "action",
        r: 4,
      }),
      Plot.ruleY([0]),
    ],
  }));
}

/** Horizontal bars: verdicts by status. */
export function verdictsChart(v: VerificationFigures): Chart {
  const data = Object.entries(v.byStatus).map(([status, records]) => ({ status, records }));
  return draw("verdicts", "Verdicts by status", data.length, () => ({
    height: 60 + 24 * data.length,
    marginLeft: 140,
    marginRight: 60,
    x: { type: "log", grid: true, label: "records (log scale)" },
    y: { label: null },
    marks: [
      Plot.barX(data, {
        y: "status",
        x1: 0.8,
        x2: "records",
        fill: (d) => (d.status === "OK" ? "#59a14f" : "#f28e2b"),
        sort: { y: "x2", reverse: true },
      }),
      Plot.text(data, {
        y: "status",
        x: "records",
        text: (d) => String(d.records),
        dx: 4,
        textAnchor: "start",
      }),
    ],
  }));
}
