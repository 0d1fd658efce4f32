/**
 * `icfare demo` — the main job end to end on the embedded default (docs/cli.md); the steps
 * live in `demo/demo.ts`, this file parses options and prints.
 */
import { join } from "node:path";
import { flag, parseArgs, str, UsageError } from "../args.ts";
import { type Command, dateOption, fsRefusal } from "../common.ts";
import { DATABASE_URL_ENV } from "../../core/store/open.ts";
import { isPostgresUrl } from "../../core/store/pg/connect.ts";
import { IcfareError } from "../../core/errors.ts";

const HELP = `usage: icfare demo [--home DIR] [--master-key-file PATH] [--sim-dir DIR] [--taps N]
                  [--seed S] [--date YYYY-MM-DD] [--model ec|oda|mixed] [--workers N]
                  [--concurrency N] [--store postgres://…] [--json]

The main job end to end, one progress line per step:
  1. a fresh demo home (default ./.icfare/demo; wiped first — only a directory holding the
     DEMO-HOME marker, or an empty one, is ever wiped) and a new DEMO master key file outside it
     (default ./.icfare-demo-master.key, mode 600; test keys only)
  2. keys init, plus the store's pan-hash, card-data and deny-list keys
  3. a simulated day with the default fault mix (default 20,000 taps, seed "demo", --date
     default yesterday in Shanghai, --model default ec), written to
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
 10. the money checks: every record's final state, the cleared count and sum against the truth
 11. the reports
--date      the simulated settlement day (default: yesterday in Shanghai, so no record is late)
--model     the lines' transit model: ec (default), oda (every line deferred debit), mixed
--store     run on this PostgreSQL database (an empty one: the demo compares the whole store
            with one simulated day) instead of HOME/icfare.db; same as ICFARE_DATABASE_URL
Report: HOME/reports/demo-YYYY-MM-DD.json, .txt and .html (a self-contained page with charts).
Exit 0 only when every check passes: every record agrees with the ground truth (verdict and
final state), every upload got its expected answer, nothing is left pending, and the cleared
totals are the truth's; 1 when a check fails or a step failed (one coded line:
NOT_A_DEMO_HOME, READ_ONLY_FILESYSTEM, …); 2 bad usage (options out of range, a --date that is
not a day, a --model that is not ec, oda or mixed, keys or world inside the home).`;

function intOpt(v: string | undefined, name: string, dflt: number, min: number, max: number) {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  }
  return Number(v);
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
      store: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (p.positionals.length) throw new UsageError(`unexpected argument ${p.positionals[0]}`);
    const store = str(p, "store");
    if (store !== undefined) {
      if (!isPostgresUrl(store)) throw new UsageError("--store takes a postgres:// URL");
      // every step opens the store the way each command does: ICFARE_DATABASE_URL names it
      Deno.env.set(DATABASE_URL_ENV, store);
    }
    const json = flag(p, "json");
    const { runDemo, reportText, demoOptionProblem } = await import("../../demo/demo.ts");
    const home = str(p, "home") ?? "./.icfare/demo";
    const options: Parameters<typeof runDemo>[0] = {
      home,
      masterKeyFile: str(p, "master-key-file") ?? "./.icfare-demo-master.key",
      simDir: str(p, "sim-dir") ?? "./.icfare-demo-sim",
      taps: intOpt(str(p, "taps"), "taps", 20_000, 10, 1_000_000),
      seed: str(p, "seed") ?? "demo",
      date: dateOption(p, "date"),
      model: modelOpt(str(p, "model")),
      workers: str(p, "workers") === undefined
        ? undefined
        : intOpt(str(p, "workers"), "workers", 1, 1, 64),
      concurrency: intOpt(str(p, "concurrency"), "concurrency", 8, 1, 256),
      root: new URL("../../", import.meta.url).pathname,
      log: json ? () => {} : (l) => console.log(l),
    };
    const problem = demoOptionProblem(options);
    if (problem) throw new UsageError(problem);
    let report;
    try {
      report = await runDemo(options);
    } catch (e) {
      // Refusals (not a demo home, a read-only or full disk) are coded lines from main.ts; any
      // other failure of a step is one line too, never a stack trace.
      if (e instanceof IcfareError || fsRefusal(e)) throw e;
      throw new IcfareError("DEMO_FAILED", e instanceof Error ? e.message : String(e));
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
