/**
 * Debts of the ODA model: the state machine's edges (and the ones it refuses), the retry
 * schedule up to the write-off, the ledger and deny list moving with each outcome, the
 * aggregated fare mode, request files without a PAN, and response files taken in twice.
 */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import {
  addTaps,
  FIXTURE_DAY,
  fixturePan,
  fixtureStore,
  MemoryDenyList,
} from "./support/clear_day.ts";
import { clearDay } from "../core/clearing/clear.ts";
import { checkLedger } from "../core/clearing/ledger.ts";
import { writeSettings } from "../core/clearing/settings.ts";
import { DebtBook, DebtStateError } from "../core/debts/book.ts";
import { chipWithoutCard, exportDue, intake, IntakeError } from "../core/debts/files.ts";
import { nextState, retryAt, TRANSITIONS } from "../core/debts/states.ts";
import { fromHex } from "../core/hex.ts";
import { sampleIcc } from "./support/terminal.ts";

const ODA = "ODA00001";
const T0 = "2026-06-25T02:00:00.000Z";
const day = (n: number) => new Date(Date.parse(T0) + n * 86_400_000).toISOString();

async function oneDebtDay(taps = 1, opts: { aggregated?: boolean } = {}) {
  const f = await fixtureStore([ODA]);
  if (opts.aggregated) writeSettings(f.db, { fareMode: "aggregated" });
  const deny = new MemoryDenyList();
  await addTaps(
    f,
    Array.from({ length: taps }, () => ({
      terminalId: ODA,
      card: 5,
      cryptogramType: "ARQC",
      fare: 300,
    })),
  );
  clearDay(f.db, { day: FIXTURE_DAY, by: "t", deny, now: () => new Date(T0) });
  return { f, deny, book: new DebtBook(f.db, deny, "t") };
}

function balance(f: { db: import("node:sqlite").DatabaseSync }, account: string): number {
  const r = f.db.prepare("SELECT balance FROM ledger_accounts WHERE account = ?").get(account) as
    | { balance: number }
    | undefined;
  return r ? Number(r.balance) : 0;
}

Deno.test("debts: the state machine as data; every edge it lacks is refused", () => {
  assertEquals(nextState("pending", "sending"), "sent");
  assertEquals(nextState("sent", "approved"), "recovered");
  assertEquals(nextState("reversing", "reversed"), "pending");
  assertEquals(nextState("pending", "approved"), null);
  assertEquals(nextState("recovered", "declined"), null);
  assertEquals(new Set(TRANSITIONS.map((t) => t.to)).size, 6);
  assertEquals(retryAt(T0, 1), day(1));
  assertEquals(retryAt(T0, 4), day(14));
  assertEquals(retryAt(T0, 5), null);
});

Deno.test("debts: approved → recovered; ledger moves from debts to issuer receivable; card stays off", async () => {
  const { f, deny, book } = await oneDebtDay();
  try {
    const [d] = book.list();
    assertEquals([d.state, d.amount, d.mode, d.nextAttemptAt], ["pending", 300, "single", T0]);
    assertEquals(balance(f, "1200:623456"), 300);
    const stan = book.nextStan();
    assertEquals(stan, "000001");
    book.sending(d.id, stan, T0);
    assertEquals(book.sending(d.id, stan, T0).retransmissions, 1, "same STAN again: a resend");
    assertThrows(() => book.apply(d.id, { final: "approved", stan: "000009" }, T0), DebtStateError);
    const r = book.apply(d.id, { final: "approved", stan, responseCode: "00" }, T0);
    assertEquals([r.state, r.responseCode], ["recovered", "00"]);
    assertEquals([balance(f, "1200:623456"), balance(f, "1100:623456")], [0, 300]);
    assertEquals(checkLedger(f.db).total, 0);
    assertEquals(deny.history.length, 0);
    assertThrows(() => book.sending(d.id, "000002", T0), DebtStateError);
  } finally {
    await f.close();
  }
});

Deno.test("debts: five declines over 14 days → written off; listed at the first, never removed", async () => {
  const { f, deny, book } = await oneDebtDay();
  try {
    const id = book.list()[0].id;
    const card = { cardHash: book.get(id).cardHash, psn: book.get(id).psn };
    const expectNext = [day(1), day(3), day(7), day(14)];
    for (let k = 0; k < 5; k++) {
      const at = k === 0 ? T0 : expectNext[k - 1];
      assertEquals(book.sweep(at), k === 0 ? 0 : 1, `retry ${k} due`);
      assertEquals(book.due(at).map((d) => d.id), [id]);
      const stan = book.nextStan();
      book.sending(id, stan, at);
      const d = book.apply(id, { final: "declined", stan, responseCode: "51" }, at);
      assertEquals(d.state, k < 4 ? "declined" : "written_off");
      if (k < 4) assertEquals(d.nextAttemptAt, expectNext[k]);
      assert(deny.isListed(card));
      assertEquals(book.due(at), [], "not due before its retry time");
    }
    assertEquals(deny.history.map((h) => h.action), ["add"]);
    assertEquals([balance(f, "1200:623456"), balance(f, "5100:898371641110001:K1")], [0, 300]);
    assertEquals(checkLedger(f.db).total, 0);
    const events = f.db.prepare("SELECT to_state FROM debt_events WHERE debt_id = ? ORDER BY id")
      .all(id).map((r) => (r as { to_state: string }).to_state);
    assertEquals(events.filter((s) => s === "declined").length, 4);
    assertEquals(events.at(-1), "written_off");
  } finally {
    await f.close();
  }
});

