/**
 * Collection end to end, every step a real `icfare` subprocess: a simulated day under the ODA
 * model (the issuers decline a share of the debts: insufficient funds, blocked and expired
 * cards), uploaded through the real upload server, verified and cleared; then `icfare collect`
 * against `icfare simulate-acquirer --world` (the same world's issuers) with every fault type
 * on, on the day and again when the retries fall due (1, 3, 7 and 14 days after the first
 * decline). Then: every debt ends as the simulator's truth says (recovered or written off); the
 * host counts each tap's approvals and none ever stood twice; the debts recovered are exactly
 * the approvals standing at the host; the deny list holds every declined debt's card and no
 * recovered debt's hold. Then the same from a copy of the cleared home with `collect` SIGKILLed
 * at random points (the seed is printed) and restarted until it finishes.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type E2eHome, icfareOk, icfareRun } from "./support/icfare_cli.ts";
import { send } from "./support/terminal.ts";
import { spawnServer } from "./support/server_process.ts";
import { importHmacKey } from "../core/auth/terminal_keys.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { shanghaiDayOf } from "../core/store/settlement.ts";
import { JournalDenyList } from "../core/denylist/journal.ts";
import { Rng } from "../sim/prng.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const ACQ_TERMINAL = "10000159";
const MERCHANT = "880210010210160";
const FAULTS = [
  "timeout",
  "drop-before",
  "drop-after",
  "late",
  "duplicate",
  "bad-mac",
  "reject-mac",
];
const dec = new TextDecoder();

type Env = E2eHome;
const ok = icfareOk;

/** Key store and keys, the ODA day, its issuer and CA keys, terminals; the ODA lines registered. */
async function setup(e: Env): Promise<Map<string, CryptoKey>> {
  await Deno.writeTextFile(e.master, toHex(crypto.getRandomValues(new Uint8Array(32))) + "\n", {
    mode: 0o600,
  });
  await ok(e, "keys", "init");
  for (
    const [id, usage, alg] of [
      ["pan-hash-1", "pan-hash", "hmac-sha256"],
      ["data-1", "data", "aes"],
      ["deny-1", "denylist-sign", "ecdsa-p256"],
      ["clearing-1", "clearing", "aes"],
    ]
  ) await ok(e, "keys", "generate", "--id", id, "--usage", usage, "--algorithm", alg);
  const sim = await icfareRun([
    ...["simulate", "--out", e.sim, "--seed", "collect-e2e", "--cards", "40"],
    ...["--terminals", "2", "--taps", "160", "--date", e.day, "--model", "oda"],
    ...["--fault", "insufficientFunds=0.15", "--fault", "blockedCards=0.1"],
    ...["--fault", "expiredCards=0.05", "--fault", "totalsMismatch=0"],
    // The world's own deny list is the demo's to replay (demo/denylist.ts): none here.
    ...["--fault", "denyListedCards=0", "--fault", "staleDenyListTerminals=0"],
  ]);
  assertEquals(sim.code, 0, sim.stderr);
  const kf = JSON.parse(await Deno.readTextFile(join(e.sim, "keys.json")));
  const issuer = join(e.tmp, "issuer-keys.json");
  await Deno.writeTextFile(
    issuer,
    JSON.stringify({ keys: kf.keys.filter((k: { usage: string }) => k.usage.startsWith("imk-")) }),
  );
  await ok(e, "keys", "import", issuer);
  await ok(e, "capk", "import", join(e.sim, "capk.json"));
  const world = JSON.parse(await Deno.readTextFile(join(e.sim, "world.json")));
  for (const l of world.lines) {
    if (l.model === "ODA") await ok(e, "network", "set-model", "--line", l.id, "--model", "oda");
  }
  const keys = new Map<string, CryptoKey>();
  for (const t of world.terminals as { id: string }[]) {
    const f = join(e.tmp, `${t.id}.key`);
    await ok(e, "terminals", "add", t.id, "--key-file", f);
    keys.set(t.id, await importHmacKey(fromHex((await Deno.readTextFile(f)).trim())));
  }
  return keys;
}

