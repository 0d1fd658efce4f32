/**
 * `icfare demo`: the main job end to end on the embedded default (docs/cli.md), one step after
 * another, each timed:
 *
 * 1. a fresh home (wiped first, only if it is a demo home) and a DEMO master key file outside it;
 * 2. `keys init` plus the store's own keys (pan-hash, card-data, deny-list signing);
 * 3. a simulated day (`sim/`, in process) in a directory outside the home;
 * 4. the simulated issuer keys (IMK-AC/IMK-MAC), CA public keys (with the revoked issuer
 *    certificate serials) imported into the key store, every terminal registered (fresh keys,
 *    handed to the simulated terminals in memory only);
 * 5. the world's deny-list history replayed into the store (the versions the terminals report);
 * 6. the real upload server as a subprocess with narrow permissions, every batch uploaded in
 *    `uploads.jsonl` order by several concurrent terminals with signed requests (each terminal's
 *    uploads in order), each answer checked against the expected one; the server stopped;
 * 7. store verification (`verifyHome`, parallel workers), then a second run;
 * 8. every verdict compared with `truth.jsonl`;
 * 9. the day cleared: every verified record's outcome by the clearing table;
 * 10. the money checks: every record's outcome, and the cleared count and sum, against the truth;
 * 11. the reports written to HOME/reports: JSON, text, and a self-contained HTML page with charts.
 *
 * The steps live in `steps.ts`, `denylist.ts`, `upload.ts`, `money.ts`, `report.ts` and
 * `report_html.ts`; this file runs them in order.
 * No key value and no clear PAN reaches the output or the report.
 */
import { join } from "node:path";
import type { TruthRow, UploadEntry } from "../sim/day.ts";
import { dateProblem } from "../core/dates.ts";
import { IcfareError } from "../core/errors.ts";
import {
  demoDay,
  freshHome,
  importKeys,
  isInside,
  keysInit,
  simulateDay,
  verifyTwice,
} from "./steps.ts";
import { replayDenyList } from "./denylist.ts";
import { checkOutcomes, grossMoney, storedOutcomes } from "./money.ts";
import { reconcileLines, writeHtmlReport } from "./report_html.ts";
import type { Model } from "../core/clearing/outcomes.ts";
import type { CheckRow } from "../core/report/data.ts";
import { startServerProcess, uploadAll } from "./upload.ts";
import {
  compareWithTruth,
  type DemoReport,
  type MoneySummary,
  type StepTiming,
  type UploadSummary,
  writeReport,
} from "./report.ts";

export { DEMO_MARKER, freshDemoHome } from "./steps.ts";
export { compareWithTruth, reportText, writeReport } from "./report.ts";
export type { DemoReport, StepTiming } from "./report.ts";

/** Options of a demo run. */
export interface DemoOptions {
  /** The demo home (wiped first). */
  readonly home: string;
  /** The DEMO master key file (outside the home; written fresh, mode 600). */
  readonly masterKeyFile: string;
  /** Where the simulated day is written (outside the home; holds clear test keys). */
  readonly simDir: string;
  readonly taps: number;
  readonly seed: string;
  /** The simulated settlement day, YYYY-MM-DD (default: yesterday in Shanghai). */
  readonly date?: string;
  /** The lines' transit model: all EC (default), all ODA, or half and half. */
  readonly model?: "ec" | "oda" | "mixed";
  /** Verification workers (default one per core). */
  readonly workers?: number;
  /** Concurrent uploading terminals (default 8). */
  readonly concurrency?: number;
  /** The directory holding `cli/main.ts` (to start the server). */
  readonly root: string;
  /** One line per step. */
  readonly log: (line: string) => void;
}

/** The steps, in order (their count prints as `[n/N]`). */
export const STEP_NAMES = [
  "fresh home",
  "keys init",
  "simulate day",
  "import keys",
  "deny list",
  "upload via server",
  "verify store",
  "compare with truth",
  "clear day",
  "money checks",
  "reports",
] as const;

/** Runs named steps in order, timing each and logging one line per step. */
class StepRunner {
  readonly steps: StepTiming[] = [];
  constructor(readonly log: (line: string) => void) {}

  async run<T>(
    name: typeof STEP_NAMES[number],
    f: () => Promise<T>,
    done: (v: T) => string,
  ): Promise<T> {
    const s = performance.now();
    const v = await f();
    const sec = (performance.now() - s) / 1000;
    this.steps.push({ step: name, seconds: Math.round(sec * 100) / 100 });
    const n = STEP_NAMES.indexOf(name) + 1;
    this.log(`[${n}/${STEP_NAMES.length}] ${name.padEnd(22)} ${done(v)} (${sec.toFixed(1)} s)`);
    return v;
  }
}

/**
 * Why the options cannot be used (a usage error), or null: taps out of range, a date that is not
 * a day, test keys or the simulated world inside the home (or the home inside the world).
 */
