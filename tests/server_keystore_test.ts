/**
 * `icfare serve` with the key store: terminal keys, the pan-hash key and the card-data key come
 * from HOME/keys, the master key from a file outside the home; the server runs with only the
 * port, the home and that one file readable. A running server sees every terminal change made
 * with the CLI at the very next request, without a restart and without holding the master key
 * (issue 14 item 1): it answers from the terminal table, whose key it unwrapped at start.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { KeyStore } from "../core/keys/mod.ts";
import { importHmacKey } from "../core/auth/terminal_keys.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { enc, sampleBatch, send } from "./support/terminal.ts";
import { spawnServer } from "./support/server_process.ts";
import { icfareRun } from "./support/icfare_cli.ts";

async function masterFileOutside(): Promise<{ dir: string; file: string; key: Uint8Array }> {
  const dir = await Deno.makeTempDir({ prefix: "icfare-ks-master-" });
  const file = join(dir, "master.key");
  const key = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeTextFile(file, toHex(key), { mode: 0o600 });
  await Deno.chmod(file, 0o600);
  return { dir, file, key };
}

Deno.test("serve: keys from the key store; the dev key file is not needed", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-ks-home-" });
  const m = await masterFileOutside();
  const ks = await KeyStore.init(home, m.key, "test");
  await ks.generate({ id: "pan-hash-1", usage: "pan-hash", algorithm: "hmac-sha256" });
  await ks.generate({ id: "data-1", usage: "data", algorithm: "aes" });
  const t = await ks.terminalAdd("LC000601");
  const key = await importHmacKey(fromHex(t.keyHex));

  const srv = await spawnServer(home, undefined, ["--master-key-file", m.file]);
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
  ks.close();
  await Deno.remove(home, { recursive: true });
  await Deno.remove(m.dir, { recursive: true });
});

Deno.test("serve: disable, enable, rotate-key, add and rotate-master take effect at the next request, no restart", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-ks-live-" });
  const m = await masterFileOutside();
  const env = { ICFARE_HOME: home, ICFARE_OPERATOR: "officer", NO_COLOR: "1" };
  const cli = async (...args: string[]) => {
    const r = await icfareRun([...args, "--master-key-file", m.file, "--json"], { env });
    assertEquals(r.code, 0, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  // The service keys by hand (not `icfare init`), so that this test runs on older code too.
  await cli("keys", "init");
  await cli(
    "keys",
    "generate",
    "--id",
    "pan-hash-1",
    "--usage",
    "pan-hash",
    "--algorithm",
    "hmac-sha256",
  );
  await cli("keys", "generate", "--id", "data-1", "--usage", "data", "--algorithm", "aes");
  const a = await cli("terminals", "add", "LC000701");
  const keyA = await importHmacKey(fromHex(a.key));
  let batchNo = 0;
  const upload = async (terminalId: string, key: CryptoKey) => {
    const body = enc.encode(JSON.stringify(sampleBatch({ terminalId, batchNo: ++batchNo })));
    const r = await send(srv.url, body, { terminalId, key });
    const j = await r.json();
    return r.status === 200 ? "stored" : j.error.code as string;
  };

  const srv = await spawnServer(home, undefined, ["--master-key-file", m.file]);
  try {
    assertEquals(await upload("LC000701", keyA), "stored");
    await cli("terminals", "disable", "LC000701");
    assertEquals(await upload("LC000701", keyA), "AUTH_UNKNOWN_TERMINAL");
    await cli("terminals", "enable", "LC000701");
    assertEquals(await upload("LC000701", keyA), "stored");

    const fileA2 = join(m.dir, "LC000701.v2.key");
    await cli("terminals", "rotate-key", "LC000701", "--key-file", fileA2);
    const keyA2 = await importHmacKey(fromHex((await Deno.readTextFile(fileA2)).trim()));
    assertEquals(await upload("LC000701", keyA), "AUTH_BAD_SIGNATURE");
    assertEquals(await upload("LC000701", keyA2), "stored");

    const b = await cli("terminals", "add", "LC000702");
    assertEquals(await upload("LC000702", await importHmacKey(fromHex(b.key))), "stored");

    // A new master key: the server never held the old one, and goes on following changes.
    const next = join(m.dir, "master2.key");
    await Deno.writeTextFile(next, toHex(crypto.getRandomValues(new Uint8Array(32))), {
      mode: 0o600,
    });
    await cli("keys", "rotate-master", "--new-master-key-file", next);
    await Deno.rename(next, m.file);
    await cli("terminals", "disable", "LC000702");
    assertEquals(
      await upload("LC000702", await importHmacKey(fromHex(b.key))),
      "AUTH_UNKNOWN_TERMINAL",
    );
    assertEquals(await upload("LC000701", keyA2), "stored");
  } finally {
    await srv.stop();
  }
  await Deno.remove(home, { recursive: true });
  await Deno.remove(m.dir, { recursive: true });
});

Deno.test("serve: a fresh key store without service keys is refused with the command that fixes it", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-ks-bare-" });
  const m = await masterFileOutside();
  (await KeyStore.init(home, m.key, "test")).close();
  const e = await spawnServer(home, undefined, ["--master-key-file", m.file]).then(
    (s) => (s.stop(), "started"),
    (e) => (e as Error).message,
  );
  assert(e.includes("no active pan-hash key"), e);
  assert(e.includes("icfare init"), e);
  assert(!/\bat .*:\d+:\d+/.test(e), e);
  await Deno.remove(home, { recursive: true });
  await Deno.remove(m.dir, { recursive: true });
});
