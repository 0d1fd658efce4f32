/**
 * `icfare records` and `icfare explain --record` (issue 14 item 13) as real subprocesses over a
 * store filled by a small `icfare demo` run (300 taps): every filter agrees with the
 * simulator's ground truth; a card is found from its PAN typed on standard input, hashed with
 * the pan-hash key, and the PAN appears in no output; JSON and CSV carry masked PANs only; a
 * stored record is explained with the same trace `explain --file … --store` gives.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { csvCell } from "../cli/commands/records.ts";
import { flattenValues, parseTlv } from "../core/tlv/tree.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { cnDigits } from "../core/mask.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const dec = new TextDecoder();

async function icfare(args: string[], stdin?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const o = await child.output();
  return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
}

type Truth = {
  terminalId: string;
  batchNo: number;
  seq: number;
  status: string;
  pan: string;
  uploadRejected?: boolean;
};
type Rec = { id: number; terminalId: string; batchNo: number; seq: number; pan: string | null } & {
  psn: string | null;
  state: string;
  status: string;
  tappedAt: string;
};

/** A small demo day; returns where its home, key and world are. */
async function demoHome(tmp: string) {
  const home = join(tmp, "home"), key = join(tmp, "m.key"), sim = join(tmp, "sim");
  const r = await icfare([
    "demo",
    "--home",
    home,
    "--master-key-file",
    key,
    "--sim-dir",
    sim,
    "--taps",
    "300",
    "--workers",
    "1",
    "--json",
  ]);
  assertEquals(r.code, 0, r.stderr);
  const truth = (await Deno.readTextFile(join(sim, "truth.jsonl"))).trim().split("\n").map((l) =>
    JSON.parse(l) as Truth
  );
  return { home, key, sim, truth, keyArgs: ["--home", home, "--master-key-file", key] };
}

