/**
 * Load benchmark of the upload server (not a timed test; run with `deno task bench:server`).
 *
 * The server runs as a subprocess with its narrow production permissions and a fresh store
 * (SQLite WAL + synchronous=FULL). Simulated terminals post 50-tap batches over loopback:
 *   1. closed loop: C terminals each post back to back for D s (the throughput ceiling);
 *   2. open loop: batches are scheduled at a fixed offered rate R for D s, and latency is
 *      measured from each batch's intended send time (no coordinated omission).
 * The reference measured in the same run is the storage floor: the same 50-record batch
 * transaction committed directly through node:sqlite with FULL sync, no HTTP, no checks.
 *
 * Options (env): LOAD_SECONDS (default 10), LOAD_CONCURRENCY (16), LOAD_RATE (batches/s, a
 * comma list: "200,220"),
 * LOAD_TERMINALS (400), LOAD_TAPS (50), LOAD_STORE_THREAD (worker; main for SQLite on the server's
 * main thread).
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { enc, sampleBatch, send, testKey } from "../tests/support/terminal.ts";
import { signRequest } from "../core/auth/hmac.ts";
import { makeHome, spawnServer } from "../tests/support/server_process.ts";

const env = (k: string, d: number) => Number(Deno.env.get(k) ?? d);
const SECONDS = env("LOAD_SECONDS", 10);
const CONC = env("LOAD_CONCURRENCY", 16);
const RATES = (Deno.env.get("LOAD_RATE") ?? "200,220").split(",").map(Number);
const TERMS = env("LOAD_TERMINALS", 400);
const TAPS = env("LOAD_TAPS", 50);

const terminals = Array.from({ length: TERMS }, (_, i) => `LT${String(i).padStart(6, "0")}`);
let templates: string[] = [];
const nextNo = new Map<string, number>();
function body(ti: number): Uint8Array {
  const t = terminals[ti];
  const no = (nextNo.get(t) ?? 0) + 1;
  nextNo.set(t, no);
  return enc.encode(templates[ti].replace('"batchNo":1,', `"batchNo":${no},`));
}

function pct(a: number[], p: number): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function storageFloor(): Promise<{ perS: number }> {
  const dir = await Deno.makeTempDir({ prefix: "icfare-floor-" });
  const db = new DatabaseSync(join(dir, "f.db"));
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  db.exec(
    "CREATE TABLE b(id INTEGER PRIMARY KEY, body BLOB); CREATE TABLE r(id INTEGER PRIMARY KEY, b INTEGER, seq INTEGER, ev BLOB)",
  );
  const ib = db.prepare("INSERT INTO b(body) VALUES (?)");
  const ir = db.prepare("INSERT INTO r(b, seq, ev) VALUES (?, ?, ?)");
  const blob = new Uint8Array(templates[0].length);
  const ev = new Uint8Array(300);
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 3000) {
    db.exec("BEGIN IMMEDIATE");
    const id = ib.run(blob).lastInsertRowid;
    for (let k = 0; k < TAPS; k++) ir.run(id, k, ev);
    db.exec("COMMIT");
    n++;
  }
  db.close();
  await Deno.remove(dir, { recursive: true });
  return { perS: n / ((performance.now() - t0) / 1000) };
}

/** CPU seconds (user + system) the server process has used so far. */
function cpuS(pid: number): number {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/**
 * Requests are built and signed before each timed phase (terminals are separate machines; the
 * generator's own signing should not take CPU from the server on this 2-core box). Signatures
 * stay fresh: the whole run is far inside the 300 s window.
 */
const prepared = new Map<number, { body: Uint8Array; auth: string }[]>();

async function prepare(ti: number, count: number): Promise<void> {
  const list = prepared.get(ti) ?? [];
  for (let k = 0; k < count; k++) {
    const b = body(ti);
    const tid = terminals[ti];
    const auth = await signRequest({
      key: await testKey(tid),
      terminalId: tid,
      method: "POST",
      path: "/v1/batches",
      body: b,
    });
    list.push({ body: b, auth });
  }
  prepared.set(ti, list);
}

async function post(url: string, ti: number): Promise<number> {
  const p = prepared.get(ti)?.shift();
  const r = p
    ? await fetch(`${url}/v1/batches`, {
      method: "POST",
      body: p.body as BodyInit,
      headers: { authorization: p.auth, "content-type": "application/json" },
    })
    : await send(url, body(ti), { terminalId: terminals[ti] });
  await r.arrayBuffer();
  return r.status;
}

/** Answers by HTTP status over the whole run, printed last. */
type Codes = Map<number, number>;

function count(codes: Codes, c: number): void {
  codes.set(c, (codes.get(c) ?? 0) + 1);
}

/** The load run (only when executed directly: `deno bench` imports this file and must not run it). */
async function main(): Promise<void> {
  templates = terminals.map((t, i) =>
    JSON.stringify(sampleBatch({ terminalId: t, batchNo: 1, records: TAPS, panBase: i * 1000 }))
  );
  const home = await makeHome(terminals);
  const THREAD = Deno.env.get("LOAD_STORE_THREAD") ?? "worker"; // `icfare serve`'s auto, given core/
  const srv = await spawnServer(home, undefined, [
    "--rate",
    "1000000",
    "--burst",
    "1000000",
    "--store-thread",
    THREAD,
  ]);
  const codes: Codes = new Map();
  try {
    // warm-up
    for (let i = 0; i < 20; i++) await post(srv.url, i % TERMS);
    const closed = await closedLoop(srv.url, srv.child.pid, codes);
    const openLines: string[] = [];
    for (const rate of RATES) openLines.push(await openLoop(srv.url, rate, codes));
    const floor = await storageFloor();
    printReport(THREAD, closed, openLines, floor.perS, codes);
  } finally {
    await srv.stop();
    await Deno.remove(home, { recursive: true });
  }
}

interface ClosedLoop {
  /** Accepted batches per second. */
  readonly perS: number;
  readonly latencies: number[];
  readonly cpuPerBatchMs: number;
}

/** 1. Closed loop: CONC terminals post back to back for SECONDS. */
async function closedLoop(url: string, pid: number, codes: Codes): Promise<ClosedLoop> {
  // enough prepared requests for 400 batches/s
  for (let ti = 0; ti < TERMS; ti++) await prepare(ti, Math.ceil((400 * SECONDS) / TERMS));
  const cpu1 = cpuS(pid);
  const lat1: number[] = [];
  let done1 = 0;
  const end1 = performance.now() + SECONDS * 1000;
  const t1 = performance.now();
  await Promise.all(Array.from({ length: CONC }, async (_, w) => {
    let ti = w;
    while (performance.now() < end1) {
      const s = performance.now();
      const c = await post(url, ti);
      lat1.push(performance.now() - s);
      count(codes, c);
      if (c === 200) done1++;
      ti = (ti + CONC) % TERMS;
    }
  }));
  const el1 = (performance.now() - t1) / 1000;
  const cpuPerBatchMs = ((cpuS(pid) - cpu1) * 1000) / Math.max(1, done1);
  return { perS: done1 / el1, latencies: lat1, cpuPerBatchMs };
}

/** 2. Open loop at `rate` batches/s, latency from the intended send time; its report line. */
async function openLoop(url: string, rate: number, codes: Codes): Promise<string> {
  prepared.clear();
  for (let ti = 0; ti < TERMS; ti++) await prepare(ti, Math.ceil((rate * SECONDS) / TERMS));
  const lat2: number[] = [];
  let done2 = 0, late = 0, shed = 0;
  const total = Math.floor(rate * SECONDS);
  const t2 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const intended = t2 + (i * 1000) / rate;
    const wait = intended - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    else if (wait < -50) late++;
    inflight.push(
      post(url, i % TERMS).then((c) => {
        count(codes, c);
        if (c === 200) (done2++, lat2.push(performance.now() - intended));
        else shed++;
      }),
    );
  }
  await Promise.all(inflight);
  const el2 = (performance.now() - t2) / 1000;
  const open = done2 / el2;
  return `open loop, offered ${rate} batches/s (${
    rate * TAPS
  } records/s) over ${TERMS} terminals, ${SECONDS} s: ` +
    `held ${open.toFixed(0)} batches/s, ${(open * TAPS).toFixed(0)} records/s, ` +
    `p50 ${pct(lat2, 50).toFixed(1)} ms, p99 ${pct(lat2, 99).toFixed(1)} ms, ` +
    `max ${
      Math.max(...lat2).toFixed(1)
    } ms of accepted uploads from the intended send time; ${shed} shed with 429; ` +
    `${late} sends late by >50 ms`;
}

