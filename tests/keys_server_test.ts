/**
 * The upload server authenticating terminals with keys from the key store (docs/upload-api.md;
 * the server gets keys only through the key store): a terminal registered with
 * `terminalAdd` uploads with its one-time key; a rotated-out key and a disabled terminal are
 * refused; afterwards the home (database, WAL, key files) and every response are scanned for
 * the clear terminal keys and the master key (S3).
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { fromHex } from "../core/hex.ts";
import { importHmacKey } from "../core/auth/terminal_keys.ts";
import type { TerminalKeyLookup } from "../core/auth/terminal_keys.ts";
import { signRequest } from "../core/auth/hmac.ts";
import { KeyStore } from "../core/keys/mod.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { createApp } from "../server/app.ts";
import { sampleBatch } from "./support/terminal.ts";
import { scanFiles, textHolds } from "./support/key_scan.ts";

Deno.test("server authenticates terminals with key-store keys; no clear key in home or responses", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-keys-server-" });
  const master = crypto.getRandomValues(new Uint8Array(32));
  const ks = await KeyStore.init(home, master, "officer");
  const [a, b] = await ks.terminalAddMany(["LC000123", "LC000124"]);
  const lookup: TerminalKeyLookup = ks.terminalKeys();
  const store = openSqliteStore(join(home, "icfare.db"));
  const pan = await DevPanProtector.fromHex("11".repeat(32), "22".repeat(32));
  const mk = (keys: TerminalKeyLookup) =>
    createApp({ store, keys, pan, ratePerS: 1000, burst: 1000 }).app;
  const responses: string[] = [];
  const upload = async (
    app: ReturnType<typeof mk>,
    terminalId: string,
    keyHex: string,
    batchNo: number,
  ) => {
    const body = new TextEncoder().encode(JSON.stringify(sampleBatch({ terminalId, batchNo })));
    const authorization = await signRequest({
      key: await importHmacKey(fromHex(keyHex)),
      terminalId,
      method: "POST",
      path: "/v1/batches",
      body,
    });
    const r = await app.request("/v1/batches", {
      method: "POST",
      body,
      headers: { authorization, "content-type": "application/json" },
    });
    const text = await r.text();
    responses.push(text);
    return { status: r.status, text };
  };
  try {
    let app = mk(lookup);
    assertEquals((await upload(app, "LC000123", a.keyHex, 1)).status, 200);
    assertEquals((await upload(app, "LC000124", b.keyHex, 1)).status, 200);
    // Another terminal's key does not work under this id.
    assertEquals((await upload(app, "LC000123", b.keyHex, 2)).status, 401);
    // Rotation: the new key works, the old one is refused.
    const rotated = await ks.terminalRotate("LC000123");
    app = mk(ks.terminalKeys());
    assertEquals((await upload(app, "LC000123", a.keyHex, 3)).status, 401);
    assertEquals((await upload(app, "LC000123", rotated.keyHex, 3)).status, 200);
    // Disabled: refused.
    await ks.terminalDisable("LC000124");
    app = mk(ks.terminalKeys());
    assertEquals((await upload(app, "LC000124", b.keyHex, 2)).status, 401);
  } finally {
    (store as { close?: () => void }).close?.();
  }
  const secrets = [master, fromHex(a.keyHex), fromHex(b.keyHex)];
  const scan = await scanFiles([home], secrets);
  assertEquals(scan.hits, []);
  assert(scan.files >= 3, `files: ${scan.files}`); // icfare.db (+ WAL), keystore.json, audit.log
  for (const r of responses) {
    for (const s of secrets) assert(!textHolds(r, s), "response holds a key");
  }
  assert((await ks.verifyAudit()).ok);
  ks.close();
  await Deno.remove(home, { recursive: true });
});
