/**
 * Several `icfare serve` processes on one PostgreSQL database (docs/scale.md, "Several upload
 * servers"; docs/reliability.md I1, I2, D1/D8), through real subprocess servers with narrow
 * permissions:
 * - the same batches posted to two servers at once are stored once: exactly one answer says
 *   `replayed:false`, the other is byte-identical but for the flag; a conflicting body is 409;
 * - servers SIGKILLed at random during concurrent uploads (terminals spread over two servers
 *   and retrying until acknowledged) lose and duplicate no acknowledged batch.
 */
import { assert, assertEquals } from "@icfare/assert";
import { enc, sampleBatch, send } from "./support/terminal.ts";
import { freePort, makeHome, type ServerProcess, spawnServer } from "./support/server_process.ts";
import { pgCluster, pgTest } from "./support/pg_cluster.ts";
import { checkAcked, startTerminals } from "./support/retrying_terminals.ts";
import { openPostgresStore } from "../core/store/postgres.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const FAST = [
  "--rate",
  "100000",
  "--burst",
  "100000",
  "--max-inflight",
  "1000",
  "--terminal-inflight",
  "1000",
];

pgTest("pg servers: the same batches posted to two servers at once are stored once", async () => {
  const terminals = ["LC000401", "LC000402", "LC000403"];
  const home = await makeHome(terminals);
  const url = await (await pgCluster()).createDatabase("race");
  const extra = [...FAST, "--store", url];
  const [a, b] = await Promise.all([
    spawnServer(home, freePort(), extra),
    spawnServer(home, freePort(), extra),
  ]);
  try {
    const jobs = terminals.flatMap((tid) =>
      Array.from({ length: 15 }, (_, i) => ({
        tid,
        no: i + 1,
        body: enc.encode(JSON.stringify(
          sampleBatch({ terminalId: tid, batchNo: i + 1, records: 1 + (i % 9), panBase: i * 100 }),
        )),
      }))
    );
    const answers = await Promise.all(
      jobs.map((j) =>
        Promise.all(
          [a, b, a, b].slice(0, 2 + (j.no % 3)).map(async (s) => {
            const r = await send(s.url, j.body, { terminalId: j.tid });
            return { status: r.status, text: await r.text() };
          }),
        )
      ),
    );
    let records = 0;
    jobs.forEach((j, i) => {
      const got = answers[i];
      assert(got.every((x) => x.status === 200), JSON.stringify(got));
      const first = got.filter((x) => x.text.endsWith('"replayed":false}'));
      assertEquals(first.length, 1, `batch ${j.tid}/${j.no}: one original receipt`);
      const replay = first[0].text.replace('"replayed":false}', '"replayed":true}');
      for (const x of got) if (x !== first[0]) assertEquals(x.text, replay);
      records += JSON.parse(first[0].text).received;
    });
    for (const j of jobs.slice(0, 6)) {
      const other = sampleBatch({ terminalId: j.tid, batchNo: j.no, records: 2, fare: 150 });
      const body = enc.encode(JSON.stringify(other));
      const [r1, r2] = await Promise.all(
        [a, b].map((s) => send(s.url, body, { terminalId: j.tid })),
      );
      for (const r of [r1, r2]) {
        assertEquals(r.status, 409);
        assertEquals(JSON.parse(await r.text()).error.code, "BATCH_CONFLICT");
      }
    }
    const store = await openPostgresStore(url);
    try {
      const c = await store.counts();
      assertEquals([c.batches, c.records], [jobs.length, records]);
      assertEquals(await store.integrityCheck(), "ok");
    } finally {
      await store.closeAsync();
    }
    console.log(`pg servers: ${jobs.length} batches raced through 2 servers, stored once`);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

pgTest("pg crash: servers SIGKILLed during uploads lose and duplicate nothing", async () => {
  const cycles = SLOW ? 100 : 10;
  const terminals = ["LC000501", "LC000502", "LC000503", "LC000504"];
  const home = await makeHome(terminals);
  const url = await (await pgCluster()).createDatabase("crash");
  const extra = [...FAST, "--store", url];
  let seed = Number(Deno.env.get("ICFARE_SEED") ?? Date.now() % 100000);
  const seed0 = seed;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const servers: ServerProcess[] = await Promise.all(
    [0, 1].map(() => spawnServer(home, freePort(), extra)),
  );
  const run = startTerminals(terminals, (i, attempt) => servers[(i + attempt) % 2].url, rand);
  try {
    for (let c = 0; c < cycles; c++) {
      await new Promise((res) => setTimeout(res, 50 + rand() * 300));
      const k = c % 2;
      assertEquals((await servers[k].stop("SIGKILL")).signal, "SIGKILL");
      servers[k] = await spawnServer(home, freePort(), extra);
    }
    await new Promise((res) => setTimeout(res, 300));
    run.done = true;
    await run.finished;
  } finally {
    run.done = true;
    await Promise.all(servers.map((s) => s.stop()));
  }
  const store = await openPostgresStore(url);
  let records: number;
  try {
    const rows = await store.sql`SELECT b.terminal_id t, b.batch_no n, b.record_count rc,
      b.receipt, count(r.id) k FROM batches b LEFT JOIN records r ON r.batch_id = b.id
      GROUP BY b.id`;
    records = checkAcked(
      rows.map((r) => ({
        key: `${r.t}/${r.n}`,
        recordCount: Number(r.rc),
        receipt: String(r.receipt),
        records: Number(r.k),
      })),
      run.acked,
    );
    assertEquals(await store.integrityCheck(), "ok");
  } finally {
    await store.closeAsync();
  }
  console.log(
    `pg crash: seed ${seed0}, ${cycles} SIGKILLs over 2 servers, ${run.acked.size} batches / ` +
      `${records} records acknowledged, ${run.attempts} attempts (${run.failures} retried), ` +
      `0 lost, 0 duplicated, 0 partial`,
  );
});