/** Every batch through the real server; then verify and clear the day. */
async function uploadVerifyClear(e: Env, keys: Map<string, CryptoKey>): Promise<void> {
  const server = await spawnServer(e.home, undefined, [
    ...["--master-key-file", e.master, "--rate", "1000", "--burst", "1000"],
  ]);
  try {
    const manifest = (await Deno.readTextFile(join(e.sim, "uploads.jsonl"))).trim().split("\n")
      .map((l) => JSON.parse(l));
    for (const m of manifest) {
      const body = await Deno.readFile(join(e.sim, "batches", m.file));
      const res = await send(server.url, body, {
        terminalId: m.terminalId,
        key: keys.get(m.terminalId),
      });
      assertEquals(res.status, 200, JSON.stringify(await res.json()));
    }
  } finally {
    await server.stop();
  }
  await ok(e, "verify", "--workers", "1");
  const c = JSON.parse(await ok(e, "clear", "--date", e.day, "--json"));
  assert(c.outcomes.DEBT.count >= 20, `debts: ${JSON.stringify(c.outcomes)}`);
}

function spawnCli(args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      MAIN,
      ...args,
    ],
    env: { ICFARE_OPERATOR: "e2e" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The simulated acquirer host of the day's world, every fault at 5 %. */
async function startHost(e: Env, tag: string) {
  const child = spawnCli([
    ...["simulate-acquirer", "--port=0", `--seed=${tag}`, `--world=${e.sim}`, "--late-ms=400"],
    ...FAULTS.map((f) => `--fault=${f}=0.05`),
    ...[`--terminal=${ACQ_TERMINAL}`, `--keys-out=${e.tmp}/tmk-${tag}.json`],
    ...[`--report=${e.tmp}/host-${tag}.json`, "--json"],
  ]);
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`simulate-acquirer ended: ${text}`);
    text += dec.decode(value);
  }
  const port = JSON.parse(text.slice(0, text.indexOf("\n"))).listening.port as number;
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      while (!(await reader.read()).done) { /* drain */ }
      assertEquals((await child.status).code, 0);
      await child.stderr.cancel();
      return JSON.parse(await Deno.readTextFile(`${e.tmp}/host-${tag}.json`));
    },
  };
}

function collectArgs(e: Env, port: number, at: string): string[] {
  return [
    ...["collect", `--port=${port}`, `--terminal=${ACQ_TERMINAL}`, `--merchant=${MERCHANT}`],
    ...["--timeout-ms=250", "--concurrency=3", "--rounds=6", `--at=${at}`, "--json"],
    ...["--home", e.home, "--master-key-file", e.master],
  ];
}

/** The collection times: after clearing (`t0`), then when each retry falls due. */
function collectionTimes(t0: number): string[] {
  return [0, 1, 3, 7, 14].map((d) => new Date(t0 + d * 86_400_000).toISOString());
}

function sql(home: string, q: string): Record<string, unknown>[] {
  const db = new DatabaseSync(join(home, "icfare.db"), { readOnly: true });
  try {
    return (db.prepare(q).all() as Record<string, unknown>[]).map((r) => ({ ...r }));
  } finally {
    db.close();
  }
}

