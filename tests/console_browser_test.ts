/**
 * The operator console end to end in headless Chromium, after a simulated day: `icfare demo`
 * fills a home (1,500 taps, mixed models, uploaded through the real upload server, verified and
 * cleared); accounts are made with `icfare console user add` (real subprocesses); the upload
 * server (`icfare serve`) and the console (`icfare console`) run as their own processes on the
 * same home. Then, per role: log in, see the day (figures equal to the store's), drill from an
 * exception to its record and explain trace, rotate and disable a terminal and see the running
 * upload server refuse its next upload, an auditor refused a state change, POSTs without a CSRF
 * token refused, the login limit; no console error on any page. Screenshots of the main pages go
 * to docs/img/console-*.png when ICFARE_UPDATE_SCREENSHOT=1.
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { chromiumPresent, launchChromium, watchErrors } from "./support/browser.ts";
import { demoHome } from "./support/demo_home.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import {
  freePort,
  type ServerProcess,
  spawnListening,
  spawnServer,
} from "./support/server_process.ts";
import { enc, sampleBatch, send } from "./support/terminal.ts";
import { fromHex } from "../core/hex.ts";
import { importHmacKey } from "../core/auth/terminal_keys.ts";

const present = chromiumPresent("console browser test");
const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const IMG = new URL("../docs/img/", import.meta.url).pathname;
const PASSWORDS = {
  olga: "operator olga's long password",
  anna: "auditor anna's long password",
  sam: "security sam's long password",
};

async function addAccount(home: string, name: string, role: string, password: string) {
  const r = await icfareRun(
    ["console", "user", "add", name, "--role", role, "--home", home, "--operator", "test-setup"],
    { stdin: `${password}\n` },
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim(), `account ${name} (${role}) created`);
}

async function startConsole(home: string, masterKeyFile: string): Promise<ServerProcess> {
  const port = freePort();
  return await spawnListening(Deno.execPath(), [
    "run",
    `--allow-net=127.0.0.1:${port}`,
    "--allow-read",
    `--allow-write=${home}`,
    "--allow-env",
    MAIN,
    "console",
    "--home",
    home,
    "--master-key-file",
    masterKeyFile,
    "--port",
    String(port),
  ], port);
}

interface Session {
  context: BrowserContext;
  page: Page;
  errors: string[];
}

async function logIn(browser: Browser, url: string, name: keyof typeof PASSWORDS) {
  const context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
  const page = await context.newPage();
  const errors = watchErrors(page);
  await page.goto(`${url}/login`);
  await page.fill("#name", name);
  await page.fill("#password", PASSWORDS[name]);
  await Promise.all([page.waitForURL(`${url}/day`), page.click("button[type=submit]")]);
  const cookies = await context.cookies();
  const c = cookies.find((x) => x.name === "icfare_console");
  assert(c, "session cookie");
  assertEquals([c.httpOnly, c.secure, c.sameSite], [true, true, "Strict"]);
  return { context, page, errors } as Session;
}

async function shot(page: Page, name: string, fullPage = false) {
  const png = await page.screenshot({ fullPage });
  assert(png.length > 20_000, `${name}: screenshot of ${png.length} bytes`);
  if (Deno.env.get("ICFARE_UPDATE_SCREENSHOT") === "1") await Deno.writeFile(IMG + name, png);
}

/** The page's CSRF token (every page has the logout form). */
async function csrfOf(page: Page): Promise<string> {
  return (await page.locator("input[name=_csrf]").first().getAttribute("value"))!;
}

interface World {
  browser: Browser;
  url: string;
  db: DatabaseSync;
  day: string;
  count: (sql: string) => number;
  server: ServerProcess;
  home: string;
  /** The terminal the security officer rotates and disables. */
  terminal: string;
}

