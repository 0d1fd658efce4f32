/**
 * The demo's last step and its report: every record of the store compared with the simulator's
 * ground truth, the readable summary, and the report files under HOME/reports.
 */
import { join } from "node:path";
import { withOffice } from "./steps.ts";
import type { StoreVerifySummary } from "../core/verify_store.ts";
import type { TruthRow } from "../sim/day.ts";
import type { CheckRow, OutcomeCount, ReconciliationRow } from "../core/report/data.ts";
import type { DenyReplay } from "./denylist.ts";
import type { CollectionSummary } from "./collect.ts";

/** One step's timing. */
export interface StepTiming {
  step: string;
  seconds: number;
}

/** What the upload step saw. */
export interface UploadSummary {
  requests: number;
  stored: number;
  replayed: number;
  totalsMismatch: number;
  unexpected: string[];
  recordsAccepted: number;
  recordsRejected: number;
  rejectedByCode: Record<string, number>;
  perSecond: number;
}

/** The store against the ground truth. */
export interface TruthComparison {
  rows: number;
  agree: number;
  agreementPercent: number;
  disagreements: string[];
}

/** The money end: every record's outcome against the truth, and the cleared totals. */
export interface MoneySummary {
  rows: number;
  agree: number;
  disagreements: string[];
  cleared: { truth: { count: number; fen: number }; store: { count: number; fen: number } };
  debts: { truth: { count: number; fen: number }; store: { count: number; fen: number } };
  outcomes: OutcomeCount[];
  /** Cards the clearing run put on the deny list. */
  denyAdds: number;
  /** The acquirer's fees of the day, fen. */
  fees: number;
  /** Σ of every posting (0 when sound), entries that do not balance, accounts that drift. */
  ledger: { total: number; unbalanced: number; drifting: number };
  /** The clearing file's trailer. */
  clearingFile: { count: number; fen: number };
  /** The second `clear` of the day: lines it wrote, and whether its files are byte-identical. */
  rerun: { newLines: number; identical: boolean };
  reconciliationBalanced: boolean;
  reconciliation: ReconciliationRow[];
}

/** The demo's report (also written as JSON). */
export interface DemoReport {
  /** The day the demo ran (names the report files). */
  date: string;
  /** The simulated settlement day. */
  day: string;
  model: string;
  home: string;
  seed: string;
  taps: number;
  world: { cards: number; terminals: number; records: number; batches: number; uploads: number };
  denyList: DenyReplay & { odaLines: number };
  upload: UploadSummary;
  verify: StoreVerifySummary;
  secondRunPending: number;
  truth: TruthComparison;
  money: MoneySummary;
  /** The sealed archive of the day and its offline audit (docs/archive.md). */
  archive: {
    file: string;
    records: number;
    /** The day's records in the store (every one must be in the archive). */
    dayRecords: number;
    sha256: string;
    head: string;
    clean: boolean;
    findings: number;
    recordsPerSecond: number;
  };
  /** The debts collected through the simulated acquirer host (demo/collect.ts). */
  collection: CollectionSummary;
  checks: CheckRow[];
  steps: StepTiming[];
  totalSeconds: number;
  ok: boolean;
}

const enc = new TextEncoder();

type StoredRow = { status: string; reject: string | null; v: string | null };

/** Every record of the store by `terminal/batch/seq`. */
function storedRows(home: string): Promise<Map<string, StoredRow>> {
  const rows = new Map<string, StoredRow>();
  return withOffice(home, ({ db }) => {
    const all = db.prepare(
      "SELECT terminal_id, batch_no, seq, status, reject_code, verification FROM records",
    ).all() as Record<string, unknown>[];
    for (const r of all) {
      rows.set(`${r.terminal_id}/${r.batch_no}/${r.seq}`, {
        status: String(r.status),
        reject: r.reject_code == null ? null : String(r.reject_code),
        v: r.verification == null ? null : String(r.verification),
      });
    }
    return rows;
  });
}

