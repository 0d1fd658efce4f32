/**
 * The console's app without a browser (docs/console.md): requests through `app.request` on a
 * fixture store and a fresh key store — login and its limit, sessions, CSRF and roles on every
 * state change, the card search (PAN hashed, never stored or shown), deny-list changes with the
 * account in the journal and the console audit trail, coded refusals for bad input; and the
 * account rules (`Accounts`, `icfare console user` as a subprocess).
 */
import { assert, assertEquals, assertMatch, assertRejects } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  addTaps,
  DATA_KEY_HEX,
  fixturePan,
  fixtureStore,
  PAN_HASH_HEX,
} from "./support/clear_day.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import { Client } from "./support/console_client.ts";
import { fromHex } from "../core/hex.ts";
import { KeyStore, keyStorePaths } from "../core/keys/mod.ts";
import { Accounts, ConsoleError } from "../console/accounts.ts";
import { consoleApp } from "../console/app.tsx";
import { type ConsoleContext, terminalLister } from "../console/context.ts";
import { LoginLimiter, Sessions } from "../console/sessions.ts";

const MASTER = new Uint8Array(32).fill(7);
const PW = { olga: "olga's password, long enough", anna: "anna's password, long enough" };

async function setup() {
  const f = await fixtureStore();
  const ids = await addTaps(f, [
    { card: 3, status: "OK" },
    { card: 3, status: "AC_MISMATCH", cryptogram: "mismatch" },
    { card: 4, status: "OK", terminalId: "LC000200" },
  ]);
  const ks = await KeyStore.init(f.dir, MASTER, "test");
  ks.close();
  const accounts = new Accounts(f.db);
  await accounts.add("olga", "operator", PW.olga, "test");
  await accounts.add("anna", "auditor", PW.anna, "test");
  const key = (hex: string, alg: AesKeyAlgorithm | HmacImportParams, use: KeyUsage[]) =>
    crypto.subtle.importKey("raw", fromHex(hex) as BufferSource, alg, false, use);
  const ctx: ConsoleContext = {
    home: f.dir,
    store: f.store,
    accounts,
    sessions: new Sessions(),
    limiter: new LoginLimiter(5),
    clientLimiter: new LoginLimiter(30),
    keyStore: (actor) => KeyStore.open(f.dir, MASTER, actor),
    terminals: terminalLister(
      keyStorePaths(f.dir).store,
      () => KeyStore.open(f.dir, MASTER, "console"),
    ),
    panHashKey: await key(PAN_HASH_HEX, { name: "HMAC", hash: "SHA-256" }, ["sign"]),
    dataKey: await key(DATA_KEY_HEX, { name: "AES-GCM" } as AesKeyAlgorithm, ["decrypt"]),
    close: () => {},
  };
  return { f, ids, ctx, app: consoleApp(ctx) };
}

Deno.test("console app: login, sessions, CSRF and Origin", async (t) => {
  const { f, app } = await setup();
  try {
    await t.step("no session: pages redirect to the login, POSTs are refused", async () => {
      const c = new Client(app);
      assertEquals((await c.get("/day")).location, "/login");
      const r = await c.post("/denylist/add", { pan: fixturePan(3) });
      assertEquals(r.status, 403);
      assertMatch(r.text, /NOT_LOGGED_IN/);
    });
    await t.step("a wrong password is refused; the right one opens a session", async () => {
      const c = new Client(app);
      assertEquals((await c.logIn("olga", "not the password")).status, 401);
      const anonymous = c.cookie;
      const r = await c.logIn("olga", PW.olga);
      assertEquals([r.status, r.location], [303, "/day"]);
      assert(c.cookie !== anonymous, "a new session token at login");
      const day = await c.get("/day");
      assertEquals(day.status, 200);
      assertMatch(day.text, /id="fig-records"><a href="[^"]*">3<\/a>/);
    });
    await t.step("the login page's own CSRF token is needed to log in", async () => {
      const c = new Client(app);
      await c.get("/login");
      const r = await c.post("/login", { _csrf: "forged", name: "olga", password: PW.olga });
      assertEquals(r.status, 403);
      assertMatch(r.text, /CSRF_REFUSED/);
    });
    await t.step("a foreign Origin is refused even with the token", async () => {
      const c = new Client(app);
      await c.logIn("olga", PW.olga);
      await c.get("/denylist");
      const r = await c.post("/denylist/add", {
        _csrf: c.csrf,
        pan: fixturePan(3),
        psn: "01",
        ref: "x",
      }, { origin: "http://evil.example", host: "localhost" });
      assertEquals(r.status, 403);
      assertEquals(f.store.denyList.version(), 0);
    });
    await t.step("bad search input is a coded refusal", async () => {
      const c = new Client(app);
      await c.logIn("olga", PW.olga);
      for (
        const [q, code] of [
          ["day=2026-02-30", "BAD_DATE"],
          ["terminal=x", "BAD_TERMINAL"],
          ["reason=LATE", "BAD_REASON"],
          ["page=0", "BAD_PAGE"],
        ]
      ) {
        const r = await c.get(`/records?${q}`);
        assertEquals(r.status, 400, q);
        assertMatch(r.text, new RegExp(code), q);
      }
      assertEquals((await c.get("/records/999999")).status, 404);
    });
  } finally {
    await f.close();
  }
});

