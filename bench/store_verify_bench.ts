/**
 * Verify over the store against the kernel batch path alone, on the same records in the same
 * run (issue 18; figures in docs/performance.md and docs/scale.md). Not a timed test: run with
 * `deno run -A bench/store_verify_bench.ts` (needs PostgreSQL binaries for the PostgreSQL rows;
 * a throwaway cluster is started as in the tests).
 *
 * 1. A simulated day of BENCH_RECORDS taps (default 100,000; 1,000,000 for the published run)
 *    is generated and uploaded through the ingest rules (no HTTP) into SQLite and PostgreSQL.
 * 2. Reference: the same records, already in memory as the kernel takes them, verified by the
 *    same worker module (`core/verify_worker.ts`) on 1 and 2 workers — no store, no bodies.
 * 3. Store path: `verifyStore` (claims, bodies opened, duplicates across the store, verdicts
 *    committed) on 1 and 2 workers; between runs every verdict is reset to pending.
 * Prints records/s and the ratio store / kernel for each backend and worker count. BENCH_WORKERS
 * (default `1,2`) and BENCH_BACKENDS (default `sqlite,postgres`) narrow a long run.
 */
import { generateDay } from "../sim/day.ts";
import { World } from "../sim/world.ts";
import { DEFAULT_FAULTS, withOverrides } from "../sim/faults.ts";
import type { TapRecord } from "../core/emv/verify.ts";
import { bodyDigestHex } from "../core/auth/hmac.ts";
import { ingestUpload } from "../core/upload/ingest.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { closeStore, type OpenStore, openStore } from "../core/store/open.ts";
import { type VerifyKeys, verifyStore, type WorkerReply } from "../core/verify_store.ts";
import { VERIFY_CACHE_MIB } from "../core/verify_home.ts";
import { verifyKeysOf } from "../tests/support/sim_store.ts";
import { pgAvailable, startPgCluster } from "../tests/support/pg_cluster.ts";
import { PostgresStore } from "../core/store/postgres.ts";
import { SqliteStore } from "../core/store/sqlite.ts";

const N = Number(Deno.env.get("BENCH_RECORDS") ?? 100_000);
const WORKERS = (Deno.env.get("BENCH_WORKERS") ?? "1,2").split(",").map(Number);
/** Which stores to measure (default both; `postgres` alone for a long PostgreSQL-only run). */
const BACKENDS = (Deno.env.get("BENCH_BACKENDS") ?? "sqlite,postgres").split(",");
const enc = new TextEncoder();

function simulate(): { world: World; bodies: Uint8Array[]; taps: TapRecord[] } {
  const faults = withOverrides(DEFAULT_FAULTS, ["duplicate=0.01", "replay=0.005"]);
  const world = new World({
    seed: "store-bench",
    cards: Math.max(200, Math.round(N / 40)),
    terminals: Math.max(6, Math.round(N / 2000)),
    date: "2026-06-24",
    expiredCertCards: faults.expiredCertCards,
    revokedCertCards: faults.revokedCertCards,
    staleDenyListTerminals: faults.staleDenyListTerminals,
  });
  // Streamed: only each stored batch's body bytes and its taps are kept, so that a day of a
  // million taps fits (the batches the upload rules store: not the bad-totals first uploads).
  const bodies: Uint8Array[] = [];
  const taps: TapRecord[] = [];
  for (const b of generateDay(world, { taps: N, faults })) {
    if (b.file.endsWith(".bad-totals.json")) continue;
    bodies.push(enc.encode(JSON.stringify(b.body)));
    for (const r of b.body.records) taps.push({ seq: r.seq, fare: r.fare, icc: r.icc, oda: r.oda });
  }
  return { world, bodies, taps };
}

/** The kernel batch path alone: the taps in jobs on `w` workers of the verify worker module. */
async function kernelOnly(taps: TapRecord[], keys: VerifyKeys, w: number): Promise<number> {
  const url = new URL("../core/verify_worker.ts", import.meta.url).href;
  const workers = await Promise.all(
    Array.from({ length: w }, () =>
      new Promise<Worker>((resolve) => {
        const wk = new Worker(url, { type: "module" });
        wk.onmessage = () => resolve(wk);
        wk.postMessage({ kind: "init", keys });
      })),
  );
  const size = 1000;
  let next = 0, id = 0;
  const t0 = performance.now();
  await Promise.all(workers.map(async (wk) => {
    while (next < taps.length) {
      const job = taps.slice(next, next += size);
      const jid = ++id;
      await new Promise<void>((resolve, reject) => {
        wk.onmessage = (ev: MessageEvent<WorkerReply>) =>
          ev.data.kind === "done" && ev.data.id === jid ? resolve() : reject(new Error("worker"));
        wk.postMessage({ kind: "job", id: jid, records: job });
      });
    }
  }));
  const s = (performance.now() - t0) / 1000;
  for (const wk of workers) wk.terminate();
  return taps.length / s;
}