/** Why one stored row disagrees with its truth row, or null when it agrees. */
function disagreement(t: TruthRow, r: StoredRow | undefined): string | null {
  if (!r) return "not in the store";
  if (t.uploadRejected) {
    return r.status === "rejected" ? null : `expected rejected at upload, store has ${r.status}`;
  }
  if (r.status !== "verified" || !r.v) {
    return `expected ${t.status}, store has ${r.status}${r.reject ? " " + r.reject : ""}`;
  }
  const v = JSON.parse(r.v) as { status: string; detail: { cryptogram: string; oda: string } };
  const got = `${v.status}/${v.detail.cryptogram}/${v.detail.oda}`;
  const want = `${t.status}/${t.cryptogram}/${t.oda}`;
  return got === want ? null : `expected ${want}, got ${got}`;
}

/** Every record of the store against its truth row (status, cryptogram and ODA flags). */
export async function compareWithTruth(
  home: string,
  truth: readonly TruthRow[],
): Promise<TruthComparison> {
  const rows = await storedRows(home);
  const dis: string[] = [];
  let agree = 0;
  for (const t of truth) {
    const k = `${t.terminalId}/${t.batchNo}/${t.seq}`;
    const why = disagreement(t, rows.get(k));
    rows.delete(k);
    if (why === null) agree++;
    else dis.push(`${k} (${t.pan}, ATC ${t.atc}): ${why}`);
  }
  for (const k of rows.keys()) dis.push(`${k}: in the store but not in the truth`);
  const n = truth.length;
  return {
    rows: n,
    agree,
    agreementPercent: n ? (100 * agree) / n : 0,
    disagreements: dis.slice(0, 50),
  };
}

const pct = (k: number, t: number) => (t ? ((100 * k) / t).toFixed(2) : "0.00") + " %";

/** The world, upload and verify lines of the readable report. */
function countLines(r: DemoReport): string[] {
  const w = r.world, u = r.upload, v = r.verify;
  const rejected = Object.entries(u.rejectedByCode).map(([k, n]) => `${k} ${n}`).join(", ");
  return [
    `world     ${w.cards} cards, ${w.terminals} terminals, ${w.records} records in ${w.batches} batches, ${w.uploads} uploads`,
    `upload    ${u.requests} requests: ${u.stored} stored, ${u.replayed} replayed, ${u.totalsMismatch} TOTALS_MISMATCH (422), ${u.unexpected.length} unexpected`,
    `          records accepted ${u.recordsAccepted}, rejected ${u.recordsRejected} (${
      rejected || "none"
    }); ${u.perSecond} records/s through the server`,
    `verify    ${v.records} records on ${v.workers} workers in ${
      v.seconds.toFixed(1)
    } s (${v.perSecond}/s); second run: ${r.secondRunPending} pending`,
  ];
}

/** Verdicts by status, cryptogram and ODA flags. */
function verdictLines(v: StoreVerifySummary): string[] {
  const list = (m: Record<string, number>) =>
    Object.entries(m).map(([k, n]) => `${k} ${n}`).join(", ");
  return [
    `verdicts by status:`,
    ...Object.entries(v.status).sort((a, b) => b[1] - a[1]).map(([k, n]) =>
      `  ${k.padEnd(16)} ${String(n).padStart(8)}  ${pct(n, v.records).padStart(8)}`
    ),
    `  cryptogram: ${list(v.cryptogram)}`,
    `  oda:        ${list(v.oda)}`,
    `  duplicates/replays of a record in another batch: ${v.acrossBatches}`,
  ];
}

