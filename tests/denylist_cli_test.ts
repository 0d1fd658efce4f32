/**
 * `icfare denylist` as real subprocesses (docs/denylist.md, "Command line"): an operator types
 * a PAN on standard input, it is hashed with the pan-hash key and never printed, stored or
 * logged; add, remove, show (the journal with the operator), list, key (the key store's KCV)
 * and the stale-terminal report, readable and `--json`.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { toHex } from "../core/hex.ts";
import { KeyStore } from "../core/keys/mod.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import { scanFiles } from "./support/key_scan.ts";

const PAN = "6234567890123456";

Deno.test("denylist CLI: a typed PAN, hashed, never shown; the journal names the operator", async (t) => {
  const home = await Deno.makeTempDir({ prefix: "icfare-deny-cli-" });
  const master = crypto.getRandomValues(new Uint8Array(32));
  const ks = await KeyStore.init(home, master, "test");
  await ks.generate({ id: "pan-hash-1", usage: "pan-hash", algorithm: "hmac-sha256" });
  const deny = await ks.generate({ id: "deny-1", usage: "denylist-sign", algorithm: "sm2" });
  const secrets = [
    ks.withKey("pan-hash-1", (k) => k.slice()),
    ks.withKey("deny-1", (k) => k.slice()),
  ];
  ks.close();
  openSqliteStore(join(home, "icfare.db")).close();
  const env = { ICFARE_MASTER_KEY: toHex(master), ICFARE_OPERATOR: "alice" };
  const outputs: string[] = [];
  const run = async (args: string[], stdin?: string) => {
    const r = await icfareRun(["denylist", ...args, "--home", home], { env, stdin });
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  await t.step("add by PAN: listed, masked, idempotent", async () => {
    const a = await run(["add", "--psn", "01", "--ref", "ticket 7"], PAN + "\n");
    assertEquals(a.code, 0, a.stderr);
    assertMatch(a.stdout, /^623456\*{6}3456\/01: listed; list version 1 \(new, by alice\)/);
    const again = await run(["add", "--psn", "01", "--ref", "ticket 7", "--json"], PAN);
    assertEquals(JSON.parse(again.stdout).changed, false);
    assertEquals(JSON.parse(again.stdout).version, 1);
  });

  await t.step("show, list and key", async () => {
    const s = JSON.parse((await run(["show", "--psn", "01", "--json"], PAN)).stdout);
    assertEquals(s.listed, true);
    assertEquals(s.history.map((e: Record<string, unknown>) => [e.event, e.reason, e.ref, e.by]), [
      ["hold", "OPERATOR", "ticket 7", "alice"],
    ]);
    const l = JSON.parse((await run(["list", "--json"])).stdout);
    assertEquals([l.version, l.cards.length, l.cards[0].cardHash], [1, 1, s.card]);
    const human = await run(["list"]);
    assert(human.stdout.includes(s.card.slice(0, 16)));
    const k = JSON.parse((await run(["key", "--json"])).stdout);
    assertEquals([k.algorithm, k.kcv, k.publicKey], ["sm2", deny.kcv, deny.publicKey]);
  });

  await t.step("remove, refusals", async () => {
    const r = await run(["remove", "--psn", "01", "--ref", "paid at desk"], PAN);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.stdout, /not listed; list version 2/);
    const bad = await run(["add", "--psn", "01", "--ref", "x"], "12345");
    assertEquals(bad.code, 2);
    assertEquals((await run(["add", "--psn", "1", "--ref", "x"], PAN)).code, 2);
    assertEquals((await run(["add", "--psn", "01"], PAN)).code, 2);
  });

  await t.step("stale terminals: versions or time behind, and ahead", async () => {
    const s = openSqliteStore(join(home, "icfare.db"));
    const ins = s.connection.prepare(
      `INSERT INTO batches (terminal_id, batch_no, merchant_id, deny_list_version, digest,
        body_sealed, body_bytes, record_count, amount, receipt, received_at)
       VALUES (?, ?, 'M', ?, 'd', x'00', 1, 0, 0, 'r', '2026-12-04T08:00:00Z')`,
    );
    ins.run("LC000001", 1, 0); // behind by 2, older batch
    ins.run("LC000001", 2, 2); // its latest: current
    ins.run("LC000002", 1, 1); // behind by 1, since version 2 (just now)
    ins.run("LC000003", 1, 0); // behind by 2
    ins.run("LC000004", 1, 9); // ahead
    s.close();
    const r = await run(["stale", "--max-versions", "1", "--max-age", "1h", "--json"]);
    assertEquals(r.code, 1, r.stderr);
    const rep = JSON.parse(r.stdout);
    const states = Object.fromEntries(
      rep.terminals.map((x: Record<string, unknown>) => [x.terminalId, [x.state, x.behind]]),
    );
    assertEquals(states, {
      LC000001: ["current", 0],
      LC000002: ["behind", 1],
      LC000003: ["stale", 2],
      LC000004: ["ahead", -7],
    });
    const human = await run(["stale", "--max-age", "0s"]);
    assertMatch(human.stdout, /2 stale of 4 terminals/);
  });

  await t.step("no PAN, no key in any output or file of the home", async () => {
    for (const o of outputs) assert(!o.includes(PAN), "clear PAN in an output");
    const scan = await scanFiles([home], [...secrets, new TextEncoder().encode(PAN)]);
    assertEquals(scan.hits, []);
  });
  await Deno.remove(home, { recursive: true });
});
