/**
 * The EC balance a verdict carries (the card's IDD, issue 13 item 5) reaches clearing through
 * one column, `records.ec_balance` (store migration 4), and clearing's balance trend judges it
 * (docs/clearing.md, "EC balances"): over consecutive ATCs the balance falls by the fare.
 */
import { assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { addTaps, FIXTURE_DAY, fixtureStore, MemoryDenyList } from "./support/clear_day.ts";
import { clearDay } from "../core/clearing/clear.ts";
import { writeDayFiles } from "../core/clearing/day_files.ts";
import { clearingKeyFrom } from "../core/clearing/clearing_key.ts";

Deno.test("clearing reads the verdict's EC balance from records.ec_balance and flags a wrong fall", async () => {
  const f = await fixtureStore();
  try {
    // One card, ATCs 1-3, fare 200: 1000 → 800 falls by the fare; 800 → 500 does not.
    const ids = await addTaps(f, [
      { card: 5, atc: 1, fare: 200, ecBalance: 1000 },
      { card: 5, atc: 2, fare: 200, ecBalance: 800 },
      { card: 5, atc: 3, fare: 200, ecBalance: 500 },
      { card: 6, atc: 1, fare: 200 }, // no balance in its verdict: NULL
    ]);
    const col = ids.map((id) =>
      (f.db.prepare("SELECT ec_balance FROM records WHERE id = ?").get(id) as {
        ec_balance: number | null;
      }).ec_balance
    );
    assertEquals(col.map((v) => (v === null ? null : Number(v))), [1000, 800, 500, null]);
    clearDay(f.db, {
      day: FIXTURE_DAY,
      by: "test",
      deny: new MemoryDenyList(),
      now: () => new Date(0),
    });
    const key = await clearingKeyFrom(new Uint8Array(32).fill(7), "clearing-1", "ABCDEF");
    const out = await writeDayFiles({
      db: f.db,
      pan: f.pan,
      key,
      day: FIXTURE_DAY,
      dir: join(f.dir, "out"),
    });
    assertEquals(out.balanceFlags, 1);
    const rec = JSON.parse(
      await Deno.readTextFile(join(f.dir, "out", `reconciliation-${FIXTURE_DAY}.json`)),
    );
    const e = rec.ecBalances;
    assertEquals([e.pairs, e.flagged.length], [2, 1]);
    const flag = e.flagged[0];
    assertEquals(
      [flag.atcFrom, flag.atcTo, flag.before, flag.fare, flag.expected, flag.got],
      [2, 3, 800, 200, 600, 500],
    );
  } finally {
    await f.close();
  }
});
