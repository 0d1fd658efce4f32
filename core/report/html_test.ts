import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { DatabaseSync } from "node:sqlite";
import { assertNoClearPan, renderReportHtml, reportCharts } from "./html.ts";
import { type ReportData, shanghaiHour, storeFigures } from "./data.ts";

const data: ReportData = {
  title: "icfare <demo>",
  day: "2026-12-03",
  subtitle: "seed t; 623501******1234 masked",
  tapsByHour: [
    { hour: 7, line: "1", taps: 30 },
    { hour: 7, line: "2", taps: 20 },
    { hour: 18, line: "1", taps: 12 },
  ],
  outcomes: [
    { outcome: "CLEARED", reason: "EC_TC", records: 900, fen: 180000 },
    { outcome: "EXCEPTION", reason: "EC_ARQC", records: 300, fen: 60000 },
  ],
  money: [
    { party: "issuer 623501", account: "receivable", fen: 50000 },
    { party: "bus company", account: "line 1", fen: -45000 },
    { party: "acquirer", account: "fees", fen: -5000 },
  ],
  denyChanges: [
    { version: 1, action: "add", reason: "DEBT_DECLINED" },
    { version: 2, action: "remove", reason: "DEBT_RECOVERED" },
  ],
  verification: {
    records: 1200,
    byStatus: { OK: 1150, AC_MISMATCH: 50 },
    cryptogramChecked: 1100,
    cryptogramLeftToIssuer: 100,
    odaChecked: 1200,
    rejectedAtUpload: 4,
  },
  reconciliation: [{
    scope: "line",
    key: "1",
    declaredCount: 10,
    declaredFen: 2000,
    clearedCount: 9,
    clearedFen: 1800,
    differenceFen: 200,
    reasons: { EC_ARQC: 200 },
  }],
  checks: [{ name: "ledger", ok: true, detail: "sums to 0 fen" }],
};

/** The markup of one chart section. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section class="chart" id="chart-${id}"`);
  assert(start >= 0, `section ${id}`);
  return html.slice(start, html.indexOf("</section>", start));
}

Deno.test("report page: every chart drawn as SVG marks, data inlined, nothing to fetch or run", () => {
  const html = renderReportHtml(data);
  const marks: Record<string, RegExp> = {
    "taps-per-hour": /<rect /g,
    "outcomes": /<rect /g,
    "money": /<rect /g,
    "deny-changes": /<path /g,
    "verdicts": /<rect /g,
  };
  for (const [id, re] of Object.entries(marks)) {
    const s = section(html, id);
    assert((s.match(re) ?? []).length >= 2, `${id} has marks`);
    assert(s.includes("<svg"), `${id} is SVG`);
  }
  // Bars of the taps chart: one per (hour, line) row.
  const taps = section(html, "taps-per-hour");
  assertEquals(taps.match(/aria-label="bar"/g)?.length, 1);
  for (const bad of ["<script src", "<link", "src=", "@import", "url(http"]) {
    assertEquals(html.includes(bad), false, bad);
  }
  const scripts = html.match(/<script[^>]*>/g) ?? [];
  assertEquals(scripts, ['<script type="application/json" id="report-data">']);
  const json = /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)!;
  assertEquals(JSON.parse(json[1]), data);
  assert(html.includes("icfare &lt;demo&gt;"), "title escaped");
  assertEquals(html.includes("icfare <demo>"), false);
});

Deno.test("report page: a chart without rows says so; a clear PAN stops the page", () => {
  const charts = reportCharts({ ...data, denyChanges: [] });
  const deny = charts.find((c) => c.id === "deny-changes")!;
  assertEquals(deny.rows, 0);
  assert(deny.html.includes("Nothing to draw"));
  assertThrows(
    () => renderReportHtml({ ...data, subtitle: "card 6235011234567890" }),
    Error,
    "clear PAN",
  );
  assertNoClearPan("x 95.00000000000001 y 623501******7890");
  assertThrows(() => assertNoClearPan("6235041234567890123"), Error, "clear PAN");
});

Deno.test("store figures: taps per Shanghai hour and line; checked vs left to the issuer", () => {
  const db = new DatabaseSync(":memory:");
  db.exec(
    "CREATE TABLE records (tapped_at TEXT, line TEXT, status TEXT, verification TEXT)",
  );
  const v = (status: string, cryptogram: string, oda: string) =>
    JSON.stringify({ status, detail: { cryptogram, oda } });
  const ins = db.prepare("INSERT INTO records VALUES (?, ?, ?, ?)");
  ins.run("2026-12-03T07:10:00+08:00", "1", "verified", v("OK", "ok", "ok"));
  ins.run("2026-12-02T23:20:00Z", "1", "verified", v("OK", "no-key", "ok")); // 07:20 in Shanghai
  ins.run("2026-12-03T18:00:00+08:00", "K1", "verified", v("AC_MISMATCH", "mismatch", "failed"));
  ins.run("2026-12-03T18:05:00+08:00", "K1", "rejected", null);
  ins.run("2026-12-04T06:00:00+08:00", "1", "verified", v("OK", "ok", "ok")); // another day
  const f = storeFigures(db, "2026-12-03");
  assertEquals(f.tapsByHour, [
    { hour: 7, line: "1", taps: 2 },
    { hour: 18, line: "K1", taps: 2 },
  ]);
  assertEquals(f.verification, {
    records: 3,
    byStatus: { AC_MISMATCH: 1, OK: 2 },
    cryptogramChecked: 2,
    cryptogramLeftToIssuer: 1,
    odaChecked: 3,
    rejectedAtUpload: 1,
  });
  assertEquals(storeFigures(db).verification.records, 4);
  assertEquals(shanghaiHour("2026-12-03T16:30:00Z"), 0);
  db.close();
});
