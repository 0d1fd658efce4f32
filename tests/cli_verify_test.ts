/** `icfare verify --file` and `icfare explain` as real subprocesses on a generated upload file. */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { tap, testCapkFile, testKeyFile } from "./support/emv_signing.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

async function icfare(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

const dir = await Deno.makeTempDir({ prefix: "icfare_verify_" });
const good = [tap({ seq: 1 }), tap({ seq: 2, atc: "0002", sm4: true, oda: "sm2" })];
const bad = tap({ seq: 3, atc: "0003" });
const badAc = {
  ...bad,
  icc: bad.icc.replace(/^9F2608(..)/, (_m, b) => `9F2608${b === "00" ? "01" : "00"}`),
};
const batch = (records: unknown[], amount = 600) => ({
  terminalId: "LC000123",
  merchantId: "898371641110001",
  batchNo: 42,
  denyListVersion: 17,
  records,
  totals: { count: records.length, amount },
});
await Deno.writeTextFile(`${dir}/good.json`, JSON.stringify(batch(good, 400)));
await Deno.writeTextFile(
  `${dir}/mixed.json`,
  JSON.stringify(batch([...good, badAc, { ...good[0], seq: 4 }], 800)),
);
await Deno.writeTextFile(`${dir}/keys.json`, JSON.stringify(testKeyFile()));
await Deno.writeTextFile(`${dir}/capk.json`, JSON.stringify(testCapkFile()));
const kc = ["--keys", `${dir}/keys.json`, "--capk", `${dir}/capk.json`];

Deno.test("verify --file: all OK exits 0, table masks PANs", async () => {
  const r = await icfare(["verify", "--file", `${dir}/good.json`, ...kc]);
  assertEquals(r.code, 0, r.stderr + r.stdout);
  assertMatch(r.stdout, /1 +OK +ok +ok +TC\/CVR +pboc-cvn01-3des +621234\*{6}1234 +0001/);
  assertMatch(r.stdout, /2 +OK +ok +ok +TC\/CVR +pboc-cvn01-sm4/);
  // Checked cryptograms are counted apart from those left to the issuer (issue 13 item 15).
  assertMatch(
    r.stdout,
    /cryptograms checked by icfare: 2 \(ok 2, mismatch 0\); left to the issuer: 0 \(no-key 0, unsupported 0\)/,
  );
  assert(!r.stdout.includes("6212345678901234"));
});

Deno.test("verify --file --json: mismatch and duplicate reported, exit 1", async () => {
  const r = await icfare(["verify", "--file", `${dir}/mixed.json`, "--json", ...kc]);
  assertEquals(r.code, 1, r.stderr);
  const j = JSON.parse(r.stdout);
  assertEquals(j.records.map((x: { status: string }) => x.status), [
    "OK",
    "OK",
    "AC_MISMATCH",
    "DUPLICATE",
  ]);
  assertEquals(j.records[2].cryptogram, "mismatch");
  assertEquals(j.records[2].oda, "ok");
  assertEquals(j.records[3].duplicateOf, 1);
  assertEquals(j.summary.totalsOk, true);
});

Deno.test("verify refuses a key file whose KCV does not match (exit 2)", async () => {
  const k = testKeyFile() as { keys: { kcv: string }[] };
  k.keys[0].kcv = "000000";
  await Deno.writeTextFile(`${dir}/badkeys.json`, JSON.stringify(k));
  const r = await icfare(["verify", "--file", `${dir}/good.json`, "--keys", `${dir}/badkeys.json`]);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /KCV does not match/);
});

Deno.test("explain --file --seq shows KCVs and the diagnosis", async () => {
  const ok = await icfare(["explain", "--file", `${dir}/good.json`, "--seq", "1", ...kc]);
  assertEquals(ok.code, 0, ok.stderr);
  assertMatch(ok.stdout, /ICC master key\n.*\n +KCV 99A0EA/);
  const bad = await icfare(["explain", "--file", `${dir}/mixed.json`, "--seq", "3", ...kc]);
  assertEquals(bad.code, 1);
  assertMatch(bad.stdout, /MISMATCH/);
  assertMatch(
    bad.stdout,
    /what most likely differs:\n +The computed cryptogram differs from 9F26 in only 1 byte/,
  );
  assert(!bad.stdout.includes("0123456789ABCDEFFEDCBA9876543210"));
});

Deno.test("verify --store takes the keys from the key store (master key from the environment)", async () => {
  const { KeyStore } = await import("../core/keys/store.ts");
  const { importCapks } = await import("../core/keys/capk.ts");
  const home = await Deno.makeTempDir({ prefix: "icfare_verify_store_" });
  const master = "5A".repeat(32);
  const store = await KeyStore.init(home, Uint8Array.from({ length: 32 }, () => 0x5a), "test");
  await store.importDev(testKeyFile());
  await importCapks(store, testCapkFile(), { today: "2025-01-01" });
  store.close();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      MAIN,
      "verify",
      "--file",
      `${dir}/good.json`,
      "--store",
      "--home",
      home,
      "--operator",
      "test",
      "--json",
    ],
    env: { ICFARE_MASTER_KEY: master },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  const j = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(j.records.map((r: { cryptogram: string; oda: string }) => [r.cryptogram, r.oda]), [[
    "ok",
    "ok",
  ], ["ok", "ok"]]);
  // Without the master key: a usage error naming the problem, exit 2.
  const no = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-env",
      MAIN,
      "verify",
      "--file",
      `${dir}/good.json`,
      "--store",
      "--home",
      home,
      "--operator",
      "test",
    ],
    env: { ICFARE_MASTER_KEY: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(no.code, 2);
  assertMatch(new TextDecoder().decode(no.stderr), /key store: .*master/i);
  await Deno.remove(home, { recursive: true });
});