/** operator: the day's figures are the store's, every chart drawn. */
async function dayStep(w: World) {
  const { browser, url, count, db, day } = w;
  const s = await logIn(browser, url, "olga");
  assertEquals(await s.page.textContent("#account"), "olga");
  assertEquals(await s.page.textContent("#role"), "operator");
  assertEquals(
    Number(await s.page.textContent("#fig-records")),
    count("SELECT count(*) AS n FROM records WHERE settlement_day = ?"),
  );
  assertEquals(
    Number(await s.page.textContent("#fig-exceptions")),
    count(
      "SELECT count(*) AS n FROM clearing_lines WHERE settlement_day = ? AND outcome = 'EXCEPTION'",
    ),
  );
  // The demo clears and then archives its day, which closes it.
  const state = db.prepare("SELECT state FROM settlement_days WHERE day = ?").get(day) as {
    state: string;
  };
  assertEquals(state.state, "closed");
  assertEquals(await s.page.textContent("#fig-state"), state.state);
  const charts = await s.page.evaluate(`[...document.querySelectorAll("section.chart")]
      .map((e) => ({ id: e.dataset.chart, rows: Number(e.dataset.rows),
        marks: e.querySelectorAll("svg rect, svg path, svg circle").length }))`) as {
    id: string;
    rows: number;
    marks: number;
  }[];
  assertEquals(charts.map((c) => c.id), [
    "taps-per-hour",
    "verdicts",
    "outcomes",
    "money",
    "deny-changes",
  ]);
  for (const c of charts.slice(0, 4)) assert(c.rows > 0 && c.marks >= c.rows, c.id);
  await shot(s.page, "console-day.png", true);
  // a count links to its records: the first outcome's number lists that many (up to a page)
  const first = s.page.locator("#outcomes a").first();
  const n = Number(await first.textContent());
  await Promise.all([s.page.waitForURL(/\/records\?/), first.click()]);
  assertEquals(await s.page.locator("#records tr").count() - 1, Math.min(n, 100));
  assertEquals(s.errors, []);
  await s.context.close();
}

