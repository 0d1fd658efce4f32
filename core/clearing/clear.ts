/**
 * Clearing one settlement day (docs/clearing.md, "icfare clear"): every verified record of the
 * day is decided once by the outcome table (`outcomes.ts`) and written as a clearing line with
 * its ledger entry, its debt (ODA) and its deny-list change, one transaction per chunk. The
 * store holds the invariants: a record has at most one clearing line (UNIQUE), a card's tap is
 * presented at most once (partial UNIQUE on card and ATC), the ledger sums to 0 fen at every
 * commit (`LedgerWriter.seal`), and a closed day takes no new line (trigger).
 *
 * Running it again for the same day finds nothing new and changes nothing. A day with records
 * still waiting for verification is refused (`CLEAR_UNVERIFIED`): clearing half a day and the
 * rest later would split one day's presentment over two clearing files.
 */
import type { SqlDb, SqlStatement } from "../store/sql.ts";
import { IcfareError } from "../errors.ts";
import { toHex } from "../hex.ts";
import { daysBetween, shanghaiDayOf } from "../store/settlement.ts";
import { dateProblem } from "../dates.ts";
import { DebtBook } from "../debts/book.ts";
import type { DenyList } from "../denylist/journal.ts";
import { entries, feeOf, LedgerWriter } from "./ledger.ts";
import { decideOutcome, type Decision, type Model, type Outcome } from "./outcomes.ts";
import { type ClearingSettings, inTransaction, readSettings } from "./settings.ts";

/** What a clearing run needs. */
export interface ClearDayOptions {
  /** The settlement day, `YYYY-MM-DD`. */
  readonly day: string;
  /** Who runs it (deny-list history, day close). */
  readonly by: string;
  readonly deny: DenyList;
  /** The clock for debt creation times (default: the system clock). */
  readonly now?: () => Date;
  /** Records per transaction (default 2,000). */
  readonly chunk?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** A count and an amount in fen. */
export interface Tally {
  count: number;
  amount: number;
}

/** The day's clearing as the store holds it after a run (same numbers on every rerun). */
export interface ClearSummary {
  day: string;
  state: "cleared" | "closed";
  /** Lines this run wrote (0 on a rerun). */
  newLines: number;
  /** Records of the day by outcome. */
  outcomes: Record<Outcome, Tally>;
  /** Exceptions by reason. */
  exceptions: Record<string, Tally>;
  /** Cleared or debt records whose cryptogram the issuer verifies (no-key, unsupported). */
  issuerVerifies: Tally;
  /** Cards put on the deny list by this run. */
  denyAdds: number;
  /** Debts of the day, and how many this run created. */
  debts: { count: number; amount: number; created: number };
  /** Σ fees of the day's lines, fen. */
  fees: number;
  seconds: number;
  perSecond: number;
}

/** Refusals of `clear` and `close`. */
export class ClearError extends IcfareError {
  constructor(code: string, message: string, hint?: string) {
    super(code, message, hint ? { hint } : undefined);
    this.name = "ClearError";
  }
}

type Row = Record<string, unknown>;

const ROWS_SQL = `SELECT r.id, r.line, r.fare, r.card_hash, r.psn, r.atc, r.pan_masked,
    r.tap_day, r.model, r.verification, r.terminal_id, b.merchant_id, b.received_at
  FROM records r JOIN batches b ON b.id = r.batch_id
  WHERE r.settlement_day = ? AND r.status = 'verified' AND r.id > ?
    AND NOT EXISTS (SELECT 1 FROM clearing_lines c WHERE c.record_id = r.id)
  ORDER BY r.id LIMIT ?`;

/** The statements and helpers of one run, over one connection. */
class Run {
  readonly s: Record<string, SqlStatement>;
  readonly ledger: LedgerWriter;
  readonly debts: DebtBook;
  denyAdds = 0;
  debtsCreated = 0;
  /** Lateness by tap day and receipt time (a batch's records share them). */
  readonly #late = new Map<string, boolean>();

