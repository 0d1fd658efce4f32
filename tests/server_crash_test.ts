/**
 * Crash test (docs/reliability.md D1): terminals upload concurrently while the server process is
 * killed with SIGKILL at random moments and restarted; each terminal retries a batch until it
 * is acknowledged. Afterwards every acknowledged batch is present exactly once with all its
 * records (none partial), its stored receipt is the one the terminal got, and
 * the store's integrity check is ok. 20 kill cycles in the normal suite, 200 with ICFARE_SLOW=1, once
 * with the SQLite connection on the server's main thread and once on its own thread.
 */
import { assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { type Acked, checkAcked, startTerminals } from "./support/retrying_terminals.ts";
import { freePort, makeHome, type ServerProcess, spawnServer } from "./support/server_process.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const CYCLES = SLOW ? 200 : 20;
const TERMINALS = ["LC000301", "LC000302", "LC000303", "LC000304"];

for (const thread of ["main", "worker"] as const) {
  Deno.test(`crash: ${CYCLES} SIGKILL cycles during concurrent uploads lose and duplicate nothing (SQLite on the ${thread} thread)`, () =>
    crashCycles(thread));
}

async function crashCycles(thread: "main" | "worker"): Promise<void> {
  const home = await makeHome(TERMINALS);
  const extra = ["--rate", "100000", "--burst", "100000", "--store-thread", thread];
  let seed = Number(Deno.env.get("ICFARE_SEED") ?? Date.now() % 100000);
  const seed0 = seed;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let srv: ServerProcess = await spawnServer(home, freePort(), extra);
  const run = startTerminals(TERMINALS, () => srv.url, rand);
  try {
    for (let c = 0; c < CYCLES; c++) {
      await new Promise((res) => setTimeout(res, 30 + rand() * 300));
      const st = await srv.stop("SIGKILL");
      assertEquals(st.signal, "SIGKILL");
      srv = await spawnServer(home, freePort(), extra);
    }
    await new Promise((res) => setTimeout(res, 300));
    run.done = true;
    await run.finished; // each finishes (acknowledges) the batch it holds
  } finally {
    run.done = true;
    await srv.stop();
  }

  const records = await checkStore(home, run.acked);
  console.log(
    `crash (${thread} thread): seed ${seed0}, ${CYCLES} SIGKILL cycles, ${run.acked.size} batches / ${records} ` +
      `records acknowledged, ${run.attempts} attempts (${run.failures} failed and retried), ` +
      `0 lost, 0 duplicated, 0 partial, integrity check ok`,
  );
}

/**
 * Every acknowledged batch is stored once, whole, with the receipt the terminal got, and
 * nothing else is stored; the store's integrity check (SQLite's pages, each batch's record and
 * pending counts, each day's verdict counts) is ok. Returns the acknowledged record count.
 */
async function checkStore(home: string, acked: Acked): Promise<number> {
  const store = openSqliteStore(join(home, "icfare.db"));
  assertEquals(await store.integrityCheck(), "ok");
  const db = store.connection;
  const rows = db.prepare(
    `SELECT b.terminal_id t, b.batch_no n, b.record_count rc, b.receipt, count(r.id) k
     FROM batches b LEFT JOIN records r ON r.batch_id = b.id GROUP BY b.id`,
  ).all();
  store.close();
  return checkAcked(
    rows.map((r) => ({
      key: `${r.t}/${r.n}`,
      recordCount: Number(r.rc),
      receipt: String(r.receipt),
      records: Number(r.k),
    })),
    acked,
  );
}