Deno.test("console app: card search and deny list by role, the account in both trails", async (t) => {
  const { f, app } = await setup();
  try {
    await t.step("an auditor may search, not change the deny list", async () => {
      const c = new Client(app);
      await c.logIn("anna", PW.anna);
      await c.get("/denylist");
      const r = await c.post("/denylist/add", {
        _csrf: c.csrf,
        pan: fixturePan(3),
        psn: "01",
        ref: "ticket 1",
      });
      assertEquals(r.status, 403);
      assertMatch(r.text, /ROLE_REFUSED/);
      assertEquals(f.store.denyList.version(), 0);
      assertEquals(
        {
          ...f.db.prepare("SELECT account, action, result FROM console_audit ORDER BY id DESC")
            .get(),
        },
        { account: "anna", action: "denylist.change", result: "refused" },
      );
    });
    await t.step("card search: the PAN typed in finds its records, shown masked", async () => {
      const c = new Client(app);
      await c.logIn("anna", PW.anna);
      await c.get("/records");
      const r = await c.post("/records/card", { _csrf: c.csrf, pan: fixturePan(3), psn: "01" });
      assertEquals(r.status, 200);
      assertEquals([...r.text.matchAll(/<a href="\/records\/[0-9]+">/g)].length, 2);
      assert(!r.text.includes(fixturePan(3)), "the PAN is not on the page");
      assert(r.text.includes("623456******0003"), "the masked PAN is");
      const bad = await c.post("/records/card", { _csrf: c.csrf, pan: "12ab" });
      assertEquals(bad.status, 400);
      assertMatch(bad.text, /BAD_PAN/);
    });
    await t.step("an operator adds and removes a card, the account in both trails", async () => {
      const c = new Client(app);
      await c.logIn("olga", PW.olga);
      await c.get("/denylist");
      const add = await c.post("/denylist/add", {
        _csrf: c.csrf,
        pan: fixturePan(3),
        psn: "01",
        ref: "ticket 4711",
      });
      assertEquals(add.status, 200);
      assertMatch(add.text, /added: the list is now version 1/);
      const [card] = f.store.denyList.cards();
      assertEquals(f.store.denyList.history(card).map((e) => [e.event, e.ref, e.by]), [
        ["hold", "ticket 4711", "console:olga"],
      ]);
      const rm = await c.post("/denylist/remove", {
        _csrf: c.csrf,
        card: card.cardHash,
        psn: card.psn,
        ref: "ticket 4712",
      });
      assertMatch(rm.text, /removed: the list is now version 2/);
      assertEquals(f.store.denyList.isListed(card), false);
      const trail = f.db.prepare(
        "SELECT account, action, result FROM console_audit WHERE action LIKE 'denylist.%' AND result = 'ok'",
      ).all().map((r) => ({ ...r }));
      assertEquals(trail, [
        { account: "olga", action: "denylist.add", result: "ok" },
        { account: "olga", action: "denylist.remove", result: "ok" },
      ]);
      const noRef = await c.post("/denylist/add", { _csrf: c.csrf, pan: fixturePan(4), psn: "01" });
      assertEquals(noRef.status, 400);
      assertMatch(noRef.text, /BAD_REASON/);
    });
    await t.step("neither the store nor its WAL holds a typed PAN", async () => {
      f.db.exec("PRAGMA wal_checkpoint(FULL)");
      for (const name of ["icfare.db", "icfare.db-wal"]) {
        const bytes = await Deno.readFile(join(f.dir, name)).catch(() => new Uint8Array());
        assert(!new TextDecoder("latin1").decode(bytes).includes(fixturePan(3)), name);
      }
    });
  } finally {
    await f.close();
  }
});

Deno.test("console sessions end at the next request after the account changes in another process", async () => {
  const { f, app } = await setup();
  // what `icfare console user` does: its own connection to the store file
  const other = new DatabaseSync(join(f.dir, "icfare.db"));
  try {
    const cli = new Accounts(other);
    const olga = new Client(app), anna = new Client(app);
    await olga.logIn("olga", PW.olga);
    await anna.logIn("anna", PW.anna);
    assertEquals((await olga.get("/day")).status, 200);
    await cli.setPassword("olga", "olga's new password, long enough", "sam");
    assertEquals((await olga.get("/day")).location, "/login", "a password change ends it");
    assertEquals((await anna.get("/day")).status, 200, "other accounts' sessions stay");
    cli.setState("anna", "disabled", "sam");
    const r = await anna.post("/denylist/add", { _csrf: anna.csrf, pan: fixturePan(3) });
    assertEquals(r.status, 403);
    assertMatch(r.text, /NOT_LOGGED_IN/);
    cli.setState("anna", "active", "sam");
    assertEquals((await anna.get("/day")).location, "/login", "enabling again does not revive it");
    assertEquals((await anna.logIn("anna", PW.anna)).status, 303);
    assertEquals((await anna.get("/day")).status, 200);
  } finally {
    other.close();
    await f.close();
  }
});

