/**
 * Debts collected per second over loopback: `core/collect` (open the debt's sealed track 2 and
 * batch body, build the 0200, persist `sent`, MAC, frame, match, verify, apply the outcome with
 * its ledger entries and deny-list change, in SQLite with synchronous=FULL) against the simulated
 * host in this process, beside a bare TCP echo moving frames of exactly the same sizes with the
 * same number in flight, in the same run. Each iteration collects DEBTS fresh debts: a store
 * cleared once is copied before each iteration (the copy is outside the timing).
 * Run: deno bench --allow-all bench/collect_bench.ts (figures in docs/iso8583.md and
 * docs/performance.md).
 */
import { join } from "node:path";
import { addTaps, FIXTURE_DAY, fixtureStore } from "../tests/support/clear_day.ts";
import { clearDay } from "../core/clearing/clear.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { DebtBook } from "../core/debts/book.ts";
import { JournalDenyList } from "../core/denylist/journal.ts";
import { collectDebts, DebtRequests } from "../core/collect/mod.ts";
import { AcquirerLink } from "../core/iso8583/link.ts";
import { envelopeBytes, packagerOf, PROFILES } from "../core/iso8583/profile.ts";
import { buildAuth } from "../core/iso8583/messages.ts";
import { buildAuthAnswer } from "../core/iso8583/answers.ts";
import { signPacked } from "../core/iso8583/mac.ts";
import { frameOf, sealEnvelope } from "../core/iso8583/frame.ts";
import { AcquirerHost } from "../sim/acquirer/host.ts";
import { fromHex } from "../core/hex.ts";
import { startEcho } from "./echo.ts";

const DEBTS = 400;
const IN_FLIGHT = 32;
const ODA = "ODA00001";
const profile = PROFILES["icfare-sim"];
const TMK = fromHex("3B6E1F0D7A2C4958A1B2C3D4E5F60718");
const MAK = fromHex("0A0B0C0D0E0F0102");

// --------------------------------------------------------------- a cleared store of DEBTS debts

const template = await fixtureStore([ODA]);
await addTaps(
  template,
  Array.from({ length: DEBTS }, (_, i) => ({
    terminalId: ODA,
    card: i,
    cryptogramType: "ARQC",
    fare: 200,
    track2: true,
  })),
);
clearDay(template.db, {
  day: FIXTURE_DAY,
  by: "bench",
  deny: new JournalDenyList(template.db),
  now: () => new Date("2026-06-25T02:00:00Z"),
});
template.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
const sampleDebt = new DebtBook(template.db, new JournalDenyList(template.db), "bench").list()[0];
const sampleReq = await new DebtRequests(template.db, template.pan).of(sampleDebt, "000001");
template.store.close();
const TEMPLATE_DB = join(template.dir, "icfare.db");

// The frame sizes of one of these debts: its signed 0200 and the host's 0210.
const who = { terminalId: "10000159", merchantId: "880210010210160", batchNo: "000001" };
const k = packagerOf(profile), env = envelopeBytes(profile);
const req = buildAuth(profile, { ...sampleReq, ...who });
const ans = buildAuthAnswer(req, {
  responseCode: "00",
  now: new Date(),
  rrn: "000000000001",
  acquirer: "00096500",
  authCode: "000001",
  mac: true,
});
const frameLength = (p: Uint8Array) =>
  frameOf(sealEnvelope(env.tpdu, env.header, signPacked(p, profile.mac, MAK))).length;
const REQ_FRAME = frameLength(k.pack(req));
const ANS_FRAME = frameLength(k.pack(ans));

// --------------------------------------------------------------- host, link, echo

const host = AcquirerHost.start({ profile, tmkOf: () => TMK, truth: () => "00", seed: "bench" });
const link = new AcquirerLink({
  hostname: "127.0.0.1",
  port: host.port,
  profile,
  terminalId: who.terminalId,
  merchantId: who.merchantId,
  timeoutMs: 10_000,
  tmk: { withTmk: (f) => f(TMK) },
});

const echo = await startEcho(REQ_FRAME, ANS_FRAME);

/** DEBTS request frames out and answer frames back, IN_FLIGHT at a time. */
async function echoDebts(): Promise<void> {
  for (let sent = 0; sent < DEBTS; sent += IN_FLIGHT) await echo.round(IN_FLIGHT);
}

let run = 0;
/** A fresh copy of the cleared store, its book and requests. */
async function freshStore() {
  const path = join(template.dir, `run-${run++}.db`);
  await Deno.copyFile(TEMPLATE_DB, path);
  const store = openSqliteStore(path);
  // The host remembers every STAN it saw: each copy starts its STANs past the last run's.
  store.connection.prepare("UPDATE meta SET value = ? WHERE key = 'debt_stan'").run(
    String(run * 2000),
  );
  const book = new DebtBook(store.connection, new JournalDenyList(store.connection), "bench");
  return { store, book, requests: new DebtRequests(store.connection, template.pan) };
}

globalThis.addEventListener("unload", () => {
  echo.close();
  Deno.removeSync(template.dir, { recursive: true });
});

Deno.bench({
  name: `bare TCP echo: ${DEBTS} × (${REQ_FRAME}-byte frame out, ${ANS_FRAME} back), ` +
    `${IN_FLIGHT} in flight`,
  group: "collect",
  baseline: true,
  n: 20,
  warmup: 2,
  fn: async () => {
    await echoDebts();
  },
});

Deno.bench({
  name: `collect ${DEBTS} debts (0200 → host → 0210, SQLite FULL), ${IN_FLIGHT} in flight`,
  group: "collect",
  n: 8,
  warmup: 1,
  fn: async (b) => {
    const { store, book, requests } = await freshStore();
    b.start();
    const s = await collectDebts({
      book,
      link,
      requestOf: (d, stan) => requests.of(d, stan),
      clock: () => "2026-06-25T03:00:00.000Z",
      concurrency: IN_FLIGHT,
    });
    b.end();
    store.close();
    if (s.collected.count !== DEBTS) throw new Error(`bench: ${JSON.stringify(s).slice(0, 600)}`);
  },
});
