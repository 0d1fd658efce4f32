/**
 * A day's report as one self-contained HTML page (docs/clearing.md, "Report"): the charts of
 * `charts.ts` inlined as SVG, the verification summary, the reconciliation differences and the
 * run's checks, with the report's data inlined as JSON for machines. No script runs and nothing
 * is fetched: the page opens offline. PANs are masked in the data it is given; the page refuses
 * to be written if a run of 13–19 digits (a clear PAN's shape) slipped into it.
 */
import {
  type Chart,
  denyChangesChart,
  moneyChart,
  outcomesChart,
  tapsPerHourChart,
  verdictsChart,
} from "./charts.ts";
import type { ReconciliationRow, ReportData, VerificationFigures } from "./data.ts";

/** Escapes text for HTML content and attribute values. */
export function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** The charts of a report, in page order. */
export function reportCharts(d: ReportData): Chart[] {
  return [
    tapsPerHourChart(d.tapsByHour),
    outcomesChart(d.outcomes),
    moneyChart(d.money),
    denyChangesChart(d.denyChanges),
    verdictsChart(d.verification),
  ];
}

const CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222;
  background: #f6f7f9; }
header { background: #1f3b57; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; opacity: .85; font-size: 13px; }
main { max-width: 1640px; margin: 0 auto; padding: 16px 20px 32px; display: grid;
  grid-template-columns: repeat(auto-fit, minmax(780px, 1fr)); gap: 16px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px 16px; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 0 0 8px; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eceff2; }
th:first-child, td:first-child { text-align: left; }
#reconciliation td:last-child, #reconciliation th:last-child { text-align: left; }
td.ok { color: #2e7d32; font-weight: 600; } td.bad { color: #c62828; font-weight: 600; }
ul.checks { list-style: none; padding: 0; margin: 0; columns: 2; font-size: 13px; }
ul.checks li { margin: 2px 0; break-inside: avoid; }
p.empty { color: #777; font-style: italic; }
footer { text-align: center; font-size: 11px; color: #888; padding-bottom: 20px; }
`;

const yuan = (fen: number) => (fen / 100).toFixed(2);

function checksSection(d: ReportData): string {
  const failed = d.checks.filter((c) => !c.ok).length;
  const items = d.checks.map((c) =>
    `<li><span class="${c.ok ? "ok" : "bad"}">${c.ok ? "✔" : "✘"}</span> <b>${esc(c.name)}</b> — ${
      esc(c.detail)
    }</li>`
  ).join("\n");
  const head = failed === 0
    ? `All ${d.checks.length} checks passed`
    : `${failed} of ${d.checks.length} checks failed`;
  return `<section class="wide" id="checks"><h2>${head}</h2><ul class="checks">${items}</ul></section>`;
}

function verificationSection(v: VerificationFigures): string {
  const rows: [string, number][] = [
    ["records verified", v.records],
    ["cryptogram checked here", v.cryptogramChecked],
    ["cryptogram left to the issuer (keys not held)", v.cryptogramLeftToIssuer],
    ["offline data authentication checked", v.odaChecked],
    ["refused at upload (kept, not verified)", v.rejectedAtUpload],
  ];
  const body = rows.map(([k, n]) => `<tr><td>${esc(k)}</td><td>${n}</td></tr>`).join("");
  return `<section id="verification"><h2>Verification: checked here and left to the issuer</h2>
<table><tbody>${body}</tbody></table></section>`;
}

function reconRow(r: ReconciliationRow): string {
  const reasons = Object.entries(r.reasons).map(([k, f]) => `${k} ${yuan(f)}`).join(", ");
  return `<tr><td>${esc(r.scope)} ${esc(r.key)}</td><td>${r.declaredCount}</td><td>${
    yuan(r.declaredFen)
  }</td><td>${r.clearedCount}</td><td>${yuan(r.clearedFen)}</td><td class="${
    r.differenceFen === 0 ? "ok" : "bad"
  }">${yuan(r.differenceFen)}</td><td>${esc(reasons || "—")}</td></tr>`;
}

function reconciliationSection(rows: readonly ReconciliationRow[]): string {
  const shown = rows.filter((r) => r.scope !== "terminal" || r.differenceFen !== 0);
  const body = shown.length
    ? shown.map(reconRow).join("\n")
    : `<tr><td colspan="7">no declared totals</td></tr>`;
  return `<section class="wide" id="reconciliation"><h2>Reconciliation: the day's records against what became of them (yuan)</h2>
<table><thead><tr><th>scope</th><th>records</th><th>yuan</th><th>cleared</th><th>yuan</th>
<th>difference</th><th>explained by</th></tr></thead><tbody>${body}</tbody></table>
<p class="empty">Terminals are listed only where their difference is not explained away.</p></section>`;
}

function chartSection(c: Chart): string {
  return `<section class="chart" id="chart-${c.id}" data-chart="${c.id}" data-rows="${c.rows}">` +
    `<h2>${esc(c.title)}</h2>${c.html}</section>`;
}

/**
 * Throws (a bug) when `html` holds a run of 13 to 19 digits, the shape of a clear PAN (digits
 * after a decimal point, as SVG coordinates have, are not one).
 */
export function assertNoClearPan(html: string): void {
  const m = /(?<![0-9.])[0-9]{13,19}(?![0-9])/.exec(html);
  if (m) throw new Error(`report holds a 13–19 digit run at offset ${m.index}: a clear PAN?`);
}

/** The whole page. */
export function renderReportHtml(d: ReportData): string {
  const charts = reportCharts(d);
  const json = JSON.stringify(d).replaceAll("<", "\\u003c");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)} — ${esc(d.day)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(d.title)} — settlement day ${esc(d.day)}</h1><p>${esc(d.subtitle)}</p></header>
<main>
${checksSection(d)}
${charts.map(chartSection).join("\n")}
${verificationSection(d.verification)}
${reconciliationSection(d.reconciliation)}
</main>
<footer>icfare · test data of a simulated world · PANs masked (first 6, last 4)</footer>
<script type="application/json" id="report-data">${json}</script>
</body>
</html>
`;
  assertNoClearPan(html);
  return html;
}
