/**
 * `icfare simulate` end to end: same seed → same bytes (every file, through the CLI as a
 * subprocess), another seed → other bytes, and the written files hang together (manifest,
 * truth, key and CAPK files accepted by the engine's importers).
 */
import { assert, assertEquals } from "@icfare/assert";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import { BatchSchema } from "../core/emv/verify.ts";

const main = new URL("../cli/main.ts", import.meta.url).pathname;

async function simulate(out: string, ...extra: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "simulate", "--out", out, "--json", ...extra],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr),
  };
}

async function digests(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`, `${rel}${e.name}/`);
      else {
        const h = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${d}/${e.name}`));
        out.set(rel + e.name, Array.from(new Uint8Array(h), (b) => b.toString(16)).join(""));
      }
    }
  };
  await walk(dir, "");
  return out;
}

type Row = Record<string, unknown> & { terminalId: string; batchNo: number; seq: number };
type Entry = {
  file: string;
  expect: string;
  uploadAt: string;
  terminalId: string;
  batchNo: number;
};

/** The engine's importers and the key store take keys.json and capk.json as they are. */
async function keyFilesImport(dir: string, home: string): Promise<void> {
  parseKeyFile(JSON.parse(await Deno.readTextFile(`${dir}/keys.json`)));
  parseCapkFile(JSON.parse(await Deno.readTextFile(`${dir}/capk-verify.json`)));
  const env = {
    ICFARE_MASTER_KEY: "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
  };
  const steps = [["keys", "init"], ["keys", "import", `${dir}/keys.json`], [
    "capk",
    "import",
    `${dir}/capk.json`,
  ]];
  for (const args of steps) {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, ...args, "--home", home],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 0, `${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  }
}

async function readJsonl<T>(path: string): Promise<T[]> {
  return (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l) as T);
}

/** Manifest in upload order, truth rows and batch files agree with the report and each other. */
async function filesHangTogether(
  dir: string,
  report: { records: number; uploads: number },
): Promise<{ manifest: Entry[]; truth: Row[] }> {
  const manifest = await readJsonl<Entry>(`${dir}/uploads.jsonl`);
  const truth = await readJsonl<Row>(`${dir}/truth.jsonl`);
  assertEquals(truth.length, report.records);
  assertEquals(manifest.length, report.uploads);
  const sorted = [...manifest].sort((x, y) =>
    x.uploadAt < y.uploadAt ? -1 : x.uploadAt > y.uploadAt ? 1 : 0
  );
  assertEquals(manifest.map((m) => m.uploadAt), sorted.map((m) => m.uploadAt));
  let records = 0;
  for (const m of manifest) {
    const body = JSON.parse(await Deno.readTextFile(`${dir}/batches/${m.file}`));
    assert(BatchSchema.safeParse(body).success, m.file);
    assert(/^LC[0-9]{6}$/.test(body.terminalId));
    if (m.expect === "stored") records += body.records.length;
    for (const r of body.records) assertEquals(r.oda.tlv.slice(0, 4), "8F01");
  }
  assertEquals(records, report.records);
  return { manifest, truth };
}

/**
 * `icfare verify --file --keys --capk` accepts the files and agrees with the truth on a
 * first-upload batch (no cross-batch duplicates inside one file).
 */
async function verifyAgreesWithTruth(dir: string, manifest: Entry[], truth: Row[]) {
  const first = manifest.find((m) => m.expect === "stored")!;
  const v = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      main,
      "verify",
      "--file",
      `${dir}/batches/${first.file}`,
      "--keys",
      `${dir}/keys.json`,
      "--capk",
      `${dir}/capk-verify.json`,
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const verified = JSON.parse(new TextDecoder().decode(v.stdout)).records as {
    seq: number;
    status: string;
    cryptogram: string;
    oda: string;
  }[];
  const want = truth.filter((t) =>
    t.terminalId === first.terminalId && t.batchNo === first.batchNo
  );
  assertEquals(
    verified.map((r) => `${r.seq} ${r.status} ${r.cryptogram} ${r.oda}`),
    want.map((t) => `${t.seq} ${t.status} ${t.cryptogram} ${t.oda}`),
  );
}

Deno.test("simulate: same seed gives the same bytes (1 or 2 workers); another seed does not", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-sim-" });
  try {
    const args = ["--seed", "det", "--cards", "80", "--terminals", "3", "--taps", "300"];
    const a = await simulate(`${tmp}/a`, ...args);
    assertEquals(a.code, 0, a.stderr);
    const b = await simulate(`${tmp}/b`, ...args, "--workers", "2");
    assertEquals(b.code, 0, b.stderr);
    const c = await simulate(
      `${tmp}/c`,
      "--seed",
      "other",
      "--cards",
      "80",
      "--terminals",
      "3",
      "--taps",
      "300",
    );
    assertEquals(c.code, 0, c.stderr);
    const [da, db, dc] = await Promise.all([
      digests(`${tmp}/a`),
      digests(`${tmp}/b`),
      digests(`${tmp}/c`),
    ]);
    assert(da.size > 8, "files written");
    assertEquals([...da.entries()].sort(), [...db.entries()].sort());
    assert(
      da.get("keys.json") !== dc.get("keys.json") &&
        da.get("truth.jsonl") !== dc.get("truth.jsonl"),
    );
    // A rerun into the same directory (key cache present) gives the same bytes again.
    assertEquals((await simulate(`${tmp}/a`, ...args)).code, 0);
    assertEquals([...(await digests(`${tmp}/a`)).entries()].sort(), [...db.entries()].sort());

    // The files hang together.
    const report = JSON.parse(a.stdout);
    await keyFilesImport(`${tmp}/a`, `${tmp}/home`);
    const { manifest, truth } = await filesHangTogether(`${tmp}/a`, report);
    await verifyAgreesWithTruth(`${tmp}/a`, manifest, truth);
    // PANs never appear in clear in the CLI output.
    assert(!/62350[0-9]{11}/.test(a.stdout));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("simulate: bad usage exits 2 with a message", async () => {
  const r = await simulate("/tmp/never-written", "--taps", "0");
  assertEquals(r.code, 2);
  assert(r.stderr.includes("--taps must be a positive integer"));
  const f = await simulate("/tmp/never-written", "--fault", "nonsense=0.1");
  assertEquals(f.code, 2);
  assert(f.stderr.includes("unknown fault"));
});

Deno.test("simulate --model: oda puts every line in the ODA model; bad values are usage errors", async () => {
  const out = await Deno.makeTempDir({ prefix: "icfare-sim-model-" });
  try {
    const r = await simulate(out, "--seed", "m", "--taps", "60", "--cards", "30", "--model", "oda");
    assertEquals(r.code, 0, r.stderr);
    const world = JSON.parse(await Deno.readTextFile(`${out}/world.json`));
    assertEquals(world.lines.map((l: { model: string }) => l.model), ["ODA"]);
    assertEquals(new Set(world.terminals.map((t: { model: string }) => t.model)), new Set(["ODA"]));
    const report = JSON.parse(r.stdout);
    assertEquals(report.ecTaps, 0);
    assert(Object.keys(report.outcomes).some((k) => k.startsWith("DEBT:")), r.stdout);
    for (
      const bad of [["--model", "ab"], ["--oda-lines", "1.5"], [
        "--model",
        "ec",
        "--oda-lines",
        "0",
      ]]
    ) {
      const b = await simulate(out, "--taps", "20", ...bad);
      assertEquals(b.code, 2, bad.join(" "));
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
