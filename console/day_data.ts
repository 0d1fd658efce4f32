/**
 * The figures of one settlement day for the console's day page (docs/console.md, "The day"),
 * read with plain SQL over the indexes of store step 4, and kept in memory part by part until
 * what a part reads changes: records (a new upload or verdict), clearing lines, ledger entries,
 * debts, the deny list — each checked by its table's highest id (one index probe), so a page of
 * a million-record day is read from memory while the day stands still, and a change reads again
 * only the part it touched.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { DenyChangeRow, OutcomeCount, PartyMoney, TapsByHour } from "../core/report/data.ts";
import { dayPostings, moneyPerParty } from "../core/clearing/ledger.ts";
import { dayState } from "../core/clearing/clear.ts";

type Row = Record<string, unknown>;

export interface DayFigures {
  readonly day: string;
  readonly state: "cleared" | "closed" | "open";
  readonly records: number;
  readonly fen: number;
  readonly tapsByHour: TapsByHour[];
  /** Batches carrying the day's records by the hour they arrived (Shanghai), and their records. */
  readonly uploadsByHour: { hour: number; batches: number; records: number }[];
  /** Terminals with records in the day. */
  readonly terminals: string[];
  /** Verdicts of the day's records (the verification's status, the rejection's code, PENDING). */
  readonly verdicts: { verdict: string; records: number }[];
  readonly outcomes: OutcomeCount[];
  readonly exceptions: {
    id: number;
    terminal: string;
    tappedAt: string;
    pan: string | null;
    reason: string;
    fare: number;
  }[];
  readonly money: PartyMoney[];
  readonly debts: { state: string; debts: number; fen: number }[];
  readonly denyChanges: (DenyChangeRow & { at: string; by: string })[];
}

/** The settlement days of the store, newest first (one index probe per day). */
export function storeDays(db: DatabaseSync): string[] {
  return (db.prepare(
    `WITH RECURSIVE d(day) AS (
       SELECT max(settlement_day) FROM records
       UNION ALL
       SELECT (SELECT max(settlement_day) FROM records WHERE settlement_day < d.day) FROM d
       WHERE d.day IS NOT NULL)
     SELECT day FROM d WHERE day IS NOT NULL LIMIT 400`,
  ).all() as Row[]).map((r) => String(r.day));
}

/** The UTC instants bounding a Shanghai calendar day (UTC+08:00). */
export function dayBounds(day: string): [string, string] {
  const start = Date.parse(`${day}T00:00:00+08:00`);
  return [new Date(start).toISOString(), new Date(start + 86400_000).toISOString()];
}

function tapsAndUploads(db: DatabaseSync, day: string) {
  const taps = db.prepare(
    `SELECT CAST(strftime('%H', tapped_at, '+8 hours') AS INTEGER) AS hour, line,
       count(*) AS n, sum(fare) AS fen
     FROM records WHERE settlement_day = ? GROUP BY hour, line ORDER BY line, hour`,
  ).all(day) as Row[];
  const uploads = (db.prepare(
    `SELECT CAST(strftime('%H', b.received_at, '+8 hours') AS INTEGER) AS hour,
       count(*) AS batches, sum(r0.n) AS records
     FROM (SELECT batch_id, count(*) AS n FROM records WHERE settlement_day = ?
           GROUP BY batch_id) r0
     JOIN batches b ON b.id = r0.batch_id GROUP BY hour ORDER BY hour`,
  ).all(day) as Row[]).map((r) => ({
    hour: Number(r.hour),
    batches: Number(r.batches),
    records: Number(r.records),
  }));
  return {
    tapsByHour: taps.map((r) => ({
      hour: Number(r.hour),
      line: String(r.line),
      taps: Number(r.n),
    })),
    records: taps.reduce((s, r) => s + Number(r.n), 0),
    fen: taps.reduce((s, r) => s + Number(r.fen), 0),
    uploadsByHour: uploads,
  };
}

function clearingOf(db: DatabaseSync, day: string) {
  const outcomes = (db.prepare(
    `SELECT outcome, reason, count(*) AS n, sum(fare) AS fen FROM clearing_lines
     WHERE settlement_day = ? GROUP BY outcome, reason ORDER BY outcome, n DESC`,
  ).all(day) as Row[]).map((r) => ({
    outcome: String(r.outcome),
    reason: String(r.reason),
    records: Number(r.n),
    fen: Number(r.fen),
  }));
  const exceptions = (db.prepare(
    `SELECT c.record_id, c.terminal_id, c.reason, c.fare, r.tapped_at, r.pan_masked
     FROM clearing_lines c JOIN records r ON r.id = c.record_id
     WHERE c.settlement_day = ? AND c.outcome = 'EXCEPTION' ORDER BY c.record_id LIMIT 25`,
  ).all(day) as Row[]).map((r) => ({
    id: Number(r.record_id),
    terminal: String(r.terminal_id),
    tappedAt: String(r.tapped_at),
    pan: r.pan_masked == null ? null : String(r.pan_masked),
    reason: String(r.reason),
    fare: Number(r.fare),
  }));
  return { outcomes, exceptions };
}

