/**
 * The deny-list lifecycle (docs/denylist.md) on a real SQLite store: a card added and removed
 * by each reason, idempotent adds and removes, holds, monotonic versions, the history with
 * who/why/ref, the caller's transaction, deltas that reproduce the full list, and the schema
 * step from the first deny-list table.
 */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openSqliteStore, type SqliteStore } from "../core/store/sqlite.ts";
import { MIGRATIONS } from "../core/store/migrations.ts";
import { type Card, DENY_REASONS } from "../core/denylist/journal.ts";
import { type DenyEntry, unsignedList } from "../core/denylist/signed.ts";
import { toHex } from "../core/hex.ts";
import { xorshiftBytes } from "./support/rng.ts";

async function store(): Promise<{ s: SqliteStore; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "icfare-deny-" });
  const path = join(dir, "icfare.db");
  return { s: openSqliteStore(path), path };
}

const card = (n: number, psn = "00"): Card => ({
  cardHash: n.toString(16).toUpperCase().padStart(2, "0").repeat(32),
  psn,
});

Deno.test("each reason: a card goes on, and comes off the way its reason allows", async () => {
  const { s } = await store();
  const dl = s.denyList;
  let v = 0;
  for (const [i, reason] of DENY_REASONS.entries()) {
    const c = card(i + 1);
    assertEquals(dl.add(c, reason, "icfare clear", `rec-${i}`), ++v, reason);
    assert(dl.isListed(c));
    // recovering a debt frees only a card listed for a declined debt
    const after = dl.remove(c, "DEBT_RECOVERED", "icfare collect", `rec-${i}`);
    if (reason === "DEBT_DECLINED") {
      assertEquals(after, ++v);
      assert(!dl.isListed(c));
      continue;
    }
    assertEquals(after, v, `${reason} stays listed after a debt recovery`);
    assert(dl.isListed(c));
    assertEquals(dl.remove(c, "OPERATOR", "alice"), ++v, reason);
    assert(!dl.isListed(c));
    const h = dl.history(c);
    assertEquals(h.map((e) => [e.event, e.reason, e.by, e.ref, e.version, e.listed]), [
      ["hold", reason, "icfare clear", `rec-${i}`, v - 1, true],
      ["release", "OPERATOR", "alice", null, v, false],
    ]);
  }
  assertEquals(dl.version(), v);
  s.close();
});

Deno.test("idempotent: the same add or remove twice changes nothing; holds keep a card listed", async () => {
  const { s } = await store();
  const dl = s.denyList;
  const c = card(7, "01");
  assertEquals(dl.remove(c, "OPERATOR", "alice"), 0, "removing an unlisted card");
  assertEquals(dl.add(c, "DEBT_DECLINED", "collect", "debt-1"), 1);
  assertEquals(dl.add(c, "DEBT_DECLINED", "collect", "debt-1"), 1, "same hold again");
  assertEquals(dl.add(c, "DEBT_DECLINED", "collect", "debt-2"), 1, "listed: no new version");
  assertEquals(dl.history(c).length, 2, "the second debt is journaled, the repeat is not");
  assertEquals(dl.remove(c, "DEBT_RECOVERED", "collect", "debt-1"), 1, "debt-2 still open");
  assert(dl.isListed(c));
  assertEquals(dl.holds(c), [{ reason: "DEBT_DECLINED", ref: "debt-2" }]);
  assertEquals(dl.remove(c, "DEBT_RECOVERED", "collect", "debt-1"), 1, "already closed");
  assertEquals(dl.remove(c, "DEBT_RECOVERED", "collect", "debt-2"), 2);
  assert(!dl.isListed(c));
  assertEquals(dl.remove(c, "DEBT_RECOVERED", "collect", "debt-2"), 2);
  // the list version each event made, or none
  assertEquals(dl.history(c).map((e) => e.version), [1, null, null, 2]);
  s.close();
});

Deno.test("isListed at a version: the list each version served", async () => {
  const { s } = await store();
  const dl = s.denyList;
  const a = card(1), b = card(2);
  dl.add(a, "ODA_FAILED", "clear", "r1"); // v1
  dl.add(b, "CARD_EXPIRED", "clear", "r2"); // v2
  dl.remove(a, "OPERATOR", "bob"); // v3
  dl.add(a, "CRYPTOGRAM_FAILED", "clear", "r3"); // v4
  const at = (c: Card) => [0, 1, 2, 3, 4, 5].map((v) => dl.isListed(c, v));
  assertEquals(at(a), [false, true, true, false, true, true]);
  assertEquals(at(b), [false, false, true, true, true, true]);
  assertThrows(() => dl.isListed(a, -1));
  s.close();
});

