import { assert, assertEquals, assertRejects, assertThrows } from "@icfare/assert";
import { join } from "node:path";
import { openSqliteStore } from "./sqlite.ts";
import { type NewBatch, type NewRecord, StoreConfigError, StoreUnavailableError } from "./store.ts";
import { SCHEMA_VERSION } from "./migrations.ts";
import { DevPanProtector } from "./pan.ts";

const KEY_A = "11".repeat(32);
const KEY_B = "22".repeat(32);

function record(seq: number, over: Partial<NewRecord> = {}): NewRecord {
  return {
    seq,
    tappedAt: "2016-06-24T07:31:02+08:00",
    line: "K1",
    vehicle: "LC-1024",
    stop: null,
    fare: 200,
    cardHash: new Uint8Array(32).fill(seq),
    panMasked: "623456******1234",
    psn: "01",
    atc: seq,
    status: "pending",
    reject: null,
    index: seq - 1,
    ...over,
  };
}

function batch(batchNo: number, digest: string, records: NewRecord[]): NewBatch {
  return {
    terminalId: "LC000123",
    batchNo,
    merchantId: "898371641110001",
    denyListVersion: 0,
    digest,
    body: new Uint8Array([9, 9]),
    bodyBytes: 2,
    amount: records.reduce((s, r) => s + r.fare, 0),
    receivedAt: "2026-11-27T00:00:00Z",
    records,
    receipt: `{"batchId":"LC000123-${batchNo}","digest":"${digest}","replayed":false}`,
  };
}

/** Schema step 8 undone: the verdict index back, the counts and their triggers gone. */
const UNDO_STEP_8 = `DROP TRIGGER records_verdicts_insert; DROP TRIGGER records_verdicts_update;
  DROP TRIGGER records_verdicts_delete; DROP TABLE day_verdicts; DROP INDEX records_day_pending;
  CREATE INDEX records_day_verdict ON records (settlement_day, verdict, tapped_at);`;

async function tempDb(): Promise<string> {
  return join(await Deno.makeTempDir({ prefix: "icfare-store-" }), "icfare.db");
}

