/**
 * `icfare demo --store postgres://…` as a real subprocess on a throwaway PostgreSQL cluster
 * (docs/scale.md, "The back office on PostgreSQL"): the same small mixed day as the SQLite demo
 * test, run end to end on the database — upload server, verifiers, clearing, collection over
 * ISO 8583, archive and audit — with every check passing and no SQLite store made in the home;
 * the figures the demo reports equal the ones the same day gives on SQLite; the operators'
 * commands (records, clear --list, debts, denylist list/stale, network, explain --record) answer
 * from the same database through ICFARE_DATABASE_URL; a second run on the same (no longer empty)
 * database is refused before anything is done.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { pgCluster, pgTest } from "./support/pg_cluster.ts";

const main = new URL("../cli/main.ts", import.meta.url).pathname;
const dec = new TextDecoder();

async function demo(cwd: string, extra: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      main,
      "demo",
      "--taps",
      "600",
      "--seed",
      "demo-pg",
      "--workers",
      "2",
      "--model",
      "mixed",
      "--json",
      "--home",
      join(cwd, "home"),
      "--master-key-file",
      join(cwd, "master.key"),
      "--sim-dir",
      join(cwd, "sim"),
      ...extra,
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { ICFARE_DATABASE_URL: "" },
  }).output();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** What must not depend on the store: the day's figures and every check's verdict. */
// deno-lint-ignore no-explicit-any
function figures(rep: any) {
  return {
    ok: rep.ok,
    checks: rep.checks.map((c: { name: string; ok: boolean }) => `${c.name}:${c.ok}`),
    verify: [rep.verify.records, rep.verify.status, rep.verify.acrossBatches],
    money: rep.money,
    collection: [rep.collection.debts, rep.collection.agree, rep.collection.collected],
  };
}

pgTest("demo --store postgres: the whole day on PostgreSQL, every check as on SQLite", async () => {
  const c = await pgCluster();
  const url = await c.createDatabase("demo");
  const pgDir = await Deno.makeTempDir({ prefix: "icfare-demo-pg-" });
  const liteDir = await Deno.makeTempDir({ prefix: "icfare-demo-lite-" });
  try {
    const [pg, lite] = await Promise.all([demo(pgDir, ["--store", url]), demo(liteDir, [])]);
    assertEquals(pg.code, 0, pg.stdout.slice(-3000) + pg.stderr);
    assertEquals(lite.code, 0, lite.stdout.slice(-3000) + lite.stderr);
    const a = JSON.parse(pg.stdout), b = JSON.parse(lite.stdout);
    assertEquals(a.ok, true);
    assert(a.checks.length >= 10 && a.checks.every((x: { ok: boolean }) => x.ok), pg.stdout);
    assert(a.collection.debts > 0, "the mixed day has debts to collect");
    assertEquals(figures(a), figures(b));
    // the home holds keys, reports and the archive, not a store of its own
    const home = [...Deno.readDirSync(join(pgDir, "home"))].map((e) => e.name);
    assert(!home.includes("icfare.db"), home.join(" "));
    assert(home.includes("archive") && home.includes("reports"), home.join(" "));
    // the store is the database
    const n = await c.psql("SELECT count(*) FROM records", url.slice(url.lastIndexOf("/") + 1));
    assertEquals(Number(n.trim()), a.verify.records + a.upload.recordsRejected, n);

    // the operators' commands read and write the same database through ICFARE_DATABASE_URL
    const cli = async (...args: string[]) => {
      // `denylist stale` exits 1 when a terminal is behind (the demo's are: its day is over)
      const codes = args[1] === "stale" ? [0, 1] : [0];
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", main, ...args, "--home", join(pgDir, "home"), "--json"],
        cwd: pgDir,
        stdout: "piped",
        stderr: "piped",
        env: { ICFARE_DATABASE_URL: url, ICFARE_MASTER_KEY: "" },
      }).output();
      const out = dec.decode(r.stdout), err = dec.decode(r.stderr);
      assert(codes.includes(r.code), `${args.join(" ")}: ${r.code} ${out}${err}`);
      return JSON.parse(out);
    };
    const key = ["--master-key-file", join(pgDir, "master.key")];
    const ok = await cli("records", "--status", "OK", "--limit", "3");
    assertEquals(ok.records.length, 3);
    assert(ok.records.every((x: { status: string }) => x.status === "OK"), JSON.stringify(ok));
    const days = await cli("clear", "--list");
    assertEquals(days.days.map((d: { state: string }) => d.state), ["closed"]);
    const debts = await cli("debts", "list", "--state", "recovered");
    assertEquals(debts.debts.length, a.collection.collected.store.count);
    const listed = await cli("denylist", "list");
    assert(listed.cards.length > 0 && listed.version > 0, JSON.stringify(listed).slice(0, 300));
    const stale = await cli("denylist", "stale");
    assertEquals(stale.version, listed.version);
    assert(stale.terminals.length > 0, JSON.stringify(stale).slice(0, 300));
    const net = await cli("network", "list");
    assert(net.models.some((m: { model: string }) => m.model === "ODA"), JSON.stringify(net));
    const ex = await cli("explain", "--record", String(ok.records[0].id), ...key);
    assertEquals([ex.record.id, ex.explanation.status], [ok.records[0].id, "OK"]);

    const again = await demo(pgDir, ["--store", url]);
    assertEquals(again.code, 1, again.stdout + again.stderr);
    assert(again.stderr.includes("DEMO_STORE_NOT_EMPTY"), again.stderr);
  } finally {
    await Deno.remove(pgDir, { recursive: true });
    await Deno.remove(liteDir, { recursive: true });
  }
});
