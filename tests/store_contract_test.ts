/**
 * The store contract (core/store/store.ts), one suite run against both backends: SQLite and
 * PostgreSQL (a throwaway cluster; ignored with one line where PostgreSQL is absent). Ingest,
 * replay and conflict, bodies, pending records and verdicts, the card index, the deny list,
 * counts and the integrity check. Claims, locks and concurrency: store_contract_work_test.ts.
 */
import { assert, assertEquals, assertRejects } from "@icfare/assert";
import { batch, eachBackend, rawSql, record, withStore } from "./support/store_backends.ts";
import { listDigest } from "../core/denylist/signed.ts";

eachBackend(
  "ingest stores a batch once; same digest replays, another conflicts",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      const first = batch(1, "aa".repeat(32), [record(1), record(2)]);
      const r1 = await s.ingest(first);
      assertEquals(r1, { kind: "stored", receipt: first.receipt });
      const r2 = await s.ingest(first);
      assertEquals(r2.kind, "replayed");
      assertEquals(
        (r2 as { receipt: string }).receipt,
        first.receipt.replace('"replayed":false}', '"replayed":true}'),
      );
      const r3 = await s.ingest(batch(1, "bb".repeat(32), [record(1)]));
      assertEquals(r3, { kind: "conflict", storedDigest: "aa".repeat(32) });
      assertEquals(await s.batchDigest("LC000123", 1), "aa".repeat(32));
      assertEquals(await s.batchDigest("LC000123", 2), null);
      assertEquals(await s.receipt("LC000123", 1), (r2 as { receipt: string }).receipt);
      assertEquals(await s.receipt("LC000124", 1), null);
      assertEquals(await s.counts(), { batches: 1, records: 2, pending: 2, rejected: 0 });
      await assertRejects(() => s.ingest({ ...first, batchNo: 2, receipt: "{}" }), TypeError);
      assertEquals(await s.integrityCheck(), "ok");
    }),
);

eachBackend(
  "a reopened store keeps every batch; the schema is migrated once",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      await s.ingest(batch(1, "aa".repeat(32), [record(1)]));
      await withStore(b, loc, async (again) => {
        assertEquals(await again.batchDigest("LC000123", 1), "aa".repeat(32));
        assertEquals((await again.counts()).records, 1);
      });
    }),
);

eachBackend(
  "batch bodies come back sealed with their additional data",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      await s.ingest(batch(7, "cc".repeat(32), [record(1)]));
      const [p] = await s.pendingRecords(10);
      const body = await s.batchBody(p.batchId);
      assertEquals(body, {
        sealed: new Uint8Array([7, 9, 9]),
        aad: `batch/LC000123/7/${"cc".repeat(32)}`,
      });
      assertEquals(await s.batchBody(p.batchId + 1000), null);
    }),
);

eachBackend(
  "pending records in id order; rejected records are never pending",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      await s.ingest(batch(1, "01".repeat(32), [
        record(1),
        record(2, {
          status: "rejected",
          reject: { code: "TLV_MALFORMED", message: "bad", path: "records[1].icc" },
          cardHash: null,
          psn: null,
          atc: null,
          panMasked: null,
        }),
        record(3, { stop: "S015", tappedAt: "2016-06-24T23:30:00+08:00" }),
      ]));
      await s.ingest(batch(2, "02".repeat(32), [record(4)]));
      const all = await s.pendingRecords(100);
      assertEquals(all.map((r) => [r.batchNo, r.seq]), [[1, 1], [1, 3], [2, 4]]);
      assert(all[0].id < all[1].id && all[1].id < all[2].id);
      assertEquals(all[1].tappedAt, "2016-06-24T23:30:00+08:00");
      assertEquals(all[1].cardHash, new Uint8Array(32).fill(3));
      assertEquals([all[1].psn, all[1].atc, all[1].fare, all[1].index], ["01", 3, 200, 2]);
      const page = await s.pendingRecords(1, all[0].id);
      assertEquals(page.map((r) => r.seq), [3]);
      assertEquals(await s.counts(), { batches: 2, records: 4, pending: 3, rejected: 1 });
      await assertRejects(() => s.pendingRecords(0), RangeError);
    }),
);