Deno.test("a change joins the caller's transaction: rolled back with it", async () => {
  const { s } = await store();
  const db = s.connection;
  db.exec("BEGIN IMMEDIATE");
  assertEquals(s.denyList.add(card(3), "DEBT_DECLINED", "clear", "d9"), 1);
  db.exec("ROLLBACK");
  assertEquals(s.denyList.version(), 0);
  assert(!s.denyList.isListed(card(3)));
  assertEquals(s.denyList.history(card(3)), []);
  s.close();
});

Deno.test("refused: a bad card hash, PSN, reason, actor or reference", async () => {
  const { s } = await store();
  const dl = s.denyList;
  const bad: [string, () => unknown][] = [
    ["short hash", () => dl.add({ cardHash: "AB", psn: "00" }, "OPERATOR", "x")],
    ["PAN for a hash", () => dl.add({ cardHash: "6234567890123456", psn: "00" }, "OPERATOR", "x")],
    ["psn", () => dl.add({ cardHash: "AB".repeat(32), psn: "1" }, "OPERATOR", "x")],
    ["reason", () => dl.add(card(1), "AC_MISMATCH" as "OPERATOR", "x")],
    ["actor", () => dl.add(card(1), "OPERATOR", " ")],
    ["ref", () => dl.add(card(1), "OPERATOR", "x", "")],
    ["remove reason", () => dl.remove(card(1), "WRITTEN_OFF", "x")],
  ];
  for (const [what, f] of bad) {
    const e = assertThrows(f) as { code?: string };
    assertEquals(e.code, "DENYLIST_BAD_INPUT", what);
  }
  assertEquals(dl.version(), 0);
  s.close();
});

/** Applies served entries to a set of cards, as a terminal does. */
function apply(set: Set<string>, entries: readonly DenyEntry[]): Set<string> {
  const out = new Set(set);
  for (const e of entries) e.action === "add" ? out.add(e.card) : out.delete(e.card);
  return out;
}

Deno.test("deltas reproduce the full list from every earlier version (seeded random lifecycle)", async () => {
  const seed = 0x5eed15;
  const rnd = xorshiftBytes(seed);
  const { s } = await store();
  const dl = s.denyList;
  const fulls = new Map<number, Set<string>>([[0, new Set()]]);
  let last = 0;
  for (let i = 0; i < 250; i++) {
    const [x, y, z] = rnd(3);
    const c = card(1 + (x % 24));
    const v = z % 3 === 0
      ? dl.remove(c, y % 2 ? "OPERATOR" : "DEBT_RECOVERED", "t", `d${y % 4}`)
      : dl.add(c, DENY_REASONS[y % DENY_REASONS.length], "t", `d${y % 4}`);
    assert(v === last || v === last + 1, `seed ${seed}: versions step by one`);
    last = v;
    const full = unsignedList(dl, 0);
    assertEquals(full.version, v);
    fulls.set(v, new Set(full.entries.map((e) => e.card)));
  }
  assert(last > 60, `seed ${seed}: ${last} versions`);
  const now = fulls.get(last)!;
  for (const [v, set] of fulls) {
    const delta = unsignedList(dl, v);
    assertEquals(delta.full, v === 0);
    assertEquals(apply(set, delta.entries), now, `seed ${seed}: from version ${v}`);
    assertEquals(delta.listDigest, unsignedList(dl, 0).listDigest);
    // a delta names each card once, only when its listing differs
    assertEquals(new Set(delta.entries.map((e) => e.card)).size, delta.entries.length);
  }
  s.close();
});

Deno.test("schema step 2 carries the first deny-list table over, versions and all", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-deny-v1-" });
  const path = join(dir, "icfare.db");
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(MIGRATIONS[0].sql);
  db.exec("PRAGMA user_version = 1");
  const ins = db.prepare("INSERT INTO deny_list VALUES (?, ?, ?, ?)");
  ins.run(new Uint8Array(32).fill(0xA1), "ODA_FAILED", 1, 3);
  ins.run(new Uint8Array(32).fill(0xB2), "AC_MISMATCH", 2, null);
  db.exec("UPDATE meta SET value = '3' WHERE key = 'deny_list_version'");
  db.close();
  const s = openSqliteStore(path);
  const dl = s.denyList;
  assertEquals(dl.version(), 3);
  const a = { cardHash: toHex(new Uint8Array(32).fill(0xA1)), psn: "00" };
  const b = { cardHash: toHex(new Uint8Array(32).fill(0xB2)), psn: "00" };
  assertEquals([dl.isListed(a, 2), dl.isListed(a), dl.isListed(b)], [true, false, true]);
  assertEquals(dl.cards().map((c) => [c.reason, c.version]), [["AC_MISMATCH", 2]]);
  assertEquals(dl.remove(b, "OPERATOR", "alice"), 4);
  const names = (s.connection.prepare("SELECT name FROM sqlite_schema WHERE name = 'deny_list'")
    .all() as unknown[]).length;
  assertEquals(names, 0);
  s.close();
});
