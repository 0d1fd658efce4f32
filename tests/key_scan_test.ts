/**
 * S3 (docs/reliability.md): after a full key-management run through the real CLI — init, import,
 * generate, components, terminals, KEK export and block import, CAPKs, retire, kcv, list,
 * audit, master-key rotation, refusals — scan every file under the icfare home and every
 * CLI output for the clear bytes of every key (raw, hex either case, base64, base64url) and
 * find none. The only place a clear key may appear is the one-time display of a terminal key
 * at creation/rotation (design: "shown once"), which the scan checks appears exactly there.
 * Also S4 (dual control) and S5 (rotation) through the CLI.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { fromHex, toHex } from "../core/hex.ts";
import { kcv, KeyStore } from "../core/keys/mod.ts";
import { type CliRun, icfareRun } from "./support/icfare_cli.ts";
import { scanFiles, textForms, textHolds } from "./support/key_scan.ts";

const IMK = "0123456789ABCDEFFEDCBA9876543210";
const SM4_KEY = "00112233445566778899AABBCCDDEEFF";
const UP08_MODULUS =
  "B61645EDFD5498FB246444037A0FA18C0F101EBD8EFA54573CE6E6A7FBF63ED21D66340852B0211CF5EEF6A1CD989F66AF21A8EB19DBD8DBC3706D135363A0D683D046304F5A836BC1BC632821AFE7A2F75DA3C50AC74C545A754562204137169663CFCC0B06E67E2109EBA41BC67FF20CC8AC80D7B6EE1A95465B3B2657533EA56D92D539E5064360EA4850FED2D1BF";

Deno.test("S3/S4/S5: a full key-management run leaves no clear key in the home or any output", async () => {
  const work = await Deno.makeTempDir({ prefix: "icfare-s3-" });
  const home = join(work, "home");
  const outside = join(work, "outside");
  await Deno.mkdir(outside);
  const master1 = crypto.getRandomValues(new Uint8Array(32));
  const master2 = crypto.getRandomValues(new Uint8Array(32));
  const masterFile2 = join(outside, "master2.key");
  await Deno.writeTextFile(masterFile2, toHex(master2), { mode: 0o600 });
  await Deno.chmod(masterFile2, 0o600);
  const env = { ICFARE_HOME: home, ICFARE_MASTER_KEY: toHex(master1), ICFARE_OPERATOR: "officer1" };
  const runs: CliRun[] = [];
  const oneTime: CliRun[] = [];
  const run = async (args: string[], want = 0, stdin?: string, e = env) => {
    const r = await icfareRun(args, { env: e, stdin });
    runs.push(r);
    assertEquals(r.code, want, `${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
    return r;
  };

  // Inputs prepared by the officers (outside the home).
  const c1 = crypto.getRandomValues(new Uint8Array(16));
  const c2 = crypto.getRandomValues(new Uint8Array(16));
  const c3 = crypto.getRandomValues(new Uint8Array(16));
  const devFile = join(outside, "dev-keys.json");
  await Deno.writeTextFile(
    devFile,
    JSON.stringify({
      keys: [
        {
          id: "imk-ac-621234",
          usage: "imk-ac",
          algorithm: "3des",
          issuer: "621234",
          dki: "01",
          value: IMK,
          kcv: "08D7B4",
          exportable: true,
        },
        {
          id: "imk-ac-sm4-623456",
          usage: "imk-ac",
          algorithm: "sm4",
          issuer: "623456",
          dki: "01",
          value: SM4_KEY,
          kcv: kcv("sm4", fromHex(SM4_KEY)),
        },
        {
          id: "pan-hash-1",
          usage: "pan-hash",
          algorithm: "hmac-sha256",
          value: SM4_KEY + SM4_KEY,
          kcv: kcv("hmac-sha256", fromHex(SM4_KEY + SM4_KEY)),
        },
      ],
    }),
  );
  const badFile = join(outside, "bad-keys.json");
  await Deno.writeTextFile(
    badFile,
    JSON.stringify({
      keys: [{
        id: "imk-x",
        usage: "imk-ac",
        algorithm: "3des",
        issuer: "621234",
        dki: "01",
        value: IMK,
        kcv: "08D7B5",
      }],
    }),
  );
  const capkFile = join(outside, "capk.json");
  await Deno.writeTextFile(
    capkFile,
    JSON.stringify({
      capks: [{
        rid: "A000000333",
        index: "08",
        algorithm: "rsa",
        modulus: UP08_MODULUS,
        exponent: "03",
        expiry: "2099-12-31",
        checksum: "EE23B616C95C02652AD18860E48787C079E8E85A",
      }],
    }),
  );

  await run(["keys", "init"]);
  await run(["keys", "import", devFile]);
  const refused = await run(["keys", "import", badFile, "--json"], 1);
  assertEquals(JSON.parse(refused.stdout).error.code, "KCV_MISMATCH");
  await run(["keys", "generate", "--id", "kek-aes", "--usage", "kek", "--algorithm", "aes"]);
  await run([
    "keys",
    "generate",
    "--id",
    "kek-tdes",
    "--usage",
    "kek",
    "--algorithm",
    "3des",
    "--length",
    "24",
  ]);
  await run([
    "keys",
    "generate",
    "--id",
    "deny-1",
    "--usage",
    "denylist-sign",
    "--algorithm",
    "hmac-sha256",
  ]);
  await run(["keys", "generate", "--id", "data-1", "--usage", "data", "--algorithm", "aes"]);

  // S4: three custodians; wrong KCV refused; one custodian cannot enter twice; nothing
  // active before the last component.
  const comp = [
    "keys",
    "component",
    "add",
    "--id",
    "imk-mac-621234",
    "--usage",
    "imk-mac",
    "--algorithm",
    "3des",
    "--issuer",
    "621234",
    "--dki",
    "01",
    "--parts",
    "3",
  ];
  const wrong = await run(
    [...comp, "--custodian", "alice", "--kcv", "000000", "--json"],
    1,
    toHex(c1),
  );
  assertEquals(JSON.parse(wrong.stdout).error.code, "KCV_MISMATCH");
  const a = await run(
    [...comp, "--custodian", "alice", "--kcv", kcv("3des", c1)],
    0,
    toHex(c1) + "\n",
  );
  assertMatch(a.stdout, /component 1 of 3 .* \(component KCV [0-9A-F]{6}\)/);
  const again = await run(
    [...comp, "--custodian", "alice", "--kcv", kcv("3des", c2), "--json"],
    1,
    toHex(c2),
  );
  assertEquals(JSON.parse(again.stdout).error.code, "DUAL_CONTROL");
  await run([...comp, "--custodian", "bob", "--kcv", kcv("3des", c2)], 0, toHex(c2).toLowerCase());
  const notYet = await run(["keys", "kcv", "imk-mac-621234", "--json"], 1);
  assertEquals(JSON.parse(notYet.stdout).error.code, "KEY_NOT_FOUND");
  const listed = JSON.parse((await run(["keys", "list", "--json"])).stdout);
  assertEquals(listed.pending[0].have, 2);
  assert(!listed.keys.some((k: { id: string }) => k.id === "imk-mac-621234"));
  const full = c1.map((b, i) => b ^ c2[i] ^ c3[i]);
  const last = await run([...comp, "--custodian", "carol", "--kcv", kcv("3des", c3)], 0, toHex(c3));
  assert(last.stdout.includes(`combined KCV ${kcv("3des", full)}`), last.stdout);

  // Terminals: the key is shown once, at creation and at rotation.
  oneTime.push(await run(["terminals", "add", "LC000123"]));
  oneTime.push(await run(["terminals", "add", "LC000124", "--json"]));
  const keyFile = join(outside, "LC000125.key");
  await run(["terminals", "add", "LC000125", "--key-file", keyFile]);
  await run(["terminals", "add", "LC000126", "--key-file", join(home, "x.key")], 1);
  oneTime.push(await run(["terminals", "rotate-key", "LC000123"]));
  await run(["terminals", "disable", "LC000124"]);
  await run(["terminals", "list"]);

  // Export under a KEK (dual control), import back, tampered block refused.
  await run(
    ["keys", "export", "imk-ac-621234", "--under", "kek-aes", "--authorized-by", "alice"],
    1,
  );
  const exp = await run([
    "keys",
    "export",
    "imk-ac-621234",
    "--under",
    "kek-aes",
    "--authorized-by",
    "alice",
    "--authorized-by",
    "bob",
    "--json",
  ]);
  const block = JSON.parse(exp.stdout).block as string;
  assertEquals(block.slice(0, 1), "D");
  const blockFile = join(outside, "imk.tr31");
  await Deno.writeTextFile(blockFile, block);
  await run([
    "keys",
    "import",
    "--block",
    blockFile,
    "--kek",
    "kek-aes",
    "--id",
    "imk-copy",
    "--usage",
    "imk-ac",
    "--issuer",
    "622222",
    "--dki",
    "01",
    "--kcv",
    "08D7B4",
  ]);
  const expB = await run([
    "keys",
    "export",
    "imk-ac-621234",
    "--under",
    "kek-tdes",
    "--authorized-by",
    "alice",
    "--authorized-by",
    "bob",
  ]);
  assertEquals(expB.stdout.trim()[0], "B");
  const badBlockFile = join(outside, "bad.tr31");
  await Deno.writeTextFile(
    badBlockFile,
    block.slice(0, 40) + (block[40] === "A" ? "B" : "A") + block.slice(41),
  );
  const tampered = await run([
    "keys",
    "import",
    "--block",
    badBlockFile,
    "--kek",
    "kek-aes",
    "--id",
    "imk-bad",
    "--usage",
    "imk-ac",
    "--issuer",
    "623333",
    "--json",
  ], 1);
  assertEquals(JSON.parse(tampered.stdout).error.code, "TR31_MAC_MISMATCH");

  await run(["capk", "import", capkFile]);
  await run(["capk", "list"]);
  await run(["capk", "revoke", "A000000333", "08", "--serial", "0A0B0C"]);
  await run(["keys", "retire", "imk-copy"]);
  await run(["keys", "kcv", "imk-ac-621234"]);
  const before = JSON.parse((await run(["keys", "list", "--json"])).stdout).keys as {
    id: string;
    kcv: string;
  }[];

  // S5: rotate the master key; every KCV unchanged; the old master is refused.
  await run(["keys", "rotate-master", "--new-master-key-file", masterFile2]);
  const old = await run(["keys", "list", "--json"], 1);
  assertEquals(JSON.parse(old.stdout).error.code, "WRONG_MASTER_KEY");
  const env2 = { ICFARE_HOME: home, ICFARE_MASTER_KEY: "", ICFARE_OPERATOR: "officer2" };
  const after = JSON.parse(
    (await run(["keys", "list", "--json", "--master-key-file", masterFile2], 0, undefined, env2))
      .stdout,
  ).keys;
  assertEquals(
    after.map((k: { id: string; kcv: string }) => [k.id, k.kcv]),
    before.map((k) => [k.id, k.kcv]),
  );
  for (const k of after) assertMatch(k.kcv, /^[0-9A-F]{6}$/); // S3: a KCV for every key
  await run(
    ["keys", "kcv", "imk-mac-621234", "--master-key-file", masterFile2],
    0,
    undefined,
    env2,
  );
  const audit = await run(
    ["keys", "audit", "--show", "--master-key-file", masterFile2],
    0,
    undefined,
    env2,
  );
  assertMatch(audit.stdout, /audit trail intact: \d+ entries/);
  // The master-key file may not live in the home.
  await Deno.copyFile(masterFile2, join(home, "m.key"));
  await Deno.chmod(join(home, "m.key"), 0o600);
  const inHome = await run(
    ["keys", "list", "--json", "--master-key-file", join(home, "m.key")],
    1,
    undefined,
    env2,
  );
  assertEquals(JSON.parse(inHome.stdout).error.code, "MASTER_KEY_IN_HOME");
  await Deno.remove(join(home, "m.key"));

  // Every secret: masters, imported and entered values, and every stored key (unwrapped here).
  const secrets: Uint8Array[] = [
    master1,
    master2,
    fromHex(IMK),
    fromHex(SM4_KEY + SM4_KEY),
    fromHex(SM4_KEY),
    c1,
    c2,
    c3,
    full,
  ];
  const store = await KeyStore.open(home, master2);
  for (const k of store.list().keys) store.withKey(k.id, (v) => secrets.push(v.slice()), true);
  const terminalKeys = new Set<string>();
  for (const t of store.terminalList()) {
    for (const k of store.list().keys.filter((x) => x.id.startsWith(`terminal:${t.terminalId}:`))) {
      store.withKey(k.id, (v) => terminalKeys.add(toHex(v)), true);
    }
  }
  store.close();
  assert(secrets.length >= 16, `secrets: ${secrets.length}`);

  // Scan every file under the home.
  const fileScan = await scanFiles([home], secrets);
  assertEquals(fileScan.hits, []);
  const files = fileScan.files;
  assert(files >= 2, `files scanned: ${files}`);
  // Scan every output; the one-time terminal displays may hold their own terminal key only.
  let outputs = 0;
  for (const r of runs) {
    for (const stream of [r.stdout, r.stderr]) {
      outputs++;
      for (const s of secrets) {
        const hex = toHex(s);
        if (oneTime.includes(r) && terminalKeys.has(hex)) continue;
        assert(!textHolds(stream, s), `output of "${r.args.join(" ")}" holds a key`);
      }
    }
  }
  // The one-time displays did show a terminal key, and only one each.
  for (const r of oneTime) {
    const shown = [...terminalKeys].filter((k) => r.stdout.includes(k));
    assertEquals(shown.length, 1, r.stdout);
  }
  console.log(
    `S3 scan: ${files} files, ${outputs} output streams of ${runs.length} commands, ${secrets.length} keys x 6 text forms + raw: 0 hits`,
  );
  await Deno.remove(work, { recursive: true });
});

Deno.test("the scanner finds a planted key in every form it claims to cover", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-scan-" });
  const key = crypto.getRandomValues(new Uint8Array(16));
  const other = crypto.getRandomValues(new Uint8Array(16));
  const forms = textForms(key);
  for (const [i, t] of forms.entries()) {
    await Deno.writeTextFile(join(dir, `t${i}.log`), `x ${t} y`);
  }
  await Deno.writeFile(join(dir, "raw.bin"), Uint8Array.from([1, 2, ...key, 3]));
  await Deno.writeTextFile(join(dir, "clean.txt"), toHex(other).slice(0, 20));
  const r = await scanFiles([dir], [key]);
  assertEquals(r.files, forms.length + 2);
  for (let i = 0; i < forms.length; i++) {
    assert(r.hits.some((h) => h.includes(`t${i}.log`)), `form ${i}`);
  }
  assert(r.hits.some((h) => h.includes("raw.bin")));
  assert(!r.hits.some((h) => h.includes("clean.txt")));
  assertEquals((await scanFiles([dir], [other])).hits, []);
  await Deno.remove(dir, { recursive: true });
});