async function load(store: OpenStore, bodies: Uint8Array[], pan: DevPanProtector) {
  const t0 = performance.now();
  let records = 0;
  const queue = [...bodies];
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let b = queue.shift(); b; b = queue.shift()) {
      const tid =
        JSON.parse(new TextDecoder().decode(b.subarray(0, 200)).replace(/,"merchantId.*/, "}"))
          .terminalId;
      const r = await ingestUpload({ store, pan }, b, await bodyDigestHex(b), tid);
      records += r.accepted + r.rejected;
    }
  }));
  return { records, perS: records / ((performance.now() - t0) / 1000) };
}

/** Every verdict back to pending (between measured runs). */
async function reset(store: OpenStore): Promise<void> {
  if (store instanceof PostgresStore) {
    await store.sql`UPDATE records SET status = 'pending', verification = NULL, verified_at = NULL
      WHERE status = 'verified'`;
    // set-wise: a correlated count per batch scans the partitions once per batch
    await store.sql`UPDATE batches b SET pending = coalesce(c.n, 0), lease_owner = NULL,
      lease_until = NULL FROM batches b2 LEFT JOIN (SELECT batch_id, count(*) AS n FROM records
      WHERE status = 'pending' GROUP BY batch_id) c ON c.batch_id = b2.id WHERE b2.id = b.id`;
    await store.sql`VACUUM ANALYZE records`.catch(() => {});
  } else if (store instanceof SqliteStore) {
    store.connection.exec(`UPDATE records SET status = 'pending', verification = NULL,
      verified_at = NULL WHERE status = 'verified'`);
    store.connection.exec(`DELETE FROM batch_work; INSERT INTO batch_work (batch_id, pending)
      SELECT batch_id, count(*) FROM records WHERE status = 'pending' GROUP BY batch_id`);
  }
}

const t0 = performance.now();
const { world, bodies, taps } = simulate();
console.log(
  `simulated ${taps.length} taps in ${bodies.length} batches in ${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s`,
);
const keys = verifyKeysOf(world);
const pan = await DevPanProtector.fromHex("11".repeat(32), "22".repeat(32));
const rows: string[] = [];
const kernel = new Map<number, number>();
for (const w of WORKERS) {
  kernel.set(w, await kernelOnly(taps, keys, w));
  rows.push(`kernel batch path alone   ${w} worker(s): ${Math.round(kernel.get(w)!)} records/s`);
  console.log(rows[rows.length - 1]);
}
const backends: [string, () => Promise<OpenStore>][] = [[
  "sqlite",
  async () =>
    openStore({ kind: "sqlite", path: `${await Deno.makeTempDir()}/icfare.db` }, {
      tempStore: "memory", // as `icfare verify` opens it
      cacheMiB: VERIFY_CACHE_MIB,
    }),
]];
let cluster: Awaited<ReturnType<typeof startPgCluster>> | null = null;
if (pgAvailable()) {
  cluster = await startPgCluster();
  const c = cluster;
  backends.push([
    "postgres",
    async () =>
      openStore({ kind: "postgres", url: await c.createDatabase("bench") }, { poolSize: 8 }),
  ]);
}
for (const [name, open] of backends.filter(([n]) => BACKENDS.includes(n))) {
  const store = await open();
  const l = await load(store, bodies, pan);
  console.log(
    `${name}: loaded ${l.records} records at ${Math.round(l.perS)} records/s (ingest, 8 at once)`,
  );
  for (const w of WORKERS) {
    await reset(store);
    const s = await verifyStore(store, pan, keys, { workers: w });
    const ratio = s.perSecond / kernel.get(w)!;
    rows.push(
      `verify over ${name.padEnd(8)} ${w} worker(s): ${s.perSecond} records/s = ` +
        `${ratio.toFixed(2)}× the kernel path (${s.records} records, ${s.seconds.toFixed(1)} s)`,
    );
    console.log(rows[rows.length - 1]);
  }
  await closeStore(store);
}
await cluster?.stop();
console.log(
  `\n${N} taps, machine: ${navigator.hardwareConcurrency} cores (shared)\n${rows.join("\n")}`,
);
