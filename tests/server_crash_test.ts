/**
 * Crash test (docs/reliability.md D1): terminals upload concurrently while the server process is
 * killed with SIGKILL at random moments and restarted; each terminal retries a batch until it
 * is acknowledged. Afterwards every acknowledged batch is present exactly once with all its
 * records (none partial), its stored receipt is the one the terminal got, and
 * `PRAGMA integrity_check` is ok. 20 kill cycles in the normal suite, 200 with ICFARE_SLOW=1.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { enc, sampleBatch, send } from "./support/terminal.ts";
import { freePort, makeHome, type ServerProcess, spawnServer } from "./support/server_process.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const CYCLES = SLOW ? 200 : 20;
const TERMINALS = ["LC000301", "LC000302", "LC000303", "LC000304"];

Deno.test(`crash: ${CYCLES} SIGKILL cycles during concurrent uploads lose and duplicate nothing`, async () => {
  const home = await makeHome(TERMINALS);
  const extra = ["--rate", "100000", "--burst", "100000"];
  let seed = Number(Deno.env.get("ICFARE_SEED") ?? Date.now() % 100000);
  const seed0 = seed;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let url = "";
  let done = false;
  const acked: Acked = new Map();
  let attempts = 0, failures = 0;

  const terminal = async (tid: string, idx: number) => {
    for (let no = 1; !done; no++) {
      const n = 5 + ((no * 7 + idx) % 16);
      const body = enc.encode(JSON.stringify(
        sampleBatch({
          terminalId: tid,
          batchNo: no,
          records: n,
          panBase: idx * 1_000_000 + no * 100,
        }),
      ));
      for (;;) { // retry this batch until acknowledged
        attempts++;
        try {
          const r = await fetchWithTimeout(url, body, tid);
          if (r.status === 200) {
            const text = await r.text();
            const prev = acked.get(`${tid}/${no}`);
            if (prev) assertEquals(text.replace("true}", "false}"), prev.receipt);
            acked.set(`${tid}/${no}`, {
              receipt: text.replace('"replayed":true}', '"replayed":false}'),
              records: n,
            });
            break;
          }
          await r.body?.cancel();
          assert(r.status === 503, `unexpected status ${r.status}`);
        } catch (e) {
          if (e instanceof Error && e.name === "AssertionError") throw e;
        }
        failures++;
        await new Promise((res) => setTimeout(res, 10 + rand() * 30));
      }
    }
  };

  let srv: ServerProcess = await spawnServer(home, freePort(), extra);
  url = srv.url;
  const workers = TERMINALS.map((t, i) => terminal(t, i));
  try {
    for (let c = 0; c < CYCLES; c++) {
      await new Promise((res) => setTimeout(res, 30 + rand() * 300));
      const st = await srv.stop("SIGKILL");
      assertEquals(st.signal, "SIGKILL");
      srv = await spawnServer(home, freePort(), extra);
      url = srv.url;
    }
    await new Promise((res) => setTimeout(res, 300));
    done = true;
    await Promise.all(workers); // each finishes (acknowledges) the batch it holds
  } finally {
    done = true;
    await srv.stop();
  }

  const records = checkStore(home, acked);
  console.log(
    `crash: seed ${seed0}, ${CYCLES} SIGKILL cycles, ${acked.size} batches / ${records} records ` +
      `acknowledged, ${attempts} attempts (${failures} failed and retried), 0 lost, 0 duplicated, ` +
      `0 partial, integrity_check ok`,
  );
});

type Acked = Map<string, { receipt: string; records: number }>;

/**
 * Every acknowledged batch is stored once, whole, with the receipt the terminal got, and
 * nothing else is stored; `integrity_check` is ok. Returns the acknowledged record count.
 */
function checkStore(home: string, acked: Acked): number {
  const db = new DatabaseSync(join(home, "icfare.db"));
  assertEquals(db.prepare("PRAGMA integrity_check").get()!.integrity_check, "ok");
  const rows = db.prepare(
    `SELECT b.terminal_id t, b.batch_no n, b.record_count rc, b.receipt, count(r.id) k
     FROM batches b LEFT JOIN records r ON r.batch_id = b.id GROUP BY b.id`,
  ).all();
  const stored = new Map(rows.map((r) => [`${r.t}/${r.n}`, r]));
  assertEquals(rows.length, stored.size, "each (terminal, batch) at most once");
  for (const r of rows) assertEquals(r.k, r.rc, `batch ${r.t}/${r.n} partial`);
  let records = 0;
  for (const [key, a] of acked) {
    const r = stored.get(key);
    assert(r, `acknowledged batch ${key} missing`);
    assertEquals(r.receipt, a.receipt, `receipt of ${key}`);
    assertEquals(r.k, a.records);
    records += a.records;
  }
  assertEquals(stored.size, acked.size, "nothing stored that was never acknowledged at the end");
  db.close();
  return records;
}

async function fetchWithTimeout(url: string, body: Uint8Array, tid: string): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      send(url, body, { terminalId: tid }),
      new Promise<never>((_, rej) => timer = setTimeout(() => rej(new Error("timeout")), 5000)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
