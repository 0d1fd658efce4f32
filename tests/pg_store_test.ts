/**
 * What only the PostgreSQL store has (docs/scale.md; docs/reliability.md D6): settings that could
 * lose an acknowledged commit are refused, migrations apply once even when servers open the
 * database together, a newer schema is refused, records land in their settlement day's
 * partition, and a URL selects the backend.
 */
import { assert, assertEquals, assertRejects } from "@icfare/assert";
import { openPostgresStore } from "../core/store/postgres.ts";
import { PG_MIGRATIONS } from "../core/store/pg/schema.ts";
import { StoreConfigError } from "../core/store/store.ts";
import { storeLocation } from "../core/store/open.ts";
import { redactUrl } from "../core/store/pg/connect.ts";
import { pgCluster, pgTest } from "./support/pg_cluster.ts";
import { batch, record } from "./support/store_backends.ts";
import { icfareRun } from "./support/icfare_cli.ts";

pgTest("pg store: synchronous_commit=off and fsync=off are refused", async () => {
  const c = await pgCluster();
  const url = await c.createDatabase("settings");
  const name = new URL(url).pathname.slice(1);
  await c.psql(`ALTER DATABASE ${name} SET synchronous_commit = off`);
  const e = await assertRejects(() => openPostgresStore(url), StoreConfigError);
  assert(e.message.includes("synchronous_commit is off"), e.message);
  await c.psql(`ALTER DATABASE ${name} RESET synchronous_commit`);
  await c.psql("ALTER SYSTEM SET fsync = off");
  await c.psql("SELECT pg_reload_conf()");
  try {
    await new Promise((r) => setTimeout(r, 300)); // the reload reaches new backends
    const f = await assertRejects(() => openPostgresStore(url), StoreConfigError);
    assert(f.message.includes("fsync is off"), f.message);
  } finally {
    await c.psql("ALTER SYSTEM RESET fsync");
    await c.psql("SELECT pg_reload_conf()");
  }
  await new Promise((r) => setTimeout(r, 300));
  const s = await openPostgresStore(url);
  await s.closeAsync();
});

pgTest("pg store: servers opening together migrate once; a newer schema is refused", async () => {
  const c = await pgCluster();
  const url = await c.createDatabase("migrate");
  const stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresStore(url)));
  const rows = await stores[0].sql`SELECT version FROM icfare_migrations ORDER BY version`;
  assertEquals(rows.map((r) => Number(r.version)), [1, 2]);
  await stores[0].sql`INSERT INTO icfare_migrations (version, description) VALUES (999, 'x')`;
  await Promise.all(stores.map((s) => s.closeAsync()));
  const e = await assertRejects(() => openPostgresStore(url), StoreConfigError);
  assert(e.message.includes("schema version 999 is newer"), e.message);
});

pgTest("pg store: records are filed in their settlement day's partition", async () => {
  const url = await (await pgCluster()).createDatabase("parts");
  const s = await openPostgresStore(url);
  try {
    await s.ingest(batch(1, "01".repeat(32), [
      record(1, { tappedAt: "2016-06-24T07:31:02+08:00" }),
      record(2, { tappedAt: "2016-06-24T22:59:59+08:00" }),
      record(3, { tappedAt: "2016-06-24T23:00:00+08:00" }), // after the cut-off: next day
      record(4, { tappedAt: "2016-06-24T15:30:00Z" }), // 23:30 in Shanghai
    ]));
    const rows = await s.sql`SELECT tableoid::regclass::text AS part, seq, settlement_day
      FROM records ORDER BY seq`;
    assertEquals(rows.map((r) => [r.part, r.seq, r.settlement_day]), [
      ["records_20160624", 1, "2016-06-24"],
      ["records_20160624", 2, "2016-06-24"],
      ["records_20160625", 3, "2016-06-25"],
      ["records_20160625", 4, "2016-06-25"],
    ]);
    const [p] = await s.pendingRecords(1);
    assertEquals(p.day, "2016-06-24");
  } finally {
    await s.closeAsync();
  }
});

pgTest(
  "pg store: a new day's partition made beside a running ingest does not deadlock",
  async () => {
    // An ingest locks `batches` and then `records`; creating a partition locks `records` and then
    // `batches` (its foreign key). Two servers did deadlock this way under load (40P01, 503): the
    // partition is now made with `batches` locked first, and an ingest that still meets a
    // deadlock retries.
    const url = await (await pgCluster()).createDatabase("partlock");
    const maker = await openPostgresStore(url);
    const other = await openPostgresStore(url);
    try {
      await other.ingest(batch(1, "01".repeat(32), [record(1)])); // schema and the first day
      const steps: string[] = [];
      let made: Promise<unknown> = Promise.resolve();
      await other.sql.begin(async (tx) => {
        // an ingest half way: `batches` held, `records` next
        await tx`LOCK TABLE batches IN ROW EXCLUSIVE MODE`;
        made = maker.ingest(batch(2, "02".repeat(32), [
          record(1, { tappedAt: "2016-07-01T07:31:02+08:00" }), // a day without a partition
        ])).then((r) => steps.push(`maker ${r.kind}`), (e) => steps.push(`maker failed ${e}`));
        await new Promise((r) => setTimeout(r, 500)); // the maker waits on a lock by now
        await tx`LOCK TABLE records IN ROW EXCLUSIVE MODE`;
        steps.push("ingest got records");
      }).catch((e) => steps.push(`ingest failed ${e.code ?? e}`));
      await made;
      assertEquals(steps, ["ingest got records", "maker stored"]);
      const [n] = await maker.sql`SELECT count(*)::int AS n FROM records_20160701`;
      assertEquals(n.n, 1);
    } finally {
      await maker.closeAsync();
      await other.closeAsync();
    }
  },
);

