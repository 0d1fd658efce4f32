/**
 * The data behind a day's report (docs/clearing.md, "Report"): plain, serialisable rows that the
 * charts (`charts.ts`) and the page (`html.ts`) read, so the demo's report and the operator
 * console show the same figures from the same shape. PANs appear only masked (first 6, last 4).
 *
 * `storeFigures` reads the parts every store has (taps per hour and line, verdicts) with plain
 * SQL; clearing, the ledger, the deny list and reconciliation come from their own modules.
 */
import type { SqlDb } from "../store/sql.ts";

/** Taps of one line in one hour of the day (Shanghai time). */
export interface TapsByHour {
  readonly hour: number;
  readonly line: string;
  readonly taps: number;
}

/** Records of one outcome and reason, with their fares. */
export interface OutcomeCount {
  /** `CLEARED`, `DEBT`, `EXCEPTION`, `DUPLICATE`, or a debt's end. */
  readonly outcome: string;
  /** The exception reason, or the kind of presentment (`EC_TC`, `ODA_ARQC`, …). */
  readonly reason: string;
  readonly records: number;
  readonly fen: number;
}

/** A party's balance in the ledger (positive: owed to it; negative: it owes). */
export interface PartyMoney {
  /** The party: `issuer 623501`, `bus company line 1`, `acquirer fees`, … */
  readonly party: string;
  /** The ledger account, when the party has several. */
  readonly account: string;
  readonly fen: number;
}

/** One change of the deny list. */
export interface DenyChangeRow {
  readonly version: number;
  readonly action: "add" | "remove";
  readonly reason: string;
}

/** What verification checked itself and what it left to the issuer. */
export interface VerificationFigures {
  readonly records: number;
  readonly byStatus: Readonly<Record<string, number>>;
  /** Cryptogram verified here (`ok` or `mismatch`). */
  readonly cryptogramChecked: number;
  /** Cryptogram left to the issuer (`no-key`, `unsupported`). */
  readonly cryptogramLeftToIssuer: number;
  readonly odaChecked: number;
  /** Records refused at upload (kept, never verified). */
  readonly rejectedAtUpload: number;
}

/** A reconciliation line: the records of a scope (declared or stored) against what became of them. */
export interface ReconciliationRow {
  readonly scope: "issuer" | "line" | "terminal";
  readonly key: string;
  readonly declaredCount: number;
  readonly declaredFen: number;
  readonly clearedCount: number;
  readonly clearedFen: number;
  /** Declared minus cleared, in fen, and why (reason → fen). */
  readonly differenceFen: number;
  readonly reasons: Readonly<Record<string, number>>;
}

/** One check of a run (the demo's money checks): passed or not, and what was compared. */
export interface CheckRow {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Everything a day's report shows. */
export interface ReportData {
  readonly title: string;
  /** The settlement day, YYYY-MM-DD. */
  readonly day: string;
  /** One line about the run (seed, model, sizes); no secrets, PANs masked. */
  readonly subtitle: string;
  readonly tapsByHour: readonly TapsByHour[];
  readonly outcomes: readonly OutcomeCount[];
  readonly money: readonly PartyMoney[];
  readonly denyChanges: readonly DenyChangeRow[];
  readonly verification: VerificationFigures;
  readonly reconciliation: readonly ReconciliationRow[];
  readonly checks: readonly CheckRow[];
}

type Row = Record<string, unknown>;

/** The hour (0–23) of an ISO 8601 local time, in Shanghai (UTC+08:00, no DST). */
export function shanghaiHour(iso: string): number {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new RangeError(`not an ISO 8601 time: ${iso}`);
  return new Date(t + 8 * 3600_000).getUTCHours();
}

/**
 * Taps per hour and line and the verification figures of the records whose tap time falls on
 * `day` in Shanghai (UTC+08:00); every stored record when `day` is undefined.
 */
export function storeFigures(
  db: SqlDb,
  day?: string,
): { tapsByHour: TapsByHour[]; verification: VerificationFigures } {
  const rows = db.prepare(
    "SELECT tapped_at, line, status, verification FROM records",
  ).all() as Row[];
  const taps = new Map<string, TapsByHour>();
  const byStatus: Record<string, number> = {};
  let records = 0, checked = 0, left = 0, oda = 0, rejected = 0;
  for (const r of rows) {
    const at = String(r.tapped_at);
    const local = new Date(Date.parse(at) + 8 * 3600_000).toISOString();
    if (day !== undefined && local.slice(0, 10) !== day) continue;
    const hour = shanghaiHour(at), line = String(r.line);
    const k = `${line}\u0000${hour}`;
    const t = taps.get(k);
    taps.set(k, { hour, line, taps: (t?.taps ?? 0) + 1 });
    if (r.status === "rejected") rejected++;
    if (r.status !== "verified" || r.verification == null) continue;
    const v = JSON.parse(String(r.verification)) as {
      status: string;
      detail: { cryptogram: string; oda: string };
    };
    records++;
    byStatus[v.status] = (byStatus[v.status] ?? 0) + 1;
    const c = v.detail.cryptogram;
    if (c === "ok" || c === "mismatch") checked++;
    else if (c === "no-key" || c === "unsupported") left++;
    if (v.detail.oda === "ok" || v.detail.oda === "failed") oda++;
  }
  const tapsByHour = [...taps.values()].sort((a, b) =>
    a.line < b.line ? -1 : a.line > b.line ? 1 : a.hour - b.hour
  );
  return {
    tapsByHour,
    verification: {
      records,
      byStatus: Object.fromEntries(Object.entries(byStatus).sort()),
      cryptogramChecked: checked,
      cryptogramLeftToIssuer: left,
      odaChecked: oda,
      rejectedAtUpload: rejected,
    },
  };
}
