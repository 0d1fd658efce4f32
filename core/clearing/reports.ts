/**
 * Settlement and reconciliation of one day (docs/clearing.md, "Settlement and
 * reconciliation"), from the store alone and in a fixed order, so a rerun gives the same bytes.
 *
 * - **Settlement**: what the day's clearing owes whom — per issuer (BIN) the cleared fares it
 *   owes and the debts to collect from its cards, per bus company and line the gross fares, the
 *   fee and the net payable, per terminal its outcomes; totals that must tie out.
 * - **Reconciliation**: per batch with records in the day, the terminal's declared totals
 *   against what was stored, rejected at upload, stamped with this day or another, and how the
 *   day's records ended (cleared, debt, each exception reason, duplicate); every difference has
 *   its reason. EC balances per card come from the day-files pass (`day_files.ts`).
 */
import type { SqlDb } from "../store/sql.ts";
import type { Tally } from "./clear.ts";

type Row = Record<string, unknown>;

export interface SettlementReport {
  day: string;
  issuers: { bin: string; cleared: Tally; debts: Tally; issuerVerifies: number }[];
  payees: {
    merchant: string;
    line: string;
    records: number;
    gross: number;
    fees: number;
    net: number;
    late: Tally;
  }[];
  terminals: { terminal: string; outcomes: Record<string, Tally> }[];
  totals: {
    cleared: Tally;
    debts: Tally;
    late: Tally;
    fees: number;
    netPayable: number;
    /** Σ cleared + Σ debts + Σ late − Σ fees − Σ net payable: 0 when the day ties out. */
    difference: number;
  };
}

const tally = (n: unknown, fen: unknown): Tally => ({ count: Number(n), amount: Number(fen ?? 0) });

/** The settlement report of `day` from its clearing lines. */
export function settlementReport(db: SqlDb, day: string): SettlementReport {
  const issuers = (db.prepare(
    `SELECT bin,
       count(CASE WHEN outcome = 'CLEARED' THEN 1 END) AS cn, sum(CASE WHEN outcome = 'CLEARED' THEN fare END) AS cf,
       count(CASE WHEN outcome = 'DEBT' THEN 1 END) AS dn, sum(CASE WHEN outcome = 'DEBT' THEN fare END) AS df,
       sum(issuer_verifies) AS iv
     FROM clearing_lines WHERE settlement_day = ? AND outcome IN ('CLEARED', 'DEBT')
     GROUP BY bin ORDER BY bin`,
  ).all(day) as Row[]).map((r) => ({
    bin: String(r.bin),
    cleared: tally(r.cn, r.cf),
    debts: tally(r.dn, r.df),
    issuerVerifies: Number(r.iv),
  }));
  const payees = (db.prepare(
    `SELECT merchant_id, line, count(*) AS n, sum(fare) AS gross, sum(fee) AS fees,
       count(CASE WHEN reason = 'LATE' THEN 1 END) AS ln, sum(CASE WHEN reason = 'LATE' THEN fare END) AS lf
     FROM clearing_lines WHERE settlement_day = ? AND entry_id IS NOT NULL
     GROUP BY merchant_id, line ORDER BY merchant_id, line`,
  ).all(day) as Row[]).map((r) => ({
    merchant: String(r.merchant_id),
    line: String(r.line),
    records: Number(r.n),
    gross: Number(r.gross),
    fees: Number(r.fees),
    net: Number(r.gross) - Number(r.fees),
    late: tally(r.ln, r.lf),
  }));
  const terminals = new Map<string, Record<string, Tally>>();
  for (
    const r of db.prepare(
      `SELECT terminal_id, outcome, count(*) AS n, sum(fare) AS fen FROM clearing_lines
       WHERE settlement_day = ? GROUP BY terminal_id, outcome ORDER BY terminal_id, outcome`,
    ).all(day) as Row[]
  ) {
    const t = terminals.get(String(r.terminal_id)) ?? {};
    t[String(r.outcome)] = tally(r.n, r.fen);
    terminals.set(String(r.terminal_id), t);
  }
  const sum = (f: (x: typeof issuers[number]) => Tally) =>
    issuers.reduce((s, x) => ({ count: s.count + f(x).count, amount: s.amount + f(x).amount }), {
      count: 0,
      amount: 0,
    });
  const cleared = sum((x) => x.cleared), debts = sum((x) => x.debts);
  const late = payees.reduce(
    (s, p) => ({ count: s.count + p.late.count, amount: s.amount + p.late.amount }),
    { count: 0, amount: 0 },
  );
  const fees = payees.reduce((s, p) => s + p.fees, 0);
  const netPayable = payees.reduce((s, p) => s + p.net, 0);
  return {
    day,
    issuers,
    payees,
    terminals: [...terminals].map(([terminal, outcomes]) => ({ terminal, outcomes })),
    totals: {
      cleared,
      debts,
      late,
      fees,
      netPayable,
      difference: cleared.amount + debts.amount + late.amount - fees - netPayable,
    },
  };
}

