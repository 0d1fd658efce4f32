/**
 * `icfare demo`: the main job end to end on the embedded default (docs/cli.md), one step after
 * another, each timed:
 *
 * 1. a fresh home (wiped first, only if it is a demo home) and a DEMO master key file outside it;
 * 2. `keys init` plus the store's own keys (pan-hash, card-data, deny-list and archive signing,
 *    clearing);
 * 3. a simulated day (`sim/`, in process) in a directory outside the home;
 * 4. the simulated issuer keys (IMK-AC/IMK-MAC), CA public keys (with the revoked issuer
 *    certificate serials) imported into the key store, every terminal registered (fresh keys,
 *    handed to the simulated terminals in memory only);
 * 5. the ODA lines registered in the network registry (the model is stamped at ingest) and the
 *    world's deny-list history replayed into the store (the versions the terminals report);
 * 6. the real upload server as a subprocess with narrow permissions, every batch uploaded in
 *    `uploads.jsonl` order by several concurrent terminals with signed requests (each terminal's
 *    uploads in order), each answer checked against the expected one; the server stopped;
 * 7. store verification (`verifyHome`, parallel workers), then a second run;
 * 8. every verdict compared with `truth.jsonl`;
 * 9. the day cleared with `core/clearing` (outcomes, ledger, debts, deny-list changes, the sealed
 *    clearing file, settlement and reconciliation), then cleared again: nothing new, same bytes;
 * 10. the money checks: every record's final state, the ledger at 0 fen, the cleared and debt
 *    totals and the clearing file's trailer against the truth, reconciliation balanced;
 * 11. the day closed and sealed into HOME/archive (signed, chained; evidence sealed for a demo
 *    auditor whose key lands in the simulation directory), then audited offline as an auditor
 *    would (`archive.ts`; docs/archive.md);
 * 12. the reports written to HOME/reports: JSON, text, and a self-contained HTML page with charts.
 *
 * The steps live in `steps.ts`, `denylist.ts`, `upload.ts`, `money.ts`, `archive.ts`,
 * `report.ts` and `report_html.ts`; this file runs them in order.
 * No key value and no clear PAN reaches the output or the report.
 */
import { join } from "node:path";
import type { TruthRow, UploadEntry } from "../sim/day.ts";
import { dateProblem } from "../core/dates.ts";
import { describeLocation, storeLocation } from "../core/store/open.ts";
import { IcfareError } from "../core/errors.ts";
import {
  checkEmptyStore,
  demoDay,
  freshHome,
  importKeys,
  isInside,
  keysInit,
  simulateDay,
  verifyTwice,
  withOffice,
} from "./steps.ts";
import { replayDenyList } from "./denylist.ts";
import { checkOutcomes, storedOutcomes } from "./money.ts";
import { collectDemoDebts, type CollectionSummary } from "./collect.ts";
import type { Tally } from "../core/collect/mod.ts";
import { writeHtmlReport } from "./report_html.ts";
import { archiveAndAudit, archiveLine } from "./archive.ts";
import { moneyPerParty } from "../core/clearing/ledger.ts";
import { clearTwice, readReconciliation, reconciliationRows, registerModels } from "./clearing.ts";
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
  "network, deny list",
  "upload via server",
  "verify store",
  "compare with truth",
  "clear day",
  "collect debts",
  "money checks",
  "archive, audit",
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
    async () => {
      await checkEmptyStore(o.home);
      await freshHome(o.home, o.masterKeyFile);
    },
    () =>
      `${o.home}; DEMO master key file ${o.masterKeyFile} (mode 600); store ` +
      describeLocation(storeLocation(o.home)),
  );
  await step.run(
    "keys init",
    () => keysInit(o.home, o.masterKeyFile),
    (kcv) =>
      `key store created (master KCV ${kcv}); pan-hash, data, denylist, clearing, archive-sign keys`,
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
    "network, deny list",
    async () => ({
      odaLines: await registerModels(o.home, o.simDir),
      ...await replayDenyList(o.home, o.masterKeyFile, o.simDir),
    }),
    (d) =>
      `${d.odaLines} ODA lines registered; deny list: ${d.changes} changes replayed ` +
      `(${d.adds} added, ${d.removes} removed), version ${d.version}; stale terminals run ${d.staleVersion}`,
  );
  return { sim, terminalKeys, deny };
}

