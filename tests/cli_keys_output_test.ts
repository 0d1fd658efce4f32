/**
 * Commit before write (issue 14 item 5): `terminals add|rotate-key --key-file` and `keys export
 * --out` write their file before the store records anything. A path that exists, is a
 * directory or cannot be written refuses the command with a coded line; the terminal is not
 * registered (or keeps its key), the export is not logged as done, and the audit trail says
 * "refused". Before this change the terminal was registered, then the write crashed (so no one
 * ever held its key), and the export was logged "exported", then crashed.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import type { CliRun } from "./support/icfare_cli.ts";
import { keysHome, refused } from "./support/keys_home.ts";

async function lastAudit(run: (...a: string[]) => Promise<CliRun>) {
  const log = JSON.parse((await run("keys", "audit", "--show", "--json")).stdout).log;
  return log[log.length - 1] as { op: string; result: string; keyId?: string; detail: string };
}

Deno.test("terminals add --key-file: existing file, directory, missing directory — nothing registered", async () => {
  const { outside, run } = await keysHome();
  const existing = join(outside, "taken.key");
  await Deno.writeTextFile(existing, "someone else's file\n");
  const cases: [string, string][] = [
    [existing, "OUTPUT_EXISTS"],
    [outside, "OUTPUT_IS_DIRECTORY"],
    [join(outside, "no", "such", "dir", "t.key"), "OUTPUT_UNWRITABLE"],
  ];
  for (const [path, code] of cases) {
    refused(await run("terminals", "add", "LC000901", "--key-file", path), code);
    const a = await lastAudit(run);
    assertEquals([a.op, a.result, a.keyId], ["terminals.add", "refused", "terminal:LC000901:v1"]);
    assertMatch(a.detail, new RegExp(code));
  }
  assertEquals(await Deno.readTextFile(existing), "someone else's file\n");
  const list = JSON.parse((await run("terminals", "list", "--json")).stdout).terminals;
  assertEquals(list, []);
  // A good path: the key is there (mode 600) and the terminal registered.
  const good = join(outside, "LC000901.key");
  assertEquals((await run("terminals", "add", "LC000901", "--key-file", good)).code, 0);
  assertEquals((await Deno.stat(good)).mode! & 0o777, 0o600);
  assertMatch(await Deno.readTextFile(good), /^[0-9A-F]{64}\n$/);
  // rotate-key onto the same (existing) file: refused, the old key still the terminal's.
  refused(await run("terminals", "rotate-key", "LC000901", "--key-file", good), "OUTPUT_EXISTS");
  const t = JSON.parse((await run("terminals", "list", "--json")).stdout).terminals[0];
  assertEquals(t.keyVersion, 1);
});

Deno.test("keys export --out: existing file or directory refused before anything is logged as exported", async () => {
  const { outside, run } = await keysHome();
  await run("keys", "generate", "--id", "kek-1", "--usage", "kek", "--algorithm", "aes");
  await run(
    "keys",
    "generate",
    "--id",
    "pan-2",
    "--usage",
    "pan-hash",
    "--algorithm",
    "hmac-sha256",
    "--exportable",
  );
  const existing = join(outside, "block.txt");
  await Deno.writeTextFile(existing, "keep me\n");
  const base = [
    "keys",
    "export",
    "pan-2",
    "--under",
    "kek-1",
    "--authorized-by",
    "a",
    "--authorized-by",
    "b",
  ];
  for (const [path, code] of [[existing, "OUTPUT_EXISTS"], [outside, "OUTPUT_IS_DIRECTORY"]]) {
    const r = await run(...base, "--out", path);
    refused(r, code);
    assertEquals(r.stdout, "");
    const a = await lastAudit(run);
    assertEquals([a.op, a.result, a.keyId], ["keys.export", "refused", "pan-2"]);
  }
  assertEquals(await Deno.readTextFile(existing), "keep me\n");
  const log = JSON.parse((await run("keys", "audit", "--show", "--json")).stdout).log;
  assert(
    !log.some((e: { op: string; result: string }) => e.op === "keys.export" && e.result === "ok"),
  );
  const out = join(outside, "pan-2.tr31");
  const ok = await run(...base, "--out", out);
  assertEquals(ok.code, 0, ok.stderr);
  assertMatch(await Deno.readTextFile(out), /^D\d{4}M7HG00N0000[0-9A-F]+\n$/);
  assertEquals((await Deno.stat(out)).mode! & 0o777, 0o600);
  assertEquals((await lastAudit(run)).result, "ok");
});
