/**
 * `core/collect` in one process against the simulated host over loopback: debts cleared from
 * fixture taps are collected (an approval, a decline that lists the card, a timeout and a bad
 * MAC reversed and tried again), a debt left `sent` by a crash is reversed first, a second run
 * has nothing to do; the refusals: host unreachable, sign-on refused, a debt whose track 2 is
 * missing; the request carries only the authorisation's chip data. The CLI's usage errors and a
 * TMK of the wrong usage run as subprocesses.
 */
import { assert, assertEquals, assertRejects } from "@icfare/assert";
import { join } from "node:path";
import { addTaps, FIXTURE_DAY, fixturePan, fixtureStore } from "./support/clear_day.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import { clearDay } from "../core/clearing/clear.ts";
import { checkLedger } from "../core/clearing/ledger.ts";
import { DebtBook } from "../core/debts/book.ts";
import { JournalDenyList } from "../core/denylist/journal.ts";
import { AcquirerLink } from "../core/iso8583/link.ts";
import { PROFILES } from "../core/iso8583/profile.ts";
import { authChipData, collectDebts, DebtRequests, shanghaiStamp } from "../core/collect/mod.ts";
import { GroupCommit } from "../core/collect/commit.ts";
import { decodeTlv } from "../kernel-as/mod.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { AcquirerHost, type HostOptions } from "../sim/acquirer/host.ts";
import type { FaultKind } from "../sim/acquirer/faults.ts";
import { sampleIcc } from "./support/terminal.ts";

const ODA = "ODA00001";
const T0 = "2026-06-25T02:00:00.000Z";
const TMK = fromHex("3B6E1F0D7A2C4958A1B2C3D4E5F60718");
const profile = PROFILES["icfare-sim"];
/** Card 7 has no money (51); every other card pays. */
const truth: HostOptions["truth"] = (q) => (q.pan === fixturePan(7) ? "51" : "00");

async function debtsOf(cards: number[], track2 = true) {
  const f = await fixtureStore([ODA]);
  const deny = new JournalDenyList(f.db);
  await addTaps(
    f,
    cards.map((card) => ({ terminalId: ODA, card, cryptogramType: "ARQC", fare: 300, track2 })),
  );
  clearDay(f.db, { day: FIXTURE_DAY, by: "t", deny, now: () => new Date(T0) });
  return { f, deny, book: new DebtBook(f.db, deny, "t"), requests: new DebtRequests(f.db, f.pan) };
}

function startHost(schedule?: (n: number, mti: string) => FaultKind | undefined, tmk = TMK) {
  return AcquirerHost.start({
    profile,
    tmkOf: (id) => (id === "10000159" ? tmk : undefined),
    truth,
    seed: "collect-test",
    lateMs: 300,
    ...(schedule ? { schedule } : {}),
  });
}

function linkTo(port: number, terminalId = "10000159") {
  return new AcquirerLink({
    hostname: "127.0.0.1",
    port,
    profile,
    terminalId,
    merchantId: "880210010210160",
    timeoutMs: 150,
    tmk: { withTmk: (fn) => fn(TMK.slice()) },
  });
}