/** Outcomes by reason, the cleared totals and the run's checks. */
function moneyLines(r: DemoReport): string[] {
  const m = r.money;
  const yuan = (f: number) => (f / 100).toFixed(2);
  return [
    `outcomes by reason (settlement day ${r.day}, model ${r.model}):`,
    ...m.outcomes.map((o) =>
      `  ${(o.outcome + " " + o.reason).padEnd(28)} ${String(o.records).padStart(8)}  ${
        yuan(o.fen).padStart(10)
      } yuan`
    ),
    `  cleared: ${m.cleared.store.count} records, ${yuan(m.cleared.store.fen)} yuan ` +
    `(truth ${m.cleared.truth.count}, ${
      yuan(m.cleared.truth.fen)
    } yuan); debts ${m.debts.store.count}, ` +
    `${yuan(m.debts.store.fen)} yuan; fees ${
      yuan(m.fees)
    } yuan; ${m.denyAdds} cards put on the deny list`,
    `  ledger: ${m.ledger.total} fen over all postings; clearing file trailer ${m.clearingFile.count} ` +
    `records, ${
      yuan(m.clearingFile.fen)
    } yuan; second clear: ${m.rerun.newLines} new lines, files ` +
    `${m.rerun.identical ? "byte-identical" : "DIFFERENT"}`,
    `final states against the truth: ${m.agree}/${m.rows} agree`,
    ...m.disagreements.slice(0, 10).map((d) => `  ${d}`),
    `checks:`,
    ...r.checks.map((c) => `  ${c.ok ? "ok    " : "FAILED"} ${c.name.padEnd(16)} ${c.detail}`),
  ];
}

/** The readable form of a report. */
/** The debts collected through the simulated acquirer host. */
function collectionLines(c: CollectionSummary): string[] {
  const y = (fen: number) => (fen / 100).toFixed(2);
  return [
    `collection over ISO 8583 (simulated acquirer host, faults on): ${c.debts} debts, ` +
    `${c.attempts} authorisations, ${c.reversals} reversals, ${c.faults} faults injected`,
    `  collected    ${c.collected.store.count} debts, ${y(c.collected.store.amount)} yuan ` +
    `(truth ${c.collected.truth.count}, ${y(c.collected.truth.amount)})`,
    `  declined on the day ${c.declinedFirst.count} debts, ${y(c.declinedFirst.amount)} yuan`,
    `  written off  ${c.writtenOff.store.count} debts, ${y(c.writtenOff.store.amount)} yuan ` +
    `(truth ${c.writtenOff.truth.count}, ${y(c.writtenOff.truth.amount)}) after 14 days of retries`,
    `  final states ${c.agree}/${c.debts} as the truth says; ${c.doubleApproved} taps charged twice`,
    ...c.disagreements.slice(0, 10).map((d) => `  ${d}`),
  ];
}

export function reportText(r: DemoReport): string[] {
  return [
    `icfare demo — ${r.date}  (seed ${r.seed}, ${r.taps} taps drawn; test keys only)`,
    ``,
    ...countLines(r),
    ``,
    ...verdictLines(r.verify),
    ``,
    `ground truth: ${r.truth.agree}/${r.truth.rows} records agree (${
      r.truth.agreementPercent.toFixed(2)
    } %)`,
    ...r.truth.disagreements.slice(0, 10).map((d) => `  ${d}`),
    ...r.upload.unexpected.slice(0, 10).map((d) => `  upload: ${d}`),
    ``,
    ...moneyLines(r),
    ``,
    `archive: ${r.archive.file} (${r.archive.records} records, SHA-256 ${
      r.archive.sha256.slice(0, 16)
    }…); audit: ${r.archive.clean ? "CLEAN" : `NOT CLEAN, ${r.archive.findings} finding(s)`}`,
    ...collectionLines(r.collection),
    ``,
    `timings:`,
    ...r.steps.map((s) => `  ${s.step.padEnd(22)} ${s.seconds.toFixed(2).padStart(7)} s`),
    `  ${"total".padEnd(22)} ${r.totalSeconds.toFixed(2).padStart(7)} s`,
    ``,
    r.ok ? "RESULT: OK" : "RESULT: FAILED",
  ];
}

/** Writes HOME/reports/demo-YYYY-MM-DD.json and .txt; returns their paths. */
export async function writeReport(
  home: string,
  r: DemoReport,
): Promise<{ json: string; txt: string }> {
  const dir = join(home, "reports");
  await Deno.mkdir(dir, { recursive: true });
  const json = join(dir, `demo-${r.date}.json`);
  const txt = join(dir, `demo-${r.date}.txt`);
  await Deno.writeFile(json, enc.encode(JSON.stringify(r, null, 2) + "\n"));
  await Deno.writeFile(txt, enc.encode(reportText(r).join("\n") + "\n"));
  return { json, txt };
}
