/**
 * What ingest stamps on every record on PostgreSQL, as the SQLite store does (docs/clearing.md,
 * "Settlement day" and "The two models"): the tap day under the operator's cut-off, the first
 * settlement day at or after it that is not closed, and the model of the terminal or line. The
 * rules are read in one query per batch, so a cut-off or model change holds for the next batch
 * on every server.
 */
import { cutoffMinutes, firstOpenDay, tapDayOf } from "../settlement.ts";
import type { NewBatch } from "../store.ts";
import type { Sql } from "./connect.ts";

/** One record's stamps. */
export interface Stamp {
  readonly tapDay: string;
  readonly settlementDay: string;
  readonly model: "EC" | "ODA";
}

/** The stamps of a batch's records, in order (one query for the rules). */
export async function stampBatch(sql: Sql, batch: NewBatch): Promise<Stamp[]> {
  let first: string | null = null;
  for (const r of batch.records) {
    const d = tapDayOf(r.tappedAt, 0); // its calendar day: no cut-off makes a tap day earlier
    if (first === null || d < first) first = d;
  }
  const [row] = await sql`SELECT
      (SELECT value FROM meta WHERE key = 'settlement_cutoff') AS cutoff,
      (SELECT coalesce(json_agg(day), '[]') FROM settlement_days
        WHERE state = 'closed' AND day >= ${first ?? "0000-00-00"}) AS closed,
      (SELECT model FROM network_models WHERE scope = 'terminal' AND key = ${batch.terminalId})
        AS terminal_model,
      (SELECT coalesce(json_object_agg(key, model), '{}') FROM network_models
        WHERE scope = 'line') AS lines`;
  const cutoff = cutoffMinutes(String(row.cutoff ?? "23:00"));
  const closed = new Set<string>((row.closed as string[]).map(String));
  const lines = row.lines as Record<string, string>;
  return batch.records.map((r) => {
    const tapDay = tapDayOf(r.tappedAt, cutoff);
    const model = (row.terminal_model ?? lines[r.line] ?? "EC") as Stamp["model"];
    return { tapDay, settlementDay: firstOpenDay(tapDay, closed), model };
  });
}