/** Each debt's final state against the truth; the host's approvals; the deny list. */
async function checkEnd(e: Env, host: Record<string, unknown>): Promise<void> {
  const truth = (await Deno.readTextFile(join(e.sim, "truth.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((t) => t.outcome === "DEBT");
  const rows = sql(
    e.home,
    `SELECT r.terminal_id AS t, r.batch_no AS b, r.seq AS s, d.id, d.state, d.amount,
       d.card_hash, d.psn
     FROM debts d JOIN debt_records dr ON dr.debt_id = d.id JOIN records r ON r.id = dr.record_id`,
  );
  const stored = new Map(rows.map((r) => [`${r.t}/${r.b}/${r.s}`, r]));
  assertEquals(stored.size, truth.length, "one debt per DEBT record of the truth");
  const wrong: string[] = [];
  for (const t of truth) {
    const want = t.debtEnd === "RECOVERED" ? "recovered" : "written_off";
    const got = stored.get(`${t.terminalId}/${t.batchNo}/${t.seq}`)?.state;
    if (got !== want) wrong.push(`${t.terminalId}/${t.batchNo}/${t.seq}: ${got}, truth ${want}`);
  }
  assertEquals(wrong, []);
  const recovered = rows.filter((r) => r.state === "recovered");
  const faultsSeen = (host.host as { faults: Record<string, number> }).faults;
  console.log(
    `collect e2e: ${rows.length} debts, ${recovered.length} recovered; host ` +
      `${JSON.stringify(host.ledger)}; faults ${JSON.stringify(faultsSeen)}`,
  );
  assert(recovered.length > 0 && recovered.length < rows.length, "approvals and declines both");
  const ledger = host.ledger as { doubleApproved: number; live: number };
  assertEquals(ledger.doubleApproved, 0, "no tap approved twice");
  assertEquals(ledger.live, recovered.length, "approvals standing = debts recovered");
  for (const tap of host.taps as { pan: string; atc: string; count: { maxLive: number } }[]) {
    assert(tap.count.maxLive <= 1, `tap ${tap.pan} ATC ${tap.atc}: ${tap.count.maxLive} standing`);
  }
  const faults = (host.host as { faults: Record<string, number> }).faults;
  for (const f of FAULTS) {
    assert(faults[f] > 0, `fault ${f} never injected: ${JSON.stringify(faults)}`);
  }
  const db = new DatabaseSync(join(e.home, "icfare.db"), { readOnly: true });
  try {
    const deny = new JournalDenyList(db);
    for (const r of rows) {
      const card = { cardHash: toHex(r.card_hash as Uint8Array), psn: String(r.psn) };
      const held = deny.holds(card).some((h) => h.ref === `debt:${r.id}`);
      assertEquals(held, r.state !== "recovered", `debt ${r.id} (${r.state}) hold`);
      if (r.state !== "recovered") assert(deny.isListed(card), `debt ${r.id}: card listed`);
    }
  } finally {
    db.close();
  }
}

/** `collect` at each time; with `killer`, SIGKILLed after a random delay and restarted. */
async function collectDays(e: Env, port: number, killer?: Rng): Promise<number> {
  let kills = 0;
  for (const at of collectionTimes(Date.now() + 60_000)) {
    for (let run = 0;; run++) {
      assert(run < 60, "collect never finished");
      const child = spawnCli(collectArgs(e, port, at));
      const kill = killer && run < 8 && killer.chance(0.8);
      const timer = kill
        ? setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* ended already */ }
        }, 300 + killer!.int(2500))
        : undefined;
      const o = await child.output();
      clearTimeout(timer);
      if (o.signal === "SIGKILL") {
        kills++;
        continue;
      }
      const text = dec.decode(o.stdout);
      if (o.code === 0) {
        assert(!/6\d{15,18}/.test(text + dec.decode(o.stderr)), "no PAN in collect's output");
        break;
      }
      assertEquals(o.code, 1, `${text}${dec.decode(o.stderr)}`);
      assert(dec.decode(o.stderr).includes("[COLLECT_INCOMPLETE]"), dec.decode(o.stderr));
    }
  }
  return kills;
}

Deno.test("collect end to end: ODA day → upload → verify → clear → collect with every fault, then killed and restarted", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-collect-e2e-" });
  const e: Env = {
    tmp,
    home: join(tmp, "home"),
    master: join(tmp, "master.key"),
    sim: join(tmp, "sim"),
    day: shanghaiDayOf(new Date(Date.now() - 86_400_000).toISOString()),
  };
  try {
    await uploadVerifyClear(e, await setup(e));
    const cleared = join(tmp, "cleared");
    await Deno.mkdir(cleared);
    for await (const f of Deno.readDir(e.home)) {
      await new Deno.Command("cp", { args: ["-a", join(e.home, f.name), cleared] }).output();
    }
    await t.step(
      "every fault on: each debt ends as the truth says, no tap charged twice",
      async () => {
        const host = await startHost(e, "faults");
        await ok(e, "keys", "import", `${e.tmp}/tmk-faults.json`);
        await collectDays(e, host.port);
        await checkEnd(e, await host.stop());
      },
    );
    await t.step("collect SIGKILLed at random points and restarted until done", async () => {
      const seed = Deno.env.get("ICFARE_KILL_SEED") ?? String(Date.now());
      console.log(`collect kill seed: ${seed} (ICFARE_KILL_SEED=${seed} repeats the kills)`);
      const k: Env = { ...e, home: join(tmp, "home-killed") };
      await Deno.rename(cleared, k.home);
      const host = await startHost(k, "killed");
      await ok(k, "keys", "import", `${k.tmp}/tmk-killed.json`);
      const kills = await collectDays(k, host.port, new Rng(seed, "kills"));
      assert(kills > 0, "at least one run was killed");
      console.log(`collect: ${kills} run(s) killed`);
      await checkEnd(k, await host.stop());
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
