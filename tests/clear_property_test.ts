/**
 * Property and model tests of the money (fast-check, fixed seeds, printed on failure):
 *
 * - conservation over random days (docs/reliability.md, scorecard M4): Σ accepted = Σ cleared +
 *   Σ excepted + Σ duplicates + Σ debts, and the debts' amounts = Σ outstanding + Σ recovered +
 *   Σ written off; the ledger sums to 0 fen with every account family equal to what the records
 *   say; integer fen only; a second clear changes nothing;
 * - the debt state machine against a model: random sends, answers, reversals and clock steps;
 *   after every step each debt's state, the deny list and the ledger agree with the model.
 */
import fc from "fast-check";
import { assert, assertEquals } from "@icfare/assert";
import type { DatabaseSync } from "node:sqlite";
import {
  addTaps,
  FIXTURE_DAY,
  fixtureStore,
  type FixtureTap,
  MemoryDenyList,
} from "./support/clear_day.ts";
import { clearDay } from "../core/clearing/clear.ts";
import { checkLedger } from "../core/clearing/ledger.ts";
import { DebtBook } from "../core/debts/book.ts";

const ODA = "ODA00001";
const T0 = Date.parse("2026-06-25T02:00:00Z");

const tapArb = fc.record({
  oda: fc.boolean(),
  status: fc.constantFrom(
    "OK",
    "OK",
    "OK",
    "OK",
    "AC_MISMATCH",
    "ODA_FAILED",
    "CARD_EXPIRED",
    "DENYLISTED",
  ),
  cryptogramType: fc.constantFrom("TC", "ARQC", "-"),
  odaFlag: fc.constantFrom("ok", "ok", "absent"),
  cryptogram: fc.constantFrom("ok", "ok", "no-key"),
  fare: fc.integer({ min: 0, max: 5000 }),
  lateDays: fc.constantFrom(0, 0, 0, 12),
  card: fc.integer({ min: 0, max: 5 }),
});
type TapSpec = typeof tapArb extends fc.Arbitrary<infer T> ? T : never;

function toFixture(t: TapSpec, i: number, dupOf: number | null): FixtureTap {
  const received = new Date(Date.parse(`${FIXTURE_DAY}T12:00:00Z`) + t.lateDays * 86_400_000);
  return {
    terminalId: t.oda ? ODA : "LC000123",
    fare: t.fare,
    card: dupOf === null ? t.card : undefined,
    status: dupOf === null ? t.status : "DUPLICATE",
    cryptogramType: t.cryptogramType,
    oda: t.odaFlag,
    cryptogram: t.cryptogram,
    receivedAt: received.toISOString(),
    line: i % 2 ? "K1" : "K2",
  };
}

function sumOf(db: DatabaseSync, sql: string): number {
  const r = db.prepare(sql).get() as { s: number | bigint | null };
  return Number(r.s ?? 0);
}

function families(db: DatabaseSync): Record<string, number> {
  const out: Record<string, number> = {};
  for (
    const r of db.prepare("SELECT account, balance FROM ledger_accounts").all() as {
      account: string;
      balance: number;
    }[]
  ) {
    const fam = r.account.slice(0, 4);
    assert(Number.isSafeInteger(r.balance), `${r.account}: integer fen`);
    out[fam] = (out[fam] ?? 0) + Number(r.balance);
  }
  return out;
}

/** Σ accepted = Σ outcomes; the ledger's families equal the records' and debts' sums. */
function assertConservation(db: DatabaseSync): void {
  const accepted = sumOf(db, "SELECT sum(fare) AS s FROM records WHERE status = 'verified'");
  const byOutcome = (o: string) =>
    sumOf(db, `SELECT sum(fare) AS s FROM clearing_lines WHERE outcome = '${o}'`);
  const cleared = byOutcome("CLEARED"), debt = byOutcome("DEBT");
  assertEquals(accepted, cleared + debt + byOutcome("EXCEPTION") + byOutcome("DUPLICATE"));
  const debtsBy = (states: string) =>
    sumOf(db, `SELECT sum(amount) AS s FROM debts WHERE state IN (${states})`);
  const outstanding = debtsBy("'pending','sent','reversing','declined'");
  const recovered = debtsBy("'recovered'"), written = debtsBy("'written_off'");
  assertEquals(debt, outstanding + recovered + written);
  const late = sumOf(db, "SELECT sum(fare) AS s FROM clearing_lines WHERE reason = 'LATE'");
  const f = families(db);
  assertEquals(f["1100"] ?? 0, cleared + recovered, "issuer receivable");
  assertEquals(f["1200"] ?? 0, outstanding, "debts receivable");
  assertEquals(f["5100"] ?? 0, late + written, "write-offs");
  assertEquals((f["2100"] ?? 0) + (f["4100"] ?? 0), 0 - (cleared + debt + late), "payable + fees");
  const check = checkLedger(db);
  assertEquals([check.total, check.unbalanced, check.driftingAccounts], [0, [], []]);
}