/** One batch's reconciliation row. */
export interface BatchReconciliation {
  terminal: string;
  batchNo: number;
  declared: Tally;
  stored: Tally;
  rejectedAtUpload: Record<string, Tally>;
  otherDays: Tally;
  inDay: Tally;
  /** The day's records of this batch by final clearing state (`CLEARED`, `EXCEPTION:LATE`, …). */
  outcomes: Record<string, Tally>;
  /** Differences left unexplained: each must be empty. */
  unexplained: string[];
}

/** A card whose EC balance did not fall by the fare between two consecutive taps. */
export interface BalanceFlag {
  card: string;
  pan: string;
  atcFrom: number;
  atcTo: number;
  before: number;
  fare: number;
  expected: number;
  got: number;
}

export interface ReconciliationReport {
  day: string;
  batches: BatchReconciliation[];
  byTerminal: {
    terminal: string;
    declared: Tally;
    inDay: Tally;
    outcomes: Record<string, Tally>;
  }[];
  byLine: { line: string; inDay: Tally; outcomes: Record<string, Tally> }[];
  byIssuer: { bin: string; inDay: Tally; outcomes: Record<string, Tally> }[];
  ecBalances: { cards: number; pairs: number; flagged: BalanceFlag[] };
  /** Every batch reconciles (no unexplained difference). */
  balanced: boolean;
}

function add(m: Record<string, Tally>, k: string, n: number, fen: number): void {
  const t = m[k] ??= { count: 0, amount: 0 };
  t.count += n;
  t.amount += fen;
}

const STATE = `CASE WHEN c.outcome IS NULL THEN 'NOT_CLEARED:' || r.status
  WHEN c.outcome = 'EXCEPTION' THEN 'EXCEPTION:' || c.reason ELSE c.outcome END`;

function batchesOf(db: SqlDb, day: string): BatchReconciliation[] {
  const out = new Map<number, BatchReconciliation>();
  for (
    const r of db.prepare(
      `SELECT b.id, b.terminal_id, b.batch_no, b.record_count, b.amount,
         r.settlement_day = ? AS in_day, r.status, r.reject_code, ${STATE} AS state,
         count(*) AS n, sum(r.fare) AS fen
       FROM batches b JOIN records r ON r.batch_id = b.id
       LEFT JOIN clearing_lines c ON c.record_id = r.id
       WHERE b.id IN (SELECT DISTINCT batch_id FROM records WHERE settlement_day = ?)
       GROUP BY b.id, in_day, r.status, r.reject_code, state
       ORDER BY b.terminal_id, b.batch_no, in_day, r.status, r.reject_code, state`,
    ).all(day, day) as Row[]
  ) {
    const id = Number(r.id);
    let b = out.get(id);
    if (!b) {
      b = {
        terminal: String(r.terminal_id),
        batchNo: Number(r.batch_no),
        declared: tally(r.record_count, r.amount),
        stored: { count: 0, amount: 0 },
        rejectedAtUpload: {},
        otherDays: { count: 0, amount: 0 },
        inDay: { count: 0, amount: 0 },
        outcomes: {},
        unexplained: [],
      };
      out.set(id, b);
    }
    const n = Number(r.n), fen = Number(r.fen);
    b.stored.count += n;
    b.stored.amount += fen;
    if (r.status === "rejected") add(b.rejectedAtUpload, String(r.reject_code), n, fen);
    else if (Number(r.in_day) === 1) {
      b.inDay.count += n;
      b.inDay.amount += fen;
      add(b.outcomes, String(r.state), n, fen);
    } else {
      b.otherDays.count += n;
      b.otherDays.amount += fen;
    }
  }
  for (const b of out.values()) b.unexplained = unexplained(b);
  return [...out.values()];
}

/** Differences a batch row does not explain (declared ≠ stored ≠ its parts). */
function unexplained(b: BatchReconciliation): string[] {
  const u: string[] = [];
  if (b.declared.count !== b.stored.count || b.declared.amount !== b.stored.amount) {
    u.push(
      `declared ${b.declared.count}/${b.declared.amount} ≠ stored ${b.stored.count}/${b.stored.amount}`,
    );
  }
  const rej = Object.values(b.rejectedAtUpload);
  const parts = [b.inDay, b.otherDays, ...rej];
  const pc = parts.reduce((s, t) => s + t.count, 0), pa = parts.reduce((s, t) => s + t.amount, 0);
  if (pc !== b.stored.count || pa !== b.stored.amount) {
    u.push("stored ≠ rejected + this day + other days");
  }
  for (const k of Object.keys(b.outcomes)) {
    if (k.startsWith("NOT_CLEARED")) u.push(`${k}: ${b.outcomes[k].count}`);
  }
  return u;
}