/** Steps 9–10: the day cleared twice, every record's final state and the money checked. */
async function money(o: DemoOptions, step: StepRunner, truth: readonly TruthRow[], day: string) {
  const c = await step.run(
    "clear day",
    () => clearTwice(o.home, o.masterKeyFile, day),
    (c) => {
      const x = c.first.outcomes;
      return `${x.CLEARED.count} cleared (${
        yuan(x.CLEARED.amount)
      } yuan), ${x.DEBT.count} debts, ` +
        `${x.EXCEPTION.count} exceptions, ${x.DUPLICATE.count} duplicates; fees ${
          yuan(c.first.fees)
        } yuan; ` +
        `${c.first.denyAdds} cards listed; rerun: ${c.second.newLines} new lines, ` +
        `files ${c.identical ? "identical" : "DIFFERENT"}`;
    },
  );
  const collection = await step.run(
    "collect debts",
    () => collectDemoDebts(o.home, o.masterKeyFile, o.simDir, o.seed, truth),
    (x) =>
      `${x.debts} debts: collected ${x.collected.store.count} = ${
        yuan(x.collected.store.amount)
      } yuan, declined on the day ${x.declinedFirst.count} = ${yuan(x.declinedFirst.amount)} ` +
      `yuan, written off ${x.writtenOff.store.count} = ${yuan(x.writtenOff.store.amount)} yuan; ` +
      `${x.agree}/${x.debts} as the truth says; ${x.faults} faults, ${x.reversals} reversals, ` +
      `${x.doubleApproved} taps charged twice`,
  );
  const stored = await storedOutcomes(o.home, day);
  const summary = await step.run(
    "money checks",
    async () => {
      const check = checkOutcomes(truth, stored);
      const recon = await readReconciliation(o.home, day);
      return {
        rows: check.rows,
        agree: check.agree,
        disagreements: check.disagreements,
        cleared: check.cleared,
        debts: {
          truth: check.debts,
          store: { count: c.first.debts.count, fen: c.first.debts.amount },
        },
        outcomes: check.outcomes,
        denyAdds: c.first.denyAdds,
        fees: c.first.fees,
        ledger: {
          total: c.ledger.total,
          unbalanced: c.ledger.unbalanced.length,
          drifting: c.ledger.driftingAccounts.length,
        },
        clearingFile: { count: c.files.clearing.count, fen: c.files.clearing.amount },
        rerun: { newLines: c.second.newLines, identical: c.identical },
        reconciliationBalanced: recon.balanced,
        reconciliation: reconciliationRows(recon),
      } satisfies MoneySummary;
    },
    (m) =>
      `${m.agree}/${m.rows} final states agree with the truth; ledger ${m.ledger.total} fen; ` +
      `cleared ${m.cleared.store.count} = ${
        yuan(m.cleared.store.fen)
      } yuan (truth ${m.cleared.truth.count}, ` +
      `${yuan(m.cleared.truth.fen)}); reconciliation ${
        m.reconciliationBalanced ? "balanced" : "NOT balanced"
      }`,
  );
  return { summary, collection };
}

const yuan = (fen: number) => (fen / 100).toFixed(2);

/** Money per party from the store's ledger. */
function ledgerMoney(home: string) {
  return withOffice(home, ({ db }) => moneyPerParty(db));
}

