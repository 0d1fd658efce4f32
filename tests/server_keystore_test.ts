/**
 * `icfare serve` with the key store instead of the interim dev key file: terminal keys,
 * the pan-hash key and the card-data key come from HOME/keys, the master key from a file outside
 * the home; the server still runs with only the port, the home and that one file readable.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { KeyStore } from "../core/keys/mod.ts";
import { importHmacKey } from "../core/auth/terminal_keys.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { enc, sampleBatch, send } from "./support/terminal.ts";
import { spawnServer } from "./support/server_process.ts";

Deno.test("serve: keys from the key store; the dev key file is not needed", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-ks-home-" });
  const outside = await Deno.makeTempDir({ prefix: "icfare-ks-master-" });
  const masterFile = join(outside, "master.key");
  const master = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeTextFile(masterFile, toHex(master), { mode: 0o600 });
  await Deno.chmod(masterFile, 0o600);
  const ks = await KeyStore.init(home, master, "test");
  await ks.generate({ id: "pan-hash-1", usage: "pan-hash", algorithm: "hmac-sha256" });
  await ks.generate({ id: "data-1", usage: "data", algorithm: "aes" });
  const t = await ks.terminalAdd("LC000601");
  const key = await importHmacKey(fromHex(t.keyHex));

  const srv = await spawnServer(home, undefined, ["--master-key-file", masterFile]);
  try {
    const body = enc.encode(JSON.stringify(sampleBatch({ terminalId: "LC000601", records: 2 })));
    const ok = await send(srv.url, body, { terminalId: "LC000601", key });
    const text = await ok.text();
    assertEquals(ok.status, 200, text);
    assertEquals(JSON.parse(text).accepted, 2);
    // a key that is not the store's is refused
    const other = await importHmacKey(new Uint8Array(32).fill(7));
    const bad = await send(srv.url, body, { terminalId: "LC000601", key: other });
    assertEquals(bad.status, 401);
    assertEquals((await bad.json()).error.code, "AUTH_BAD_SIGNATURE");
    const unknown = await send(srv.url, null, {
      terminalId: "LC000602",
      key,
      path: "/v1/batches/LC000602/1",
    });
    assertEquals((await unknown.json()).error.code, "AUTH_UNKNOWN_TERMINAL");
  } finally {
    await srv.stop();
  }
  // the card hash is the key store's pan-hash HMAC of PAN "/" PSN
  const h = await crypto.subtle.sign(
    "HMAC",
    await ks.hmacCryptoKey("pan-hash"),
    enc.encode("6234567890000000/01"),
  );
  const db = new DatabaseSync(join(home, "icfare.db"));
  const row = db.prepare("SELECT card_hash FROM records WHERE seq = 1").get()!;
  db.close();
  assertEquals(toHex(row.card_hash as Uint8Array), toHex(new Uint8Array(h)));
  assert(!(await Deno.stat(join(home, "dev-keys.json")).then(() => true, () => false)));
});
