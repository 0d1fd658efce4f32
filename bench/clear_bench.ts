/**
 * Clearing speed (docs/performance.md, "Clearing"): `clear` over a store of N verified records
 * of one day, beside a bare SQL pass over the same rows in the same run (read the day's rows
 * with the same join, insert one row per record, 2,000 per transaction — the least any
 * clearing can do). Group "clear": the bare pass (baseline), `clearDay` (outcome, ledger
 * entries, debts, deny list, lines) and the day's files (every cleared record's batch body
 * opened, the sealed clearing file, the masked copy, settlement and reconciliation reports).
 *
 * N = 50,000 under `deno bench`; `ICFARE_SLOW=1 deno bench -A bench/clear_bench.ts` (or `deno
 * run`) builds 1,000,000 and runs each pass once, printing records/s. The store is built once
 * (direct SQL, bodies sealed as ingest seals them) and copied before each pass, outside the
 * timing. Timings inside the deno bench cases include opening the store (negligible).
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { clearDay } from "../core/clearing/clear.ts";
import { writeDayFiles } from "../core/clearing/day_files.ts";
import { clearingKeyFrom } from "../core/clearing/clearing_key.ts";
import { JournalDenyList } from "../core/denylist/journal.ts";
import { buildVerifiedDay } from "./day_store.ts";

const N = Deno.env.get("ICFARE_SLOW") ? 1_000_000 : 50_000;
const DAY = "2026-06-24";
/** ICFARE_BENCH_DIR keeps the stores (for profiling); otherwise a temporary directory. */
const keep = Deno.env.get("ICFARE_BENCH_DIR");
const dir = keep ?? await Deno.makeTempDir({ prefix: "icfare-clear-bench-" });
const pristine = join(dir, "pristine.db");
const pan = await DevPanProtector.fromHex("11".repeat(32), "22".repeat(32));
const key = await clearingKeyFrom(new Uint8Array(32).fill(7), "clearing-bench", "000000");

await buildVerifiedDay(pristine, { n: N, day: DAY, pan, odaEvery: 10 });

let run = 0;
/** A fresh copy of the pristine store (not timed). */
function copy(): string {
  const p = join(dir, `run-${run++}.db`);
  Deno.copyFileSync(pristine, p);
  return p;
}

function report(what: string, s: number): void {
  console.log(`${what}: ${N} records in ${s.toFixed(2)} s = ${Math.round(N / s)} records/s`);
}

/** The bare pass: the same rows read with the same join, one row inserted per record. */
function barePass(path: string, b?: Deno.BenchContext): number {
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE bare (record_id INTEGER PRIMARY KEY, fare INTEGER NOT NULL) STRICT");
  const read = db.prepare(
    `SELECT r.id, r.line, r.fare, r.card_hash, r.psn, r.atc, r.pan_masked, r.tap_day, r.model,
       r.verification, r.terminal_id, b.merchant_id, b.received_at
     FROM records r JOIN batches b ON b.id = r.batch_id
     WHERE r.settlement_day = ? AND r.status = 'verified' AND r.id > ? ORDER BY r.id LIMIT 2000`,
  );
  const ins = db.prepare("INSERT INTO bare (record_id, fare) VALUES (?, ?)");
  b?.start();
  const t0 = performance.now();
  for (let after = 0;;) {
    const rows = read.all(DAY, after) as { id: number; fare: number }[];
    if (rows.length === 0) break;
    db.exec("BEGIN IMMEDIATE");
    for (const r of rows) ins.run(r.id, r.fare);
    db.exec("COMMIT");
    after = Number(rows[rows.length - 1].id);
  }
  const s = (performance.now() - t0) / 1000;
  b?.end();
  db.close();
  return s;
}

/** `clearDay` over the whole day. */
function clearPass(path: string, b?: Deno.BenchContext): number {
  const store = openSqliteStore(path);
  const db = store.connection;
  b?.start();
  const t0 = performance.now();
  const s = clearDay(db, { day: DAY, by: "bench", deny: new JournalDenyList(db) });
  const sec = (performance.now() - t0) / 1000;
  b?.end();
  if (s.newLines !== N) throw new Error(`cleared ${s.newLines} of ${N}`);
  store.close();
  return sec;
}

/** The day's files of a cleared copy (the clearing itself not timed). */
async function filesPass(path: string, b?: Deno.BenchContext): Promise<number> {
  const store = openSqliteStore(path);
  const db = store.connection;
  clearDay(db, { day: DAY, by: "bench", deny: new JournalDenyList(db) });
  b?.start();
  const t0 = performance.now();
  const files = await writeDayFiles({ db, pan, key, day: DAY, dir: join(dir, `files-${run}`) });
  const s = (performance.now() - t0) / 1000;
  b?.end();
  if (files.clearing.count === 0) throw new Error("no cleared line");
  store.close();
  return s;
}

const PASSES = [
  {
    name: `bare SQL pass over the same ${N} rows (read the join, insert one row each)`,
    f: barePass,
  },
  { name: `clearDay over ${N} verified records (outcomes, ledger, debts, lines)`, f: clearPass },
  { name: `the day's files for ${N} records (bodies opened, sealed file, reports)`, f: filesPass },
];

if (Deno.env.get("ICFARE_SLOW")) {
  // One pass each (a million records take minutes; deno bench would repeat them).
  const rows: string[] = [];
  for (const p of PASSES) {
    const s = await p.f(copy());
    rows.push(`${p.name}: ${s.toFixed(1)} s, ${Math.round(N / s)} records/s`);
    console.log(rows.at(-1));
  }
} else {
  for (const [i, p] of PASSES.entries()) {
    Deno.bench({
      name: p.name,
      group: "clear",
      baseline: i === 0,
      n: 1,
      warmup: 0,
      async fn(b) {
        const s = await p.f(copy(), b);
        report(p.name.split(" (")[0], s);
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  if (keep) return;
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch { /* already gone */ }
});
