/**
 * Clearing a day in the store: ingest stamps the settlement day and model, the outcome table
 * decides every verified record once, the ledger balances at 0 fen with the fee rule, debts
 * and deny-list changes come with their records, a rerun changes nothing, unverified and closed
 * days are refused or frozen by the store.
 */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import type { DatabaseSync } from "node:sqlite";
import { addTaps, FIXTURE_DAY, fixtureStore, MemoryDenyList } from "./support/clear_day.ts";
import { checkLedger } from "../core/clearing/ledger.ts";
import { clearDay, ClearError, closeDay } from "../core/clearing/clear.ts";
import { setModel, writeSettings } from "../core/clearing/settings.ts";
import { recordStates } from "../core/clearing/reports.ts";
import { track2Aad } from "../core/store/store.ts";
import { toHex } from "../core/hex.ts";

/** One row as a plain object (node:sqlite rows have a null prototype). */
function one(db: DatabaseSync, sql: string, ...args: (string | number)[]) {
  return { ...(db.prepare(sql).get(...args) as Record<string, unknown>) };
}

/** Every row of the clearing, ledger and debt tables, as text (a second run must equal it). */
export function dumpBooks(db: DatabaseSync): string {
  const tables = [
    "clearing_lines",
    "ledger_entries",
    "ledger_postings",
    "ledger_accounts",
    "debts",
    "debt_records",
    "debt_events",
    "settlement_days",
  ];
  return tables.map((t) =>
    JSON.stringify(
      db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).all(),
      (_k, v) => v instanceof Uint8Array ? toHex(v) : typeof v === "bigint" ? Number(v) : v,
    )
  ).join("\n");
}

Deno.test("ingest stamps settlement day (23:00 cut-off, Shanghai), model, and seals tag 57 for ODA only", async () => {
  const f = await fixtureStore(["ODA00001"]);
  try {
    setModel(f.db, { scope: "line", key: "B7", model: "ODA", by: "t", at: "2026-06-01T00:00:00Z" });
    await addTaps(f, [
      { tappedAt: "2026-06-24T22:59:59+08:00", track2: true },
      { tappedAt: "2026-06-24T23:00:00+08:00" },
      { tappedAt: "2026-06-24T15:30:00Z" }, // 23:30 in Shanghai
      { tappedAt: "2026-06-24T10:00:00+08:00", terminalId: "ODA00001", track2: true },
      { tappedAt: "2026-06-24T10:00:00+08:00", line: "B7" },
    ]);
    const rows = f.db.prepare(
      "SELECT terminal_id, batch_no, seq, tap_day, settlement_day, model, track2_sealed FROM records ORDER BY id",
    ).all() as Record<string, unknown>[];
    assertEquals(rows.map((r) => [r.settlement_day, r.model]), [
      ["2026-06-24", "EC"],
      ["2026-06-25", "EC"],
      ["2026-06-25", "EC"],
      ["2026-06-24", "ODA"],
      ["2026-06-24", "ODA"],
    ]);
    assertEquals(rows[0].track2_sealed, null, "EC record: tag 57 not kept");
    const sealed = rows[3].track2_sealed as Uint8Array;
    const t2 = await f.pan.open(
      sealed,
      track2Aad(String(rows[3].terminal_id), Number(rows[3].batch_no), Number(rows[3].seq)),
    );
    assert(toHex(t2).startsWith("57"), "the tag-57 object, sealed");
    assert(!toHex(sealed).includes("D3012201"), "never in clear");
    // a later cut-off moves only later taps
    writeSettings(f.db, { cutoff: "23:30" });
    await addTaps(f, [{ tappedAt: "2026-06-24T23:10:00+08:00", terminalId: "LC000999" }], 50);
    const last = one(f.db, "SELECT settlement_day FROM records ORDER BY id DESC LIMIT 1");
    assertEquals(last, { settlement_day: "2026-06-24" });
  } finally {
    await f.close();
  }
});

