/**
 * The browser audit (docs/archive.md, "In the browser") in headless Chromium (Debian's
 * `chromium`, driven by playwright-core): the page is built into one HTML file, opened from
 * disk with the network cut off, given the archives of two simulated days and the auditor's
 * files, and must show the same verdict and the same findings (code, record, field) as the
 * audit on the command line — on the clean days and on a tampered copy — with no console
 * error and no request. A screenshot of the tampered audit is taken (written to
 * docs/img/audit.png with ICFARE_UPDATE_SCREENSHOT=1). Skipped in one line without chromium.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { archiveHome } from "./support/archive_day.ts";
import { chromiumPresent, launchChromium } from "./support/browser.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import type { AuditReport } from "../core/audit/audit.ts";

const BUILD = new URL("../web/audit/build.ts", import.meta.url).pathname;
const PAGE = new URL("../web/audit/dist/icfare-audit.html", import.meta.url).pathname;
const SHOT = new URL("../docs/img/audit.png", import.meta.url).pathname;

const present = chromiumPresent("audit browser test");

/** The failing findings of a report as `code n field` lines, sorted. */
function failing(r: AuditReport): string[] {
  return r.days.flatMap((d) =>
    d.findings.filter((f) => f.severity === "fail").map((f) =>
      `${f.code} ${f.record?.n ?? "-"} ${f.field ?? "-"}`
    )
  ).sort();
}

Deno.test({
  name: "browser audit in headless Chromium: same verdict and findings as the CLI, offline",
  ignore: !present,
  async fn() {
    const built = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", BUILD],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(built.code, 0, new TextDecoder().decode(built.stderr));
    const h = await archiveHome(
      [{ day: "2026-06-24", taps: 120 }, { day: "2026-06-25", taps: 40 }],
      {
        seed: "browser",
        segmentRecords: 30,
      },
    );
    const browser = await launchChromium();
    try {
      const [d1, d2] = h.archives.map((a) => a.file);
      const tampered = join(h.tmp, "tampered-2026-06-24.jsonl");
      const lines = (await Deno.readTextFile(d1)).split("\n");
      const i = lines.findIndex((l) => l.startsWith('{"t":"R","n":12,'));
      lines[i] = lines[i].replace(/"vehicle":"LC-/, '"vehicle":"LX-');
      await Deno.writeTextFile(tampered, lines.join("\n"));
      const keyFiles = ["--auditor-key", h.files.auditorKey, "--signer", h.files.signer];
      const context = await browser.newContext({
        viewport: { width: 1400, height: 900 },
        offline: true,
      });
      const page = await context.newPage();
      const errors: string[] = [], requests: string[] = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("request", (r) => {
        if (!r.url().startsWith("file://") && !r.url().startsWith("blob:")) requests.push(r.url());
      });
      await page.goto(`file://${PAGE}`, { waitUntil: "load" });
      const inPage = async (archives: string[]) => {
        await page.setInputFiles("#archives", archives);
        await page.setInputFiles("#auditor-key", h.files.auditorKey);
        await page.setInputFiles("#signer", h.files.signer);
        await page.click("#run");
        await page.waitForSelector('#verdict[data-state="done"], #verdict[data-state="error"]', {
          timeout: 120_000,
        });
        return await page.evaluate(`(() => ({
          clean: document.getElementById("verdict").dataset.clean,
          verdict: document.getElementById("verdict").textContent,
          rows: [...document.querySelectorAll("#findings-body tr.fail")].map((tr) => {
            const c = [...tr.children].map((td) => td.textContent);
            return c[1] + " " + (c[3] ? c[3].split(" ")[0].slice(2) : "-") + " " + (c[4] || "-");
          }).sort(),
          progress: document.getElementById("progress").value,
        }))()`) as { clean: string; verdict: string; rows: string[]; progress: number };
      };
      const cli = async (archives: string[]) => {
        const r = await icfareRun(["audit", ...archives, ...keyFiles, "--json"]);
        return { code: r.code, report: JSON.parse(r.stdout) as AuditReport };
      };

      const clean = await inPage([d1, d2]);
      const cleanCli = await cli([d1, d2]);
      assertEquals(cleanCli.code, 0);
      assertEquals(clean.clean, "true", clean.verdict);
      assertEquals(clean.rows, failing(cleanCli.report));
      assert(clean.verdict.includes(`${cleanCli.report.records} record(s)`), clean.verdict);
      assertEquals(clean.progress, 1);

      const bad = await inPage([tampered, d2]);
      const badCli = await cli([tampered, d2]);
      assertEquals(badCli.code, 1);
      assertEquals(bad.clean, "false");
      assertEquals(bad.rows, failing(badCli.report));
      assert(bad.rows.includes("RECORD_ALTERED 12 vehicle"), bad.rows.join("\n"));
      assert(bad.rows.some((r) => r.startsWith("EVIDENCE_MISMATCH 12")), bad.rows.join("\n"));

      assertEquals(errors, []);
      assertEquals(requests, []);
      const png = await page.screenshot({ fullPage: true });
      assert(png.length > 30_000, `screenshot of ${png.length} bytes`);
      await Deno.writeFile(join(h.tmp, "audit.png"), png);
      if (Deno.env.get("ICFARE_UPDATE_SCREENSHOT") === "1") await Deno.writeFile(SHOT, png);
      await context.close();
    } finally {
      await browser.close();
      await h.close();
    }
  },
});
