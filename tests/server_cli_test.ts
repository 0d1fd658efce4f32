/**
 * `icfare serve` refusals under its narrow permissions: no key file, a store whose schema is
 * newer than the code; each exits 1 with a one-line message and no stack trace. And where its
 * SQLite connection runs: its own thread when the permissions allow it (the default, "auto").
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  freePort,
  makeHome,
  ROOT,
  serveArgs,
  spawnListening,
  spawnServer,
} from "./support/server_process.ts";
import { enc, sampleBatch, send } from "./support/terminal.ts";

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

Deno.test("serve: SQLite on its own thread when the worker modules may be read, else on the main thread", async () => {
  const home = await makeHome(["LC000123"]);
  // narrow permissions (the README's line): the worker cannot be loaded, the main thread is used
  const narrow = await spawnServer(home);
  try {
    assertMatch(narrow.banner, /store .*icfare\.db \(SQLite\); keys/);
    assert(!narrow.banner.includes("own thread"), narrow.banner);
  } finally {
    await narrow.stop();
  }
  // read permission on core/ as well: auto (the default) takes the worker, and uploads work
  const port = freePort();
  const args = serveArgs(home, port).map((a) =>
    a.startsWith("--allow-read=") ? `${a},${join(ROOT, "core")}` : a
  );
  const srv = await spawnListening(Deno.execPath(), args, port);
  try {
    assertMatch(srv.banner, /\(SQLite\), on its own thread; keys/);
    const body = enc.encode(JSON.stringify(sampleBatch({ terminalId: "LC000123", batchNo: 7 })));
    const r = await send(srv.url, body, { terminalId: "LC000123" });
    assertEquals(r.status, 200, await r.clone().text());
    assertEquals((await r.json()).accepted, 3);
  } finally {
    await srv.stop();
  }
  // and --store-thread main keeps it on the main thread even then
  const port2 = freePort();
  const args2 = serveArgs(home, port2, ["--store-thread", "main"]).map((a) =>
    a.startsWith("--allow-read=") ? `${a},${join(ROOT, "core")}` : a
  );
  const main = await spawnListening(Deno.execPath(), args2, port2);
  try {
    assert(!main.banner.includes("own thread"), main.banner);
  } finally {
    await main.stop();
  }
});