function debtsOf(db: DatabaseSync, day: string) {
  const debts = (db.prepare(
    `SELECT state, count(*) AS n, sum(amount) AS fen FROM debts WHERE settlement_day = ?
     GROUP BY state ORDER BY state`,
  ).all(day) as Row[]).map((r) => ({
    state: String(r.state),
    debts: Number(r.n),
    fen: Number(r.fen),
  }));
  return { debts };
}

function denyChangesOf(db: DatabaseSync, day: string) {
  const [from, to] = dayBounds(day);
  return (db.prepare(
    `SELECT version, event, reason, actor, at FROM deny_journal
     WHERE version IS NOT NULL AND at >= ? AND at < ? ORDER BY version`,
  ).all(from, to) as Row[]).map((r) => ({
    version: Number(r.version),
    action: r.event === "hold" ? "add" as const : "remove" as const,
    reason: String(r.reason),
    at: String(r.at),
    by: String(r.actor),
  }));
}

function recordsOf(db: DatabaseSync, day: string) {
  const verdicts = (db.prepare(
    // kept by triggers on records (schema step 8)
    `SELECT verdict, records AS n FROM day_verdicts WHERE settlement_day = ? AND records > 0
     ORDER BY n DESC, verdict`,
  ).all(day) as Row[]).map((r) => ({ verdict: String(r.verdict), records: Number(r.n) }));
  const terminals = (db.prepare(
    "SELECT DISTINCT terminal_id FROM records WHERE settlement_day = ? ORDER BY terminal_id",
  ).all(day) as Row[]).map((r) => String(r.terminal_id));
  return { ...tapsAndUploads(db, day), verdicts, terminals };
}

/**
 * The parts of a day's figures, each with the SQL that tells whether it may have changed (the
 * highest id, or latest time, of what it reads): a new upload reads the records part again, a
 * clearing run the clearing and money parts, and so on.
 */
export const DAY_PARTS = {
  records: {
    // a new upload moves the highest id; a verdict counts its batch's pending work down
    mark: "SELECT (SELECT max(id) FROM records) || '/' || " +
      "(SELECT coalesce(sum(pending), 0) FROM batch_work)",
    read: recordsOf,
  },
  clearing: { mark: "SELECT max(id) FROM clearing_lines", read: clearingOf },
  money: {
    mark: "SELECT max(id) FROM ledger_entries",
    read: (db: DatabaseSync, day: string) => ({ money: moneyPerParty(db, dayPostings(db, day)) }),
  },
  debts: {
    mark: "SELECT (SELECT max(id) FROM debts) || '/' || (SELECT max(id) FROM debt_events)",
    read: debtsOf,
  },
  deny: {
    mark: "SELECT max(id) FROM deny_journal",
    read: (db: DatabaseSync, day: string) => ({ denyChanges: denyChangesOf(db, day) }),
  },
} as const;
type PartName = keyof typeof DAY_PARTS;

function stateOf(db: DatabaseSync, day: string): DayFigures["state"] {
  return dayState(db, day) ?? "open";
}

/** Reads every figure of `day` (no cache). */
export function readDayFigures(db: DatabaseSync, day: string): DayFigures {
  const parts = Object.values(DAY_PARTS).map((p) => p.read(db, day));
  return Object.assign({ day, state: stateOf(db, day) }, ...parts) as DayFigures;
}

/**
 * Day figures kept until what they read changes, part by part (at most `size` days); the
 * figures object is new only when a part (or the day's state) changed, so what is drawn from it
 * can be kept with it.
 */
export class DayCache {
  readonly #days = new Map<
    string,
    { marks: Map<PartName, string>; parts: Map<PartName, object>; figures: DayFigures }
  >();
  readonly #marks: Map<PartName, StatementSync>;
  constructor(private readonly db: DatabaseSync, private readonly size = 8) {
    this.#marks = new Map(
      (Object.keys(DAY_PARTS) as PartName[]).map((k) => [k, db.prepare(DAY_PARTS[k].mark)]),
    );
  }

  get(day: string): DayFigures {
    const hit = this.#days.get(day);
    const marks = new Map<PartName, string>(), parts = new Map<PartName, object>();
    let changed = !hit;
    for (const [k, st] of this.#marks) {
      const mark = String(Object.values(st.get() as Row)[0]);
      marks.set(k, mark);
      if (hit && hit.marks.get(k) === mark) parts.set(k, hit.parts.get(k)!);
      else (parts.set(k, DAY_PARTS[k].read(this.db, day)), changed = true);
    }
    const state = stateOf(this.db, day);
    if (hit && !changed && hit.figures.state === state) return hit.figures;
    const figures = Object.assign({ day, state }, ...parts.values()) as DayFigures;
    this.#days.delete(day);
    this.#days.set(day, { marks, parts, figures });
    if (this.#days.size > this.size) this.#days.delete(this.#days.keys().next().value!);
    return figures;
  }
}
