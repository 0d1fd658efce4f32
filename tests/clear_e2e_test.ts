/**
 * Clearing end to end, every step a real `icfare` subprocess: a key store with its pan-hash,
 * card-data and clearing keys; a simulated day with faults (duplicates, replays, tampering) on
 * three terminals, one registered under the ODA model; the batches uploaded through the real
 * upload server; `verify`; `clear`. Then: the ledger sums to 0 fen; a second `clear` writes the
 * same bytes and leaves the books as they were; a duplicate presentment is never cleared twice
 * (store and sealed file); a declined debt puts the card on the deny list the server serves and
 * a recovered debt takes it off; no clear PAN in any output.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type E2eHome, icfareOk, icfareRun } from "./support/icfare_cli.ts";
import { send } from "./support/terminal.ts";
import { spawnServer } from "./support/server_process.ts";
import { importHmacKey } from "../core/auth/terminal_keys.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { KeyStore } from "../core/keys/store.ts";
import { clearingKeyOf } from "../core/clearing/clearing_key.ts";
import { checkTrailer, openSealed } from "../core/clearing/clearing_file.ts";
import { shanghaiDayOf } from "../core/store/settlement.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";

const TERMINALS = ["LC000100", "LC000101", "LC000102"];
const ODA_TERMINAL = "LC000102";

type Env = E2eHome;
const ok = icfareOk;

/** Key store, keys, simulated day, issuer and CA keys, terminals with their key files. */
async function setup(e: Env): Promise<Map<string, CryptoKey>> {
  await Deno.writeTextFile(e.master, toHex(crypto.getRandomValues(new Uint8Array(32))) + "\n", {
    mode: 0o600,
  });
  await ok(e, "keys", "init");
  await ok(
    e,
    "keys",
    "generate",
    "--id",
    "pan-hash-1",
    "--usage",
    "pan-hash",
    "--algorithm",
    "hmac-sha256",
  );
  await ok(e, "keys", "generate", "--id", "data-1", "--usage", "data", "--algorithm", "aes");
  // The server signs the deny list it serves with this key (docs/denylist.md); without one the
  // deny-list routes answer 503.
  await ok(
    e,
    "keys",
    "generate",
    "--id",
    "deny-1",
    "--usage",
    "denylist-sign",
    "--algorithm",
    "ecdsa-p256",
  );
  await ok(
    e,
    "keys",
    "generate",
    "--id",
    "clearing-1",
    "--usage",
    "clearing",
    "--algorithm",
    "aes",
    "--exportable",
  );
  const sim = await icfareRun([
    "simulate",
    "--out",
    e.sim,
    "--seed",
    "clear-e2e",
    "--cards",
    "50",
    "--terminals",
    "3",
    "--taps",
    "260",
    "--date",
    e.day,
    "--fault",
    "duplicate=0.04",
    "--fault",
    "replay=0.02",
    "--fault",
    "revokedCertCards=0",
    "--fault",
    "totalsMismatch=0",
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
  const keys = new Map<string, CryptoKey>();
  for (const t of TERMINALS) {
    const f = join(e.tmp, `${t}.key`);
    await ok(e, "terminals", "add", t, "--key-file", f);
    keys.set(t, await importHmacKey(fromHex((await Deno.readTextFile(f)).trim())));
  }
  await ok(e, "network", "set-model", "--terminal", ODA_TERMINAL, "--model", "oda");
  return keys;
}

/** Every batch of the manifest through the real server, each answer as the manifest expects. */
async function upload(e: Env, keys: Map<string, CryptoKey>) {
  const server = await spawnServer(e.home, undefined, [
    "--master-key-file",
    e.master,
    "--rate",
    "1000",
    "--burst",
    "1000",
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
      const answer = await res.json();
      assertEquals(res.status, m.expect === "TOTALS_MISMATCH" ? 422 : 200, JSON.stringify(answer));
    }
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** The clearing, ledger and debt tables as text. */
function books(home: string): string {
  const db = new DatabaseSync(join(home, "icfare.db"), { readOnly: true });
  try {
    return ["clearing_lines", "ledger_entries", "ledger_postings", "ledger_accounts", "debts"]
      .map((t) =>
        JSON.stringify(
          db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all(),
          (_k, v) => v instanceof Uint8Array ? toHex(v) : typeof v === "bigint" ? Number(v) : v,
        )
      )
      .join("\n");
  } finally {
    db.close();
  }
}

function sql(home: string, q: string): Record<string, unknown>[] {
  const db = new DatabaseSync(join(home, "icfare.db"), { readOnly: true });
  try {
    return (db.prepare(q).all() as Record<string, unknown>[]).map((r) => ({ ...r }));
  } finally {
    db.close();
  }
}

/** The sealed clearing file opened with the key store's clearing key: its detail lines. */
async function sealedDetails(e: Env): Promise<{ pan: string; psn: string; atc: string }[]> {
  const m = fromHex((await Deno.readTextFile(e.master)).trim());
  const ks = await KeyStore.open(e.home, m, "test");
  try {
    const key = await clearingKeyOf(ks);
    const f = await Deno.readFile(join(e.home, "clearing", e.day, `clearing-${e.day}.icfc`));
    const { text } = await openSealed(f, key);
    checkTrailer(text);
    return text.trim().split("\n").map((l) => JSON.parse(l)).filter((l) => l.type === "D");
  } finally {
    ks.close();
    m.fill(0);
  }
}

async function deniedCards(url: string, keys: Map<string, CryptoKey>): Promise<Set<string>> {
  const res = await send(url, null, {
    method: "GET",
    path: "/v1/denylist?since=0",
    terminalId: TERMINALS[0],
    key: keys.get(TERMINALS[0]),
  });
  const list = await res.json();
  return new Set(list.entries.map((x: { card: string }) => x.card.toUpperCase()));
}

Deno.test("clear end to end through the CLI: ledger at 0, idempotent bytes, duplicates once, debts and the deny list", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-clear-e2e-" });
  const e: Env = {
    tmp,
    home: join(tmp, "home"),
    master: join(tmp, "master.key"),
    sim: join(tmp, "sim"),
    day: shanghaiDayOf(new Date().toISOString()),
  };
  const keys = await setup(e);
  const server = await upload(e, keys);
  try {
    let first: Record<string, unknown> = {};
    await t.step("clear refuses before verify, then clears", async () => {
      const r = await icfareRun(
        ["clear", "--date", e.day, "--home", e.home, "--master-key-file", e.master],
        { env: { ICFARE_OPERATOR: "e2e" } },
      );
      assertEquals(r.code, 1);
      assert(r.stderr.includes("[CLEAR_UNVERIFIED]"), r.stderr);
      await ok(e, "verify", "--workers", "1");
      first = JSON.parse(await ok(e, "clear", "--date", e.day, "--json"));
      const o = first.outcomes as Record<string, { count: number }>;
      assert(o.CLEARED.count > 100 && o.DEBT.count > 0 && o.DUPLICATE.count > 0, JSON.stringify(o));
      assertEquals((first.ledger as { total: number }).total, 0);
      assertEquals(first.balanced, true);
    });
    await t.step("a second clear: nothing new, same files, same books", async () => {
      const before = books(e.home);
      const again = JSON.parse(await ok(e, "clear", "--date", e.day, "--json"));
      assertEquals(again.newLines, 0);
      assertEquals(again.files, first.files);
      assertEquals(books(e.home), before);
    });
    await t.step("a day another operator is clearing is refused (LOCK_BUSY)", async () => {
      const before = books(e.home);
      const held = openSqliteStore(join(e.home, "icfare.db"));
      try {
        await held.withLock(`clear:${e.day}`, async () => {
          const r = await icfareRun(
            ["clear", "--date", e.day, "--home", e.home, "--master-key-file", e.master],
            { env: { ICFARE_OPERATOR: "e2e" } },
          );
          assertEquals(r.code, 1, r.stderr);
          assert(r.stderr.includes("[LOCK_BUSY]"), r.stderr);
        });
      } finally {
        held.close();
      }
      assertEquals(books(e.home), before);
    });
    await t.step("a duplicate presentment is never cleared twice", async () => {
      const dups = sql(
        e.home,
        `SELECT count(*) AS n FROM clearing_lines WHERE outcome = 'DUPLICATE'`,
      );
      assert(Number(dups[0].n) > 0);
      const details = await sealedDetails(e);
      const keys = new Set(details.map((d) => `${d.pan}/${d.psn}/${d.atc}`));
      assertEquals(keys.size, details.length);
      assertEquals(details.length, (first.clearing as { count: number }).count);
    });
    await t.step("debts: a decline lists the card, a recovery takes it off", async () => {
      await debtRound(e, server.url, keys);
      const again = JSON.parse(await ok(e, "clear", "--date", e.day, "--json"));
      assertEquals(again.files, first.files, "the day's files do not move with its debts");
      assertEquals(again.ledger.total, 0);
    });
    await t.step("the sealed file checks out; its key leaves as a TR-31 block", async () => {
      const f = join(e.home, "clearing", e.day, `clearing-${e.day}.icfc`);
      const check = JSON.parse(await ok(e, "clear", "--check-file", f, "--json"));
      assertEquals(check.trailer, first.clearing);
      await ok(e, "keys", "generate", "--id", "kek-acq", "--usage", "kek", "--algorithm", "aes");
      const out = await ok(
        e,
        "keys",
        "export",
        "clearing-1",
        "--under",
        "kek-acq",
        "--authorized-by",
        "alice",
        "--authorized-by",
        "bob",
      );
      const block = out.trim().split("\n").at(-1)!;
      assertEquals(block.slice(0, 1) + block.slice(5, 9), "DD0AB", block.slice(0, 16)); // TR-31 D, usage D0, AES, mode B
    });
    await t.step("no clear PAN in the day's files or outputs", async () => {
      for (const f of (first.files as { name: string }[])) {
        const text = new TextDecoder().decode(
          await Deno.readFile(join(e.home, "clearing", e.day, f.name)),
        );
        assertEquals(text.match(/6235\d{10,13}/g), null, f.name);
      }
    });
  } finally {
    await server.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});

/** Export the debts, decline one and approve another; retry the declined one and approve it. */
async function debtRound(e: Env, url: string, keys: Map<string, CryptoKey>) {
  const req = join(e.tmp, "requests.jsonl");
  await ok(e, "debts", "export", "--out", req);
  const requests = (await Deno.readTextFile(req)).trim().split("\n").map((l) => JSON.parse(l));
  assert(requests.length >= 2, `${requests.length} requests`);
  for (const q of requests) assert(!/6235\d{10}/.test(JSON.stringify(q)), "no PAN in a request");
  const [declined, approved] = requests;
  const resp = join(e.tmp, "responses.jsonl");
  const line = (q: { debtId: number; stan: string }, outcome: string, rc: string) =>
    JSON.stringify({ debtId: q.debtId, stan: q.stan, outcome, responseCode: rc }) + "\n";
  await Deno.writeTextFile(
    resp,
    line(declined, "declined", "51") + line(approved, "approved", "00"),
  );
  const r1 = JSON.parse(await ok(e, "debts", "intake", resp, "--json"));
  assertEquals(r1.applied.map((a: { state: string }) => a.state), ["declined", "recovered"]);
  assert((await deniedCards(url, keys)).has(declined.card), "declined card listed");
  const r2 = JSON.parse(await ok(e, "debts", "intake", resp, "--json"));
  assertEquals([r2.applied.length, r2.repeated.length], [0, 2], "a second intake changes nothing");
  // the retry is due a day after the decline: a new STAN, approved, the card comes off the list
  const at = new Date(Date.now() + 86_400_000 + 60_000).toISOString();
  await ok(e, "debts", "export", "--out", req, "--at", at);
  const retry = (await Deno.readTextFile(req)).trim().split("\n").map((l) => JSON.parse(l))
    .find((q) => q.debtId === declined.debtId);
  assert(retry && retry.stan !== declined.stan, "retried with a new STAN");
  await Deno.writeTextFile(resp, line(retry, "approved", "00"));
  const r3 = JSON.parse(await ok(e, "debts", "intake", resp, "--at", at, "--json"));
  assertEquals(r3.applied.map((a: { state: string }) => a.state), ["recovered"]);
  assert(!(await deniedCards(url, keys)).has(declined.card), "recovered card off the list");
}
