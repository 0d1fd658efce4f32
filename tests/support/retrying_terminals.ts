/**
 * Terminals that upload numbered batches and retry each until it is acknowledged, for the crash
 * tests (docs/reliability.md D1, docs/scale.md D8): the server they talk to may be killed at any
 * moment. Every acknowledged receipt is kept (as `"replayed":false`) so the store can be checked
 * against it; a retried batch that was acknowledged before must come back byte-identical.
 */
import { assert, assertEquals } from "@icfare/assert";
import { enc, sampleBatch, send } from "./terminal.ts";

/** Acknowledged batches by `terminal/batchNo`: the receipt and the record count. */
export type Acked = Map<string, { receipt: string; records: number }>;

export interface TerminalRun {
  readonly acked: Acked;
  attempts: number;
  failures: number;
  /** Set to stop after the batches in hand are acknowledged. */
  done: boolean;
  /** Resolves when every terminal has stopped. */
  finished: Promise<void>;
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

/**
 * Starts one uploading loop per terminal; `urlFor(terminalIndex, attempt)` names the server for
 * each attempt (so terminals can spread over several servers). `rand` draws the retry pauses.
 */
export function startTerminals(
  terminals: readonly string[],
  urlFor: (idx: number, attempt: number) => string,
  rand: () => number,
): TerminalRun {
  const run: TerminalRun = {
    acked: new Map(),
    attempts: 0,
    failures: 0,
    done: false,
    finished: Promise.resolve(),
  };
  const terminal = async (tid: string, idx: number) => {
    for (let no = 1; !run.done; no++) {
      const n = 5 + ((no * 7 + idx) % 16);
      const body = enc.encode(JSON.stringify(
        sampleBatch({
          terminalId: tid,
          batchNo: no,
          records: n,
          panBase: idx * 1_000_000 + no * 100,
        }),
      ));
      for (let attempt = 0;; attempt++) { // retry this batch until acknowledged
        run.attempts++;
        try {
          const r = await fetchWithTimeout(urlFor(idx, attempt), body, tid);
          if (r.status === 200) {
            const text = await r.text();
            const prev = run.acked.get(`${tid}/${no}`);
            if (prev) assertEquals(text.replace("true}", "false}"), prev.receipt);
            run.acked.set(`${tid}/${no}`, {
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
        run.failures++;
        await new Promise((res) => setTimeout(res, 10 + rand() * 30));
      }
    }
  };
  run.finished = Promise.all(terminals.map((t, i) => terminal(t, i))).then(() => {});
  return run;
}

/** A stored batch as the checks see it. */
export interface StoredBatch {
  readonly key: string;
  readonly recordCount: number;
  readonly receipt: string;
  /** Records actually stored under it. */
  readonly records: number;
}

/**
 * Every acknowledged batch is stored once, whole, with the receipt the terminal got, and
 * nothing else is stored. Returns the acknowledged record count.
 */
export function checkAcked(rows: readonly StoredBatch[], acked: Acked): number {
  const stored = new Map(rows.map((r) => [r.key, r]));
  assertEquals(rows.length, stored.size, "each (terminal, batch) at most once");
  for (const r of rows) assertEquals(r.records, r.recordCount, `batch ${r.key} partial`);
  let records = 0;
  for (const [key, a] of acked) {
    const r = stored.get(key);
    assert(r, `acknowledged batch ${key} missing`);
    assertEquals(r.receipt, a.receipt, `receipt of ${key}`);
    assertEquals(r.records, a.records);
    records += a.records;
  }
  assertEquals(stored.size, acked.size, "nothing stored that was never acknowledged at the end");
  return records;
}
