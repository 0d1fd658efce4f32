/**
 * A day's report: its data rows (`data.ts`), its charts drawn by Observable Plot to SVG
 * (`charts.ts`) and the self-contained HTML page (`html.ts`).
 *
 * @module
 */
export * from "./data.ts";
export * from "./charts.ts";
export { assertNoClearPan, renderReportHtml, reportCharts } from "./html.ts";