eachBackend(
  "verdicts: a chunk is written all or nothing; a record leaves pending",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      await s.ingest(batch(1, "01".repeat(32), [record(1), record(2), record(3)]));
      const [a, c, d] = await s.pendingRecords(10);
      const ok = { status: "OK", detail: { cryptogram: "VALID" } };
      await assertRejects(
        () =>
          s.recordVerifications([{ recordId: a.id, result: ok }, { recordId: 99999, result: ok }]),
        RangeError,
      );
      assertEquals((await s.counts()).pending, 3, "nothing written by the failed chunk");
      await s.recordVerifications([{ recordId: a.id, result: ok }, { recordId: c.id, result: ok }]);
      await assertRejects(() => s.recordVerification(a.id, ok), RangeError);
      await s.recordVerification(d.id, { status: "CRYPTOGRAM_INVALID" });
      assertEquals((await s.counts()).pending, 0);
      assertEquals(await s.pendingRecords(10), []);
      assertEquals(await s.integrityCheck(), "ok");
      await s.recordVerifications([]);
    }),
);

eachBackend(
  "card index: same card hash, PSN and ATC across batches, oldest first",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      const card = new Uint8Array(32).fill(0xab);
      await s.ingest(batch(1, "01".repeat(32), [record(1, { cardHash: card, atc: 42 })]));
      await s.ingest(
        batch(1, "02".repeat(32), [record(1, { cardHash: card, atc: 42 })], "LC000999"),
      );
      await s.ingest(batch(2, "03".repeat(32), [
        record(1, { cardHash: card, atc: 43 }),
        record(2, { cardHash: card, atc: 42, psn: "02" }),
        record(3, { cardHash: card, atc: 42, psn: null }),
      ]));
      const same = await s.sameCard(card, "01", 42);
      assertEquals(same.map((r) => [r.terminalId, r.batchNo, r.seq, r.status]), [
        ["LC000123", 1, 1, "pending"],
        ["LC000999", 1, 1, "pending"],
      ]);
      assert(same[0].id < same[1].id);
      assertEquals(same[1].index, 0);
      assertEquals((await s.sameCard(card, null, 42)).map((r) => r.seq), [3]);
      assertEquals(await s.sameCard(new Uint8Array(32), "01", 42), []);
      await assertRejects(() => s.sameCard(card, "01", 1.5), RangeError);
    }),
);

/** A journal: card 01 held (v1), card 02 held (v2), card 01 released by the operator (v3). */
const DENY_JOURNAL = [
  (bytes: (hex: string) => string) =>
    `INSERT INTO deny_journal (card_hash, psn, event, reason, ref, actor, at, version, listed)
     VALUES (${bytes("01".repeat(32))}, '01', 'hold', 'ODA_FAILED', 'r1', 'test', 'T', 1, 1),
       (${bytes("02".repeat(32))}, '02', 'hold', 'OPERATOR', '', 'test', 'T', 2, 1),
       (${bytes("01".repeat(32))}, '01', 'release', 'OPERATOR', '', 'test', 'T', 3, 0)`,
  (bytes: (hex: string) => string) =>
    `INSERT INTO deny_cards (card_hash, psn, reason, version)
     VALUES (${bytes("02".repeat(32))}, '02', 'OPERATOR', 2)`,
];

eachBackend(
  "deny list: full list, changes since a version, DENYLISTED in the version a batch reported",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      assertEquals(await s.denyListSince(0), {
        version: 0,
        since: 0,
        full: true,
        entries: [],
        listDigest: listDigest([]),
      });
      for (const st of DENY_JOURNAL) await rawSql(b, s, st);
      const full = await s.denyListSince(0);
      assertEquals(full, {
        version: 3,
        since: 0,
        full: true,
        entries: [{ card: "02".repeat(32), reason: "OPERATOR", action: "add", version: 2 }],
        listDigest: listDigest(["02".repeat(32)]),
      });
      const delta = await s.denyListSince(1);
      assertEquals(delta.full, false);
      assertEquals(delta.since, 1);
      assertEquals(delta.entries, [
        { card: "02".repeat(32), reason: "OPERATOR", action: "add", version: 2 },
        { card: "01".repeat(32), reason: "OPERATOR", action: "remove", version: 3 },
      ]);
      assertEquals((await s.denyListSince(3)).entries, []);
      assertEquals((await s.denyListSince(99)).full, true);
      await assertRejects(() => s.denyListSince(-1), RangeError);
      // cards 01 and 02 (records 1 and 2) under batches reporting versions 0, 2 and 3
      for (const [no, v] of [[1, 0], [2, 2], [3, 3]]) {
        const bt = batch(no, String(no).padStart(2, "0").repeat(32), [record(1), record(2)]);
        await s.ingest({ ...bt, denyListVersion: v });
      }
      const ids = (await s.pendingRecords(10)).map((r) => r.id);
      assertEquals(await s.denyListed(ids), [
        { recordId: ids[2], reported: 2, listedIn: 1, reason: "ODA_FAILED" },
        { recordId: ids[3], reported: 2, listedIn: 2, reason: "OPERATOR" },
        { recordId: ids[5], reported: 3, listedIn: 2, reason: "OPERATOR" },
      ]);
      assertEquals(await s.denyListed([]), []);
    }),
);

