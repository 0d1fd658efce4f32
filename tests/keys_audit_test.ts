/**
 * The audit trail as a security officer relies on it (issue 14 item 12): a refusal names the
 * key it was about; a broken chain stops key operations until an officer acknowledges it (and
 * the acknowledged part cannot change unseen afterwards); `keys init` beside an old audit log
 * refuses; the simulator keeps its clear test keys in a directory only its owner can read.
 * Before this change refusals carried no key id, operations went on over a broken chain,
 * `keys init` silently continued an old chain, and the simulator wrote with the umask.
 */
import { assert, assertEquals, assertRejects } from "@icfare/assert";
import { join } from "node:path";
import { KeyStore, type KeyStoreError, keyStorePaths, readAudit } from "../core/keys/mod.ts";
import { simulateToDir } from "../sim/simulate.ts";
import { DEFAULT_FAULTS } from "../sim/faults.ts";

async function fresh() {
  const home = await Deno.makeTempDir({ prefix: "icfare-audit-" });
  const master = crypto.getRandomValues(new Uint8Array(32));
  return { home, master, store: await KeyStore.init(home, master, "officer1") };
}

async function code(p: Promise<unknown>): Promise<string> {
  return ((await assertRejects(() => p)) as KeyStoreError).code;
}

async function last(home: string) {
  const log = await readAudit(home);
  return log[log.length - 1];
}

Deno.test("refusals in the audit trail carry the key id they were about", async () => {
  const { home, store } = await fresh();
  await store.generate({ id: "kek-1", usage: "kek", algorithm: "aes", exportable: true });
  await store.generate({ id: "kek-2", usage: "kek", algorithm: "aes" });
  const cases: [() => Promise<unknown>, string, string][] = [
    [
      () => store.generate({ id: "kek-1", usage: "kek", algorithm: "aes" }),
      "keys.generate",
      "kek-1",
    ],
    [() => store.retire("nope"), "keys.retire", "nope"],
    [() => store.exportBlock("kek-1", "kek-2", ["alice"]), "keys.export", "kek-1"],
    [() => store.checkKcv("missing"), "keys.kcv", "missing"],
    [
      () =>
        store.importDev({
          keys: [{
            id: "imk-x",
            usage: "imk-ac",
            algorithm: "3des",
            issuer: "62",
            value: "11".repeat(16),
            kcv: "000000",
          }],
        }),
      "keys.import",
      "imk-x",
    ],
  ];
  for (const [p, op, keyId] of cases) {
    await assertRejects(p);
    const e = await last(home);
    assertEquals([e.op, e.result, e.keyId], [op, "refused", keyId]);
  }
  store.close();
  await Deno.remove(home, { recursive: true });
});

Deno.test("a broken chain stops key operations until an officer acknowledges it", async () => {
  const { home, master, store } = await fresh();
  await store.generate({ id: "a", usage: "pan-hash", algorithm: "hmac-sha256" });
  await store.generate({ id: "b", usage: "denylist-sign", algorithm: "hmac-sha256" });
  const path = keyStorePaths(home).audit;
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  await Deno.writeTextFile(
    path,
    lines.map((l, i) => i === 2 ? l.replace('"officer1"', '"mallory"') : l).join("\n") + "\n",
  );
  const v = await store.verifyAudit();
  assertEquals([v.ok, v.problem!.line], [false, 3]);
  assertEquals(
    await code(store.generate({ id: "c", usage: "kek", algorithm: "aes" })),
    "AUDIT_BROKEN",
  );
  assertEquals(await code(store.terminalAdd("LC000801")), "AUDIT_BROKEN");
  assertEquals(
    await code(store.rotateMaster(crypto.getRandomValues(new Uint8Array(32)))),
    "AUDIT_BROKEN",
  );
  assertEquals(store.list().keys.map((k) => k.id).includes("c"), false);
  // Reading keys goes on (a running server is not stopped).
  assert(await store.hmacCryptoKey("pan-hash"));
  assertEquals(await code(store.acknowledgeAudit("  ")), "BAD_INPUT");
  const acked = await (await KeyStore.open(home, master, "officer2")).acknowledgeAudit(
    "line 3 edited during the 2026-06 restore test; the original is in the offsite copy",
  );
  assert(acked.ok);
  assertEquals(acked.acknowledged!.by, "officer2");
  assertEquals(acked.acknowledged!.problem.line, 3);
  await store.generate({ id: "c", usage: "kek", algorithm: "aes" });
  const after = await store.verifyAudit();
  assert(after.ok, JSON.stringify(after.problem));
  const entries = await readAudit(home);
  assertEquals(entries.slice(-2).map((e) => [e.op, e.actor]), [
    ["audit.ack", "officer2"],
    ["keys.generate", "officer1"],
  ]);
  assertEquals(await code(store.acknowledgeAudit("again")), "AUDIT_INTACT");
  // The acknowledged part is kept as it was: a later change to it is a break again.
  const now = (await Deno.readTextFile(path)).split("\n");
  now[0] = now[0].replace('"officer1"', '"eve"');
  await Deno.writeTextFile(path, now.join("\n"));
  const again = await store.verifyAudit();
  assertEquals(again.ok, false);
  assert(again.problem!.message.includes("acknowledged part"), again.problem!.message);
  store.close();
  await Deno.remove(home, { recursive: true });
});

Deno.test("a crash that left the anchored entry out of the log: stopped, acknowledged, going on", async () => {
  const { home, master, store } = await fresh();
  await store.generate({ id: "a", usage: "pan-hash", algorithm: "hmac-sha256" });
  const path = keyStorePaths(home).audit;
  const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
  await Deno.writeTextFile(path, lines.slice(0, -1).join("\n") + "\n"); // the last append lost
  assertEquals(await code(store.retire("a")), "AUDIT_BROKEN");
  await (await KeyStore.open(home, master, "officer2")).acknowledgeAudit("crash at 03:12");
  await store.retire("a");
  assert((await store.verifyAudit()).ok);
  store.close();
  await Deno.remove(home, { recursive: true });
});

Deno.test("keys init beside an existing audit log refuses instead of continuing its chain", async () => {
  const { home, master, store } = await fresh();
  store.close();
  await Deno.remove(keyStorePaths(home).store);
  const before = await Deno.readTextFile(keyStorePaths(home).audit);
  assertEquals(await code(KeyStore.init(home, master, "x")), "AUDIT_LOG_EXISTS");
  assertEquals(await Deno.readTextFile(keyStorePaths(home).audit), before);
  await Deno.remove(home, { recursive: true });
});

Deno.test("the simulator's clear test keys: private/ mode 700, key files mode 600", async () => {
  const out = await Deno.makeTempDir({ prefix: "icfare-sim-modes-" });
  await simulateToDir({
    seed: "5",
    cards: 20,
    terminals: 3,
    taps: 30,
    date: "2026-06-24",
    faults: DEFAULT_FAULTS,
    iccKeyPool: 2,
  }, out);
  const mode = async (p: string) => (await Deno.stat(join(out, p))).mode! & 0o777;
  assertEquals(await mode("private"), 0o700);
  assertEquals(await mode("private/test-pki.json"), 0o600);
  assertEquals(await mode("keys.json"), 0o600);
  await Deno.remove(out, { recursive: true });
});