async function list(keyArgs: string[], ...args: string[]): Promise<Rec[]> {
  const r = await icfare(["records", ...keyArgs, "--json", "--limit", "0", ...args]);
  assertEquals(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assertEquals(j.count, j.records.length);
  return j.records;
}

/** The clear PAN and PSN of a record, read from the simulator's batch file. */
async function cardOf(sim: string, t: Truth): Promise<{ pan: string; psn: string }> {
  const file = join(sim, "batches", `${t.terminalId}-${String(t.batchNo).padStart(6, "0")}.json`);
  const body = JSON.parse(await Deno.readTextFile(file));
  const rec = body.records.find((r: { seq: number }) => r.seq === t.seq);
  const p = parseTlv(fromHex(rec.icc));
  assert(p.ok);
  const v = flattenValues(p.nodes);
  return { pan: cnDigits(v.get("5A")!), psn: toHex(v.get("5F34")!) };
}

Deno.test("records: filters agree with the ground truth; a typed PAN finds its card and is shown nowhere", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-records-" });
  try {
    const { sim, truth, keyArgs } = await demoHome(tmp);
    const all = await list(keyArgs);
    assertEquals(all.length, truth.length);
    assert(all.every((r) => r.pan === null || /^[0-9]{6}\*+[0-9]{4}$/.test(r.pan)), "masked");
    const t0 = truth[0].terminalId;
    const mine = await list(keyArgs, "--terminal", t0);
    assertEquals(mine.length, truth.filter((t) => t.terminalId === t0).length);
    assert(mine.every((r) => r.terminalId === t0));
    const rejected = await list(keyArgs, "--status", "rejected");
    assertEquals(rejected.length, truth.filter((t) => t.uploadRejected).length);
    const ok = await list(keyArgs, "--status", "OK");
    assertEquals(ok.length, truth.filter((t) => t.status === "OK" && !t.uploadRejected).length);
    // The demo's day (yesterday in Shanghai unless --date), as the simulated world says.
    const day = JSON.parse(await Deno.readTextFile(join(sim, "world.json"))).date as string;
    const next = new Date(Date.parse(day) + 86400_000).toISOString().slice(0, 10);
    assertEquals((await list(keyArgs, "--date", day)).length, truth.length);
    assertEquals((await list(keyArgs, "--from", next)).length, 0);

    // One card, its PAN typed on standard input; with and without --psn.
    const { pan, psn } = await cardOf(sim, truth[0]);
    const want = all.filter((r) => r.pan === truth[0].pan && r.psn === psn).map((r) => r.id);
    assert(want.length >= 1);
    for (const extra of [["--psn", psn], []]) {
      const r = await icfare(["records", ...keyArgs, "--card", ...extra, "--json"], pan + "\n");
      assertEquals(r.code, 0, r.stderr);
      assertEquals(JSON.parse(r.stdout).records.map((x: Rec) => x.id), want);
      assert(!r.stdout.includes(pan) && !r.stderr.includes(pan), "the PAN is shown nowhere");
    }
    const badPan = await icfare(["records", ...keyArgs, "--card"], "1234\n");
    assertEquals(badPan.code, 2);
    assertMatch(badPan.stderr, /12-19 digits \[BAD_PAN\]/);
    assert(!badPan.stderr.includes("1234\n"));

    // CSV and the table: masked PANs only.
    const csv = await icfare(["records", ...keyArgs, "--csv", "--limit", "0"]);
    const lines = csv.stdout.trim().split("\n");
    assertEquals(lines[0].split(",").slice(0, 5), ["id", "tapped_at", "terminal", "batch", "seq"]);
    assertEquals(lines.length, truth.length + 1);
    const tbl = await icfare(["records", ...keyArgs, "--limit", "5"]);
    assertEquals(tbl.code, 0);
    assertEquals(tbl.stdout.trim().split("\n").length, 6);
    assertMatch(tbl.stderr, /more records match/);
    for (const out of [csv.stdout, tbl.stdout]) assert(!/62350[0-9]{10,13}/.test(out));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("records: bad filters are usage errors; a home without a store is refused", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-records-bad-" });
  try {
    for (
      const args of [
        ["--date", "2026-02-30"],
        ["--from", "2026-13-01"],
        ["--terminal", "LC1"],
        ["--status", "ok; DROP"],
        ["--psn", "01"],
        ["--json", "--csv"],
      ]
    ) {
      const r = await icfare(["records", "--home", tmp, ...args]);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertEquals(r.stderr.trim().split("\n").length, 1);
    }
    const none = await icfare(["records", "--home", tmp]);
    assertEquals(none.code, 1);
    assertMatch(none.stderr, /no store at .* \[STORE_NOT_FOUND\]/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("records: CSV cells a spreadsheet would run stay text; quotes and commas are quoted", () => {
  assertEquals(csvCell("=HYPERLINK(1)"), `"'=HYPERLINK(1)"`);
  assertEquals(csvCell("+1"), `"'+1"`);
  assertEquals(csvCell("a,b"), `"a,b"`);
  assertEquals(csvCell('say "x"'), `"say ""x"""`);
  assertEquals(csvCell(-5), "-5");
  assertEquals(csvCell(null), "");
  assertEquals(csvCell("K1"), "K1");
});

Deno.test("explain --record: the stored record's trace is the one its file gives", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-explain-record-" });
  try {
    const { sim, truth, keyArgs } = await demoHome(tmp);
    const all = await list(keyArgs);
    const okTruth = truth.find((t) => t.status === "OK" && !t.uploadRejected)!;
    const rec = all.find((r) =>
      r.terminalId === okTruth.terminalId && r.batchNo === okTruth.batchNo && r.seq === okTruth.seq
    )!;
    const file = join(
      sim,
      "batches",
      `${rec.terminalId}-${String(rec.batchNo).padStart(6, "0")}.json`,
    );
    const byRecord = await icfare(["explain", ...keyArgs, "--record", String(rec.id)]);
    const byFile = await icfare([
      "explain",
      ...keyArgs,
      "--store",
      "--file",
      file,
      "--seq",
      String(rec.seq),
    ]);
    assertEquals(byRecord.code, 0, byRecord.stderr);
    assertEquals(byFile.code, 0, byFile.stderr);
    const [head, blank, ...trace] = byRecord.stdout.split("\n");
    assertMatch(head, new RegExp(`^stored record ${rec.id}: ${rec.terminalId} batch `));
    assertEquals(blank, "");
    assertEquals(trace.join("\n"), byFile.stdout);
    const j = await icfare(["explain", ...keyArgs, "--record", String(rec.id), "--json"]);
    const parsed = JSON.parse(j.stdout);
    assertEquals(parsed.record.id, rec.id);
    assertEquals(parsed.explanation.status, "OK");
    const missing = await icfare(["explain", ...keyArgs, "--record", "999999"]);
    assertEquals(missing.code, 1);
    assertMatch(missing.stderr, /\[RECORD_NOT_FOUND\]/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
