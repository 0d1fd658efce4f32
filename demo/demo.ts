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
 * 5. the real upload server as a subprocess with narrow permissions, every batch uploaded in
 *    `uploads.jsonl` order by several concurrent terminals with signed requests (each terminal's
 *    uploads in order), each answer checked against the expected one; the server stopped;
 * 6. store verification (`verifyHome`, parallel workers), then a second run;
 * 7. every verdict compared with `truth.jsonl`; a report written to HOME/reports.
 *
 * The steps live in `steps.ts`, `upload.ts` and `report.ts`; this file runs them in order.
 * No key value and no clear PAN reaches the output or the report.
 */
import { join } from "node:path";
import type { TruthRow, UploadEntry } from "../sim/day.ts";
import { dateProblem } from "../core/dates.ts";
import { IcfareError } from "../core/errors.ts";
import {
  DEMO_DATE,
  freshHome,
  importKeys,
  isInside,
  keysInit,
  simulateDay,
  verifyTwice,
} from "./steps.ts";
import { startServerProcess, uploadAll } from "./upload.ts";
import {
  compareWithTruth,
  type DemoReport,
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
  /** The simulated service day, YYYY-MM-DD (default the simulator's demo day). */
  readonly date?: string;
  /** Verification workers (default one per core). */
  readonly workers?: number;
  /** Concurrent uploading terminals (default 8). */
  readonly concurrency?: number;
  /** The directory holding `cli/main.ts` (to start the server). */
  readonly root: string;
  /** One line per step. */
  readonly log: (line: string) => void;
}

const STEPS = 7;

/** Runs named steps in order, timing each and logging one line per step. */
class StepRunner {
  readonly steps: StepTiming[] = [];
  constructor(readonly log: (line: string) => void) {}

  async run<T>(name: string, f: () => Promise<T>, done: (v: T) => string): Promise<T> {
    const s = performance.now();
    const v = await f();
    const sec = (performance.now() - s) / 1000;
    this.steps.push({ step: name, seconds: Math.round(sec * 100) / 100 });
    this.log(`[${this.steps.length}/${STEPS}] ${name.padEnd(22)} ${done(v)} (${sec.toFixed(1)} s)`);
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

/** Step 5: the server started, the manifest uploaded, the server stopped. */
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

/** Runs the whole demo; returns the report (written to HOME/reports as JSON and text). */
export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const problem = demoOptionProblem(o);
  if (problem) throw new IcfareError("DEMO_OPTIONS", problem);
  const t0 = performance.now();
  const step = new StepRunner(o.log);
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
    () => simulateDay(o.simDir, o.seed, o.taps, o.date ?? DEMO_DATE),
    (r) =>
      `${r.records} records, ${r.batches} batches, ${r.terminals} terminals, ${r.activeCards} cards`,
  );
  const terminalKeys = new Map<string, CryptoKey>();
  await step.run(
    "import keys",
    () => importKeys(o.home, o.masterKeyFile, o.simDir, terminalKeys),
    (r) =>
      `${r.keys} issuer keys, ${r.capks} CA keys (${r.revoked} revoked issuer serials), ${r.terminals} terminals`,
  );
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
  const report: DemoReport = {
    date: new Date().toISOString().slice(0, 10),
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
    upload,
    verify: v.summary,
    secondRunPending: v.secondRunPending,
    truth: cmp,
    steps: step.steps,
    totalSeconds: Math.round((performance.now() - t0) / 10) / 100,
    ok: cmp.agree === cmp.rows && cmp.rows > 0 && upload.unexpected.length === 0 &&
      v.secondRunPending === 0,
  };
  await writeReport(o.home, report);
  return report;
}
