/**
 * The store contract, second part, on both backends: the same batch stored at once through two
 * connections (two servers), verification claims and their leases (two verifiers), and the
 * operator locks (two operators).
 */
import { assert, assertEquals, assertRejects } from "@icfare/assert";
import { LeaseLostError, LockBusyError } from "../core/store/store.ts";
import { batch, eachBackend, record, withStore } from "./support/store_backends.ts";

eachBackend(
  "two connections store the same batch at once: stored once, replayed once",
  (b, loc) =>
    withStore(b, loc, (one) =>
      withStore(b, loc, async (two) => {
        for (let no = 1; no <= 20; no++) {
          const recs = Array.from({ length: 1 + (no % 5) }, (_, i) => record(i + 1));
          const x = batch(no, "aa".repeat(32), recs);
          const [r1, r2] = await Promise.all([one.ingest(x), two.ingest(x)]);
          assertEquals([r1.kind, r2.kind].sort(), ["replayed", "stored"], `batch ${no}`);
          const y = batch(100 + no, "bb".repeat(32), recs);
          const z = batch(100 + no, "cc".repeat(32), recs);
          const [s1, s2] = await Promise.all([one.ingest(y), two.ingest(z)]);
          assertEquals([s1.kind, s2.kind].sort(), ["conflict", "stored"], `batch ${100 + no}`);
        }
        const c = await one.counts();
        assertEquals(c.batches, 40);
        assertEquals(c.records, 2 * (4 * (1 + 2 + 3 + 4 + 5)));
        assertEquals(await two.integrityCheck(), "ok");
      })),
);

/** Three batches of 2, 3 and 4 pending records. */
async function threeBatches(s: { ingest: (b: ReturnType<typeof batch>) => Promise<unknown> }) {
  await s.ingest(batch(1, "01".repeat(32), [record(1), record(2)]));
  await s.ingest(batch(2, "02".repeat(32), [record(1), record(2), record(3)]));
  await s.ingest(batch(3, "03".repeat(32), [record(1), record(2), record(3), record(4)]));
}

eachBackend(
  "claims: two verifiers get disjoint whole batches; completing ends the work",
  (b, loc) =>
    withStore(b, loc, (one) =>
      withStore(b, loc, async (two) => {
        await threeBatches(one);
        const a = await one.claimPending("verifier-a", 5, 60_000);
        assert(a);
        assertEquals(a.records.map((r) => [r.batchNo, r.seq]), [[1, 1], [1, 2], [2, 1], [2, 2], [
          2,
          3,
        ]]);
        const c = await two.claimPending("verifier-b", 1, 60_000);
        assert(c, "a claim takes at least one batch even when it holds more than asked");
        assertEquals(c.records.map((r) => r.batchNo), [3, 3, 3, 3]);
        assertEquals(await one.claimPending("verifier-c", 100, 60_000), null);
        const ok = { status: "OK" };
        await two.completeClaim(c, c.records.map((r) => ({ recordId: r.id, result: ok })));
        await one.completeClaim(a, a.records.map((r) => ({ recordId: r.id, result: ok })));
        assertEquals((await one.counts()).pending, 0);
        assertEquals(await two.claimPending("verifier-b", 100, 60_000), null);
        assertEquals(await one.integrityCheck(), "ok");
        await assertRejects(() => one.claimPending("", 1, 1000), TypeError);
        await assertRejects(() => one.claimPending("x", 0, 1000), RangeError);
      })),
);

eachBackend(
  "claims: a lapsed lease is taken over and the first verifier writes nothing",
  (b, loc) =>
    withStore(b, loc, (one) =>
      withStore(b, loc, async (two) => {
        await threeBatches(one);
        const a = await one.claimPending("slow", 100, 50);
        assert(a);
        assertEquals(a.batchIds.length, 3);
        await new Promise((r) => setTimeout(r, 120));
        const t = await two.claimPending("fast", 100, 60_000);
        assert(t, "the lapsed batches are claimable");
        assertEquals(t.records.length, 9);
        const items = (c: typeof a) =>
          c.records.map((r) => ({ recordId: r.id, result: { status: "OK" } }));
        await assertRejects(() => one.completeClaim(a, items(a)), LeaseLostError);
        assertEquals((await one.counts()).pending, 9, "the lapsed verifier wrote nothing");
        await two.completeClaim(t, items(t));
        assertEquals((await two.counts()).pending, 0);
      })),
);

eachBackend(
  "claims: a released claim is claimable at once; a lapsed one not before",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      await threeBatches(s);
      const a = await s.claimPending("a", 2, 60_000);
      assert(a);
      assertEquals(a.batchIds.length, 1);
      const next = await s.claimPending("b", 2, 60_000);
      assertEquals(next?.records[0].batchNo, 2, "batch 1 is leased to a");
      await s.releaseClaim(a);
      const again = await s.claimPending("c", 2, 60_000);
      assertEquals(again?.records.map((r) => r.batchNo), [1, 1]);
    }),
);

eachBackend(
  "operator locks: a second holder is refused or waits; released after",
  (b, loc) =>
    withStore(b, loc, (one) =>
      withStore(b, loc, async (two) => {
        let release = () => {};
        const held = new Promise<void>((r) => release = r);
        let entered!: () => void;
        const inside = new Promise<void>((r) => entered = r);
        const first = one.withLock("clear:2016-06-24", async () => {
          entered();
          await held;
          return "first";
        });
        await inside;
        await assertRejects(
          () => two.withLock("clear:2016-06-24", () => Promise.resolve(1)),
          LockBusyError,
        );
        assertEquals(
          await two.withLock("clear:2016-06-25", () => Promise.resolve("other day")),
          "other day",
        );
        const order: string[] = [];
        const waiter = two.withLock("clear:2016-06-24", () => {
          order.push("second");
          return Promise.resolve();
        }, { wait: true });
        await new Promise((r) => setTimeout(r, 100));
        order.push("release");
        release();
        assertEquals(await first, "first");
        await waiter;
        assertEquals(order, ["release", "second"]);
        await assertRejects(() => one.withLock("bad name!", () => Promise.resolve(1)), TypeError);
        await assertRejects(
          () => one.withLock("archive:x", () => Promise.reject(new Error("boom"))),
          Error,
          "boom",
        );
        assertEquals(
          await one.withLock("archive:x", () => Promise.resolve(2)),
          2,
          "released after a throw",
        );
      })),
);