/** What the run printed: the machine, the closed loop, each open loop, the storage floor. */
function printReport(
  thread: string,
  closedRun: ClosedLoop,
  openLines: string[],
  floorPerS: number,
  codes: Codes,
): void {
  const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  const { perS: closed, latencies: lat1, cpuPerBatchMs } = closedRun;
  const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(
    `machine: ${cpu}, ${navigator.hardwareConcurrency} cores, load average ${load}; ` +
      `Deno ${Deno.version.deno}; server and load generator share the cores; store thread ${thread}`,
  );
  console.log(
    `closed loop, ${CONC} terminals back to back, ${TAPS}-tap batches, ${SECONDS} s: ` +
      `${closed.toFixed(0)} batches/s, ${(closed * TAPS).toFixed(0)} records/s, ` +
      `p50 ${pct(lat1, 50).toFixed(1)} ms, p99 ${pct(lat1, 99).toFixed(1)} ms; ` +
      `server CPU ${cpuPerBatchMs.toFixed(2)} ms per batch`,
  );
  for (const l of openLines) console.log(l);
  console.log(
    `reference, same run: bare node:sqlite commit of a ${TAPS}-record batch (WAL, FULL): ` +
      `${floorPerS.toFixed(0)} batches/s; server closed loop = ${
        (closed / floorPerS).toFixed(2)
      }x of it`,
  );
  console.log(`answers by status: ${JSON.stringify(Object.fromEntries(codes))}`);
}

if (import.meta.main) await main();
