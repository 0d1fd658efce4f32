/**
 * A store holding one settlement day of N verified records, built by direct SQL for the
 * benchmarks (docs/performance.md): batches of 50 records from 400 terminals, their bodies
 * sealed as ingest seals them (so record pages and the day's files can open them), 100,000
 * cards, verdicts in a fixed mix (84 % OK TC, 10 % of them left to the issuer, 5 % ARQC, 3 %
 * duplicates, 2 % AC mismatches, 1 % ODA failures), every tenth terminal in the ODA model.
 * `spread` spreads the taps over the service day (05:00-22:59 Shanghai) and 30 lines, and the
 * arrivals over the hours after them, as a real day has; without it every tap is at 08:00 on
 * line K1 (what the clearing benchmark has always measured).
 */
import type { DatabaseSync } from "node:sqlite";
import { openSqliteStore } from "../core/store/sqlite.ts";
import type { DevPanProtector } from "../core/store/pan.ts";
import { batchAad } from "../core/store/store.ts";
import { setModel } from "../core/clearing/settings.ts";
import { sampleIcc } from "../tests/support/terminal.ts";

export const PER_BATCH = 50, TERMINALS = 400, CARDS = 100_000;

export interface DayStoreOptions {
  readonly n: number;
  readonly day: string;
  /** Seals the batch bodies (its card-data key). */
  readonly pan: DevPanProtector;
  /** Every `odaEvery`-th terminal runs the ODA model. */
  readonly odaEvery: number;
  readonly spread?: boolean;
}

/** The verdict of record i: 84 % OK TC (10 % of them no-key), 5 % ARQC, 3 % duplicates, … */
function verdictOf(i: number): string {
  const k = i % 100;
  const status = k < 3 ? "DUPLICATE" : k < 5 ? "AC_MISMATCH" : k < 6 ? "ODA_FAILED" : "OK";
  const type = k >= 6 && k < 11 ? "ARQC" : "TC";
  const cryptogram = k >= 90 ? "no-key" : status === "AC_MISMATCH" ? "mismatch" : "ok";
  return JSON.stringify({ status, detail: { cryptogram, oda: "ok", cryptogramType: type } });
}

/** The stand-in keyed hash of card `card` (its number in the first 4 bytes). */
export function cardHash(card: number): Uint8Array {
  const h = new Uint8Array(32);
  new DataView(h.buffer).setUint32(0, card + 1);
  return h;
}

/** The tap time and line of batch `b` (with `spread`), and when the batch arrived. */
function timesOf(
  o: DayStoreOptions,
  b: number,
): { tapped: string; line: string; received: string } {
  if (!o.spread) {
    return { tapped: `${o.day}T08:00:00+08:00`, line: "K1", received: `${o.day}T12:00:00.000Z` };
  }
  const minute = 5 * 60 + ((b * 7919) % (18 * 60));
  const hh = String(Math.floor(minute / 60)).padStart(2, "0");
  const mm = String(minute % 60).padStart(2, "0");
  const start = Date.parse(`${o.day}T${hh}:${mm}:00+08:00`);
  return {
    tapped: `${o.day}T${hh}:${mm}:00+08:00`,
    line: `${1 + (b % 30)}`,
    received: new Date(start + (1 + (b % 3)) * 3600_000).toISOString(),
  };
}

/** One batch: its sealed body and its record rows. */
async function insertBatch(
  o: DayStoreOptions,
  b: number,
  ins: Record<string, ReturnType<DatabaseSync["prepare"]>>,
) {
  const terminal = `LC${String(100000 + (b % TERMINALS)).padStart(6, "0")}`;
  const batchNo = Math.floor(b / TERMINALS) + 1;
  const first = b * PER_BATCH;
  const n = Math.min(PER_BATCH, o.n - first);
  const recs = Array.from({ length: n }, (_, k) => {
    const i = first + k, card = i % CARDS, atc = Math.floor(i / CARDS) + 1;
    return { i, card, atc, pan: `623456${String(card).padStart(10, "0")}` };
  });
  const body = {
    records: recs.map((r, k) => ({
      seq: k + 1,
      fare: 200,
      icc: sampleIcc({ pan: r.pan, atc: r.atc, fare: 200 }),
    })),
  };
  const digest = b.toString(16).padStart(64, "0");
  const sealed = await o.pan.seal(
    new TextEncoder().encode(JSON.stringify(body)),
    batchAad(terminal, batchNo, digest),
  );
  const t = timesOf(o, b);
  const batchId = Number(
    ins.batch.run(terminal, batchNo, digest, sealed, n, n * 200, t.received).lastInsertRowid,
  );
  recs.forEach((r, k) =>
    ins.record.run(
      batchId,
      terminal,
      batchNo,
      k + 1,
      t.tapped,
      t.line,
      cardHash(r.card),
      `623456******${r.pan.slice(-4)}`,
      r.atc,
      k,
      verdictOf(r.i),
      b % o.odaEvery === 0 ? "ODA" : "EC",
    )
  );
}

/** Builds the day in a new store at `path` (direct SQL, 200 batches per transaction). */
export async function buildVerifiedDay(path: string, o: DayStoreOptions): Promise<void> {
  const t0 = performance.now();
  const store = openSqliteStore(path);
  const db = store.connection;
  for (let t = 0; t < TERMINALS; t += o.odaEvery) {
    const id = `LC${String(100000 + t).padStart(6, "0")}`;
    setModel(db, {
      scope: "terminal",
      key: id,
      model: "ODA",
      by: "bench",
      at: `${o.day}T00:00:00Z`,
    });
  }
  const ins = {
    batch: db.prepare(
      `INSERT INTO batches (terminal_id, batch_no, merchant_id, deny_list_version, digest,
         body_sealed, body_bytes, record_count, amount, receipt, received_at)
       VALUES (?, ?, '898371641110001', 0, ?, ?, 0, ?, ?, '{}', ?)`,
    ),
    record: db.prepare(
      `INSERT INTO records (batch_id, terminal_id, batch_no, seq, tapped_at, line, vehicle, fare,
         card_hash, pan_masked, psn, atc, status, body_index, verification, verified_at, tap_day,
         settlement_day, model)
       VALUES (?, ?, ?, ?, ?, ?, 'V1', 200, ?, ?, '01', ?, 'verified', ?,
         ?, '${o.day}T13:00:00Z', '${o.day}', '${o.day}', ?)`,
    ),
  };
  const batches = Math.ceil(o.n / PER_BATCH);
  for (let b = 0; b < batches; b += 200) {
    db.exec("BEGIN");
    for (let k = b; k < Math.min(batches, b + 200); k++) await insertBatch(o, k, ins);
    db.exec("COMMIT");
  }
  store.close();
  console.log(`built ${o.n} verified records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
