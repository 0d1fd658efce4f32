/**
 * What only the PostgreSQL store has (docs/scale.md; docs/reliability.md D6): settings that could
 * lose an acknowledged commit are refused, migrations apply once even when servers open the
 * database together, a newer schema is refused, records land in their settlement day's
 * partition, and a URL selects the backend.
 */
import { DatabaseSync } from "node:sqlite";
import { assert, assertEquals, assertRejects } from "@icfare/assert";
import { MIGRATIONS } from "../core/store/migrations.ts";
import { openPostgresStore } from "../core/store/postgres.ts";
import { PG_MIGRATIONS } from "../core/store/pg/schema.ts";
import { StoreConfigError } from "../core/store/store.ts";
import { storeLocation } from "../core/store/open.ts";
import { redactUrl } from "../core/store/pg/connect.ts";
import { pgCluster, pgTest } from "./support/pg_cluster.ts";
import { batch, record } from "./support/store_backends.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import postgres from "postgres";

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  assertEquals(rows.map((r) => Number(r.version)), PG_MIGRATIONS.map((m) => m.version));
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

Deno.test("ICFARE_DATABASE_URL: back-office commands go to PostgreSQL (unreachable: one coded line), the console is refused (STORE_SQLITE_ONLY)", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-back-office-url-" });
  try {
    const env = { ICFARE_DATABASE_URL: "postgres://icfare:s3cret@127.0.0.1:1/icfare" };
    const runs: [string[], string][] = [
      [["clear", "--list"], "STORE_UNAVAILABLE"],
      [["debts", "list"], "STORE_UNAVAILABLE"],
      [["denylist", "list"], "STORE_UNAVAILABLE"],
      [["network", "list"], "STORE_UNAVAILABLE"],
      [["records"], "STORE_UNAVAILABLE"],
      [["console"], "STORE_SQLITE_ONLY"],
    ];
    for (const [args, code] of runs) {
      const r = await icfareRun([...args, "--home", home], { env });
      const err = r.stderr.split("\n").filter((l) => l && !/^(Download|Initialize) /.test(l));
      assertEquals(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert(err.join("\n").includes(code), `${args.join(" ")}: ${r.stderr}`);
      assert(err.join("\n").includes("postgres://icfare:***@127.0.0.1:1/icfare"), r.stderr);
      assert(!r.stderr.includes("s3cret"), r.stderr);
      assertEquals(err.length, 1, r.stderr);
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

/** The tables PostgreSQL's step 3 makes after SQLite's (clearing, ledger, debts, console). */
const STEP_3_TABLES = [
  "debts",
  "debt_records",
  "debt_events",
  "ledger_entries",
  "ledger_postings",
  "ledger_accounts",
  "clearing_lines",
  "console_accounts",
  "console_audit",
];

pgTest(
  "pg store: schema step 3 has SQLite's clearing, ledger, debt and console tables",
  async () => {
    const lite = new DatabaseSync(":memory:");
    for (const m of MIGRATIONS) lite.exec(m.sql);
    const s = await openPostgresStore(await (await pgCluster()).createDatabase("step3"));
    try {
      for (const t of STEP_3_TABLES) {
        // the same columns in the same order, and as many CHECK constraints
        const want = lite.prepare(`SELECT name FROM pragma_table_info('${t}') ORDER BY cid`).all()
          .map((r) => r.name);
        const have = await s.sql`SELECT column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = ${t} ORDER BY ordinal_position`;
        assertEquals(have.map((r) => r.column_name), want, t);
        const ddl = String(
          lite.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").get(t)!
            .sql,
        );
        const [c] = await s.sql`SELECT count(*)::int AS n FROM pg_constraint
        WHERE conrelid = ${t}::regclass AND contype = 'c'`;
        assertEquals(c.n, ddl.match(/CHECK \(/g)?.length ?? 0, `${t} checks`);
      }
      const [ec] = await s.sql`SELECT data_type FROM information_schema.columns
      WHERE table_name = 'records' AND column_name = 'ec_balance'`;
      assertEquals(ec.data_type, "bigint"); // the IDD's n10 balance passes 2^31
      const [idx] = await s.sql`SELECT indexdef FROM pg_indexes
      WHERE tablename = 'clearing_lines' AND indexname = 'clearing_presented_once'`;
      assert(
        /^CREATE UNIQUE INDEX .* \(card_hash, psn, atc\) WHERE .*CLEARED.*DEBT/.test(idx.indexdef),
        idx.indexdef,
      );
    } finally {
      await s.closeAsync();
      lite.close();
    }
  },
);

pgTest(
  "pg store: the ledger is append-only, clearing lines are written once, closed days are frozen",
  async () => {
    const s = await openPostgresStore(await (await pgCluster()).createDatabase("frozen"));
    const refused = (q: () => Promise<unknown>, msg: string) => assertRejects(q, Error, msg);
    try {
      await s.ingest(batch(1, "01".repeat(32), [record(1), record(2), record(3)]));
      const [r1, r2, r3] = (await s.sql`SELECT id FROM records ORDER BY seq`).map((r) => r.id);
      const [e] = await s.sql`INSERT INTO ledger_entries (kind, settlement_day, record_id)
        VALUES ('clear', '2016-06-24', ${r1}) RETURNING id`;
      await s.sql`INSERT INTO ledger_postings (entry_id, account, amount)
        VALUES (${e.id}, 'a', 200), (${e.id}, 'b', -200)`;
      const ledger = "the ledger is append-only";
      await refused(() => s.sql`UPDATE ledger_entries SET kind = 'debt'`, ledger);
      await refused(() => s.sql`DELETE FROM ledger_entries`, ledger);
      await refused(() => s.sql`TRUNCATE ledger_entries CASCADE`, ledger);
      await refused(() => s.sql`UPDATE ledger_postings SET amount = 1`, ledger);
      await refused(() => s.sql`DELETE FROM ledger_postings`, ledger);

      const line = (id: number, outcome: string) =>
        s.sql`INSERT INTO clearing_lines (record_id, settlement_day, outcome, reason, rule, model,
          issuer_verifies, fare, fee, fee_bp, card_hash, psn, atc, terminal_id, merchant_id, line)
          VALUES (${id}, '2016-06-24', ${outcome}, 'OK', 'r', 'EC', 0, 200, 1, 50,
            ${new Uint8Array(32).fill(7)}, '01', 5, 'LC000123', 'm', 'K1')`;
      await line(r1, "CLEARED");
      await refused(() => line(r2, "DEBT"), "clearing_presented_once"); // the same tap again
      await line(r2, "DUPLICATE");
      await refused(() => s.sql`UPDATE clearing_lines SET reason = 'x'`, "written once");
      await refused(() => s.sql`DELETE FROM clearing_lines`, "written once");

      await s.sql`INSERT INTO settlement_days (day, state, closed_at, closed_by)
        VALUES ('2016-06-24', 'closed', '2016-06-26T00:00:00Z', 'op')`;
      await refused(() => line(r3, "EXCEPTION"), "settlement day is closed");
      await refused(
        () => s.sql`UPDATE settlement_days SET state = 'cleared'`,
        "a closed settlement day stays closed",
      );
      await refused(
        () => s.recordVerification(r3, { status: "VALID" }),
        "record of a closed settlement day",
      );
      await refused(
        () =>
          s.sql`INSERT INTO records (settlement_day, batch_id, terminal_id, batch_no, seq,
          tapped_at, line, vehicle, fare, status, body_index)
          SELECT settlement_day, batch_id, terminal_id, batch_no, 9, tapped_at, line, vehicle,
            fare, status, body_index FROM records WHERE id = ${r3}`,
        "settlement day is closed",
      );
      // ingest stamps a tap of the closed day on the next open one
      await s.ingest(batch(2, "02".repeat(32), [record(1)]));
      const [late] = await s.sql`SELECT settlement_day FROM records WHERE batch_no = 2`;
      assertEquals(late.settlement_day, "2016-06-25");
    } finally {
      await s.closeAsync();
    }
  },
);

pgTest(
  "pg store: closing a day waits for a verdict in flight and holds the next one out",
  async () => {
    const url = await (await pgCluster()).createDatabase("closing");
    const s = await openPostgresStore(url);
    const a = postgres(url, { max: 1, onnotice: () => {} }),
      b = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await s.ingest(batch(1, "01".repeat(32), [record(1), record(2)]));
      const [r1, r2] = (await s.sql`SELECT id FROM records ORDER BY seq`).map((r) => Number(r.id));
      await s.sql`INSERT INTO settlement_days (day, state) VALUES ('2016-06-24', 'cleared')`;
      const settled = <T>(p: Promise<T>) =>
        Promise.race([p.then(() => true), delay(300).then(() => false)]);
      // a verdict in flight: the close waits for its commit
      let close: Promise<unknown> = Promise.resolve();
      await a.begin(async (ta) => {
        await ta`UPDATE records SET verified_at = 'x' WHERE id = ${r1}`;
        close = b`UPDATE settlement_days SET state = 'closed' WHERE day = '2016-06-24'`.execute();
        assertEquals(await settled(close), false, "the close waited for the open writer");
      });
      await close;
      // the close committed: the next verdict of that day is refused
      assertEquals((await s.sql`SELECT state FROM settlement_days`)[0].state, "closed");
      await assertRejects(
        () => a`UPDATE records SET verified_at = 'y' WHERE id = ${r2}`,
        Error,
        "record of a closed settlement day",
      );
      const [x] = await s.sql`SELECT verified_at FROM records WHERE id = ${r1}`;
      assertEquals(x.verified_at, "x");
    } finally {
      await a.end();
      await b.end();
      await s.closeAsync();
    }
  },
);

pgTest("pg store: verdicts store the EC balance as SQLite does", async () => {
  const s = await openPostgresStore(await (await pgCluster()).createDatabase("ecbal"));
  try {
    await s.ingest(batch(1, "01".repeat(32), [1, 2, 3, 4, 5].map((i) => record(i))));
    const ids = (await s.sql`SELECT id FROM records ORDER BY seq`).map((r) => Number(r.id));
    const balances = [12_345, 9_999_999_999, -1, 1.5, undefined];
    await s.recordVerifications(ids.map((recordId, i) => ({
      recordId,
      result: balances[i] === undefined
        ? { status: "VALID" }
        : { status: "VALID", ecBalance: balances[i] },
    })));
    const rows = await s.sql`SELECT ec_balance FROM records ORDER BY seq`;
    assertEquals(rows.map((r) => r.ec_balance), [12_345, 9_999_999_999, null, null, null]);
  } finally {
    await s.closeAsync();
  }
});
