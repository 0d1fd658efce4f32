/**
 * The demo's money end: every record's outcome in clearing held against the simulator's money
 * truth (sim/outcomes.ts), and the figures the report draws (outcomes by reason, with fares).
 *
 * The outcome of each verified record comes from the clearing table (`decideOutcome` of
 * core/clearing/outcomes.ts) over its stored verdict and its terminal's model.
 */
import { join } from "node:path";
import { openSqliteStore, STORE_FILE } from "../core/store/sqlite.ts";
import { decideOutcome, type Model } from "../core/clearing/outcomes.ts";
import type { OutcomeCount, PartyMoney } from "../core/report/data.ts";
import type { TruthRow } from "../sim/day.ts";

/** The outcome of one stored record (`REJECTED` for one the upload refused). */
export interface StoredOutcome {
  outcome: string;
  reason: string;
  fare: number;
  deny: string | null;
  /** The card's BIN (first six digits of the masked PAN) and the tap's line. */
  bin: string;
  line: string;
}

/** Every record's outcome against its truth row. */
export interface OutcomeCheck {
  rows: number;
  agree: number;
  disagreements: string[];
  /** Records and fares by outcome and reason (rejected records left out). */
  outcomes: OutcomeCount[];
  /** Cleared records and their fares, as the truth has them and as clearing made them. */
  cleared: { truth: { count: number; fen: number }; store: { count: number; fen: number } };
  /** Cards the table puts on the deny list (records whose row names a reason). */
  denyAdds: number;
}

type Row = Record<string, unknown>;

/** Decides every stored record's outcome, keyed `terminal/batch/seq`. */
export function storedOutcomes(
  home: string,
  modelOf: (terminalId: string) => Model,
): Map<string, StoredOutcome> {
  const store = openSqliteStore(join(home, STORE_FILE));
  const out = new Map<string, StoredOutcome>();
  try {
    const rows = store.connection.prepare(
      `SELECT terminal_id, batch_no, seq, status, reject_code, verification, fare, pan_masked, line
       FROM records`,
    ).all() as Row[];
    for (const r of rows) {
      const key = `${r.terminal_id}/${r.batch_no}/${r.seq}`;
      const fare = Number(r.fare);
      const where = {
        bin: String(r.pan_masked ?? "").slice(0, 6) || "unknown",
        line: String(r.line),
      };
      if (r.status !== "verified" || r.verification == null) {
        out.set(key, {
          outcome: "REJECTED",
          reason: String(r.reject_code),
          fare,
          deny: null,
          ...where,
        });
        continue;
      }
      const v = JSON.parse(String(r.verification)) as {
        status: string;
        detail: { cryptogram: string; oda: string; cryptogramType?: string; odaCheck?: string };
      };
      const d = decideOutcome({
        status: v.status,
        model: modelOf(String(r.terminal_id)),
        cryptogram: v.detail.cryptogram,
        oda: v.detail.oda,
        cryptogramType: v.detail.cryptogramType,
        odaCheck: v.detail.odaCheck,
        late: false,
      });
      out.set(key, { outcome: d.outcome, reason: d.reason, fare, deny: d.deny, ...where });
    }
  } finally {
    store.close();
  }
  return out;
}

/** Why a stored outcome disagrees with the truth, or null. */
function disagreement(t: TruthRow, s: StoredOutcome | undefined): string | null {
  if (!s) return "not in the store";
  if (t.outcome === "REJECTED") return s.outcome === "REJECTED" ? null : `store has ${s.outcome}`;
  const want = t.outcome === "EXCEPTION" ? `EXCEPTION ${t.reason}` : t.outcome;
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
  const tc = { count: 0, fen: 0 };
  for (const t of truth) {
    const k = `${t.terminalId}/${t.batchNo}/${t.seq}`;
    const why = disagreement(t, stored.get(k));
    if (why === null) agree++;
    else dis.push(`${k} (${t.pan}, ATC ${t.atc}): ${why}`);
    if (t.outcome === "CLEARED") (tc.count++, tc.fen += t.fare);
  }
  const by = new Map<string, OutcomeCount>();
  const sc = { count: 0, fen: 0 };
  let denyAdds = 0;
  for (const s of stored.values()) {
    if (s.outcome === "REJECTED") continue;
    if (s.outcome === "CLEARED") (sc.count++, sc.fen += s.fare);
    if (s.deny) denyAdds++;
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
    denyAdds,
  };
}

/**
 * Gross money per party from the day's outcomes, before fees: each issuer owes its cleared
 * fares and the fares of its cards' debts; the bus company is owed them, per line. The lines
 * sum to 0 fen.
 */
export function grossMoney(stored: ReadonlyMap<string, StoredOutcome>): PartyMoney[] {
  const m = new Map<string, PartyMoney>();
  const add = (party: string, account: string, fen: number) => {
    const k = `${party}\u0000${account}`;
    m.set(k, { party, account, fen: (m.get(k)?.fen ?? 0) + fen });
  };
  for (const s of stored.values()) {
    if (s.outcome !== "CLEARED" && s.outcome !== "DEBT") continue;
    const account = s.outcome === "CLEARED" ? "cleared fares" : "debts to collect";
    add(`issuer ${s.bin}`, account, -s.fare);
    add("bus company", `line ${s.line}`, s.fare);
  }
  return [...m.values()].sort((a, b) =>
    a.party < b.party ? -1 : a.party > b.party ? 1 : a.account < b.account ? -1 : 1
  );
}
