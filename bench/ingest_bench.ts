/**
 * Ingest with 1 and 2 server processes on SQLite and on PostgreSQL (issue 18; docs/scale.md).
 * Not a timed test: `deno run -A bench/ingest_bench.ts`. Each configuration gets a fresh store
 * and real `icfare serve` subprocesses with narrow permissions (SQLite: plus read of core/ for the
 * store thread; INGEST_STORE_THREAD=main for the main thread); requests (50-tap batches) are
 * built and signed beforehand and spread round-robin over the servers.
 *   closed loop: INGEST_CONCURRENCY clients post back to back for INGEST_SECONDS;
 *   open loop: INGEST_RATE batches/s scheduled, latency from each intended send time.
 * The reference in the same run, per backend: a bare commit of the same batch (one batch row and
 * 50 record rows in one durable transaction, no HTTP, no checks), back to back on one connection.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import postgres from "postgres";
import { enc, sampleBatch, testKey } from "../tests/support/terminal.ts";
import { signRequest } from "../core/auth/hmac.ts";
import { freePort, makeHome, spawnServer } from "../tests/support/server_process.ts";
import { pgAvailable, startPgCluster } from "../tests/support/pg_cluster.ts";

const env = (k: string, d: number) => Number(Deno.env.get(k) ?? d);
const SECONDS = env("INGEST_SECONDS", 8);
const CONC = env("INGEST_CONCURRENCY", 16);
const RATE = env("INGEST_RATE", 200);
const TERMS = 200, TAPS = 50;
const terminals = Array.from({ length: TERMS }, (_, i) => `LI${String(i).padStart(6, "0")}`);
const templates = terminals.map((t, i) =>
  JSON.stringify(sampleBatch({ terminalId: t, batchNo: 1, records: TAPS, panBase: i * 1000 }))
);
let nextNo = 0;

async function signed(n: number): Promise<{ body: Uint8Array; auth: string }[]> {
  const out = [];
  for (let k = 0; k < n; k++) {
    const no = ++nextNo, ti = no % TERMS;
    const body = enc.encode(templates[ti].replace('"batchNo":1,', `"batchNo":${no},`));
    const auth = await signRequest({
      key: await testKey(terminals[ti]),
      terminalId: terminals[ti],
      method: "POST",
      path: "/v1/batches",
      body,
    });
    out.push({ body, auth });
  }
  return out;
}

async function post(url: string, p: { body: Uint8Array; auth: string }): Promise<number> {
  const r = await fetch(`${url}/v1/batches`, {
    method: "POST",
    body: p.body as BodyInit,
    headers: { authorization: p.auth, "content-type": "application/json" },
  });
  await r.arrayBuffer();
  return r.status;
}

const pct = (a: number[], p: number) =>
  [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((p / 100) * a.length))] ?? NaN;

async function run(urls: string[]): Promise<string> {
  const closedReq = await signed(500 * SECONDS);
  let i = 0, ok = 0;
  const end = performance.now() + SECONDS * 1000, t0 = performance.now();
  await Promise.all(Array.from({ length: CONC }, async () => {
    while (performance.now() < end && i < closedReq.length) {
      const k = i++;
      if ((await post(urls[k % urls.length], closedReq[k])) === 200) ok++;
    }
  }));
  const closed = (ok * TAPS) / ((performance.now() - t0) / 1000);
  const openReq = await signed(RATE * SECONDS);
  const lat: number[] = [];
  let shed = 0;
  const t1 = performance.now();
  await Promise.all(openReq.map(async (p, k) => {
    const intended = t1 + (k * 1000) / RATE;
    const wait = intended - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if ((await post(urls[k % urls.length], p)) === 200) lat.push(performance.now() - intended);
    else shed++;
  }));
  return `closed ${Math.round(closed)} records/s; open ${RATE * TAPS} records/s offered: ` +
    `p50 ${pct(lat, 50).toFixed(0)} ms, p99 ${pct(lat, 99).toFixed(0)} ms, ${shed} shed`;
}

/** Bare commits of one 50-record batch per second (the reference). */
async function bareSqlite(): Promise<number> {
  const db = new DatabaseSync(join(await Deno.makeTempDir(), "f.db"));
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  db.exec("CREATE TABLE b(id INTEGER PRIMARY KEY, body BLOB); CREATE TABLE r(b, seq, ev BLOB)");
  const ib = db.prepare("INSERT INTO b(body) VALUES (?)"),
    ir = db.prepare("INSERT INTO r VALUES (?, ?, ?)");
  const blob = new Uint8Array(templates[0].length), ev = new Uint8Array(300);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 3000) {
    db.exec("BEGIN IMMEDIATE");
    const id = ib.run(blob).lastInsertRowid;
    for (let k = 0; k < TAPS; k++) ir.run(id, k, ev);
    db.exec("COMMIT");
    n++;
  }
  db.close();
  return (n * TAPS) / 3;
}

async function barePg(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql`CREATE TABLE fb (id bigserial PRIMARY KEY, body bytea)`;
  await sql`CREATE TABLE fr (b bigint, seq int, ev bytea)`;
  const blob = new Uint8Array(templates[0].length), ev = new Uint8Array(300);
  const rows = Array.from({ length: TAPS }, (_, k) => ({ seq: k, ev }));
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 3000) {
    await sql`WITH b AS (INSERT INTO fb (body) VALUES (${blob}) RETURNING id)
      INSERT INTO fr SELECT b.id, x.seq, decode(x.ev, 'hex') FROM b,
      jsonb_to_recordset(${
      JSON.stringify(rows.map((r) => ({ seq: r.seq, ev: "00".repeat(300) })))
    }::text::jsonb)
      AS x(seq int, ev text)`;
    n++;
  }
  await sql.end();
  return (n * TAPS) / 3;
}

const home = await makeHome(terminals);
const FAST = [
  "--rate",
  "1000000",
  "--burst",
  "1000000",
  "--max-inflight",
  "1000",
  "--terminal-inflight",
  "1000",
];
const lines: string[] = [];
const cluster = pgAvailable() ? await startPgCluster() : null;
for (const backend of cluster ? ["sqlite", "postgres"] : ["sqlite"]) {
  const bare = backend === "sqlite"
    ? await bareSqlite()
    : await barePg(await cluster!.createDatabase("bare"));
  lines.push(`${backend}: bare commit of the same batch ${Math.round(bare)} records/s`);
  console.log(lines[lines.length - 1]);
  for (const n of [1, 2]) {
    // SQLite: a fresh home (the narrow server may touch only its home); PostgreSQL: a database
    const h = backend === "sqlite" ? await makeHome(terminals) : home;
    // SQLite on the server's own store thread, as `icfare serve` runs it when it may read core/
    const extra = backend === "sqlite"
      ? [...FAST, "--store-thread", Deno.env.get("INGEST_STORE_THREAD") ?? "worker"]
      : [...FAST, "--store", await cluster!.createDatabase("ingest")];
    const servers = await Promise.all(
      Array.from({ length: n }, () => spawnServer(h, freePort(), extra)),
    );
    try {
      for (let w = 0; w < 20; w++) await post(servers[w % n].url, (await signed(1))[0]);
      lines.push(`${backend}, ${n} server process(es): ${await run(servers.map((s) => s.url))}`);
      console.log(lines[lines.length - 1]);
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  }
}
await cluster?.stop();
const load = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
console.log(
  `\n${navigator.hardwareConcurrency} cores shared, load average ${load}\n${lines.join("\n")}`,
);