Deno.test("console sessions: idle and absolute expiry; logins limited per name", () => {
  let now = 0;
  const s = new Sessions(() => now);
  const a = s.create("olga", "operator");
  now = 29 * 60_000;
  assertEquals(s.get(a.token)?.account, "olga");
  now += 31 * 60_000;
  assertEquals(s.get(a.token), null, "30 minutes idle");
  const b = s.create("olga", "operator");
  for (let i = 0; i < 25; i++) {
    now += 29 * 60_000;
    s.get(b.token);
  }
  assertEquals(s.get(b.token), null, "12 hours after login");
  const l = new LoginLimiter(5, 15 * 60_000, () => now);
  for (let i = 0; i < 5; i++) (assertEquals(l.wait("olga"), 0), l.fail("olga"));
  assertEquals(l.wait("olga"), 900);
  assertEquals(l.wait("anna"), 0);
  now += 15 * 60_000;
  assertEquals(l.wait("olga"), 0);
});

Deno.test("console accounts: Argon2id hash only; names, roles, passwords checked", async () => {
  const f = await fixtureStore();
  try {
    const a = new Accounts(f.db);
    await a.add("olga", "operator", PW.olga, "test");
    const row = f.db.prepare("SELECT password_hash FROM console_accounts").get() as {
      password_hash: string;
    };
    assertMatch(row.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert(!row.password_hash.includes("olga's"));
    assertEquals((await a.verify("olga", PW.olga))?.role, "operator");
    assertEquals(await a.verify("olga", PW.anna), null);
    assertEquals(await a.verify("nobody", PW.olga), null);
    for (
      const [args, code] of [
        [["olga", "operator", PW.olga], "ACCOUNT_EXISTS"],
        [["bob", "admin", PW.olga], "BAD_ROLE"],
        [["Bob", "operator", PW.olga], "BAD_ACCOUNT_NAME"],
        [["bob", "operator", "short"], "WEAK_PASSWORD"],
      ] as const
    ) {
      const e = await assertRejects(() => a.add(args[0], args[1], args[2], "test"), ConsoleError);
      assertEquals((e as ConsoleError).code, code);
    }
    a.setState("olga", "disabled", "test");
    assertEquals(await a.verify("olga", PW.olga), null, "a disabled account cannot log in");
  } finally {
    await f.close();
  }
});

Deno.test("icfare console user: add reads the password from a pipe; refusals are coded", async () => {
  const f = await fixtureStore();
  try {
    f.store.close();
    const home = ["--home", f.dir, "--operator", "tester"];
    const ok = await icfareRun(["console", "user", "add", "ivy", "--role", "security", ...home], {
      stdin: "a password of some length\n",
    });
    assertEquals([ok.code, ok.stdout.trim()], [0, "account ivy (security) created"]);
    const weak = await icfareRun(["console", "user", "add", "joe", "--role", "auditor", ...home], {
      stdin: "short\n",
    });
    assertEquals(weak.code, 1);
    assertMatch(weak.stderr, /\[WEAK_PASSWORD\]/);
    const list = await icfareRun(["console", "user", "list", "--json", ...home]);
    const accounts = JSON.parse(list.stdout).accounts;
    assertEquals(
      accounts.map((x: { name: string; role: string; createdBy: string }) => [
        x.name,
        x.role,
        x.createdBy,
      ]),
      [["ivy", "security", "tester"]],
    );
    const none = await icfareRun(["console", "user", "disable", "joe", ...home]);
    assertEquals(none.code, 1);
    assertMatch(none.stderr, /\[ACCOUNT_NOT_FOUND\]/);
    const usage = await icfareRun(["console", "user", "add", "kim", ...home], { stdin: "x\n" });
    assertEquals(usage.code, 2);
    const empty = await Deno.makeTempDir({ prefix: "icfare-console-empty-" });
    const noStore = await icfareRun(["console", "--home", empty, "--port", "0"]);
    await Deno.remove(empty);
    assertEquals(noStore.code, 1);
    assertMatch(noStore.stderr, /^icfare console: no store at .*\[STORE_NOT_FOUND\]/);
  } finally {
    await Deno.remove(f.dir, { recursive: true });
  }
});