Deno.test("collect: approvals, a decline listed, a timeout and a bad MAC reversed and retried", async () => {
  const { f, deny, book, requests } = await debtsOf([1, 7, 2, 3]);
  // the first 0200 times out, and the first answer to its 0400 has a bad MAC (the 0400 is sent
  // again); the answer to the second 0200 has a bad MAC (reversed with reason A0)
  const seen: Record<string, number> = {};
  const faults: Record<string, FaultKind> = {
    "0200#1": "timeout",
    "0400#1": "bad-mac",
    "0200#2": "bad-mac",
  };
  const host = startHost((_n, mti) => faults[`${mti}#${seen[mti] = (seen[mti] ?? 0) + 1}`]);
  const link = linkTo(host.port);
  try {
    const s = await collectDebts({
      book,
      link,
      requestOf: (d, stan) => requests.of(d, stan),
      clock: () => T0,
      concurrency: 1,
    });
    const states = book.list().map((d) => d.state);
    assertEquals(states, ["recovered", "declined", "recovered", "recovered"]);
    assertEquals([s.collected, s.declined, s.writtenOff], [
      { count: 3, amount: 900 },
      { count: 1, amount: 300 },
      { count: 0, amount: 0 },
    ]);
    assertEquals([s.reversed, s.refused, s.rounds, s.attempts], [2, 0, 2, 6]);
    assertEquals(s.left, { pending: 0, sent: 0, reversing: 0 });
    const declined = book.list({ states: ["declined"] })[0];
    assert(deny.isListed({ cardHash: declined.cardHash, psn: declined.psn }), "declined: listed");
    for (const d of book.list({ states: ["recovered"] })) {
      assert(!deny.isListed({ cardHash: d.cardHash, psn: d.psn }), `debt ${d.id} not listed`);
    }
    const ledger = host.ledger.summary();
    assertEquals([ledger.live, ledger.doubleApproved], [3, 0]);
    assertEquals(checkLedger(f.db).total, 0);
    const again = await collectDebts({
      book,
      link,
      requestOf: (d, stan) => requests.of(d, stan),
      clock: () => T0,
    });
    assertEquals([again.attempts, again.collected.count, again.rounds], [0, 0, 0]);
  } finally {
    await link.close();
    await host.stop();
    await f.close();
  }
});

Deno.test("collect: a debt a crash left 'sent' is reversed before it is sent again", async () => {
  const { f, book, requests } = await debtsOf([4]);
  const host = startHost();
  const link = linkTo(host.port);
  try {
    const d = book.list()[0];
    book.sending(d.id, book.nextStan(), T0); // made durable, then the process died
    const s = await collectDebts({
      book,
      link,
      requestOf: (x, stan) => requests.of(x, stan),
      clock: () => T0,
    });
    assertEquals(s.resumed, { found: 1, reversed: 1 });
    assertEquals(book.get(d.id).state, "recovered");
    // the host never had that 0200: the reversal is answered 25 and changes nothing
    assertEquals([host.issuer.stats.reversalsEmpty, host.issuer.stats.reversalsApplied], [1, 0]);
    assertEquals(host.ledger.summary().live, 1);
  } finally {
    await link.close();
    await host.stop();
    await f.close();
  }
});

Deno.test("collect refusals: unreachable host, sign-on refused, a debt without track 2", async () => {
  const { f, book, requests } = await debtsOf([5], false);
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close();
  const host = startHost();
  const run = (link: AcquirerLink) =>
    collectDebts({ book, link, requestOf: (d, stan) => requests.of(d, stan), clock: () => T0 });
  const links = [linkTo(port), linkTo(host.port, "99999999"), linkTo(host.port)];
  try {
    const e1 = await assertRejects(() => run(links[0]));
    assertEquals((e1 as unknown as { code: string }).code, "COLLECT_UNREACHABLE");
    const e2 = await assertRejects(() => run(links[1]));
    assertEquals((e2 as unknown as { code: string }).code, "COLLECT_SIGN_ON");
    const s = await run(links[2]);
    assertEquals(s.failed.map((x) => x.code), ["COLLECT_DATA"]);
    assert(s.failed[0].message.includes("no sealed track-2 data"), s.failed[0].message);
    assertEquals(s.left, { pending: 1, sent: 0, reversing: 0 });
    assertEquals(book.list()[0].sends, 0, "nothing was sent for it");
  } finally {
    for (const l of links) await l.close();
    await host.stop();
    await f.close();
  }
});

