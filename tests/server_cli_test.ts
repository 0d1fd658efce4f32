/**
 * `icfare serve` refusals under its narrow permissions: no key file, a store whose schema is
 * newer than the code; each exits 1 with a one-line message and no stack trace.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { freePort, makeHome, serveArgs } from "./support/server_process.ts";

async function run(home: string): Promise<{ code: number; err: string }> {
  const port = freePort();
  const out = await new Deno.Command(Deno.execPath(), {
    args: serveArgs(home, port),
    cwd: new URL("../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, err: new TextDecoder().decode(out.stderr) };
}

Deno.test("serve: refuses to start without the key file, or with a newer schema", async () => {
  const empty = await Deno.makeTempDir({ prefix: "icfare-empty-" });
  const a = await run(empty);
  assertEquals(a.code, 1);
  assertMatch(a.err, /^icfare serve: no key store in the home .* run: icfare init/);
  assert(!/\bat .*:\d+:\d+/.test(a.err), a.err);

  const home = await makeHome(["LC000123"]);
  const db = new DatabaseSync(join(home, "icfare.db"));
  db.exec("PRAGMA user_version = 99");
  db.close();
  const b = await run(home);
  assertEquals(b.code, 1);
  assertMatch(b.err, /store refused: schema version 99 is newer than this code/);
  assert(!/\bat .*:\d+:\d+/.test(b.err), b.err);
});