Deno.test("clear: a mixed day — outcomes, ledger at 0 fen, fees, debts, deny list, idempotent", async () => {
  const f = await fixtureStore(["ODA00001"]);
  try {
    const deny = new MemoryDenyList();
    await addTaps(f, [
      { fare: 200 }, // EC TC cleared
      { fare: 150, cryptogram: "no-key" }, // cleared, issuer verifies
      { fare: 200, cryptogramType: "ARQC" }, // EC_ARQC
      { fare: 200, status: "AC_MISMATCH", cryptogram: "mismatch" }, // listed
      { fare: 200, status: "DUPLICATE", card: 0, atc: 1 }, // duplicate of the first
      { fare: 300, terminalId: "ODA00001", cryptogramType: "ARQC" }, // debt
      { fare: 100, terminalId: "ODA00001", cryptogramType: "ARQC", oda: "absent" },
      { fare: 250, receivedAt: "2026-07-10T01:00:00Z" }, // 16 days later: LATE
    ]);
    const s = clearDay(f.db, { day: FIXTURE_DAY, by: "test", deny, now: () => new Date(0) });
    assertEquals(s.newLines, 8);
    assertEquals(s.outcomes, {
      CLEARED: { count: 2, amount: 350 },
      DEBT: { count: 1, amount: 300 },
      EXCEPTION: { count: 4, amount: 750 },
      DUPLICATE: { count: 1, amount: 200 },
    });
    assertEquals(s.exceptions, {
      AC_MISMATCH: { count: 1, amount: 200 },
      EC_ARQC: { count: 1, amount: 200 },
      LATE: { count: 1, amount: 250 },
      ODA_NOT_VERIFIED: { count: 1, amount: 100 },
    });
    assertEquals(s.issuerVerifies, { count: 1, amount: 150 });
    // fees: EC 50 bp, ODA 80 bp, half up per record: 200→1, 150→1 (0.75), 250→1, 300→2 (2.4)
    assertEquals(s.fees, 1 + 1 + 1 + 2);
    assertEquals([s.debts.count, s.debts.amount, s.debts.created], [1, 300, 1]);
    assertEquals([s.denyAdds, deny.history.map((h) => h.reason)], [1, ["CRYPTOGRAM_FAILED"]]);
    const check = checkLedger(f.db);
    assertEquals([check.total, check.unbalanced, check.driftingAccounts], [0, [], []]);
    const bal = Object.fromEntries(
      (f.db.prepare("SELECT account, balance FROM ledger_accounts").all() as {
        account: string;
        balance: number;
      }[]).map((r) => [r.account, Number(r.balance)]),
    );
    assertEquals(bal, {
      "1100:623456": 350,
      "1200:623456": 300,
      "2100:898371641110001:K1": -(350 - 2) - (300 - 2) - (250 - 1),
      "4100": -5,
      "5100:898371641110001:K1": 250,
    });
    const before = dumpBooks(f.db);
    const again = clearDay(f.db, { day: FIXTURE_DAY, by: "test", deny, now: () => new Date(1e12) });
    assertEquals([again.newLines, again.denyAdds, again.debts.created], [0, 0, 0]);
    assertEquals(dumpBooks(f.db), before, "a second clear changes nothing");
    assertEquals(recordStates(f.db, FIXTURE_DAY).map((r) => `${r.state}:${r.reason}`).sort(), [
      "CLEARED:EC_TC",
      "CLEARED:EC_TC",
      "DEBT:ODA_ARQC",
      "DUPLICATE:DUPLICATE",
      "EXCEPTION:AC_MISMATCH",
      "EXCEPTION:EC_ARQC",
      "EXCEPTION:LATE",
      "EXCEPTION:ODA_NOT_VERIFIED",
    ]);
  } finally {
    await f.close();
  }
});