Deno.test("the 0200's chip data: the authorisation's objects only; the tap time in Shanghai", () => {
  const icc = fromHex(sampleIcc({ pan: fixturePan(1), track2: true }));
  const out = authChipData(icc);
  const d = decodeTlv(out);
  assert(d.ok);
  const tags = d.entries.map((e) => e.tag.toString(16).toUpperCase());
  assertEquals(tags, [
    "9F26",
    "9F27",
    "9F10",
    "9F36",
    "9F37",
    "9F02",
    "9F03",
    "9F1A",
    "95",
    "5F2A",
    "9A",
    "9C",
    "82",
    "5F34",
    "84",
  ]);
  assert(!toHex(out).includes(fixturePan(1)), "no PAN in the chip data");
  assertEquals(shanghaiStamp("2026-06-24T23:59:30+08:00"), "20260624235930");
  assertEquals(shanghaiStamp("2026-06-24T16:00:00Z"), "20260625000000");
});

Deno.test("icfare collect: usage errors exit 2; a TMK of another usage is refused (exit 1)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-collect-cli-" });
  const home = join(dir, "home"), master = join(dir, "master.key");
  try {
    for (
      const [args, want] of [
        [["collect", "--terminal", "10000159", "--merchant", "880210010210160"], "--port"],
        [["collect", "--port", "9", "--terminal", "123", "--merchant", "x"], "--terminal"],
        [["collect", "--port", "9", "--terminal", "10000159"], "--merchant"],
        [[
          "collect",
          ...["--port", "9", "--terminal", "10000159", "--merchant", "880210010210160"],
          ...["--tls-ca", "ca.pem"],
        ], "--tls-ca needs --tls"],
        [["collect", "--port", "0", "--terminal", "10000159"], "--port"],
      ] as const
    ) {
      const r = await icfareRun([...args, "--home", home]);
      assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert(r.stderr.includes(want), r.stderr);
    }
    await Deno.writeTextFile(master, "11".repeat(32) + "\n", { mode: 0o600 });
    const k = (...a: string[]) => icfareRun([...a, "--home", home, "--master-key-file", master]);
    assertEquals((await k("keys", "init")).code, 0);
    for (const [id, usage, alg] of [["p", "pan-hash", "hmac-sha256"], ["d", "data", "aes"]]) {
      assertEquals(
        (await k("keys", "generate", "--id", id, "--usage", usage, "--algorithm", alg)).code,
        0,
      );
    }
    const r = await k(
      ...["collect", "--port", "9", "--terminal", "10000159", "--merchant", "880210010210160"],
      ...["--tmk", "d"],
    );
    assertEquals(r.code, 1, r.stderr);
    assert(r.stderr.includes("[COLLECT_TMK]") && r.stderr.includes("not acquirer-tmk"), r.stderr);
    const none = await k(
      ...["collect", "--port", "9", "--terminal", "10000159", "--merchant", "880210010210160"],
    );
    assertEquals(none.code, 1, none.stderr);
    assert(none.stderr.includes("acquirer-tmk-10000159"), none.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("group commit: steps commit together; one that throws is undone alone", async () => {
  const f = await fixtureStore();
  try {
    f.db.exec("CREATE TABLE g (v INTEGER)");
    const c = new GroupCommit(f.db);
    const ins = (v: number) => () => f.db.prepare("INSERT INTO g VALUES (?)").run(v).changes;
    const bad = () => {
      f.db.prepare("INSERT INTO g VALUES (99)").run();
      throw new RangeError("step refused");
    };
    const results = await Promise.allSettled([c.run(ins(1)), c.run(bad), c.run(ins(2))]);
    assertEquals(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
    assertEquals((results[1] as PromiseRejectedResult).reason.message, "step refused");
    assertEquals(f.db.prepare("SELECT v FROM g ORDER BY v").all().map((r) => r.v), [1, 2]);
    assertEquals([c.commits, c.steps], [1, 3]);
    assertEquals(f.db.isTransaction, false, "committed before the promises resolved");
  } finally {
    await f.close();
  }
});
