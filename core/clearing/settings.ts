/**
 * The operator's clearing settings and network registry, kept in the store (docs/clearing.md,
 * "Settings"): which model each terminal or line runs, the settlement cut-off, the presentment
 * window, the fare mode of ODA debts and the fee schedule. Read at ingest (cut-off, models) and
 * at clearing (everything else).
 */
import type { SqlDb } from "../store/sql.ts";
import { IcfareError } from "../errors.ts";
import { cutoffMinutes } from "../store/settlement.ts";
import type { Model } from "./outcomes.ts";

/** How ODA debts are formed: one per tap, or one per card per settlement day. */
export type FareMode = "single" | "aggregated";

export interface ClearingSettings {
  /** `HH:MM` Shanghai time; taps at or after it belong to the next day. */
  readonly cutoff: string;
  /** Calendar days from the tap day within which a record must reach icfare. */
  readonly presentmentDays: number;
  readonly fareMode: FareMode;
  /** Acquirer fee in basis points of the fare, per model. */
  readonly feeBp: Readonly<Record<Model, number>>;
}

/** The registry row of one terminal or line. */
export interface ModelEntry {
  readonly scope: "terminal" | "line";
  readonly key: string;
  readonly model: Model;
  readonly setBy: string;
  readonly setAt: string;
}

/** A refused settings change (bad value). */
export class SettingsError extends IcfareError {
  constructor(message: string) {
    super("SETTING_INVALID", message, { hint: "icfare network config --help" });
    this.name = "SettingsError";
  }
}

type Row = Record<string, unknown>;

function meta(db: SqlDb, key: string): string {
  const r = db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as Row | undefined;
  if (!r) throw new Error(`meta ${key} missing: the store was not migrated`);
  return String(r.value);
}

/** The current settings. */
export function readSettings(db: SqlDb): ClearingSettings {
  return {
    cutoff: meta(db, "settlement_cutoff"),
    presentmentDays: Number(meta(db, "presentment_days")),
    fareMode: meta(db, "fare_mode") as FareMode,
    feeBp: { EC: Number(meta(db, "fee_bp_ec")), ODA: Number(meta(db, "fee_bp_oda")) },
  };
}

function intIn(v: number, lo: number, hi: number, what: string): string {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new SettingsError(`${what} must be an integer ${lo}..${hi}, got ${v}`);
  }
  return String(v);
}

/** Changes some settings (all checked before any is written, in one transaction). */
export function writeSettings(db: SqlDb, change: Partial<ClearingSettings>): void {
  const out: [string, string][] = [];
  if (change.cutoff !== undefined) {
    try {
      cutoffMinutes(change.cutoff);
    } catch (e) {
      throw new SettingsError((e as Error).message);
    }
    out.push(["settlement_cutoff", change.cutoff]);
  }
  if (change.presentmentDays !== undefined) {
    out.push(["presentment_days", intIn(change.presentmentDays, 1, 366, "presentment days")]);
  }
  if (change.fareMode !== undefined) {
    if (change.fareMode !== "single" && change.fareMode !== "aggregated") {
      throw new SettingsError(`fare mode must be single or aggregated, got ${change.fareMode}`);
    }
    out.push(["fare_mode", change.fareMode]);
  }
  if (change.feeBp?.EC !== undefined) {
    out.push(["fee_bp_ec", intIn(change.feeBp.EC, 0, 10000, "EC fee (bp)")]);
  }
  if (change.feeBp?.ODA !== undefined) {
    out.push(["fee_bp_oda", intIn(change.feeBp.ODA, 0, 10000, "ODA fee (bp)")]);
  }
  const set = db.prepare("UPDATE meta SET value = ? WHERE key = ?");
  inTransaction(db, () => {
    for (const [k, v] of out) set.run(v, k);
  });
}

/** Registers the model of a terminal (8 letters or digits) or a line. */
export function setModel(
  db: SqlDb,
  e: { scope: "terminal" | "line"; key: string; model: Model; by: string; at: string },
): void {
  if (e.scope === "terminal" && !/^[0-9A-Za-z]{8}$/.test(e.key)) {
    throw new SettingsError(`terminal id must be 8 letters or digits, got "${e.key}"`);
  }
  if (e.scope === "line" && (e.key.length < 1 || e.key.length > 32)) {
    throw new SettingsError("line must be 1 to 32 characters");
  }
  if (e.model !== "EC" && e.model !== "ODA") {
    throw new SettingsError(`model must be ec or oda, got "${e.model}"`);
  }
  inTransaction(db, () => {
    db.prepare(
      `INSERT INTO network_models (scope, key, model, set_by, set_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET model = excluded.model, set_by = excluded.set_by,
         set_at = excluded.set_at`,
    ).run(e.scope, e.key, e.model, e.by, e.at);
  });
}

/** Removes a registry row (the terminal or line falls back to its line, then EC). */
export function unsetModel(db: SqlDb, scope: "terminal" | "line", key: string): boolean {
  return inTransaction(db, () =>
    Number(
      db.prepare("DELETE FROM network_models WHERE scope = ? AND key = ?").run(scope, key).changes,
    ) > 0);
}

/** Every registry row, terminals first, each in key order. */
export function listModels(db: SqlDb): ModelEntry[] {
  return (db.prepare(
    "SELECT scope, key, model, set_by, set_at FROM network_models ORDER BY scope DESC, key",
  ).all() as Row[]).map((r) => ({
    scope: r.scope as ModelEntry["scope"],
    key: String(r.key),
    model: r.model as Model,
    setBy: String(r.set_by),
    setAt: String(r.set_at),
  }));
}

/** Runs `f` in a `BEGIN IMMEDIATE` transaction (or inside the caller's, when one is open). */
export function inTransaction<T>(db: SqlDb, f: () => T): T {
  if (db.isTransaction) return f();
  db.exec("BEGIN IMMEDIATE");
  try {
    const v = f();
    db.exec("COMMIT");
    return v;
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}