Deno.test("clear: refuses a day with unverified records; a record is never cleared twice", async () => {
  const f = await fixtureStore();
  try {
    const deny = new MemoryDenyList();
    const [id] = await addTaps(f, [{}]);
    // a pending record of the same day
    await addTaps(f, [{ card: 77 }], 10);
    f.db.prepare("UPDATE records SET status = 'pending', verification = NULL WHERE id = ?")
      .run(id + 1);
    // and its batch counts it again (schema step 7: batch_work feeds verification claims)
    f.db.prepare(
      `INSERT INTO batch_work (batch_id, pending) SELECT batch_id, 1 FROM records WHERE id = ?
       ON CONFLICT (batch_id) DO UPDATE SET pending = pending + 1`,
    ).run(id + 1);
    const e = assertThrows(() => clearDay(f.db, { day: FIXTURE_DAY, by: "t", deny }), ClearError);
    assertEquals((e as ClearError).code, "CLEAR_UNVERIFIED");
    assertEquals(one(f.db, "SELECT count(*) AS n FROM clearing_lines"), { n: 0 });
    await f.store.recordVerifications([{ recordId: id + 1, result: { status: "DUPLICATE" } }]);
    clearDay(f.db, { day: FIXTURE_DAY, by: "t", deny });
    // the store refuses a second line for a record, and a second presentment of a card's ATC
    assertThrows(() =>
      f.db.prepare(
        `INSERT INTO clearing_lines (record_id, settlement_day, outcome, reason, rule, model,
          issuer_verifies, fare, fee, fee_bp, terminal_id, merchant_id, line)
         VALUES (?, ?, 'CLEARED', 'EC_TC', 'x', 'EC', 0, 200, 1, 50, 'LC000123', 'm', 'K1')`,
      ).run(id, FIXTURE_DAY)
    );
    assertThrows(() => f.db.prepare("UPDATE ledger_postings SET amount = amount + 1").run());
    assertThrows(() => f.db.prepare("DELETE FROM clearing_lines").run());
  } finally {
    await f.close();
  }
});

Deno.test("clear: a closed day is frozen; its late arrivals go to the next open day", async () => {
  const f = await fixtureStore();
  try {
    const deny = new MemoryDenyList();
    await addTaps(f, [{}, { cryptogramType: "ARQC" }]);
    const e = assertThrows(() => closeDay(f.db, FIXTURE_DAY, "t", "2026-06-25T01:00:00Z"));
    assertEquals((e as ClearError).code, "DAY_NOT_CLEARED");
    clearDay(f.db, { day: FIXTURE_DAY, by: "t", deny });
    closeDay(f.db, FIXTURE_DAY, "t", "2026-06-25T01:00:00Z");
    closeDay(f.db, FIXTURE_DAY, "t", "2026-06-25T02:00:00Z"); // again: nothing changes
    assertEquals(
      one(f.db, "SELECT state, closed_at FROM settlement_days"),
      { state: "closed", closed_at: "2026-06-25T01:00:00Z" },
    );
    assertThrows(() => f.db.prepare("UPDATE records SET line = 'X'").run());
    assertThrows(() => f.db.prepare("UPDATE settlement_days SET state = 'cleared'").run());
    // a tap of the closed day arriving now is stamped with the next day
    await addTaps(f, [{ card: 9, receivedAt: "2026-06-25T03:00:00Z" }], 20);
    const last = one(f.db, "SELECT tap_day, settlement_day FROM records ORDER BY id DESC LIMIT 1");
    assertEquals(last, { tap_day: FIXTURE_DAY, settlement_day: "2026-06-25" });
    const s = clearDay(f.db, { day: FIXTURE_DAY, by: "t", deny });
    assertEquals([s.state, s.newLines], ["closed", 0]);
    const next = clearDay(f.db, { day: "2026-06-25", by: "t", deny });
    assertEquals([next.newLines, next.outcomes.CLEARED.count], [1, 1]);
  } finally {
    await f.close();
  }
});
