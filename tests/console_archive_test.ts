/**
 * The console's archive page (docs/console.md, "Archive and audit") on a home with two closed,
 * archived days: the days listed with the heads `archiveDay` returned and the chain link, as
 * `icfare archive list` gives them; an audit run per day by an auditor (CSRF needed, the run in
 * the console's trail with the account); a tampered record makes the day's audit NOT CLEAN on the
 * page; a day whose head is cut off is listed as such, and `icfare archive list` exits 1.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { archiveHome } from "./support/archive_day.ts";
import { Client } from "./support/console_client.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import { listArchive } from "../core/archive/archive.ts";
import { KeyStore, keyStorePaths } from "../core/keys/mod.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { Accounts } from "../console/accounts.ts";
import { consoleApp } from "../console/app.tsx";
import { type ConsoleContext, terminalLister } from "../console/context.ts";
import { LoginLimiter, Sessions } from "../console/sessions.ts";

const D1 = "2026-06-23", D2 = "2026-06-24";
const PW = "anna's password, long enough";

/** The text of the element with `id` in a page (tags dropped). */
function textOf(html: string, id: string): string {
  const m = new RegExp(`<(\\w+)[^>]*id="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  assert(m, `no #${id}`);
  return m[2].replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim();
}

Deno.test("console archive page: days and heads as archived, audits by role and in the trail, a tampered day NOT CLEAN", async (t) => {
  const h = await archiveHome([{ day: D1, taps: 40 }, { day: D2, taps: 30 }], { seed: "console" });
  const store = openSqliteStore(join(h.home, "icfare.db"));
  try {
    const accounts = new Accounts(store.connection);
    await accounts.add("anna", "auditor", PW, "test");
    const key = () => crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const ctx: ConsoleContext = {
      home: h.home,
      store,
      accounts,
      sessions: new Sessions(),
      limiter: new LoginLimiter(5),
      clientLimiter: new LoginLimiter(30),
      keyStore: (actor) => KeyStore.open(h.home, h.master, actor),
      terminals: terminalLister(
        keyStorePaths(h.home).store,
        () => KeyStore.open(h.home, h.master, "console"),
      ),
      panHashKey: await key(),
      dataKey: await key(),
      close: () => {},
    };
    const c = new Client(consoleApp(ctx));
    assertEquals((await c.logIn("anna", PW)).status, 303);

    await t.step("the days, their heads and the link, as archived", async () => {
      const page = await c.get("/archive");
      assertEquals(page.status, 200);
      for (const [i, a] of h.archives.entries()) {
        const row = textOf(page.text, `archive-${a.day}`);
        assert(page.text.includes(`title="${a.head}"`), `head of ${a.day}`);
        assert(row.includes(String(a.records)), row);
        assertMatch(row, i === 0 ? /first/ : /yes/);
        assertMatch(row, /not audited here/);
      }
      const listed = await listArchive(join(h.home, "archive"));
      assertEquals(listed.map((d) => [d.day, d.head, d.linked]), [
        [D1, h.archives[0].head, null],
        [D2, h.archives[1].head, true],
      ]);
    });

    await t.step("an audit needs the CSRF token; an unknown day is a coded refusal", async () => {
      const r = await c.post("/archive/audit", { day: D2 });
      assertEquals(r.status, 403);
      assertMatch(r.text, /CSRF_REFUSED/);
      await c.get("/archive");
      const u = await c.post("/archive/audit", { _csrf: c.csrf, day: "2026-01-01" });
      assertEquals(u.status, 404);
      assertMatch(u.text, /ARCHIVE_DAY_UNKNOWN/);
    });

    await t.step("an auditor audits a day: CLEAN, in the page and the trail", async () => {
      await c.get("/archive");
      const r = await c.post("/archive/audit", { _csrf: c.csrf, day: D2 });
      assertEquals(r.status, 200);
      assertMatch(
        textOf(r.text, "audit-verdict"),
        new RegExp(`^CLEAN: ${h.archives[1].records} records`),
      );
      assertMatch(textOf(r.text, `archive-${D2}`), /CLEAN: .* anna/);
      const trail = store.connection.prepare(
        "SELECT account, result, detail FROM console_audit WHERE action = 'archive.audit'",
      ).all();
      assertEquals(trail.length, 1);
      assertEquals([trail[0].account, trail[0].result], ["anna", "ok"]);
    });

    await t.step("a record altered in the file: the day's audit is NOT CLEAN", async () => {
      const file = h.archives[0].file;
      const lines = (await Deno.readTextFile(file)).split("\n");
      const i = lines.findIndex((l) => l.startsWith('{"t":"R","n":3,'));
      assert(i > 0, "record 3");
      lines[i] = lines[i].replace(/"vehicle":"LC-/, '"vehicle":"LX-');
      await Deno.writeTextFile(file, lines.join("\n"));
      await c.get("/archive");
      const r = await c.post("/archive/audit", { _csrf: c.csrf, day: D1 });
      assertMatch(textOf(r.text, "audit-verdict"), /^NOT CLEAN: .*RECORD_ALTERED/);
      assertMatch(textOf(r.text, `archive-${D1}`), /NOT CLEAN/);
      assertMatch(r.text, /record [0-9A-Za-z]{8}\/\d+\/\d+/);
    });

    await t.step("a head cut off: listed as such; icfare archive list exits 1", async () => {
      const file = h.archives[1].file;
      const text = await Deno.readTextFile(file);
      await Deno.writeTextFile(file, text.slice(0, text.trimEnd().lastIndexOf("\n") + 1));
      const row = textOf((await c.get("/archive")).text, `archive-${D2}`);
      assertMatch(row, /no head: .*no signed head/);
      const list = await icfareRun(["archive", "list", "--json", "--home", h.home]);
      assertEquals(list.code, 1, list.stderr);
      const days = JSON.parse(list.stdout).days;
      assertEquals(days.map((d: { head: string | null }) => d.head), [h.archives[0].head, null]);
    });
  } finally {
    store.close();
    await h.close();
  }
});