Deno.test("store: opens with WAL + synchronous=FULL read back, migrates once", async () => {
  const path = await tempDb();
  const s = openSqliteStore(path);
  const db = s.connection;
  assertEquals(
    (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
    "wal",
  );
  assertEquals((db.prepare("PRAGMA synchronous").get() as { synchronous: number }).synchronous, 2);
  assertEquals(
    (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    SCHEMA_VERSION,
  );
  const tempStore = (c: typeof db) =>
    (c.prepare("PRAGMA temp_store").get() as { temp_store: number }).temp_store;
  assertEquals(tempStore(db), 0, "statement journals in files by default (clearing)");
  s.close();
  const again = openSqliteStore(path, { tempStore: "memory" }); // reopening applies nothing twice
  assertEquals(tempStore(again.connection), 2, "in memory for the upload server and verifiers");
  assertEquals(await again.integrityCheck(), "ok");
  again.close();
});

Deno.test("store: refuses synchronous other than FULL, in-memory files and newer schemas", async () => {
  const path = await tempDb();
  for (const level of ["NORMAL", "OFF", "EXTRA"]) {
    assertThrows(
      () => openSqliteStore(path, { afterPragmas: (db) => db.exec(`PRAGMA synchronous=${level}`) }),
      StoreConfigError,
    );
  }
  assertThrows(
    () => openSqliteStore(path, { afterPragmas: (db) => db.exec("PRAGMA journal_mode=DELETE") }),
    StoreConfigError,
  );
  assertThrows(() => openSqliteStore(":memory:"), StoreConfigError);
  const s = openSqliteStore(path);
  s.connection.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  s.close();
  assertThrows(() => openSqliteStore(path), StoreConfigError);
});

Deno.test("store: ingest stores once, replays the same receipt, reports a conflict", async () => {
  const s = openSqliteStore(await tempDb());
  const b = batch(1, "AA", [record(1), record(2)]);
  assertEquals(await s.ingest(b), { kind: "stored", receipt: b.receipt });
  const again = await s.ingest(b);
  assertEquals(again.kind, "replayed");
  assertEquals(
    again.kind === "replayed" && again.receipt,
    b.receipt.replace('"replayed":false}', '"replayed":true}'),
  );
  assertEquals(await s.ingest(batch(1, "BB", [record(1)])), {
    kind: "conflict",
    storedDigest: "AA",
  });
  assertEquals(await s.receipt("LC000123", 1), b.receipt.replace("false}", "true}"));
  assertEquals(await s.receipt("LC000123", 2), null);
  assertEquals(await s.batchDigest("LC000123", 1), "AA");
  assertEquals(await s.counts(), { batches: 1, records: 2, pending: 2, rejected: 0 });
  s.close();
});

Deno.test("store: a failing record rolls the whole batch back (never partial)", async () => {
  const s = openSqliteStore(await tempDb());
  // Two records with the same seq break the unique index half way through the transaction.
  await assertRejects(
    () => s.ingest(batch(5, "CC", [record(1), record(1)])),
    StoreUnavailableError,
  );
  assertEquals(await s.counts(), { batches: 0, records: 0, pending: 0, rejected: 0 });
  assertEquals(await s.batchDigest("LC000123", 5), null);
  // and the connection is usable afterwards
  assertEquals((await s.ingest(batch(5, "CC", [record(1)]))).kind, "stored");
  s.close();
});

Deno.test("store: a held write lock gives StoreUnavailableError, nothing stored", async () => {
  const path = await tempDb();
  const s = openSqliteStore(path, { busyTimeoutMs: 50 });
  const other = openSqliteStore(path);
  other.connection.exec("BEGIN IMMEDIATE");
  await assertRejects(() => s.ingest(batch(7, "DD", [record(1)])), StoreUnavailableError);
  other.connection.exec("ROLLBACK");
  assertEquals((await s.ingest(batch(7, "DD", [record(1)]))).kind, "stored");
  other.close();
  s.close();
});

Deno.test("store: pending records, verification results, rejected records kept", async () => {
  const s = openSqliteStore(await tempDb());
  const rej = record(3, {
    status: "rejected",
    cardHash: null,
    reject: { code: "TLV_VALUE_OVERRUN", message: "bad", path: "records[2].icc" },
  });
  await s.ingest(batch(2, "EE", [record(1), record(2), rej]));
  const p = await s.pendingRecords(10);
  assertEquals(p.map((r) => r.seq), [1, 2]);
  assertEquals([p[0].index, p[1].index], [0, 1]);
  const body = await s.batchBody(p[0].batchId);
  assertEquals(body?.sealed, new Uint8Array([9, 9]));
  assertEquals(body?.aad, "batch/LC000123/2/EE");
  assertEquals(await s.batchBody(999), null);
  assertEquals(p[1].cardHash, new Uint8Array(32).fill(2));
  await s.recordVerification(p[0].id, { status: "OK" });
  await assertRejects(() => s.recordVerification(p[0].id, { status: "OK" }), RangeError);
  assertEquals((await s.pendingRecords(10)).map((r) => r.seq), [2]);
  assertEquals((await s.pendingRecords(10, p[1].id)).length, 0);
  assertEquals(await s.counts(), { batches: 1, records: 3, pending: 1, rejected: 1 });
  s.close();
});

Deno.test("store: deny list versions, full list and deltas (tests/denylist_*: the rest)", async () => {
  const s = openSqliteStore(await tempDb());
  const a = { cardHash: "A1".repeat(32), psn: "00" };
  const b = { cardHash: "B2".repeat(32), psn: "01" };
  const empty = await s.denyListSince(0);
  assertEquals([empty.version, empty.full, empty.entries], [0, true, []]);
  assertEquals(s.denyList.add(a, "ODA_FAILED", "test", "r1"), 1);
  assertEquals(s.denyList.add(b, "DEBT_DECLINED", "test", "d1"), 2);
  assertEquals(s.denyList.remove(a, "OPERATOR", "test"), 3);
  assertEquals(s.denyList.remove(a, "OPERATOR", "test"), 3);
  const full = await s.denyListSince(0);
  assertEquals(full.version, 3);
  assertEquals(full.entries.map((e) => [e.action, e.reason, e.version]), [[
    "add",
    "DEBT_DECLINED",
    2,
  ]]);
  const delta = await s.denyListSince(1);
  assertEquals(delta.full, false);
  assertEquals(delta.entries.map((e) => [e.card.slice(0, 2), e.action, e.version]), [
    ["B2", "add", 2],
    ["A1", "remove", 3],
  ]);
  assertEquals((await s.denyListSince(3)).entries, []);
  assertEquals((await s.denyListSince(99)).full, true);
  s.close();
});

Deno.test("pan protector: keyed hash depends on key, PSN; seal binds its aad", async () => {
  const p = await DevPanProtector.fromHex(KEY_A, KEY_B);
  const q = await DevPanProtector.fromHex(KEY_B, KEY_A);
  const h1 = await p.hash("6234567890123456", "01");
  assertEquals(h1.length, 32);
  assert((await p.hash("6234567890123456", "02")).some((v, i) => v !== h1[i]));
  assert((await q.hash("6234567890123456", "01")).some((v, i) => v !== h1[i]));
  assertEquals(p.mask("6234567890123456"), "623456******3456");
  const plain = new TextEncoder().encode("5A0862345678901234565F340101");
  const sealed = await p.seal(plain, "record/T/1/1");
  assert(!new TextDecoder().decode(sealed).includes("6234567890"));
  assertEquals(await p.open(sealed, "record/T/1/1"), plain);
  await assertRejects(() => p.open(sealed, "record/T/1/2"));
  await assertRejects(() => q.open(sealed, "record/T/1/1"));
  await assertRejects(() => p.hash("62345", "01"), RangeError);
});

Deno.test("store: group commit — concurrent batches share a transaction, a bad one fails alone", async () => {
  const s = openSqliteStore(await tempDb());
  const jobs = [
    s.ingest(batch(11, "A1", [record(1)])),
    s.ingest(batch(12, "A2", [record(1), record(1)])), // fails: duplicate seq
    s.ingest(batch(13, "A3", [record(1), record(2)])),
    s.ingest(batch(11, "A1", [record(1)])), // same key, same digest, same group
    s.ingest(batch(13, "XX", [record(1)])), // same key, other digest, same group
  ];
  const r = await Promise.allSettled(jobs);
  assertEquals(r.map((x) => x.status === "fulfilled" ? x.value.kind : x.reason.name), [
    "stored",
    "StoreUnavailableError",
    "stored",
    "replayed",
    "conflict",
  ]);
  assertEquals(s.groupStats, { commits: 1, batches: 5 });
  assertEquals(await s.counts(), { batches: 2, records: 3, pending: 3, rejected: 0 });
  s.close();
});

Deno.test("store: schema step 7 moves pending work of a step-6 database into batch_work", async () => {
  const path = await tempDb();
  const s = openSqliteStore(path);
  await s.ingest(batch(1, "A1", [record(1), record(2)]));
  await s.ingest(batch(2, "A2", [record(3), record(4, { status: "rejected", cardHash: null })]));
  await s.ingest(batch(3, "A3", [record(5)]));
  const [first] = await s.pendingRecords(1);
  await s.recordVerification(first.id, { status: "OK" });
  const done = (await s.pendingRecords(10)).find((r) => r.batchNo === 3)!;
  await s.recordVerification(done.id, { status: "OK" });
  // back to step 6 as it was shipped: no batch_work, the three indexes it retires (and no step 8)
  s.connection.exec(`${UNDO_STEP_8}
    DROP TABLE batch_work; DROP INDEX records_rejected;
    CREATE INDEX batches_pending ON batches (id) WHERE pending > 0;
    CREATE INDEX records_pending ON records (status, id);
    CREATE INDEX records_verified_at ON records (verified_at); PRAGMA user_version = 6`);
  s.close();
  const again = openSqliteStore(path);
  try {
    const work = again.connection.prepare(
      "SELECT b.batch_no, w.pending FROM batch_work w JOIN batches b ON b.id = w.batch_id ORDER BY 1",
    ).all();
    assertEquals(work.map((r) => [r.batch_no, r.pending]), [[1, 1], [2, 1]]);
    assertEquals(await again.counts(), { batches: 3, records: 5, pending: 2, rejected: 1 });
    const claim = await again.claimPending("t", 10, 60_000);
    assertEquals(claim?.records.map((r) => r.seq), [2, 3]);
    await again.completeClaim(
      claim!,
      claim!.records.map((r) => ({
        recordId: r.id,
        result: { status: "OK" },
      })),
    );
    assertEquals((await again.counts()).pending, 0);
    assertEquals(
      again.connection.prepare("SELECT count(*) AS n FROM batch_work").get()!.n,
      0,
      "a batch leaves the work table with its last verdict",
    );
  } finally {
    again.close();
  }
});

Deno.test("store: schema step 8 counts each day's verdicts by trigger, whoever writes", async () => {
  const path = await tempDb();
  const s = openSqliteStore(path);
  await s.ingest(batch(1, "B1", [
    record(1),
    record(2),
    record(3, {
      status: "rejected",
      cardHash: null,
      reject: { code: "TLV_VALUE_OVERRUN", message: "bad", path: "records[2].icc" },
    }),
  ]));
  const [first] = await s.pendingRecords(1);
  await s.recordVerification(first.id, { status: "OK" });
  // back to step 7 as it was shipped: the verdict index, no counts
  s.connection.exec(`${UNDO_STEP_8} PRAGMA user_version = 7`);
  s.close();
  const again = openSqliteStore(path);
  const db = again.connection;
  const counted = () =>
    db.prepare(`SELECT settlement_day AS day, verdict, records AS n FROM day_verdicts
      WHERE records > 0 ORDER BY 1, 2`).all().map((r) => `${r.day} ${r.verdict} ${r.n}`);
  const truth = () =>
    db.prepare(`SELECT settlement_day AS day, verdict, count(*) AS n FROM records
      GROUP BY 1, 2 ORDER BY 1, 2`).all().map((r) => `${r.day} ${r.verdict} ${r.n}`);
  try {
    assertEquals(counted(), [
      "2016-06-24 OK 1",
      "2016-06-24 PENDING 1",
      "2016-06-24 TLV_VALUE_OVERRUN 1",
    ]);
    await again.ingest(
      batch(2, "B2", [record(4), record(5, { tappedAt: "2016-06-24T23:10:00+08:00" })]),
    );
    const claim = await again.claimPending("t", 10, 60_000);
    await again.completeClaim(
      claim!,
      claim!.records.map((r, i) => ({
        recordId: r.id,
        result: { status: i ? "DUPLICATE" : "OK" },
      })),
    );
    assertEquals(counted(), truth());
    // writers outside the store's methods are counted too: a reset, a changed day, a delete
    db.exec(`UPDATE records SET status = 'pending', verification = NULL WHERE seq = 4;
      UPDATE records SET settlement_day = '2016-06-26' WHERE seq = 1;
      DELETE FROM records WHERE seq = 2`);
    assertEquals(counted(), truth());
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT count(*) AS n FROM records
      WHERE settlement_day = ? AND status = 'pending'`).all("2016-06-24");
    assert(
      plan.some((p) => String(p.detail).includes("records_day_pending")),
      JSON.stringify(plan),
    );
  } finally {
    again.close();
  }
});

Deno.test("store: the integrity check finds counts that disagree with the records", async () => {
  const s = openSqliteStore(await tempDb());
  try {
    await s.ingest(batch(1, "C1", [record(1), record(2)]));
    const [first] = await s.pendingRecords(1);
    await s.recordVerification(first.id, { status: "OK" });
    assertEquals(await s.integrityCheck(), "ok");
    s.connection.exec(`UPDATE day_verdicts SET records = records + 2 WHERE verdict = 'OK';
      INSERT INTO day_verdicts VALUES ('2016-06-30', 'DUPLICATE', 1);
      UPDATE batch_work SET pending = 2`);
    assertEquals(
      await s.integrityCheck(),
      `batch ${first.batchId}: 2/2 records, 1/2 pending; day 2016-06-24 OK: 1 records, 3 counted; ` +
        "day 2016-06-30 DUPLICATE: 0 records, 1 counted",
    );
  } finally {
    s.close();
  }
});

Deno.test("store: a page cache in MiB is set on the connection (verifiers), bad sizes refused", async () => {
  const path = await tempDb();
  const s = openSqliteStore(path, { cacheMiB: 64 });
  assertEquals(s.connection.prepare("PRAGMA cache_size").get()!.cache_size, -65536);
  s.close();
  const d = openSqliteStore(path);
  assertEquals(d.connection.prepare("PRAGMA cache_size").get()!.cache_size, -2000);
  d.close();
  for (const bad of [0, -1, 1.5, 70000]) {
    assertThrows(() => openSqliteStore(path, { cacheMiB: bad }), RangeError, "cacheMiB");
  }
});