/** Every debt as the truth says, the money equal, no tap charged twice at the host. */
function collectionOk(c: CollectionSummary): boolean {
  const eq = (a: Tally, b: Tally) => a.count === b.count && a.amount === b.amount;
  return c.agree === c.debts && eq(c.collected.store, c.collected.truth) &&
    eq(c.writtenOff.store, c.writtenOff.truth) && c.doubleApproved === 0 &&
    c.standing === c.collected.store.count;
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
      name: "final states",
      ok: m.agree === m.rows && m.rows > 0,
      detail: `${m.agree}/${m.rows} records end as the truth says`,
    },
    {
      name: "ledger",
      ok: m.ledger.total === 0 && m.ledger.unbalanced === 0 && m.ledger.drifting === 0,
      detail: `sums to ${m.ledger.total} fen; ${m.ledger.unbalanced} unbalanced entries, ` +
        `${m.ledger.drifting} drifting accounts`,
    },
    {
      name: "cleared totals",
      ok: c.store.count === c.truth.count && c.store.fen === c.truth.fen &&
        m.clearingFile.count === c.truth.count && m.clearingFile.fen === c.truth.fen,
      detail: `${c.store.count} records, ${yuan(c.store.fen)} yuan; clearing file ` +
        `${m.clearingFile.count}, ${yuan(m.clearingFile.fen)} yuan; truth ${c.truth.count}, ` +
        `${yuan(c.truth.fen)} yuan`,
    },
    {
      name: "debts",
      ok: m.debts.store.count === m.debts.truth.count && m.debts.store.fen === m.debts.truth.fen,
      detail: `${m.debts.store.count} debts, ${yuan(m.debts.store.fen)} yuan; truth ` +
        `${m.debts.truth.count}, ${yuan(m.debts.truth.fen)} yuan`,
    },
    {
      name: "collection",
      ok: collectionOk(r.collection),
      detail: `${r.collection.agree}/${r.collection.debts} debts end as the truth says; ` +
        `collected ${yuan(r.collection.collected.store.amount)} yuan (truth ${
          yuan(r.collection.collected.truth.amount)
        }), written off ${yuan(r.collection.writtenOff.store.amount)} yuan (truth ${
          yuan(r.collection.writtenOff.truth.amount)
        }); ${r.collection.doubleApproved} taps charged twice`,
    },
    {
      name: "clear again",
      ok: m.rerun.newLines === 0 && m.rerun.identical,
      detail: `${m.rerun.newLines} new lines; files ${
        m.rerun.identical ? "byte-identical" : "differ"
      }`,
    },
    {
      name: "reconciliation",
      ok: m.reconciliationBalanced,
      detail: m.reconciliationBalanced ? "every batch reconciles" : "unexplained differences",
    },
    {
      name: "audit",
      ok: r.archive.clean && r.archive.records === r.archive.dayRecords,
      detail: `archive of ${r.archive.records} records (the day has ${r.archive.dayRecords}) ` +
        `audited offline: ` +
        `${r.archive.clean ? "clean" : `${r.archive.findings} finding(s)`}`,
    },
  ];
}

/** The report's archive part: the sealed file and what the offline audit said of it. */
function archiveSummary(
  arch: Awaited<ReturnType<typeof archiveAndAudit>>,
  dayRecords: number,
): DemoReport["archive"] {
  return {
    file: arch.archive.file,
    records: arch.archive.records,
    dayRecords,
    sha256: arch.archive.sha256,
    head: arch.archive.head,
    clean: arch.audit.clean,
    findings: arch.audit.days.reduce((a, d) => a + d.findings.length, 0),
    recordsPerSecond: arch.audit.recordsPerSecond,
  };
}

/** Writes the report as JSON and text, and the day's HTML page beside them. */
async function writeReports(o: DemoOptions, report: DemoReport) {
  const files = await writeReport(o.home, report);
  const html = await writeHtmlReport(o.home, `demo-${report.date}.html`, {
    title: "icfare demo",
    day: report.day,
    subtitle: `seed ${o.seed}, ${o.taps} taps drawn, model ${report.model}; ` +
      `${report.world.terminals} terminals, ${report.world.cards} cards; test keys only`,
    outcomes: report.money.outcomes,
    money: await ledgerMoney(o.home),
    reconciliation: report.money.reconciliation,
    checks: report.checks,
  });
  return { ...files, html };
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
  const { summary: money_, collection } = await money(o, step, truth, day);
  const arch = await step.run(
    "archive, audit",
    () => archiveAndAudit(o.home, o.masterKeyFile, o.simDir, day),
    archiveLine,
  );
  o.log(`    repeat the audit: ${arch.command}`);
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
    money: money_,
    archive: archiveSummary(arch, (await storedOutcomes(o.home, day)).size),
    collection,
    steps: step.steps,
    totalSeconds: 0,
  };
  const checks = checkRows(base);
  const report: DemoReport = { ...base, checks, ok: checks.every((c) => c.ok) };
  await step.run(
    "reports",
    () => writeReports(o, report),
    (f) => `${f.json}, ${f.txt}, ${f.html}`,
  );
  report.totalSeconds = Math.round((performance.now() - t0) / 10) / 100;
  await writeReport(o.home, report);
  return report;
}