Deno.test("property: money is conserved over random days; a second clear changes nothing", async () => {
  const seed = 20261204;
  const prop = fc.asyncProperty(
    fc.array(tapArb, { minLength: 1, maxLength: 24 }),
    fc.array(fc.constantFrom("approve", "decline", "refuse"), { maxLength: 8 }),
    async (specs, answers) => {
      const f = await fixtureStore([ODA]);
      try {
        const deny = new MemoryDenyList();
        // every fourth tap re-sends its predecessor (same card and ATC): a duplicate
        const taps = specs.map((t, i) => toFixture(t, i, i % 4 === 3 ? i - 1 : null));
        specs.forEach((_, i) => {
          if (i % 4 === 3) Object.assign(taps[i], { card: specs[i - 1].card, atc: 9000 + i - 1 });
          if (i % 4 === 2) taps[i].atc = 9000 + i;
        });
        await addTaps(f, taps);
        clearDay(f.db, { day: FIXTURE_DAY, by: "p", deny, now: () => new Date(T0) });
        assertConservation(f.db);
        const book = new DebtBook(f.db, deny, "p");
        answers.forEach((a, k) => {
          const d = book.due(new Date(T0 + k * 86_400_000).toISOString())[0];
          if (!d) return;
          const at = new Date(T0 + k * 86_400_000).toISOString();
          const stan = book.nextStan();
          book.sending(d.id, stan, at);
          const final = a === "approve" ? "approved" : a === "decline" ? "declined" : "refused";
          book.apply(d.id, { final, stan }, at);
          book.sweep(new Date(T0 + (k + 1) * 86_400_000).toISOString());
          assertConservation(f.db);
        });
        const snapshot = JSON.stringify(f.db.prepare("SELECT * FROM ledger_postings").all());
        const again = clearDay(f.db, { day: FIXTURE_DAY, by: "p", deny });
        assertEquals(again.newLines, 0);
        assertEquals(JSON.stringify(f.db.prepare("SELECT * FROM ledger_postings").all()), snapshot);
      } finally {
        await f.close();
      }
    },
  );
  await fc.assert(prop, { seed, numRuns: 30, endOnFailure: true });
});

/** The model of one debt: its state and whether its card should be listed. */
interface ModelDebt {
  state: string;
  declines: number;
  nextDay: number;
  stan: string | null;
}

Deno.test("model: the debt state machine against a model under random steps", async () => {
  const seed = 1512;
  const step = fc.record({
    debt: fc.integer({ min: 0, max: 2 }),
    act: fc.constantFrom("send", "approved", "declined", "refused", "reverse", "reversed", "tick"),
  });
  const prop = fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
    const f = await fixtureStore([ODA]);
    try {
      const deny = new MemoryDenyList();
      await addTaps(
        f,
        [0, 1, 2].map((c) => ({ terminalId: ODA, card: c, cryptogramType: "ARQC" })),
      );
      clearDay(f.db, { day: FIXTURE_DAY, by: "m", deny, now: () => new Date(T0) });
      const book = new DebtBook(f.db, deny, "m");
      const ids = book.list().map((d) => d.id);
      const model: ModelDebt[] = ids.map(() => ({
        state: "pending",
        declines: 0,
        nextDay: 0,
        stan: null,
      }));
      let today = 0;
      for (const s of steps) {
        const at = new Date(T0 + today * 86_400_000).toISOString();
        applyModel(book, model, ids, s, at, today);
        if (s.act === "tick") {
          today += 1;
          book.sweep(new Date(T0 + today * 86_400_000).toISOString());
          for (const m of model) {
            if (m.state === "declined" && m.nextDay <= today) m.state = "pending";
          }
        }
        ids.forEach((id, k) => {
          const d = book.get(id);
          assertEquals(d.state, model[k].state, `debt ${k} after ${JSON.stringify(s)}`);
          const listed = deny.isListed({ cardHash: d.cardHash, psn: d.psn });
          assertEquals(listed, model[k].declines > 0 && d.state !== "recovered", `listed ${k}`);
        });
        assertEquals(checkLedger(f.db).total, 0);
      }
      assertConservation(f.db);
    } finally {
      await f.close();
    }
  });
  await fc.assert(prop, { seed, numRuns: 25, endOnFailure: true });
});

const RETRY = [1, 3, 7, 14];

function applyModel(
  book: DebtBook,
  model: ModelDebt[],
  ids: number[],
  s: { debt: number; act: string },
  at: string,
  today: number,
): void {
  const m = model[s.debt], id = ids[s.debt];
  if (s.act === "send" && m.state === "pending") {
    m.stan = book.nextStan();
    book.sending(id, m.stan, at);
    m.state = "sent";
  } else if (s.act === "reverse" && m.state === "sent") {
    book.reversing(id, m.stan!, "98", at);
    m.state = "reversing";
  } else if (s.act === "reversed" && (m.state === "sent" || m.state === "reversing")) {
    book.apply(id, { final: "reversed", stan: m.stan! }, at);
    m.state = "pending";
    m.stan = null;
  } else if (m.state === "sent" && (s.act === "approved" || s.act === "refused")) {
    book.apply(id, { final: s.act, stan: m.stan! }, at);
    m.state = s.act === "approved" ? "recovered" : "pending";
    if (s.act === "refused") m.stan = null;
  } else if (m.state === "sent" && s.act === "declined") {
    book.apply(id, { final: "declined", stan: m.stan! }, at);
    m.declines++;
    if (m.declines > RETRY.length) m.state = "written_off";
    else {
      m.state = "declined";
      m.nextDay = firstDeclineDay(m, today) + RETRY[m.declines - 1];
    }
  }
}

const firstDay = new WeakMap<ModelDebt, number>();
function firstDeclineDay(m: ModelDebt, today: number): number {
  if (!firstDay.has(m)) firstDay.set(m, today);
  return firstDay.get(m)!;
}
