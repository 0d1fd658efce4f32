/**
 * Idempotency (docs/reliability.md I1/I2): every batch sent 1-5 times concurrently is stored once;
 * exactly one answer says replayed:false and every replay is byte-identical to it but for the
 * flag; the same key with another body gets 409 and changes nothing.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { enc, sampleBatch, send } from "./support/terminal.ts";
import { makeHome, spawnServer } from "./support/server_process.ts";

type Job = { tid: string; no: number; body: Uint8Array; copies: number };

/** Twelve batches per terminal, each to be sent 1-5 times at once (seeded: 7). */
function jobsFor(terminals: string[]): Job[] {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const jobs: Job[] = [];
  for (const tid of terminals) {
    for (let no = 1; no <= 12; no++) {
      const b = sampleBatch({
        terminalId: tid,
        batchNo: no,
        records: 1 + (no % 7),
        panBase: no * 100,
      });
      jobs.push({
        tid,
        no,
        body: enc.encode(JSON.stringify(b)),
        copies: 1 + Math.floor(rand() * 5),
      });
    }
  }
  return jobs;
}

Deno.test("idempotency: 1-5 concurrent copies per batch, stored once, identical receipts", async () => {
  const terminals = ["LC000201", "LC000202", "LC000203"];
  const home = await makeHome(terminals);
  const srv = await spawnServer(home, undefined, [
    "--rate",
    "100000",
    "--burst",
    "100000",
    "--max-inflight",
    "1000",
    // up to 60 uploads of one terminal at once here; the per-terminal cap is tested elsewhere
    "--terminal-inflight",
    "1000",
  ]);
  try {
    const jobs = jobsFor(terminals);
    const answers = await Promise.all(
      jobs.map((j) =>
        Promise.all(Array.from({ length: j.copies }, async () => {
          const r = await send(srv.url, j.body, { terminalId: j.tid });
          return { status: r.status, text: await r.text() };
        }))
      ),
    );
    let sent = 0, records = 0;
    jobs.forEach((j, i) => {
      const a = answers[i];
      sent += a.length;
      assert(a.every((x) => x.status === 200), JSON.stringify(a));
      const first = a.filter((x) => x.text.endsWith('"replayed":false}'));
      assertEquals(first.length, 1, `batch ${j.tid}/${j.no}: one original receipt`);
      const replay = first[0].text.replace('"replayed":false}', '"replayed":true}');
      for (const x of a) if (x !== first[0]) assertEquals(x.text, replay);
      records += JSON.parse(first[0].text).received;
    });
    // sequential replays and GET give the same bytes
    for (const j of jobs.slice(0, 5)) {
      const again = await (await send(srv.url, j.body, { terminalId: j.tid })).text();
      const get = await (await send(srv.url, null, {
        terminalId: j.tid,
        path: `/v1/batches/${j.tid}/${j.no}`,
      })).text();
      assertEquals(again, get);
    }
    // a changed body under a used key: 409, nothing changed
    for (const j of jobs.slice(0, 6)) {
      const other = sampleBatch({ terminalId: j.tid, batchNo: j.no, records: 2, fare: 150 });
      const r = await send(srv.url, enc.encode(JSON.stringify(other)), { terminalId: j.tid });
      assertEquals(r.status, 409);
      assertEquals(JSON.parse(await r.text()).error.code, "BATCH_CONFLICT");
    }
    const db = new DatabaseSync(join(home, "icfare.db"));
    const c = db.prepare(
      "SELECT (SELECT count(*) FROM batches) b, (SELECT count(*) FROM records) r",
    ).get()!;
    assertEquals([c.b, c.r], [jobs.length, records]);
    db.close();
    console.log(
      `idempotency: ${jobs.length} batches, ${sent} concurrent requests, ${records} records stored once`,
    );
  } finally {
    await srv.stop();
  }
});