export function demoOptionProblem(o: DemoOptions): string | null {
  if (!Number.isInteger(o.taps) || o.taps < 10 || o.taps > 1_000_000) {
    return `--taps must be an integer 10..1000000, got ${o.taps}`;
  }
  const date = o.date === undefined ? null : dateProblem(o.date);
  if (date) return `--date: ${date}`;
  if (isInside(o.masterKeyFile, o.home)) {
    return `the master key file ${o.masterKeyFile} must be outside the home ${o.home}`;
  }
  if (isInside(o.simDir, o.home) || isInside(o.home, o.simDir)) {
    return `the simulation directory ${o.simDir} must be outside the home ${o.home}`;
  }
  return null;
}

async function readJsonl<T>(path: string): Promise<T[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim()).map((l) =>
    JSON.parse(l) as T
  );
}

/** Step 6: the server started, the manifest uploaded, the server stopped. */
async function uploadViaServer(
  o: DemoOptions,
  truth: readonly TruthRow[],
  terminalKeys: ReadonlyMap<string, CryptoKey>,
): Promise<UploadSummary> {
  const manifest = await readJsonl<UploadEntry>(join(o.simDir, "uploads.jsonl"));
  const server = await startServerProcess(o.root, o.home, o.masterKeyFile);
  let u: UploadSummary | undefined;
  try {
    u = await uploadAll({
      url: server.url,
      simDir: o.simDir,
      manifest,
      truth,
      terminalKeys,
      concurrency: o.concurrency ?? 8,
    });
  } finally {
    const st = await server.stop();
    if (u && st.code !== 0 && st.code !== 143) {
      u.unexpected.push(`server exited ${st.code}: ${st.stderr.slice(0, 300)}`);
    }
  }
  return u;
}

function uploadLine(u: UploadSummary): string {
  return `${u.requests} requests: ${u.stored} stored, ${u.replayed} replayed, ` +
    `${u.totalsMismatch} TOTALS_MISMATCH; ${u.recordsAccepted} records accepted, ` +
    `${u.recordsRejected} rejected; ${u.unexpected.length} unexpected answers`;
}

/** Steps 1–5: a fresh home and key store, the simulated day, its keys and its deny list. */
async function prepare(o: DemoOptions, step: StepRunner, day: string) {
  await step.run(
    "fresh home",
    () => freshHome(o.home, o.masterKeyFile),
    () => `${o.home}; DEMO master key file ${o.masterKeyFile} (mode 600)`,
  );
  await step.run(
    "keys init",
    () => keysInit(o.home, o.masterKeyFile),
    (kcv) => `key store created (master KCV ${kcv}); pan-hash, data, denylist keys`,
  );
  const sim = await step.run(
    "simulate day",
    () => simulateDay(o.simDir, o.seed, o.taps, day, o.model ?? "ec"),
    (r) =>
      `${r.records} records, ${r.batches} batches, ${r.terminals} terminals, ${r.activeCards} cards; ` +
      `day ${day}, model ${o.model ?? "ec"}`,
  );
  const terminalKeys = new Map<string, CryptoKey>();
  await step.run(
    "import keys",
    () => importKeys(o.home, o.masterKeyFile, o.simDir, terminalKeys),
    (r) =>
      `${r.keys} issuer keys, ${r.capks} CA keys (${r.revoked} revoked issuer serials), ${r.terminals} terminals`,
  );
  const deny = await step.run(
    "deny list",
    () => replayDenyList(o.home, o.masterKeyFile, o.simDir),
    (d) =>
      `${d.changes} changes replayed (${d.adds} added, ${d.removes} removed): version ${d.version}; ` +
      `stale terminals run ${d.staleVersion}`,
  );
  return { sim, terminalKeys, deny };
}

/** The terminals' models as the simulated world registered them (world.json). */
async function modelsOf(simDir: string): Promise<(terminalId: string) => Model> {
  const w = JSON.parse(await Deno.readTextFile(join(simDir, "world.json"))) as {
    terminals: { id: string; model: Model }[];
  };
  const m = new Map(w.terminals.map((t) => [t.id, t.model]));
  return (id) => m.get(id) ?? "EC";
}

