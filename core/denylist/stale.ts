/**
 * Terminals running a stale deny list (docs/denylist.md, "Stale terminals"): every terminal's
 * latest batch says which list version it ran (`denyListVersion`); a terminal is stale when that
 * version is behind the current one by more than `maxVersions`, or when the first change it
 * lacks is older than `maxAgeMs` (the propagation promise, docs/reliability.md E5). A terminal
 * reporting a version the list never reached is `ahead` (a misconfigured terminal or store).
 */
import type { SqlDb } from "../store/sql.ts";
import type { JournalDenyList } from "./journal.ts";

/** One terminal in the report. */
export interface TerminalListState {
  readonly terminalId: string;
  /** The latest batch (highest store id) and when it arrived. */
  readonly batchNo: number;
  readonly receivedAt: string;
  /** The list version that batch reported. */
  readonly reported: number;
  /** Versions behind the current list (negative: ahead). */
  readonly behind: number;
  /** When the first change the terminal lacks was made (null when current or ahead). */
  readonly behindSince: string | null;
  readonly state: "current" | "stale" | "behind" | "ahead";
}

/** The report: the current version, the thresholds and every terminal (stale ones first). */
export interface StaleReport {
  readonly version: number;
  readonly maxVersions: number;
  readonly maxAgeMs: number;
  readonly at: string;
  readonly terminals: TerminalListState[];
}

const ORDER = { stale: 0, ahead: 1, behind: 2, current: 3 } as const;

/**
 * Every terminal's state against the current list: `stale` past a threshold, `behind` within
 * them, `current`, or `ahead`. One query over the batches (latest per terminal).
 */
export function staleReport(
  db: SqlDb,
  dl: JournalDenyList,
  o: { maxVersions: number; maxAgeMs: number; now?: Date },
): StaleReport {
  if (!Number.isInteger(o.maxVersions) || o.maxVersions < 0) {
    throw new RangeError("maxVersions: a non-negative integer");
  }
  if (!Number.isFinite(o.maxAgeMs) || o.maxAgeMs < 0) throw new RangeError("maxAgeMs: >= 0");
  const now = o.now ?? new Date();
  return dl.read(() => {
    const version = dl.version();
    const rows = db.prepare(
      `SELECT b.terminal_id, b.batch_no, b.received_at, b.deny_list_version FROM batches b
       JOIN (SELECT terminal_id, max(id) AS id FROM batches GROUP BY terminal_id) l ON l.id = b.id
       ORDER BY b.terminal_id`,
    ).all() as Record<string, unknown>[];
    const terminals = rows.map((r): TerminalListState => {
      const reported = Number(r.deny_list_version);
      const behind = version - reported;
      const first = behind > 0 ? dl.changedAfter(reported) : null;
      const age = first ? now.getTime() - Date.parse(first.at) : 0;
      const state = behind < 0
        ? "ahead"
        : behind === 0
        ? "current"
        : behind > o.maxVersions || age > o.maxAgeMs
        ? "stale"
        : "behind";
      return {
        terminalId: String(r.terminal_id),
        batchNo: Number(r.batch_no),
        receivedAt: String(r.received_at),
        reported,
        behind,
        behindSince: first?.at ?? null,
        state,
      };
    });
    terminals.sort((a, b) => ORDER[a.state] - ORDER[b.state] || b.behind - a.behind);
    return {
      version,
      maxVersions: o.maxVersions,
      maxAgeMs: o.maxAgeMs,
      at: now.toISOString(),
      terminals,
    };
  });
}
