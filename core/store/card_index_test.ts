/**
 * The store's verification writes and card index: `recordVerifications` is all or nothing,
 * `sameCard` finds every record of a card and ATC across batches, oldest first, with statuses.
 */
import { assertEquals, assertRejects } from "@icfare/assert";
import { join } from "node:path";
import { openSqliteStore } from "./sqlite.ts";
import type { NewBatch, NewRecord } from "./store.ts";

function rec(seq: number, card: number, atc: number, over: Partial<NewRecord> = {}): NewRecord {
  return {
    seq,
    tappedAt: "2026-06-24T07:31:02+08:00",
    line: "K1",
    vehicle: "LC-1024",
    stop: null,
    fare: 200,
    cardHash: new Uint8Array(32).fill(card),
    panMasked: "623501******1234",
    psn: "01",
    atc,
    status: "pending",
    reject: null,
    index: seq - 1,
    ...over,
  };
}

function batch(terminalId: string, batchNo: number, records: NewRecord[]): NewBatch {
  const digest = `${terminalId}-${batchNo}`;
  return {
    terminalId,
    batchNo,
    merchantId: "898371641110001",
    denyListVersion: 0,
    digest,
    body: new Uint8Array([1]),
    bodyBytes: 1,
    amount: records.reduce((s, r) => s + r.fare, 0),
    receivedAt: "2026-11-27T00:00:00Z",
    records,
    receipt: `{"batchId":"${digest}","replayed":false}`,
  };
}

Deno.test("store: sameCard across batches and terminals; recordVerifications all or nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-card-index-" });
  const s = openSqliteStore(join(dir, "icfare.db"));
  try {
    await s.ingest(batch("LC000001", 1, [rec(1, 7, 0x10), rec(2, 8, 0x10)]));
    await s.ingest(batch("LC000002", 5, [
      rec(1, 7, 0x10),
      rec(2, 7, 0x11),
      rec(3, 7, 0x10, { status: "rejected", reject: { code: "X", message: "x", path: "p" } }),
    ]));
    const same = await s.sameCard(new Uint8Array(32).fill(7), "01", 0x10);
    assertEquals(
      same.map((r) => [r.terminalId, r.batchNo, r.seq, r.status]),
      [["LC000001", 1, 1, "pending"], ["LC000002", 5, 1, "pending"], [
        "LC000002",
        5,
        3,
        "rejected",
      ]],
    );
    assertEquals(same[0].id < same[1].id, true);
    assertEquals((await s.sameCard(new Uint8Array(32).fill(7), "02", 0x10)).length, 0);
    assertEquals((await s.sameCard(new Uint8Array(32).fill(7), "01", 0x12)).length, 0);

    const pending = await s.pendingRecords(10);
    assertEquals(pending.length, 4);
    // One record not pending (id 9999) refuses the whole list: nothing is written.
    await assertRejects(() =>
      s.recordVerifications([
        { recordId: pending[0].id, result: { status: "OK" } },
        { recordId: 9999, result: { status: "OK" } },
      ])
    );
    assertEquals((await s.counts()).pending, 4);
    await s.recordVerifications(pending.map((p) => ({
      recordId: p.id,
      result: { status: "OK", detail: { cryptogram: "ok" } },
    })));
    assertEquals((await s.counts()).pending, 0);
    const again = await s.sameCard(new Uint8Array(32).fill(7), "01", 0x10);
    assertEquals(again.map((r) => r.status), ["verified", "verified", "rejected"]);
    // A second write of the same verdicts is refused (no record is pending any more).
    await assertRejects(() =>
      s.recordVerifications([{ recordId: pending[0].id, result: { status: "OK" } }])
    );
  } finally {
    s.close();
    await Deno.remove(dir, { recursive: true });
  }
});
