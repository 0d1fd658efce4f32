/**
 * `icfare demo` as a real subprocess on a small mixed day (600 taps: one EC and one ODA line) in a
 * temporary directory: exit 0, 100 % agreement with the ground truth for verdicts and for every
 * record's outcome, the cleared count and sum equal to the truth's, the deny list replayed to the
 * world's version, the three report files (JSON, text, HTML), no clear key (issuer keys,
 * terminal keys, the store's own keys, the master key) and no clear PAN in the home or in the
 * outputs; then `icfare verify` over the same store through the CLI finds nothing pending.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { scanFiles } from "./support/key_scan.ts";
import { KeyStore } from "../core/keys/store.ts";
import { fromHex } from "../core/hex.ts";

const main = new URL("../cli/main.ts", import.meta.url).pathname;
const dec = new TextDecoder();

async function icfare(cwd: string, ...args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

Deno.test("icfare demo end to end: 100 % agreement, reports, no clear key or PAN anywhere", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-demo-" });
  try {
    const home = join(tmp, "home"), master = join(tmp, "demo-master.key");
    const sim = join(tmp, "sim");
    const args = ["--home", home, "--master-key-file", master, "--sim-dir", sim];
    const r = await icfare(
      tmp,
      "demo",
      "--taps",
      "600",
      "--seed",
      "demo",
      "--workers",
      "2",
      "--model",
      "mixed",
      ...args,
    );
    assertEquals(r.code, 0, r.stdout + r.stderr);
    for (let i = 1; i <= 13; i++) assert(r.stdout.includes(`[${i}/13]`), `step ${i} printed`);
    assert(r.stdout.includes("(100.00 %)"), r.stdout);
    assert(/\[11\/13\] money checks +(\d+)\/\1 final states agree/.test(r.stdout), r.stdout);
    assert(r.stdout.includes("RESULT: OK"));

    const reports = [...Deno.readDirSync(join(home, "reports"))].map((e) => e.name).sort();
    assertEquals(reports.map((f) => f.replace(/\d{4}-\d{2}-\d{2}/, "D")), [
      "demo-D.html",
      "demo-D.json",
      "demo-D.txt",
    ]);
    const rep = JSON.parse(await Deno.readTextFile(join(home, "reports", reports[1])));
    assertEquals(rep.ok, true);
    assertEquals(rep.truth.agree, rep.truth.rows);
    assert(rep.truth.rows >= 590, `rows ${rep.truth.rows}`);
    assertEquals(rep.upload.unexpected, []);
    assertEquals(rep.secondRunPending, 0);
    assertEquals(rep.verify.records, rep.upload.recordsAccepted);
    assertEquals(rep.steps.length, 13);
    // The money end: every record's final state, the ledger, the cleared and debt totals, a
    // second clear, the deny list's version, the ODA line registered.
    const money = rep.money;
    assertEquals([money.agree, money.rows], [rep.truth.rows, rep.truth.rows]);
    assertEquals(money.ledger, { total: 0, unbalanced: 0, drifting: 0 });
    assertEquals(money.cleared.store, money.cleared.truth);
    assertEquals(money.clearingFile, money.cleared.truth);
    assertEquals(money.debts.store, money.debts.truth);
    assert(
      money.cleared.store.count > 0 && money.debts.store.count > 0,
      "cleared records and debts",
    );
    assertEquals(money.rerun, { newLines: 0, identical: true });
    assertEquals(money.reconciliationBalanced, true);
    const outcomes = new Set(money.outcomes.map((o: { outcome: string }) => o.outcome));
    // every debt was collected: RECOVERED or WRITTEN_OFF, none left a DEBT
    for (const o of ["CLEARED", "RECOVERED", "EXCEPTION"]) assert(outcomes.has(o), `${o} shown`);
    assert(!outcomes.has("DEBT"), "no debt left uncollected");
    const c = rep.collection;
    assertEquals([c.agree, c.doubleApproved, c.standing], [c.debts, 0, c.collected.store.count]);
    assertEquals([c.collected.store, c.writtenOff.store], [c.collected.truth, c.writtenOff.truth]);
    assert(c.debts === money.debts.store.count && c.faults > 0, JSON.stringify(c));
    assertEquals(
      rep.checks.map((c: { name: string; ok: boolean }) => `${c.name} ${c.ok}`),
      [
        "uploads true",
        "verdicts true",
        "nothing pending true",
        "final states true",
        "ledger true",
        "cleared totals true",
        "debts true",
        "collection true",
        "clear again true",
        "reconciliation true",
        "audit true",
      ],
    );
    // The day sealed and audited clean: the step's line, the archive beside the verified records.
    assert(
      /\[12\/13\] archive, audit +(\d+) records sealed .* audit: CLEAN \(0 finding/.test(r.stdout),
      r.stdout,
    );
    assertEquals(rep.archive.records, rep.archive.dayRecords);
    assert(rep.archive.records >= rep.truth.rows - 10, `archive records ${rep.archive.records}`);
    assertEquals([rep.archive.clean, rep.archive.findings], [true, 0]);
    const archiveText = await Deno.readTextFile(rep.archive.file);
    assertEquals(JSON.parse(archiveText.split("\n")[0]).t, "A", "the archive's header line");
    const world = JSON.parse(await Deno.readTextFile(join(sim, "denylist.json")));
    assertEquals(rep.denyList.version, world.version);
    assertEquals(rep.denyList.odaLines, 1);
    const html = await Deno.readTextFile(join(home, "reports", reports[0]));
    assert(html.includes("All 11 checks passed"), "the page lists the checks");
    assertEquals(((await Deno.stat(master)).mode ?? 0) & 0o777, 0o600);

    // Every secret: the simulated issuer keys, and every key of the key store (terminal keys,
    // pan-hash, card-data, deny-list keys, the imported IMKs) plus the master key itself.
    const secrets: Uint8Array[] = [];
    const kf = JSON.parse(await Deno.readTextFile(join(sim, "keys.json")));
    for (const k of kf.keys) {
      if (k.usage === "imk-ac" || k.usage === "imk-mac") secrets.push(fromHex(k.value, "key"));
    }
    const ak = JSON.parse(await Deno.readTextFile(join(sim, "auditor.key")));
    secrets.push(fromHex(ak.privateKey, "auditor key"));
    const m = fromHex((await Deno.readTextFile(master)).trim(), "master");
    secrets.push(m.slice());
    const ks = await KeyStore.open(home, m, "test");
    for (const k of ks.list().keys) secrets.push(ks.withKey(k.id, (v) => v.slice(), true));
    ks.close();
    assert(secrets.length >= 10 + 1 + 3 + 3, `secrets ${secrets.length}`);

    // The outputs: stdout/stderr of the demo and of a store-mode verify through the CLI.
    const v = await icfare(tmp, "verify", "--home", home, "--master-key-file", master, "--json");
    assertEquals(v.code, 0, v.stderr);
    assertEquals(JSON.parse(v.stdout).summary.records, 0, "second verify finds nothing pending");
    const out = join(tmp, "outputs");
    await Deno.mkdir(out);
    await Deno.writeTextFile(join(out, "demo.txt"), r.stdout + r.stderr);
    await Deno.writeTextFile(join(out, "verify.txt"), v.stdout + v.stderr);
    const scan = await scanFiles([home, out], secrets);
    assert(scan.files > 5, `files scanned ${scan.files}`);
    assertEquals(scan.hits, []);

    // No clear PAN (the simulated BINs are 6235xx) in the outputs or the reports.
    const texts = [
      r.stdout,
      v.stdout,
      ...reports.map((f) => Deno.readTextFileSync(join(home, "reports", f))),
      archiveText,
    ];
    for (const t of texts) assertEquals(t.match(/6235\d{10,15}/g), null);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("icfare demo refuses to wipe a directory that is not a demo home", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-demo-" });
  try {
    const home = join(tmp, "precious");
    await Deno.mkdir(home);
    await Deno.writeTextFile(join(home, "keep.txt"), "data");
    const r = await icfare(
      tmp,
      "demo",
      "--taps",
      "50",
      "--home",
      home,
      "--master-key-file",
      join(tmp, "m.key"),
      "--sim-dir",
      join(tmp, "sim"),
    );
    assertEquals(r.code, 1);
    assert(r.stderr.includes("not a demo home"), r.stderr);
    assertEquals(await Deno.readTextFile(join(home, "keep.txt")), "data");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