  constructor(
    readonly db: SqlDb,
    readonly o: ClearDayOptions,
    readonly settings: ClearingSettings,
  ) {
    this.ledger = new LedgerWriter(db);
    this.debts = new DebtBook(db, o.deny, o.by);
    this.s = {
      rows: db.prepare(ROWS_SQL),
      line: db.prepare(
        `INSERT INTO clearing_lines (record_id, settlement_day, outcome, reason, rule, model,
           issuer_verifies, fare, fee, fee_bp, bin, card_hash, psn, atc, terminal_id, merchant_id,
           line, deny_reason, deny_version, entry_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
  }

  /** The table's decision for a stored record: its verdict, model and lateness. */
  decide(r: Row): { d: Decision; model: Model } {
    const verdict = JSON.parse(String(r.verification)) as {
      status: string;
      detail?: Record<string, unknown>;
    };
    const det = verdict.detail ?? {};
    const model = (r.model === "ODA" ? "ODA" : "EC") as Model;
    const lateKey = `${r.tap_day}|${r.received_at}`;
    let late = this.#late.get(lateKey);
    if (late === undefined) {
      late = daysBetween(String(r.tap_day), shanghaiDayOf(String(r.received_at))) >
        this.settings.presentmentDays;
      this.#late.set(lateKey, late);
    }
    const d = decideOutcome({
      status: verdict.status,
      model,
      cryptogram: String(det.cryptogram ?? "unsupported"),
      oda: String(det.oda ?? "absent"),
      cryptogramType: det.cryptogramType === undefined ? undefined : String(det.cryptogramType),
      odaCheck: det.odaCheck === undefined ? undefined : String(det.odaCheck),
      late,
    });
    return { d, model };
  }

  /** Decides and writes one record (inside the chunk's transaction). */
  one(r: Row): void {
    const day = this.o.day;
    const { d, model } = this.decide(r);
    const id = Number(r.id), fare = Number(r.fare);
    const bp = this.settings.feeBp[model];
    const fee = d.ledger === "none" ? 0 : feeOf(fare, bp);
    const bin = r.pan_masked == null ? null : String(r.pan_masked).slice(0, 6);
    const cardHash = r.card_hash == null ? null : new Uint8Array(r.card_hash as Uint8Array);
    const psn = r.psn == null ? "00" : String(r.psn);
    const merchant = String(r.merchant_id), line = String(r.line);
    if (d.ledger !== "none" && (bin === null || cardHash === null)) {
      throw new Error(`record ${id}: ${d.outcome} without a card (a verified OK record has one)`);
    }
    let denyVersion: number | null = null;
    if (d.deny && cardHash) {
      const before = this.o.deny.version();
      denyVersion = this.o.deny.add(
        { cardHash: toHex(cardHash), psn },
        d.deny,
        this.o.by,
        `record:${id}`,
      );
      if (denyVersion !== before) this.denyAdds++;
    }
    let debtId: number | null = null;
    if (d.outcome === "DEBT") {
      debtId = this.debts.create({
        recordId: id,
        cardHash: cardHash!,
        psn,
        bin: bin!,
        day,
        fare,
        mode: this.settings.fareMode,
        at: (this.o.now?.() ?? new Date()).toISOString(),
      });
      this.debtsCreated++;
    }
    let entryId: number | null = null;
    if (d.ledger !== "none") {
      const party = { recordId: id, day, fare, fee, bin: bin!, merchant, line, debtId };
      entryId = this.ledger.post(entries[d.ledger === "receivable" ? "clear" : d.ledger](party));
    }
    this.s.line.run(
      id,
      day,
      d.outcome,
      d.reason,
      d.rule,
      model,
      d.issuerVerifies ? 1 : 0,
      fare,
      fee,
      bp,
      bin,
      cardHash,
      r.psn == null ? null : String(r.psn),
      r.atc == null ? null : Number(r.atc),
      String(r.terminal_id),
      merchant,
      line,
      d.deny && cardHash ? d.deny : null,
      denyVersion,
      entryId,
    );
  }
}

/** The day's state, or null when it was never cleared. */
export function dayState(db: SqlDb, day: string): "cleared" | "closed" | null {
  const r = db.prepare("SELECT state FROM settlement_days WHERE day = ?").get(day) as
    | Row
    | undefined;
  return r ? (r.state as "cleared" | "closed") : null;
}

function count(db: SqlDb, sql: string, ...args: (string | number)[]): number {
  return Number((db.prepare(sql).get(...args) as Row).n);
}

/** Throws `CLEAR_DATE` unless `day` is a real `YYYY-MM-DD`. */
export function checkDay(day: string): void {
  const problem = dateProblem(day);
  if (problem) throw new ClearError("CLEAR_DATE", `settlement day: ${problem}`);
}

/**
 * Clears one settlement day. Refuses (`CLEAR_UNVERIFIED`) while any of its records waits for
 * verification. On a closed day it writes nothing and reports what is there.
 */
export function clearDay(db: SqlDb, o: ClearDayOptions): ClearSummary {
  checkDay(o.day);
  const t0 = performance.now();
  const chunk = o.chunk ?? 2000;
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new RangeError(`chunk must be ≥ 1, got ${chunk}`);
  }
  const pending = count(
    db,
    // through a partial index of pending records (SQLite: by day; PostgreSQL: by id)
    "SELECT count(*) AS n FROM records WHERE settlement_day = ? AND status = 'pending'",
    o.day,
  );
  if (pending > 0) {
    throw new ClearError(
      "CLEAR_UNVERIFIED",
      `${pending} record(s) of ${o.day} are not verified yet; nothing cleared`,
      "run icfare verify, then clear again",
    );
  }
  let newLines = 0;
  const run = new Run(db, o, readSettings(db));
  if (dayState(db, o.day) !== "closed") {
    const total = count(
      db,
      `SELECT count(*) AS n FROM records r WHERE r.settlement_day = ? AND r.status = 'verified'
       AND NOT EXISTS (SELECT 1 FROM clearing_lines c WHERE c.record_id = r.id)`,
      o.day,
    );
    inTransaction(db, () => {
      db.prepare(
        "INSERT INTO settlement_days (day, state) VALUES (?, 'cleared') ON CONFLICT DO NOTHING",
      ).run(o.day);
    });
    let after = 0;
    for (;;) {
      const rows = run.s.rows.all(o.day, after, chunk) as Row[];
      if (rows.length === 0) break;
      after = Number(rows[rows.length - 1].id);
      try {
        inTransaction(db, () => {
          for (const r of rows) run.one(r);
          run.ledger.seal();
        });
      } catch (e) {
        run.ledger.reset();
        throw e;
      }
      newLines += rows.length;
      o.onProgress?.(newLines, total);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const s = daySummary(db, o.day);
  return {
    ...s,
    newLines,
    denyAdds: run.denyAdds,
    debts: { ...s.debts, created: run.debtsCreated },
    seconds,
    perSecond: seconds > 0 ? Math.round(newLines / seconds) : 0,
  };
}

/** The day's lines summed by outcome and reason (what `clear` reports; no run figures). */
export function daySummary(
  db: SqlDb,
  day: string,
): Omit<ClearSummary, "newLines" | "denyAdds" | "seconds" | "perSecond"> {
  const outcomes = {
    CLEARED: { count: 0, amount: 0 },
    DEBT: { count: 0, amount: 0 },
    EXCEPTION: { count: 0, amount: 0 },
    DUPLICATE: { count: 0, amount: 0 },
  } as Record<Outcome, Tally>;
  const exceptions: Record<string, Tally> = {};
  const issuerVerifies = { count: 0, amount: 0 };
  let fees = 0;
  const rows = db.prepare(
    `SELECT outcome, reason, issuer_verifies, count(*) AS n, sum(fare) AS fen, sum(fee) AS fee
     FROM clearing_lines WHERE settlement_day = ? GROUP BY outcome, reason, issuer_verifies
     ORDER BY outcome, reason, issuer_verifies`,
  ).all(day) as Row[];
  for (const r of rows) {
    const n = Number(r.n), fen = Number(r.fen);
    const o = outcomes[r.outcome as Outcome];
    o.count += n;
    o.amount += fen;
    fees += Number(r.fee);
    if (r.outcome === "EXCEPTION") {
      const t = exceptions[String(r.reason)] ??= { count: 0, amount: 0 };
      t.count += n;
      t.amount += fen;
    }
    if (Number(r.issuer_verifies) === 1 && (r.outcome === "CLEARED" || r.outcome === "DEBT")) {
      issuerVerifies.count += n;
      issuerVerifies.amount += fen;
    }
  }
  const debts = db.prepare(
    "SELECT count(*) AS n, coalesce(sum(amount), 0) AS fen FROM debts WHERE settlement_day = ?",
  ).get(day) as Row;
  return {
    day,
    state: dayState(db, day) === "closed" ? "closed" : "cleared",
    outcomes,
    exceptions,
    issuerVerifies,
    fees,
    debts: { count: Number(debts.n), amount: Number(debts.fen), created: 0 },
  };
}

/**
 * Closes a cleared day: its records are frozen (triggers refuse changes and new records), and
 * records that arrive for it later go to the next open day. Refused while a record of the day
 * is unverified or has no clearing line (`DAY_NOT_CLEARED`). Closing a closed day changes
 * nothing.
 */
export function closeDay(db: SqlDb, day: string, by: string, at: string): void {
  checkDay(day);
  inTransaction(db, () => {
    if (dayState(db, day) === "closed") return;
    const open = count(
      db,
      `SELECT count(*) AS n FROM records r WHERE r.settlement_day = ? AND (r.status = 'pending'
       OR (r.status = 'verified'
         AND NOT EXISTS (SELECT 1 FROM clearing_lines c WHERE c.record_id = r.id)))`,
      day,
    );
    if (open > 0 || dayState(db, day) === null) {
      throw new ClearError(
        "DAY_NOT_CLEARED",
        `${day} has ${open} record(s) not verified or not cleared; not closed`,
        `run icfare verify and icfare clear --date ${day} first`,
      );
    }
    db.prepare(
      "UPDATE settlement_days SET state = 'closed', closed_at = ?, closed_by = ? WHERE day = ?",
    ).run(at, by, day);
  });
}