Deno.test("store location: --store first, then ICFARE_DATABASE_URL, else HOME/icfare.db", () => {
  assertEquals(storeLocation("/h", undefined, undefined), { kind: "sqlite", path: "/h/icfare.db" });
  assertEquals(storeLocation("/h", undefined, "postgres://u@db:5432/icfare"), {
    kind: "postgres",
    url: "postgres://u@db:5432/icfare",
  });
  assertEquals(storeLocation("/h", "postgresql://x@y/z", "postgres://u@db/icfare"), {
    kind: "postgres",
    url: "postgresql://x@y/z",
  });
  assertEquals(storeLocation("/h", "/data/other.db", "postgres://u@db/icfare"), {
    kind: "sqlite",
    path: "/data/other.db",
  });
  try {
    storeLocation("/h", "mysql://u:secret@db/x");
    throw new Error("not refused");
  } catch (e) {
    assert(e instanceof StoreConfigError);
    assert(!e.message.includes("secret"), e.message);
  }
  assertEquals(redactUrl("postgres://icfare:s3cret@db:5432/x"), "postgres://icfare:***@db:5432/x");
});

Deno.test("SQLite-only commands are refused (STORE_SQLITE_ONLY) while ICFARE_DATABASE_URL names PostgreSQL", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-sqlite-only-" });
  try {
    const env = { ICFARE_DATABASE_URL: "postgres://icfare:s3cret@127.0.0.1:1/icfare" };
    const runs = [
      ["clear", "--date", "2026-11-27"],
      ["debts", "list"],
      ["demo"],
      ["denylist", "list"],
      ["network", "list"],
      ["records"],
      ["explain", "--record", "1"],
    ];
    for (const args of runs) {
      const r = await icfareRun([...args, "--home", home], { env });
      assertEquals(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert(r.stderr.includes("STORE_SQLITE_ONLY"), r.stderr);
      assert(r.stderr.includes("postgres://icfare:***@127.0.0.1:1/icfare"), r.stderr);
      assert(!r.stderr.includes("s3cret"), r.stderr);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    // nothing was made in the home: no SQLite store opened beside the database
    assertEquals([...Deno.readDirSync(home)], []);
    // without the variable the same command runs on the home's SQLite store
    const ok = await icfareRun(["network", "list", "--home", home, "--json"]);
    assertEquals(ok.code, 0, ok.stderr);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

pgTest(
  "pg store: schema step 2 turns step 1's deny list into journal rows, holds and cards",
  async () => {
    const c = await pgCluster();
    const url = await c.createDatabase("step1");
    const db = url.slice(url.lastIndexOf("/") + 1);
    // a database left at step 1 with one card still listed and one taken off
    await c.psql(
      `CREATE TABLE icfare_migrations (version integer PRIMARY KEY, description text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now());
     ${PG_MIGRATIONS[0].sql}
     INSERT INTO icfare_migrations (version, description) VALUES (1, 'step 1');
     INSERT INTO deny_list VALUES ('\\x${"01".repeat(32)}', 'ODA_FAILED', 1, 3),
       ('\\x${"02".repeat(32)}', 'OPERATOR', 2, NULL);
     UPDATE meta SET value = '3' WHERE key = 'deny_list_version';`,
      db,
    );
    const s = await openPostgresStore(url);
    try {
      const full = await s.denyListSince(0);
      assertEquals([full.version, full.entries], [3, [
        { card: "02".repeat(32), reason: "OPERATOR", action: "add", version: 2 },
      ]]);
      assertEquals((await s.denyListSince(1)).entries, [
        { card: "02".repeat(32), reason: "OPERATOR", action: "add", version: 2 },
        { card: "01".repeat(32), reason: "OPERATOR", action: "remove", version: 3 },
      ]);
      const holds = await s.sql`SELECT reason, ref FROM deny_holds`;
      assertEquals(holds.map((h) => [h.reason, h.ref]), [["OPERATOR", ""]]);
      const gone = await s.sql`SELECT to_regclass('deny_list') AS t`;
      assertEquals(gone[0].t, null);
    } finally {
      await s.closeAsync();
    }
  },
);
