/**
 * Refusals a user meets with the key commands, through the real CLI: each one coded line,
 * exit 1, no stack trace, and where there is one the command that fixes it.
 *
 * - issue 14 item 7: missing files for `keys import`, `keys import --block`, `capk import`; a
 *   key store path that is a directory; a read-only home (EROFS on the lock).
 * - item 8: `icfare init` prepares a home for service (service keys with KCVs), idempotent;
 *   "missing key" refusals name `icfare init`.
 * - item 9: `keys import` of terminal-auth keys registers their terminals, or refuses with a
 *   pointer to `terminals add`.
 * - item 11: a TR-31 block wrapped over lines imports; a garbage block is "malformed key
 *   block"; `rotate-master` refusals name `--new-master-key-file`.
 * Before this change: stack traces (NotFound, EISDIR, EROFS), no `icfare init`, terminal keys
 * imported that never authenticated, "a version h block needs a TDES KEK", and
 * "--master-key-file" named for the new master key.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { fromHex, toHex } from "../core/hex.ts";
import { kcv } from "../core/keys/kcv.ts";
import { wrap } from "../core/keys/tr31.ts";
import { type CliRun, icfareRun } from "./support/icfare_cli.ts";
import { keysHome, refused } from "./support/keys_home.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;

/** An input file named on the command line that cannot be read: a usage error (exit 2). */
function unreadable(r: CliRun, code: string): string {
  assertEquals(r.code, 2, r.stdout + r.stderr);
  const line = r.stderr.trim();
  assertEquals(line.split("\n").length, 1, r.stderr);
  assertMatch(line, new RegExp(`\\[${code}\\]`));
  return line;
}

Deno.test("missing input files and a key store that is a directory: coded one-line refusals", async () => {
  const { home, outside, run } = await keysHome();
  const missing = join(outside, "nope.json");
  assertMatch(unreadable(await run("keys", "import", missing), "FILE_NOT_FOUND"), /nope\.json/);
  assertMatch(
    unreadable(
      await run("keys", "import", "--block", missing, "--kek", "k", "--id", "x", "--usage", "kek"),
      "FILE_NOT_FOUND",
    ),
    /--block .*nope\.json.*: no such file/,
  );
  unreadable(await run("capk", "import", missing), "FILE_NOT_FOUND");
  unreadable(await run("keys", "import", outside), "IS_A_DIRECTORY");
  const store = join(home, "keys", "keystore.json");
  await Deno.rename(store, store + ".away");
  await Deno.mkdir(store);
  assertMatch(refused(await run("keys", "list"), "KEYSTORE_UNREADABLE"), /is a directory/);
});

const canUnshare = Deno.uid() === 0 &&
  await new Deno.Command("unshare", { args: ["-m", "true"] }).output().then(
    (o) => o.success,
    () => false,
  );

Deno.test({
  name: "a read-only home (EROFS on the lock): a coded refusal, no stack trace",
  ignore: !canUnshare,
  async fn() {
    const { home, env } = await keysHome();
    // A private mount namespace: the home is bind-mounted read-only for this one command.
    const script = `mount --bind '${home}' '${home}' && mount -o remount,bind,ro '${home}' && ` +
      `exec '${Deno.execPath()}' run --allow-read --allow-write --allow-env '${MAIN}' ` +
      `keys generate --id k1 --usage kek --algorithm aes`;
    const o = await new Deno.Command("unshare", {
      args: ["-m", "sh", "-c", script],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const r = {
      args: [],
      code: o.code,
      stdout: new TextDecoder().decode(o.stdout),
      stderr: new TextDecoder().decode(o.stderr),
    };
    assertMatch(refused(r, "KEYSTORE_READONLY"), /read-only file system/);
  },
});

Deno.test("no operator name anywhere (no USER, no --allow-sys): the audit names the uid as unknown, no crash or prompt", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-err-nouser-" });
  const env = {
    ICFARE_HOME: home,
    ICFARE_MASTER_KEY: toHex(crypto.getRandomValues(new Uint8Array(32))),
  };
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, "keys", "init"],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(o.code, 0, new TextDecoder().decode(o.stderr));
  const log = await Deno.readTextFile(join(home, "keys", "audit.log"));
  assertEquals(JSON.parse(log.split("\n")[0]).actor, "uid:?");
});