Deno.test("debts: decline lists the card, a later approval takes it off; refusals and reversals free the STAN", async () => {
  const { f, deny, book } = await oneDebtDay();
  try {
    const id = book.list()[0].id;
    const card = { cardHash: book.get(id).cardHash, psn: book.get(id).psn };
    let stan = book.nextStan();
    book.sending(id, stan, T0);
    book.apply(id, { final: "refused", stan, responseCode: "96" }, T0);
    assertEquals([book.get(id).state, book.get(id).stan], ["pending", null]);
    stan = book.nextStan();
    book.sending(id, stan, T0);
    book.reversing(id, stan, "98", T0);
    assertThrows(() => book.apply(id, { final: "approved", stan }, T0), DebtStateError);
    book.apply(id, { final: "reversed", stan, responseCode: "00" }, T0);
    assertEquals(book.get(id).state, "pending");
    stan = book.nextStan();
    book.sending(id, stan, T0);
    book.apply(id, { final: "declined", stan, responseCode: "05" }, T0);
    assert(deny.isListed(card));
    book.sweep(day(1));
    stan = book.nextStan();
    book.sending(id, stan, day(1));
    const d = book.apply(id, { final: "approved", stan }, day(1));
    assertEquals([d.state, d.sends, d.declines], ["recovered", 4, 1]);
    assert(!deny.isListed(card));
    assertEquals(deny.history.map((h) => [h.action, h.ref]), [
      ["add", `debt:${id}`],
      ["remove", `debt:${id}`],
    ]);
  } finally {
    await f.close();
  }
});

Deno.test("debts: the aggregated fare mode makes one debt per card per day", async () => {
  const { f, book } = await oneDebtDay(3, { aggregated: true });
  try {
    const debts = book.list();
    assertEquals(debts.map((d) => [d.mode, d.amount]), [["aggregated", 900]]);
    assertEquals(book.recordsOf(debts[0].id).map((r) => r.fare), [300, 300, 300]);
    const stan = book.nextStan();
    book.sending(debts[0].id, stan, T0);
    book.apply(debts[0].id, { final: "approved", stan }, T0);
    assertEquals([balance(f, "1100:623456"), balance(f, "1200:623456")], [900, 0]);
  } finally {
    await f.close();
  }
});

Deno.test("debts: request files carry no PAN; response files apply once", async () => {
  const { f, deny, book } = await oneDebtDay(2);
  try {
    const { requests, swept } = await exportDue(f.db, f.pan, book, { at: T0 });
    assertEquals([requests.length, swept], [2, 0]);
    assertEquals(requests.map((r) => [r.stan, r.send, r.amount]), [["000001", 1, 300], [
      "000002",
      1,
      300,
    ]]);
    const text = JSON.stringify(requests);
    assert(!text.includes(fixturePan(5)), "no PAN in a request");
    assertEquals(requests[0].arqc, "3B76CF10FECD8789");
    assertEquals(book.list().map((d) => d.state), ["sent", "sent"], "sent before the file exists");
    const again = await exportDue(f.db, f.pan, book, { at: T0, resend: true });
    assertEquals(again.requests.map((r) => [r.stan, r.retransmission]), [["000001", 1], [
      "000002",
      1,
    ]]);
    const resp = [
      { debtId: requests[0].debtId, stan: "000001", outcome: "declined", responseCode: "51" },
      { debtId: requests[1].debtId, stan: "000002", outcome: "approved", responseCode: "00" },
      { debtId: 99, stan: "000003", outcome: "approved" },
    ].map((x) => JSON.stringify(x)).join("\n");
    const r1 = intake(book, resp, T0);
    assertEquals(r1.applied.map((a) => a.state), ["declined", "recovered"]);
    assertEquals(r1.refused.map((x) => x.why), ["no such debt"]);
    const r2 = intake(book, resp, T0);
    assertEquals([r2.applied.length, r2.repeated.length], [0, 2]);
    assertEquals(deny.history.length, 1, "the card stays listed: its other debt is unpaid");
    assertThrows(
      () => intake(book, '{"debtId":1,"stan":"1","outcome":"approved"}', T0),
      IntakeError,
    );
  } finally {
    await f.close();
  }
});

Deno.test("debts: chip data in a request keeps every tag but the card number ones", () => {
  const icc = fromHex(sampleIcc({ pan: "6234567890123456", track2: true }));
  const out = chipWithoutCard(icc);
  assert(!out.includes("6234567890123456"));
  assert(out.includes("9F2608") && out.includes("9F3602") && !out.includes("5A08"));
});