/** Steps 9–10: the day cleared, every record's outcome and the cleared totals checked. */
async function money(o: DemoOptions, step: StepRunner, truth: readonly TruthRow[]) {
  const modelOf = await modelsOf(o.simDir);
  const stored = await step.run(
    "clear day",
    () => Promise.resolve(storedOutcomes(o.home, modelOf)),
    (s) => {
      let cleared = 0, fen = 0, debts = 0, exceptions = 0;
      for (const x of s.values()) {
        if (x.outcome === "CLEARED") (cleared++, fen += x.fare);
        if (x.outcome === "DEBT") debts++;
        if (x.outcome === "EXCEPTION") exceptions++;
      }
      return `${cleared} cleared (${(fen / 100).toFixed(2)} yuan), ${debts} debts, ` +
        `${exceptions} exceptions`;
    },
  );
  const check = await step.run(
    "money checks",
    () => Promise.resolve(checkOutcomes(truth, stored)),
    (c) =>
      `${c.agree}/${c.rows} outcomes agree with the truth; cleared ${c.cleared.store.count} ` +
      `records ${(c.cleared.store.fen / 100).toFixed(2)} yuan (truth ${c.cleared.truth.count}, ` +
      `${(c.cleared.truth.fen / 100).toFixed(2)} yuan)`,
  );
  const summary: MoneySummary = {
    rows: check.rows,
    agree: check.agree,
    disagreements: check.disagreements,
    cleared: check.cleared,
    outcomes: check.outcomes,
    denyAdds: check.denyAdds,
  };
  return { stored, summary };
}

/** The run's checks, as the report lists them. */
function checkRows(r: Omit<DemoReport, "ok" | "checks">): CheckRow[] {
  const m = r.money, c = m.cleared;
  return [
    {
      name: "uploads",
      ok: r.upload.unexpected.length === 0,
      detail: `${r.upload.requests} requests, ${r.upload.unexpected.length} unexpected answers`,
    },
    {
      name: "verdicts",
      ok: r.truth.agree === r.truth.rows && r.truth.rows > 0,
      detail: `${r.truth.agree}/${r.truth.rows} agree with the truth`,
    },
    {
      name: "nothing pending",
      ok: r.secondRunPending === 0,
      detail: `second verify run: ${r.secondRunPending} pending`,
    },
    {
      name: "outcomes",
      ok: m.agree === m.rows && m.rows > 0,
      detail: `${m.agree}/${m.rows} records end as the truth says`,
    },
    {
      name: "cleared totals",
      ok: c.store.count === c.truth.count && c.store.fen === c.truth.fen,
      detail:
        `${c.store.count} records, ${
          (c.store.fen / 100).toFixed(2)
        } yuan; truth ${c.truth.count}, ` +
        `${(c.truth.fen / 100).toFixed(2)} yuan`,
    },
  ];
}

/** Runs the whole demo; returns the report (written to HOME/reports as JSON, text and HTML). */
export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const problem = demoOptionProblem(o);
  if (problem) throw new IcfareError("DEMO_OPTIONS", problem);
  const t0 = performance.now();
  const step = new StepRunner(o.log);
  const day = o.date ?? demoDay(new Date());
  const { sim, terminalKeys, deny } = await prepare(o, step, day);
  const truth = await readJsonl<TruthRow>(join(o.simDir, "truth.jsonl"));
  const upload = await step.run(
    "upload via server",
    () => uploadViaServer(o, truth, terminalKeys),
    uploadLine,
  );
  terminalKeys.clear();
  const v = await step.run(
    "verify store",
    () => verifyTwice(o.home, o.masterKeyFile, o.workers),
    ({ summary: s, secondRunPending }) =>
      `${s.records} records on ${s.workers} workers (${s.perSecond}/s); ` +
      `${s.acrossBatches} duplicates/replays across batches; second run: ${secondRunPending} pending`,
  );
  const cmp = await step.run(
    "compare with truth",
    () => Promise.resolve(compareWithTruth(o.home, truth)),
    (c) => `${c.agree}/${c.rows} agree (${c.agreementPercent.toFixed(2)} %)`,
  );
  const m = await money(o, step, truth);
  const base = {
    date: new Date().toISOString().slice(0, 10),
    day,
    model: o.model ?? "ec",
    home: o.home,
    seed: o.seed,
    taps: o.taps,
    world: {
      cards: sim.cards,
      terminals: sim.terminals,
      records: sim.records,
      batches: sim.batches,
      uploads: sim.uploads,
    },
    denyList: deny,
    upload,
    verify: v.summary,
    secondRunPending: v.secondRunPending,
    truth: cmp,
    money: m.summary,
    steps: step.steps,
    totalSeconds: 0,
  };
  const checks = checkRows(base);
  const report: DemoReport = { ...base, checks, ok: checks.every((c) => c.ok) };
  await step.run("reports", async () => {
    const files = await writeReport(o.home, report);
    const html = await writeHtmlReport(o.home, `demo-${report.date}.html`, {
      title: "icfare demo",
      day,
      subtitle: `seed ${o.seed}, ${o.taps} taps drawn, model ${report.model}; ` +
        `${sim.terminals} terminals, ${sim.cards} cards; test keys only`,
      outcomes: m.summary.outcomes,
      money: grossMoney(m.stored),
      reconciliation: reconcileLines(o.home, m.stored),
      checks,
    });
    return { ...files, html };
  }, (f) => `${f.json}, ${f.txt}, ${f.html}`);
  report.totalSeconds = Math.round((performance.now() - t0) / 10) / 100;
  await writeReport(o.home, report);
  return report;
}