Deno.test("icfare init prepares a home for service; missing keys name it", async () => {
  const { run } = await keysHome(false);
  const none = refused(await run("keys", "list"), "KEYSTORE_MISSING");
  assertMatch(none, /icfare init/);
  const first = await run("init", "--json");
  assertEquals(first.code, 0, first.stderr);
  const j = JSON.parse(first.stdout);
  assertEquals(j.createdStore, true);
  assertEquals(
    j.keys.map((k: { key: { usage: string; kcv: string }; created: boolean }) => [
      k.key.usage,
      /^[0-9A-F]{6}$/.test(k.key.kcv),
      k.created,
    ]),
    [["pan-hash", true, true], ["data", true, true], ["denylist-sign", true, true]],
  );
  const again = JSON.parse((await run("init", "--json")).stdout);
  assertEquals(again.keys.map((k: { created: boolean }) => k.created), [false, false, false]);
  assertEquals(
    again.keys.map((k: { key: { kcv: string } }) => k.key.kcv),
    j.keys.map((k: { key: { kcv: string } }) => k.key.kcv),
  );
  const human = await run("init");
  assertMatch(human.stdout, /pan-hash +pan-hash-1 +hmac-sha256 +[0-9A-F]{6} \(hmac\) +present/);
  // Without a master key: the refusal says how to give one.
  const noMaster = await icfareRun(["init"], { env: { ICFARE_HOME: "/nonexistent-home" } });
  assertMatch(refused(noMaster, "MASTER_KEY_MISSING"), /openssl rand -hex 32/);
});

Deno.test("keys import of terminal-auth keys registers the terminals, or points at terminals add", async () => {
  const { outside, run } = await keysHome();
  const key = "A5".repeat(32);
  const k = kcv("hmac-sha256", fromHex(key));
  const file = join(outside, "terminals.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      keys: [{
        id: "LC001001",
        usage: "terminal-auth",
        algorithm: "hmac-sha256",
        value: key,
        kcv: k,
      }],
    }),
  );
  assertEquals((await run("keys", "import", file)).code, 0);
  const t = JSON.parse((await run("terminals", "list", "--json")).stdout).terminals;
  assertEquals(
    t.map((
      x: { terminalId: string; state: string; kcv: string },
    ) => [x.terminalId, x.state, x.kcv]),
    [
      ["LC001001", "active", k],
    ],
  );
  refused(await run("keys", "import", file), "TERMINAL_EXISTS");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      keys: [{
        id: "bus-7-key",
        usage: "terminal-auth",
        algorithm: "hmac-sha256",
        value: key,
        kcv: k,
      }],
    }),
  );
  assertMatch(refused(await run("keys", "import", file), "BAD_INPUT"), /icfare terminals add/);
});

Deno.test("TR-31: a block wrapped over lines imports; garbage is a malformed key block", async () => {
  const { outside, run } = await keysHome();
  const kek = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF";
  const kekFile = join(outside, "kek.json");
  await Deno.writeTextFile(
    kekFile,
    JSON.stringify({
      keys: [{
        id: "kek-aes",
        usage: "kek",
        algorithm: "aes",
        value: kek,
        kcv: kcv("aes", fromHex(kek)),
      }],
    }),
  );
  assertEquals((await run("keys", "import", kekFile)).code, 0);
  const imk = fromHex("0123456789ABCDEFFEDCBA9876543210");
  const block = wrap(fromHex(kek), {
    version: "D",
    usage: "E0",
    algorithm: "T",
    modeOfUse: "X",
    keyVersion: "00",
    exportability: "N",
    optionalBlocks: [],
  }, imk);
  // As mailed: 40 characters a line, indented.
  const wrapped = block.match(/.{1,40}/g)!.map((l) => "    " + l).join("\n") + "\n";
  const f = join(outside, "imk.tr31");
  await Deno.writeTextFile(f, wrapped);
  const args = ["--kek", "kek-aes", "--id", "imk-1", "--usage", "imk-ac", "--issuer", "621234"];
  const ok = await run("keys", "import", "--block", f, ...args, "--json");
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(JSON.parse(ok.stdout).key.kcv, "08D7B4");
  const g = join(outside, "garbage.tr31");
  await Deno.writeTextFile(g, "hello, this is not a key block at all\n");
  const bad = refused(await run("keys", "import", "--block", g, ...args), "TR31_MALFORMED");
  assertMatch(bad, /malformed key block/);
  assert(!bad.includes("KEK"), bad);
});

Deno.test("rotate-master refusals name --new-master-key-file", async () => {
  const { outside, run } = await keysHome();
  const none = refused(await run("keys", "rotate-master"), "MASTER_KEY_MISSING");
  assertMatch(none, /ICFARE_NEW_MASTER_KEY.*--new-master-key-file/);
  const loose = join(outside, "new.key");
  await Deno.writeTextFile(loose, toHex(crypto.getRandomValues(new Uint8Array(32))));
  await Deno.chmod(loose, 0o644);
  const r = refused(
    await run("keys", "rotate-master", "--new-master-key-file", loose),
    "MASTER_KEY_INVALID",
  );
  assertMatch(r, /^icfare keys rotate-master: --new-master-key-file .*readable by group or others/);
});
