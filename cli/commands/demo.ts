/**
 * `icfare demo` — the main job end to end on the embedded default (docs/cli.md); the steps
 * live in `demo/demo.ts`, this file parses options and prints.
 */
import { join } from "node:path";
import { flag, parseArgs, str, UsageError } from "../args.ts";
import type { Command } from "../common.ts";

const HELP = `usage: icfare demo [--home DIR] [--master-key-file PATH] [--sim-dir DIR] [--taps N]
                  [--seed S] [--date YYYY-MM-DD] [--model ec|oda|mixed] [--workers N]
                  [--concurrency N] [--json]

The main job end to end, one progress line per step:
  1. a fresh demo home (default ./.icfare/demo; wiped first — only a directory holding the
     DEMO-HOME marker, or an empty one, is ever wiped) and a new DEMO master key file outside it
     (default ./.icfare-demo-master.key, mode 600; test keys only)
  2. keys init, plus the store's pan-hash, card-data and deny-list keys
  3. a simulated day with the default fault mix (default 20,000 taps, seed "demo"), written to
     --sim-dir (default ./.icfare-demo-sim, outside the home: it holds the clear TEST keys)
  4. the simulated issuer keys, CA keys and revoked issuer serials imported; terminals registered
  5. the world's deny-list history replayed into the store (one version per change)
  6. the upload server started as a subprocess with narrow permissions; every batch uploaded in
     uploads.jsonl order by --concurrency terminals at once (default 8), signed requests, every
     answer checked against the expected one; the server stopped
  7. icfare verify over the store (--workers, default one per core), then a second run (must
     find nothing pending)
  8. every verdict compared with the ground truth
  9. the day cleared: every verified record's outcome (cleared, debt, exception, duplicate)
 10. the money checks: every record's outcome, the cleared count and sum against the truth
 11. the reports
--date      the simulated settlement day (default: yesterday in Shanghai)
--model     the lines' transit model: ec (default), oda (every line deferred debit), mixed
Report: HOME/reports/demo-YYYY-MM-DD.json, .txt and .html (a self-contained page with charts).
Exit 0 only when every check passes: every record agrees with the ground truth (verdict and
outcome), every upload got its expected answer, nothing is left pending, and the cleared totals
are the truth's.`;

function intOpt(v: string | undefined, name: string, dflt: number, min: number, max: number) {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  }
  return Number(v);
}

function dateOpt(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v))) {
    throw new UsageError(`--date must be YYYY-MM-DD, got "${v}"`);
  }
  return v;
}

function modelOpt(v: string | undefined): "ec" | "oda" | "mixed" {
  if (v === undefined) return "ec";
  if (v !== "ec" && v !== "oda" && v !== "mixed") {
    throw new UsageError(`--model must be ec, oda or mixed, got "${v}"`);
  }
  return v;
}

export const command: Command = {
  summary: "the main job end to end: simulated day → upload server → verify → report",
  async run(args) {
    const p = parseArgs(args, {
      home: { type: "string" },
      "master-key-file": { type: "string" },
      "sim-dir": { type: "string" },
      taps: { type: "string" },
      seed: { type: "string" },
      date: { type: "string" },
      model: { type: "string" },
      workers: { type: "string" },
      concurrency: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (p.positionals.length) throw new UsageError(`unexpected argument ${p.positionals[0]}`);
    const json = flag(p, "json");
    const { runDemo, reportText } = await import("../../demo/demo.ts");
    const home = str(p, "home") ?? "./.icfare/demo";
    let report;
    try {
      report = await runDemo({
        home,
        masterKeyFile: str(p, "master-key-file") ?? "./.icfare-demo-master.key",
        simDir: str(p, "sim-dir") ?? "./.icfare-demo-sim",
        taps: intOpt(str(p, "taps"), "taps", 20_000, 10, 1_000_000),
        seed: str(p, "seed") ?? "demo",
        date: dateOpt(str(p, "date")),
        model: modelOpt(str(p, "model")),
        workers: str(p, "workers") === undefined
          ? undefined
          : intOpt(str(p, "workers"), "workers", 1, 1, 64),
        concurrency: intOpt(str(p, "concurrency"), "concurrency", 8, 1, 256),
        root: new URL("../../", import.meta.url).pathname,
        log: json ? () => {} : (l) => console.log(l),
      });
    } catch (e) {
      console.error(`icfare demo: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
    const files = join(home, "reports", `demo-${report.date}`);
    if (json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log("");
      console.log(reportText(report).join("\n"));
      console.log(`\nreport: ${files}.json, ${files}.txt, ${files}.html`);
    }
    return report.ok ? 0 : 1;
  },
};