eachBackend(
  "ingest stamps tap day, settlement day and model; sealed track 2 kept for ODA only",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      await rawSql(b, s, () =>
        `INSERT INTO network_models (scope, key, model, set_by, set_at)
         VALUES ('line', 'ODA1', 'ODA', 'test', '2026-11-27T00:00:00Z')`);
      await rawSql(b, s, () =>
        `INSERT INTO settlement_days (day, state, closed_at, closed_by)
         VALUES ('2016-06-25', 'closed', '2016-06-26T00:00:00Z', 'test')`);
      const t2 = new Uint8Array([0x57, 1, 2]);
      await s.ingest(batch(1, "ab".repeat(32), [
        record(1, { tappedAt: "2016-06-24T22:59:59+08:00", track2Sealed: t2 }),
        record(2, { tappedAt: "2016-06-24T23:00:00+08:00", line: "ODA1", track2Sealed: t2 }),
      ]));
      const rows = await rawSql(b, s, () =>
        `SELECT seq, tap_day, settlement_day, model, track2_sealed FROM records ORDER BY seq`);
      assertEquals(rows.map((r) => [r.seq, r.tap_day, r.settlement_day, r.model]), [
        [1, "2016-06-24", "2016-06-24", "EC"],
        [2, "2016-06-25", "2016-06-26", "ODA"],
      ]);
      assertEquals(rows[0].track2_sealed, null);
      assertEquals([...rows[1].track2_sealed as Uint8Array], [0x57, 1, 2]);
    }),
);

eachBackend(
  "originals: set-wise, the earliest accepted record of each card key",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      const card = new Uint8Array(32).fill(0xcd);
      const ac = (n: number) => new Uint8Array([n, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0]);
      await s.ingest(batch(1, "01".repeat(32), [
        record(1, { cardHash: card, atc: 7, acKey: ac(1) }),
        record(2, {
          cardHash: card,
          atc: 8,
          status: "rejected",
          reject: { code: "MISSING_TAG", message: "x", path: "records[1].icc" },
        }),
      ]));
      await s.ingest(batch(2, "02".repeat(32), [
        record(1, { cardHash: card, atc: 7, acKey: ac(2) }),
        record(2, { cardHash: card, atc: 8, acKey: ac(3) }),
        record(3, { cardHash: card, atc: 9, psn: null }),
        record(4, { cardHash: null, atc: null, psn: null }),
      ]));
      const pending = await s.pendingRecords(100);
      assertEquals(pending.map((r) => r.acKey), [ac(1), ac(2), ac(3), null, null]);
      const found = await s.originals(pending);
      const first = pending[0];
      assertEquals([...found.keys()], [pending[1].id], "only the later record of atc 7 has one");
      const o = found.get(pending[1].id)!;
      assertEquals([o.id, o.terminalId, o.batchNo, o.seq, o.batchId, o.index, o.status], [
        first.id,
        "LC000123",
        1,
        1,
        first.batchId,
        0,
        "pending",
      ]);
      assertEquals(o.acKey, ac(1));
      // the same when the original is not in the chunk asked about (read from the store)
      const outside = await s.originals(pending.slice(1));
      assertEquals([...outside.keys()], [pending[1].id]);
      assertEquals(outside.get(pending[1].id), o);
      assertEquals((await s.originals([])).size, 0);
    }),
);

eachBackend(
  "originals: a card without a PSN, its original in an earlier batch and not in the chunk",
  (b, loc) =>
    withStore(b, loc, async (s) => {
      const card = new Uint8Array(32).fill(0xce);
      await s.ingest(batch(1, "03".repeat(32), [record(1, { cardHash: card, atc: 9, psn: null })]));
      await s.ingest(batch(2, "04".repeat(32), [
        record(1, { cardHash: card, atc: 9, psn: null }),
        record(2, { cardHash: card, atc: 9, psn: "01" }), // another PSN: another card key
      ]));
      const pending = await s.pendingRecords(100);
      const found = await s.originals(pending.slice(1));
      assertEquals([...found.keys()], [pending[1].id]);
      assertEquals(found.get(pending[1].id)?.id, pending[0].id);
    }),
);
