import { assertEquals, assertRejects } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { WorkerStore } from "./worker_store.ts";
import { StoreConfigError, StoreUnavailableError } from "./store.ts";

function batch(batchNo: number, digest: string, seqs: number[]) {
  return {
    terminalId: "LC000123",
    batchNo,
    merchantId: "898371641110001",
    denyListVersion: 0,
    digest,
    body: new Uint8Array([1]),
    bodyBytes: 1,
    amount: 0,
    receivedAt: "2026-11-27T00:00:00Z",
    records: seqs.map((seq, index) => ({
      seq,
      tappedAt: "2016-06-24T07:31:02+08:00",
      line: "K1",
      vehicle: "V",
      stop: null,
      fare: 0,
      cardHash: new Uint8Array(32),
      panMasked: null,
      psn: "01",
      atc: seq,
      status: "pending" as const,
      reject: null,
      index,
    })),
    receipt: `{"batchId":"x${batchNo}","replayed":false}`,
  };
}

Deno.test("worker store: same contract across the thread boundary, errors keep their class", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-wstore-" });
  const path = join(dir, "icfare.db");
  const s = await WorkerStore.open(path, { busyTimeoutMs: 50 });
  const r = await Promise.all([
    s.ingest(batch(1, "A", [1, 2])),
    s.ingest(batch(1, "A", [1, 2])),
    s.ingest(batch(1, "B", [1])),
    s.ingest(batch(2, "C", [1, 1])).catch((e) => e),
  ]);
  assertEquals(r.map((x) => x instanceof Error ? x.name : x.kind), [
    "stored",
    "replayed",
    "conflict",
    "StoreUnavailableError",
  ]);
  assertEquals(await s.counts(), { batches: 1, records: 2, pending: 2, rejected: 0 });
  assertEquals((await s.pendingRecords(5))[1].cardHash, new Uint8Array(32));
  await assertRejects(() => s.pendingRecords(0), RangeError);
  const lock = new DatabaseSync(path);
  lock.exec("BEGIN IMMEDIATE");
  await assertRejects(() => s.ingest(batch(3, "D", [1])), StoreUnavailableError);
  lock.exec("ROLLBACK");
  lock.exec("PRAGMA user_version = 99");
  lock.close();
  assertEquals((await s.ingest(batch(3, "D", [1]))).kind, "stored");
  assertEquals(await s.integrityCheck(), "ok");
  await s.closeAsync();
  await assertRejects(() => WorkerStore.open(path), StoreConfigError);
});