function grouped(db: SqlDb, day: string, key: string) {
  const m = new Map<string, { inDay: Tally; outcomes: Record<string, Tally> }>();
  for (
    const r of db.prepare(
      `SELECT ${key} AS k, ${STATE} AS state, count(*) AS n, sum(r.fare) AS fen
       FROM records r LEFT JOIN clearing_lines c ON c.record_id = r.id
       WHERE r.settlement_day = ? AND r.status <> 'rejected'
       GROUP BY k, state ORDER BY k, state`,
    ).all(day) as Row[]
  ) {
    const k = String(r.k ?? "-");
    const g = m.get(k) ?? { inDay: { count: 0, amount: 0 }, outcomes: {} };
    g.inDay.count += Number(r.n);
    g.inDay.amount += Number(r.fen);
    add(g.outcomes, String(r.state), Number(r.n), Number(r.fen));
    m.set(k, g);
  }
  return [...m];
}

/** The reconciliation report of `day`; `balances` from the day-files pass. */
export function reconciliationReport(
  db: SqlDb,
  day: string,
  balances: ReconciliationReport["ecBalances"],
): ReconciliationReport {
  const batches = batchesOf(db, day);
  const declared = new Map<string, Tally>();
  for (const b of batches) {
    const t = declared.get(b.terminal) ?? { count: 0, amount: 0 };
    declared.set(b.terminal, {
      count: t.count + b.declared.count,
      amount: t.amount + b.declared.amount,
    });
  }
  return {
    day,
    batches,
    byTerminal: grouped(db, day, "r.terminal_id").map(([terminal, g]) => ({
      terminal,
      declared: declared.get(terminal) ?? { count: 0, amount: 0 },
      ...g,
    })),
    byLine: grouped(db, day, "r.line").map(([line, g]) => ({ line, ...g })),
    byIssuer: grouped(db, day, "substr(r.pan_masked, 1, 6)").map(([bin, g]) => ({ bin, ...g })),
    ecBalances: balances,
    balanced: batches.every((b) => b.unexplained.length === 0),
  };
}

/** A point of a card's EC balance: after the tap with this ATC. */
export interface BalancePoint {
  card: string;
  pan: string;
  atc: number;
  fare: number;
  balance: number;
}

/**
 * EC balances per card: over consecutive ATCs of one card (nothing else can have happened on
 * the card between them) the balance must fall by exactly the fare; every other pair is
 * flagged. Pairs with an ATC gap are not judged (the card was used elsewhere, or loaded).
 */
export function balanceTrend(points: BalancePoint[]): ReconciliationReport["ecBalances"] {
  const byCard = new Map<string, BalancePoint[]>();
  for (const p of points) {
    const l = byCard.get(p.card) ?? [];
    l.push(p);
    byCard.set(p.card, l);
  }
  let pairs = 0;
  const flagged: BalanceFlag[] = [];
  for (const [card, l] of [...byCard].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    l.sort((a, b) => a.atc - b.atc);
    for (let i = 1; i < l.length; i++) {
      const a = l[i - 1], b = l[i];
      if (b.atc !== a.atc + 1) continue;
      pairs++;
      const expected = a.balance - b.fare;
      if (b.balance !== expected) {
        flagged.push({
          card,
          pan: b.pan,
          atcFrom: a.atc,
          atcTo: b.atc,
          before: a.balance,
          fare: b.fare,
          expected,
          got: b.balance,
        });
      }
    }
  }
  return { cards: byCard.size, pairs, flagged };
}

/** One record's final state for a truth comparison (the demo, the archive). */
export interface RecordState {
  terminalId: string;
  batchNo: number;
  seq: number;
  fare: number;
  /**
   * `REJECTED` (at upload), `PENDING` (not verified), `UNCLEARED` (verified, day not cleared),
   * an outcome, or for a debt its end: `RECOVERED`, `WRITTEN_OFF` (else `DEBT`).
   */
  state: string;
  /** The exception reason, the upload reject code, or the kind of presentment. */
  reason: string | null;
  debtState: string | null;
}

/** Every record stamped with `day`, in (terminal, batch, seq) order, with its final state. */
export function recordStates(db: SqlDb, day: string): RecordState[] {
  return (db.prepare(
    `SELECT r.terminal_id, r.batch_no, r.seq, r.fare, r.status, r.reject_code, c.outcome,
       c.reason, d.state AS debt_state
     FROM records r LEFT JOIN clearing_lines c ON c.record_id = r.id
     LEFT JOIN debt_records dr ON dr.record_id = r.id LEFT JOIN debts d ON d.id = dr.debt_id
     WHERE r.settlement_day = ? ORDER BY r.terminal_id, r.batch_no, r.seq`,
  ).all(day) as Row[]).map((r) => {
    const debt = r.debt_state == null ? null : String(r.debt_state);
    let state = r.status === "rejected"
      ? "REJECTED"
      : r.status === "pending"
      ? "PENDING"
      : r.outcome == null
      ? "UNCLEARED"
      : String(r.outcome);
    if (debt === "recovered") state = "RECOVERED";
    if (debt === "written_off") state = "WRITTEN_OFF";
    return {
      terminalId: String(r.terminal_id),
      batchNo: Number(r.batch_no),
      seq: Number(r.seq),
      fare: Number(r.fare),
      state,
      reason: r.status === "rejected"
        ? String(r.reject_code)
        : r.reason == null
        ? null
        : String(r.reason),
      debtState: debt,
    };
  });
}