/** operator: from an exception to its record and explain trace. */
async function drillStep(w: World) {
  const { browser, url } = w;
  const s = await logIn(browser, url, "olga");
  const link = s.page.locator("a.exception-link").first();
  const id = await link.textContent();
  await Promise.all([s.page.waitForURL(`${url}/records/${id}`), link.click()]);
  assertMatch((await s.page.textContent("#record-clearing"))!, /^EXCEPTION [A-Z_]+ \(rule/);
  assertMatch((await s.page.textContent("#record-pan"))!, /^[0-9]{6}\*+[0-9]{4} PSN/);
  const trace = (await s.page.textContent("#explain"))!;
  assertMatch(trace, /^record seq [0-9]+: [A-Z_]+ \(cryptogram /);
  assertMatch(trace, /\[cryptogram\] issuer key/);
  assert((await s.page.locator("ul.tlv li").count()) > 10, "a decoded TLV tree");
  const text = await s.page.locator("body").innerText();
  assertEquals(text.match(/6235\d{10,15}/g), null, "no clear PAN on the page");
  await shot(s.page, "console-record.png");
  assertEquals(s.errors, []);
  await s.context.close();
}

/** operator: deny list, clearing, archive pages; the clearing file. */
async function pagesStep(w: World) {
  const { browser, url, day, count } = w;
  const s = await logIn(browser, url, "olga");
  await s.page.goto(`${url}/denylist`);
  const listed = count("SELECT count(*) AS n FROM deny_cards WHERE ? IS NOT NULL");
  assertMatch(
    (await s.page.textContent("#deny-count"))!,
    new RegExp(`^${listed} cards listed`),
  );
  await shot(s.page, "console-denylist.png");
  await s.page.goto(`${url}/clearing/${day}`);
  assertMatch(
    (await s.page.textContent("#reconciliation-state"))!,
    /^Every batch reconciles\./,
  );
  assertMatch(
    (await s.page.textContent("#settlement-difference"))!,
    /difference of 0\.00 yuan/,
  );
  const [download] = await Promise.all([
    s.page.waitForEvent("download"),
    s.page.click("#download-masked"),
  ]);
  assertEquals(download.suggestedFilename(), `clearing-${day}-masked.txt`);
  await shot(s.page, "console-clearing.png");
  await s.page.goto(`${url}/archive`);
  assertMatch((await s.page.textContent("#keys-audit"))!, /^Chain intact: [0-9]+ entries/);
  // the demo archived its day: listed with its head; an audit of it here is CLEAN
  const records = count("SELECT count(*) AS n FROM records WHERE settlement_day = ?");
  assertMatch((await s.page.textContent(`#archive-${day}`))!, /first/);
  await Promise.all([
    s.page.waitForURL(`${url}/archive/audit`),
    s.page.click(`#archive-${day} button[type=submit]`),
  ]);
  assertMatch(
    (await s.page.textContent("#audit-verdict"))!,
    new RegExp(`^CLEAN: ${records} records`),
  );
  await shot(s.page, "console-archive.png", true);
  assertEquals(s.errors, []);
  await s.context.close();
  const sam = await logIn(browser, url, "sam");
  const r = await sam.context.request.get(`${url}/clearing/${day}/file/sealed`);
  assertEquals(r.status(), 403, "security officers do not take clearing files");
  await sam.context.close();
}

/** security: rotate a key (shown once), disable; the server refuses. */
async function terminalStep(w: World) {
  const { browser, url, server, home, terminal } = w;
  const s = await logIn(browser, url, "sam");
  await s.page.goto(`${url}/terminals`);
  await Promise.all([s.page.waitForLoadState(), s.page.click(`#rotate-${terminal}`)]);
  const keyHex = (await s.page.textContent("#new-key"))!;
  assertMatch(keyHex, /^[0-9a-f]{64}$/i);
  const key = await importHmacKey(fromHex(keyHex));
  const body = (no: number) =>
    enc.encode(JSON.stringify(sampleBatch({ terminalId: terminal, batchNo: no })));
  const before = await send(server.url, body(990001), { terminalId: terminal, key });
  assertEquals(before.status, 200, await before.clone().text());
  await before.body?.cancel();
  await s.page.goto(`${url}/terminals`);
  assertEquals(await s.page.locator("#new-key").count(), 0, "the key is not shown again");
  await Promise.all([s.page.waitForLoadState(), s.page.click(`#disable-${terminal}`)]);
  assertEquals(await s.page.textContent("#notice"), `Terminal ${terminal} disabled.`);
  assertEquals(
    await s.page.getAttribute(`#t-${terminal} td[data-state]`, "data-state"),
    "disabled",
  );
  const after = await send(server.url, body(990002), { terminalId: terminal, key });
  assertEquals(after.status, 401);
  assertEquals((await after.json()).error.code, "AUTH_UNKNOWN_TERMINAL");
  const audit = await Deno.readTextFile(join(home, "keys", "audit.log"));
  const ours = audit.trim().split("\n").map((l) => JSON.parse(l)).filter((e) =>
    e.actor === "console:sam"
  );
  assertEquals(ours.map((e) => e.op), ["terminals.rotate-key", "terminals.disable"]);
  await shot(s.page, "console-terminals.png");
  assertEquals(s.errors, []);
  await s.context.close();
}

/** auditor: reads, but a state change is refused and audited. */
async function auditorStep(w: World) {
  const { browser, url, db, terminal } = w;
  const s = await logIn(browser, url, "anna");
  await s.page.goto(`${url}/terminals`);
  assertEquals(await s.page.locator("#terminals button").count(), 0);
  const r = await s.context.request.post(`${url}/terminals/${terminal}/enable`, {
    form: { _csrf: await csrfOf(s.page) },
    maxRedirects: 0,
  });
  assertEquals(r.status(), 403);
  assertMatch(await r.text(), /ROLE_REFUSED/);
  await s.page.reload();
  assertEquals(
    await s.page.getAttribute(`#t-${terminal} td[data-state]`, "data-state"),
    "disabled",
  );
  const row = db.prepare(
    "SELECT account, action, result FROM console_audit ORDER BY id DESC LIMIT 1",
  ).get() as Record<string, string>;
  assertEquals({ ...row }, {
    account: "anna",
    action: "terminals.change",
    result: "refused",
  });
  assertEquals(s.errors, []);
  await s.context.close();
}

/** a POST without its CSRF token (or with another's) is refused. */
async function csrfStep(w: World) {
  const { browser, url, terminal } = w;
  const s = await logIn(browser, url, "sam");
  for (
    const form of [{ other: "1" }, { _csrf: "x".repeat(43) }] as Record<string, string>[]
  ) {
    const r = await s.context.request.post(`${url}/terminals/${terminal}/enable`, {
      form,
      maxRedirects: 0,
    });
    assertEquals(r.status(), 403);
    assertMatch(await r.text(), /CSRF_REFUSED/);
  }
  await s.page.goto(`${url}/terminals`);
  assertEquals(
    await s.page.getAttribute(`#t-${terminal} td[data-state]`, "data-state"),
    "disabled",
  );
  const anon = await fetch(`${url}/terminals/${terminal}/enable`, { method: "POST" });
  assertEquals(anon.status, 403);
  await anon.body?.cancel();
  assertEquals(s.errors, []);
  await s.context.close();
}

/** five wrong passwords, then even the right one waits. */
async function limitStep(w: World) {
  const { browser, url } = w;
  const context = await browser.newContext();
  const page = await context.newPage();
  for (let i = 0; i < 6; i++) {
    await page.goto(`${url}/login`);
    await page.fill("#name", "olga");
    await page.fill("#password", i < 5 ? `wrong password ${i}` : PASSWORDS.olga);
    const [r] = await Promise.all([
      page.waitForResponse((x) => x.request().method() === "POST"),
      page.click("button[type=submit]"),
    ]);
    assertEquals(r.status(), i < 5 ? 401 : 429);
  }
  assertMatch((await page.textContent("#login-error"))!, /Too many failed logins/);
  await context.close();
}

Deno.test({
  name: "console in headless Chromium after a simulated day: roles, day, drill-down, terminals",
  ignore: !present,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "icfare-console-" });
    const d = await demoHome(tmp, { taps: 1500, seed: "console", model: "mixed" });
    await addAccount(d.home, "olga", "operator", PASSWORDS.olga);
    await addAccount(d.home, "anna", "auditor", PASSWORDS.anna);
    await addAccount(d.home, "sam", "security", PASSWORDS.sam);
    const server = await spawnServer(d.home, freePort(), ["--master-key-file", d.masterKeyFile]);
    const consoleP = await startConsole(d.home, d.masterKeyFile);
    const url = consoleP.url;
    const browser = await launchChromium();
    const db = new DatabaseSync(join(d.home, "icfare.db"), { readOnly: true });
    try {
      const day = String(
        (db.prepare("SELECT max(settlement_day) AS d FROM records").get() as {
          d: string;
        }).d,
      );
      const count = (sql: string) => Number((db.prepare(sql).get(day) as { n: number }).n);

      const terminal = String(
        (db.prepare(
          "SELECT terminal_id AS t FROM records WHERE settlement_day = ? ORDER BY terminal_id LIMIT 1",
        ).get(day) as { t: string }).t,
      );

      const w: World = { browser, url, db, day, count, server, home: d.home, terminal };
      await t.step(
        "operator: the day's figures are the store's, every chart drawn",
        () => dayStep(w),
      );
      await t.step(
        "operator: from an exception to its record and explain trace",
        () => drillStep(w),
      );
      await t.step(
        "operator: deny list, clearing, archive pages; the clearing file",
        () => pagesStep(w),
      );
      await t.step(
        "security: rotate a key (shown once), disable; the server refuses",
        () => terminalStep(w),
      );
      await t.step(
        "auditor: reads, but a state change is refused and audited",
        () => auditorStep(w),
      );
      await t.step(
        "a POST without its CSRF token (or with another's) is refused",
        () => csrfStep(w),
      );
      await t.step("five wrong passwords, then even the right one waits", () => limitStep(w));
    } finally {
      db.close();
      await browser.close();
      await consoleP.stop();
      await server.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
