/**
 * The demo's money end: every record's outcome in clearing held against the simulator's money
 * truth (sim/outcomes.ts), and the figures the report draws (outcomes by reason, with fares).
 *
 * The final state of each record is what `icfare clear` stored (`recordStates` of
 * core/clearing/reports.ts), and for a debt what its collection made of it: RECOVERED or
 * WRITTEN_OFF, as the truth's `debtEnd` says.
 */
import { withOffice } from "./steps.ts";
import { recordStates } from "../core/clearing/reports.ts";
import type { OutcomeCount } from "../core/report/data.ts";
import type { TruthRow } from "../sim/day.ts";

/** The final state of one stored record (`REJECTED` for one the upload refused). */
export interface StoredOutcome {
  outcome: string;
  reason: string;
  fare: number;
}

/** Every record's final state against its truth row. */
export interface OutcomeCheck {
  rows: number;
  agree: number;
  disagreements: string[];
  /** Records and fares by outcome and reason (rejected records left out). */
  outcomes: OutcomeCount[];
  /** Cleared records and their fares, as the truth has them and as clearing made them. */
  cleared: { truth: { count: number; fen: number }; store: { count: number; fen: number } };
  /** The debts the truth expects (count and fares). */
  debts: { count: number; fen: number };
}

/** Every cleared record of `day` with its final state, keyed `terminal/batch/seq`. */
export function storedOutcomes(home: string, day: string): Promise<Map<string, StoredOutcome>> {
  return withOffice(home, ({ db }) =>
    new Map(
      recordStates(db, day).map((r) => [
        `${r.terminalId}/${r.batchNo}/${r.seq}`,
        { outcome: r.state, reason: r.reason ?? "", fare: r.fare },
      ]),
    ));
}

/** Why a stored outcome disagrees with the truth, or null. */
function disagreement(t: TruthRow, s: StoredOutcome | undefined): string | null {
  if (!s) return "not in the store";
  if (t.outcome === "REJECTED") return s.outcome === "REJECTED" ? null : `store has ${s.outcome}`;
  // A debt collected (or written off) ends as the truth's `debtEnd`; one not yet collected is DEBT.
  const collected = t.outcome === "DEBT" && s.outcome !== "DEBT" && t.debtEnd;
  const want = t.outcome === "EXCEPTION"
    ? `EXCEPTION ${t.reason}`
    : collected
    ? t.debtEnd!
    : t.outcome;
  const got = s.outcome === "EXCEPTION" ? `EXCEPTION ${s.reason}` : s.outcome;
  return want === got ? null : `expected ${want}, clearing made ${got}`;
}

/** Every truth row's outcome against the stored one; the figures for the report. */
export function checkOutcomes(
  truth: readonly TruthRow[],
  stored: ReadonlyMap<string, StoredOutcome>,
): OutcomeCheck {
  const dis: string[] = [];
  let agree = 0;
  const tc = { count: 0, fen: 0 }, td = { count: 0, fen: 0 };
  for (const t of truth) {
    const k = `${t.terminalId}/${t.batchNo}/${t.seq}`;
    const why = disagreement(t, stored.get(k));
    if (why === null) agree++;
    else dis.push(`${k} (${t.pan}, ATC ${t.atc}): ${why}`);
    if (t.outcome === "CLEARED") (tc.count++, tc.fen += t.fare);
    if (t.outcome === "DEBT") (td.count++, td.fen += t.fare);
  }
  const by = new Map<string, OutcomeCount>();
  const sc = { count: 0, fen: 0 };
  for (const s of stored.values()) {
    if (s.outcome === "REJECTED") continue;
    if (s.outcome === "CLEARED") (sc.count++, sc.fen += s.fare);
    const k = `${s.outcome}\u0000${s.reason}`;
    const o = by.get(k);
    by.set(k, {
      outcome: s.outcome,
      reason: s.reason,
      records: (o?.records ?? 0) + 1,
      fen: (o?.fen ?? 0) + s.fare,
    });
  }
  return {
    rows: truth.length,
    agree,
    disagreements: dis.slice(0, 50),
    outcomes: [...by.values()].sort((a, b) => b.records - a.records),
    cleared: { truth: tc, store: sc },
    debts: td,
  };
}
