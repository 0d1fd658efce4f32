/**
 * Console pages on a big day (docs/performance.md, "Console"): each page of the operator
 * console answered by its Hono app (`app.request`, the whole handler: session, SQL, Plot charts,
 * JSX rendering) over a store holding one settlement day of N records, beside the smallest
 * request the same app answers (its stylesheet, through the same session and header middleware)
 * in the same run.
 *
 * The day is built by direct SQL (bench/day_store.ts: realistic rows, sealed bodies, taps over
 * the service day on 30 lines and 400 terminals), then cleared by `clearDay` (clearing lines,
 * ledger, debts), with 200 deny-list changes; the key store holds the 400 terminals. N = 50,000
 * under `deno bench`; `ICFARE_SLOW=1 deno run -A bench/console_bench.ts` builds 1,000,000 and
 * prints per page p50, p95 and max over 40 requests after 2 warm-ups, plus each part of the
 * day's figures read cold (what the first view of the day pays after a change of that part: a
 * new upload reads the records part again). Target: p95 under
 * 300 ms for every page at 1,000,000 records.
 */
import { join } from "node:path";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { clearDay } from "../core/clearing/clear.ts";
import { JournalDenyList } from "../core/denylist/journal.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { KeyStore, keyStorePaths } from "../core/keys/mod.ts";
import { Accounts } from "../console/accounts.ts";
import { consoleApp } from "../console/app.tsx";
import { type ConsoleContext, terminalLister } from "../console/context.ts";
import { DAY_PARTS } from "../console/day_data.ts";
import { COOKIE, LoginLimiter, Sessions } from "../console/sessions.ts";
import { buildVerifiedDay, cardHash, TERMINALS } from "./day_store.ts";

const SLOW = Boolean(Deno.env.get("ICFARE_SLOW"));
const N = SLOW ? 1_000_000 : 50_000;
const DAY = "2026-06-24";
const PAN_KEY = "11".repeat(32), DATA_KEY = "22".repeat(32);
const dir = await Deno.makeTempDir({ prefix: "icfare-console-bench-" });
const pan = await DevPanProtector.fromHex(PAN_KEY, DATA_KEY);

async function buildHome(): Promise<void> {
  await buildVerifiedDay(join(dir, "icfare.db"), {
    n: N,
    day: DAY,
    pan,
    odaEvery: 10,
    spread: true,
  });
  const store = openSqliteStore(join(dir, "icfare.db"));
  const db = store.connection;
  const deny = new JournalDenyList(db, { now: () => `${DAY}T10:00:00.000Z` });
  const t0 = performance.now();
  const s = clearDay(db, { day: DAY, by: "bench", deny });
  console.log(`cleared ${s.newLines} lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (let i = 0; i < 200; i++) {
    const card = { cardHash: toHex(cardHash(50_000 + i)), psn: "01" };
    deny.add(card, "OPERATOR", "bench", `ticket ${i}`);
    if (i % 4 === 0) deny.remove(card, "OPERATOR", "bench", `ticket ${i}`);
  }
  store.close();
  const ks = await KeyStore.init(dir, new Uint8Array(32).fill(7), "bench");
  await ks.terminalAddMany(
    Array.from({ length: TERMINALS + 20 }, (_, t) => `LC${String(100000 + t).padStart(6, "0")}`),
  );
  ks.close();
}

async function context(): Promise<ConsoleContext> {
  const store = openSqliteStore(join(dir, "icfare.db"));
  const key = (hex: string, alg: AesKeyAlgorithm | HmacImportParams, use: KeyUsage[]) =>
    crypto.subtle.importKey("raw", fromHex(hex) as BufferSource, alg, false, use);
  return {
    home: dir,
    store,
    accounts: new Accounts(store.connection),
    sessions: new Sessions(),
    limiter: new LoginLimiter(5),
    clientLimiter: new LoginLimiter(30),
    keyStore: (actor) => KeyStore.open(dir, new Uint8Array(32).fill(7), actor),
    terminals: terminalLister(
      keyStorePaths(dir).store,
      () => KeyStore.open(dir, new Uint8Array(32).fill(7), "console"),
    ),
    panHashKey: await key(PAN_KEY, { name: "HMAC", hash: "SHA-256" }, ["sign"]),
    dataKey: await key(DATA_KEY, { name: "AES-GCM" } as AesKeyAlgorithm, ["decrypt"]),
    close: () => store.close(),
  };
}

await buildHome();
const ctx = await context();
const app = consoleApp(ctx);
// a session holds its account's stamp and ends when the account row changes: a real account
const bench = await ctx.accounts.add("bench", "operator", "bench-password-long-enough-1", "bench");
const session = ctx.sessions.create(bench.name, bench.role, bench.updatedAt);
const cookie = `${COOKIE}=${session.token}`;
const some = ctx.store.connection.prepare(
  `SELECT (SELECT min(record_id) FROM clearing_lines WHERE outcome = 'EXCEPTION') AS ex,
     (SELECT reason FROM clearing_lines WHERE outcome = 'EXCEPTION' LIMIT 1) AS reason`,
).get() as { ex: number; reason: string };

const PAGES: [string, string][] = [
  ["stylesheet (reference: the app's smallest answer)", "/static/console.css"],
  ["the day", `/day?day=${DAY}`],
  ["records of the day, first page", `/records?day=${DAY}`],
  ["records of the day, page 50", `/records?day=${DAY}&page=50`],
  ["records by verdict AC_MISMATCH", `/records?day=${DAY}&status=AC_MISMATCH`],
  ["records by outcome and reason", `/records?day=${DAY}&outcome=EXCEPTION&reason=${some.reason}`],
  ["records of one terminal", `/records?day=${DAY}&terminal=LC100007`],
  ["one record (TLV tree, explain)", `/records/${some.ex}`],
  ["terminals (420)", "/terminals"],
  ["deny list", "/denylist"],
  ["clearing of the day", `/clearing/${DAY}`],
];

async function get(path: string): Promise<number> {
  const t0 = performance.now();
  const r = await app.request(path, { headers: { cookie } });
  await r.arrayBuffer();
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
  return ms;
}

if (SLOW) {
  for (const [part, p] of Object.entries(DAY_PARTS)) {
    const cold: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      p.read(ctx.store.connection, DAY);
      cold.push(performance.now() - t0);
    }
    console.log(
      `day figures, ${part} part read again: ${cold.map((x) => x.toFixed(0)).join(", ")} ms`,
    );
  }
  console.log("page                                              p50 ms   p95 ms   max ms");
  for (const [name, path] of PAGES) {
    for (let i = 0; i < 2; i++) await get(path);
    const t: number[] = [];
    for (let i = 0; i < 40; i++) t.push(await get(path));
    t.sort((a, b) => a - b);
    const q = (p: number) => t[Math.min(t.length - 1, Math.ceil(p * t.length) - 1)];
    console.log(
      `${name.padEnd(48)} ${q(0.5).toFixed(1).padStart(7)}  ${q(0.95).toFixed(1).padStart(7)}  ${
        t[t.length - 1].toFixed(1).padStart(7)
      }`,
    );
  }
  ctx.close();
  await Deno.remove(dir, { recursive: true });
} else {
  for (const [i, [name, path]] of PAGES.entries()) {
    Deno.bench({
      name: `${name} (${N} records)`,
      group: "console",
      baseline: i === 0,
      async fn() {
        await get(path);
      },
    });
  }
}
