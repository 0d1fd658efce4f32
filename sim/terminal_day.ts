/**
 * One terminal's day in the simulator: its kept taps split into batches (per shift or every N
 * taps), each tap built into an upload record with its ground-truth row, duplicated and replayed
 * taps re-sent in one more batch, and the upload time of every batch (late and out-of-order
 * uploads). `day.ts` draws the taps and walks the day; this file makes the batches.
 */
import { Rng } from "./prng.ts";
import { toHex } from "../core/hex.ts";
import { maskPan } from "../core/mask.ts";
import { type Card, MERCHANT_ID, type Terminal, UNKNOWN_CA_INDEX, type World } from "./world.ts";
import type { BuiltTap, TapFactory, TapParams } from "./taps.ts";
import {
  type Expected,
  expectedVerdict,
  type FaultRates,
  TAP_FAULTS,
  type TapFault,
} from "./faults.ts";
import type { BatchOut, TruthRow, UploadRecord } from "./day.ts";
import { expectedOutcome, type MoneyTruth } from "./outcomes.ts";
import { issuerAnswer } from "./issuer_answers.ts";

/** Seconds in a day. */
export const DAY = 86400;

/** Local time `seconds` after midnight of `date` (the next day past 24:00), with +08:00. */
export function iso(date: string, seconds: number): string {
  let d = date;
  let s = seconds;
  if (s >= DAY) {
    const next = new Date(Date.parse(date + "T00:00:00Z") + DAY * 1000);
    d = next.toISOString().slice(0, 10);
    s -= DAY;
  }
  const hh = Math.floor(s / 3600), mm = Math.floor(s / 60) % 60, ss = s % 60;
  return `${d}T${[hh, mm, ss].map((x) => String(x).padStart(2, "0")).join(":")}+08:00`;
}

/** The drawn taps of a day, by tap index: time, terminal, card, and what the walk made of it. */
export interface DayTaps {
  readonly n: number;
  /** Seconds since midnight. */
  readonly time: Int32Array;
  readonly term: Int32Array;
  readonly card: Int32Array;
  readonly atc: Uint16Array;
  /** EC balance after the tap. */
  readonly bal: Int32Array;
  /** KEPT | EC | STALE. */
  readonly flags: Uint8Array;
  /** 0 none, 1.. TAP_FAULTS index + 1. */
  readonly fault: Uint8Array;
  /** Tap indices in time order. */
  readonly byTime: Uint32Array;
}

/** Tap flags: recorded, electronic cash, run against a stale deny list. */
export const KEPT = 1, EC = 2, STALE = 4;
/** Shift terminals upload their morning batch at 13:30. */
const SHIFT_END = 13.5 * 3600;

/** One terminal's day: what its batches need. */
export interface TerminalDay {
  readonly world: World;
  readonly faults: FaultRates;
  readonly taps: DayTaps;
  readonly term: Terminal;
  readonly line: World["lines"][number];
  readonly denyVersion: number;
  readonly factory: TapFactory;
  /** The terminal's own random stream (upload times, re-sends). */
  readonly tr: Rng;
  /** Re-sent records (duplicates, replays), uploaded in one more batch at the end. */
  readonly copies: { rec: UploadRecord; truth: TruthRow }[];
  /** Terminal trace number of the last record. */
  seq: number;
}

/** The terminal's kept taps (time order) split into batches: per shift or every N taps. */
function splitBatches(term: Terminal, mine: readonly number[], time: Int32Array): number[][] {
  const groups: number[][] = [];
  let cur: number[] = [];
  for (const i of mine) {
    const newShift = term.batchMode === "shift" && cur.length > 0 &&
      time[cur[cur.length - 1]] < SHIFT_END && time[i] >= SHIFT_END;
    if (cur.length >= term.batchSize || newShift) (groups.push(cur), cur = []);
    cur.push(i);
  }
  if (cur.length) groups.push(cur);
  return groups;
}

/** The card's parameters for tap `i`, with the tap fault's changes. */
function tapParams(d: TerminalDay, i: number, fault: TapFault | undefined, rr: Rng): TapParams {
  const t = d.taps, fare = d.line.fare;
  const un = rr.bytes(4), cardUn = rr.bytes(4);
  // Eight bytes once drawn for an ICC dynamic number; still drawn so every later draw of the
  // tap stays where it was (the dynamic data is now 02 ‖ ATC, docs/emv-pboc.md).
  rr.bytes(8);
  return {
    terminal: d.term,
    time: t.time[i],
    atc: t.atc[i],
    amount: fare,
    ec: (t.flags[i] & EC) !== 0,
    balanceAfter: t.bal[i],
    seq: d.seq,
    un,
    cardUn,
    withCid: rr.chance(0.9),
    track2: d.term.model === "ODA",
    ...(fault === "wrong-un-signature" ? { signUn: rr.bytes(4) } : {}),
    ...(fault === "missing-tag" ? { omitTag: "9F37" } : {}),
    ...(fault === "tampered-amount" ? { shownAmount: fare > 100 ? fare - 100 : fare + 100 } : {}),
  };
}

/** The re-sent copy of a duplicated or replayed tap, for the terminal's last batch. */
function copyOf(
  d: TerminalDay,
  i: number,
  fault: "duplicate" | "replay",
  tap: { rec: UploadRecord; params: TapParams; card: Card; facts: VerdictFacts; rr: Rng },
  batchNo: number,
): { rec: UploadRecord; truth: TruthRow } {
  let rec = { ...tap.rec };
  if (fault === "replay") {
    const t2 = Math.min(DAY - 1, d.taps.time[i] + tap.rr.range(60, 3600));
    const p2: TapParams = {
      ...tap.params,
      time: t2,
      un: tap.rr.bytes(4),
      cardUn: tap.rr.bytes(4),
    };
    tap.rr.bytes(8); // the former ICC dynamic number, drawn to keep the stream in place
    const b2 = d.factory.build(tap.card, p2);
    const stop = tap.rr.range(1, d.line.stops);
    rec = toRecord(b2, p2, d.term, d.line.id, stop, d.world.date, undefined);
  }
  const expected = expectedVerdict({ ...tap.facts, copy: fault });
  const money = outcomeOf(d, i, tap.card, expected, false);
  return {
    rec,
    truth: {
      ...truthRow(d, 0, 0, tap.card, d.taps.atc[i], expected, money),
      fault,
      copyOf: { batchNo, seq: tap.rec.seq },
    },
  };
}

type VerdictFacts = Parameters<typeof expectedVerdict>[0];

/** One tap as a record and its truth row; a duplicate or replay also leaves a copy. */
function tapRecord(d: TerminalDay, i: number, batchNo: number): [UploadRecord, TruthRow] {
  const t = d.taps;
  d.seq++;
  const card = d.world.card(t.card[i]);
  const fault = t.fault[i] ? TAP_FAULTS[t.fault[i] - 1] : undefined;
  const rr = new Rng(d.world.options.seed, `tap/${i}`);
  const params = tapParams(d, i, fault, rr);
  const built = d.factory.build(card, params);
  const stop = rr.range(1, d.line.stops);
  const rec = toRecord(built, params, d.term, d.line.id, stop, d.world.date, fault);
  const copy = fault === "duplicate" || fault === "replay";
  const stale = (t.flags[i] & STALE) !== 0;
  const facts: VerdictFacts = {
    keysHeld: card.issuer.keysHeld,
    tapFault: copy ? undefined : fault,
    cardFaults: card.faults,
    denyListed: stale && d.term.denyListUnapplied,
  };
  const rejected = fault === "truncated-tlv" || fault === "fare-mismatch" ||
    fault === "missing-tag";
  const expected = expectedVerdict(facts);
  const money = outcomeOf(d, i, card, expected, rejected);
  const row = truthRow(d, batchNo, rec.seq, card, t.atc[i], expected, money);
  if (fault && !copy) row.fault = fault;
  if (rejected) row.uploadRejected = true;
  if (stale) (row.denyListed = true, row.fault ??= "stale-deny-list");
  if (copy) d.copies.push(copyOf(d, i, fault, { rec, params, card, facts, rr }, batchNo));
  return [rec, row];
}

/** When a batch whose last tap was at `last` is uploaded (late ones the next morning). */
function uploadTime(d: TerminalDay, last: number): number {
  const uploadAt = d.term.batchMode === "shift"
    ? (last < SHIFT_END ? SHIFT_END : last) + d.tr.range(120, 2400)
    : last + d.tr.range(60, 1200);
  return d.tr.chance(d.faults.lateBatch) ? DAY + 6 * 3600 + d.tr.range(0, 7200) : uploadAt;
}

export type Timed = { out: BatchOut; uploadAt: number };

/** Step 3, one terminal: its batches with upload times, then the batch of re-sent records. */
export function terminalBatches(d: TerminalDay, mine: readonly number[]): Timed[] {
  let batchNo = d.term.firstBatchNo;
  const batchOuts: Timed[] = [];
  for (const g of splitBatches(d.term, mine, d.taps.time)) {
    const pairs = g.map((i) => tapRecord(d, i, batchNo));
    const out = makeBatch(d.term, batchNo, d.denyVersion, ...unzip(pairs));
    batchOuts.push({ out, uploadAt: uploadTime(d, d.taps.time[g[g.length - 1]]) });
    batchNo = batchNo >= 999999 ? 1 : batchNo + 1;
  }
  // Out-of-order uploads: swap upload times of consecutive batches.
  for (let b = 0; b + 1 < batchOuts.length; b++) {
    if (d.tr.chance(d.faults.outOfOrder)) {
      const t = batchOuts[b].uploadAt;
      batchOuts[b].uploadAt = batchOuts[b + 1].uploadAt;
      batchOuts[b + 1].uploadAt = t;
      b++;
    }
  }
  if (d.copies.length) {
    const records = d.copies.map((c) => ({ ...c.rec, seq: ++d.seq }));
    const truth = d.copies.map((c, k) => ({ ...c.truth, batchNo, seq: records[k].seq }));
    // After every other upload of the terminal, including corrected re-sends (at most +900 s).
    const after = Math.max(...batchOuts.map((b) => b.uploadAt)) + d.tr.range(1000, 2700);
    batchOuts.push({
      out: makeBatch(d.term, batchNo, d.denyVersion, records, truth),
      uploadAt: after,
    });
  }
  return batchOuts;
}

function unzip(pairs: [UploadRecord, TruthRow][]): [UploadRecord[], TruthRow[]] {
  return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
}

/** The money truth of tap `i` (sim/outcomes.ts); the issuer is asked only for a debt. */
function outcomeOf(
  d: TerminalDay,
  i: number,
  card: Card,
  expected: Expected,
  uploadRejected: boolean,
): MoneyTruth {
  return expectedOutcome({
    expected,
    uploadRejected,
    model: d.term.model,
    tc: (d.taps.flags[i] & EC) !== 0,
    issuer: () => issuerAnswer(d.world.options.seed, d.faults, card, d.taps.atc[i]),
  });
}

function truthRow(
  d: TerminalDay,
  batchNo: number,
  seq: number,
  card: Card,
  atc: number,
  e: Expected,
  money: MoneyTruth,
): TruthRow {
  const row: TruthRow = {
    terminalId: d.term.id,
    batchNo,
    seq,
    status: e.status,
    cryptogram: e.cryptogram,
    oda: e.oda,
    pan: maskPan(card.pan),
    atc: atc.toString(16).toUpperCase().padStart(4, "0"),
    model: d.term.model,
    fare: d.line.fare,
    ...money,
  };
  if (card.faults.length) row.cardFaults = [...card.faults];
  return row;
}

function toRecord(
  b: BuiltTap,
  t: TapParams,
  term: Terminal,
  line: string,
  stop: number,
  date: string,
  fault: TapFault | undefined,
): UploadRecord {
  let icc = b.icc;
  let oda = b.odaTlv;
  if (fault === "corrupted-cryptogram") {
    icc = icc.slice();
    icc[3 + (t.seq % 8)] ^= 1 << (t.seq % 8); // 9F26 is the first object: value at offset 3
  } else if (fault === "truncated-tlv") {
    icc = icc.slice(0, icc.length - 1 - (t.seq % 2));
  } else if (fault === "unknown-ca") {
    oda = oda.slice();
    if (oda[0] !== 0x8f || oda[1] !== 1) throw new Error("bug: ODA TLV must start with 8F 01");
    oda[2] = parseInt(UNKNOWN_CA_INDEX, 16);
  }
  return {
    seq: t.seq,
    tappedAt: iso(date, t.time),
    line,
    vehicle: term.vehicle,
    stop: "S" + String(stop).padStart(3, "0"),
    fare: fault === "fare-mismatch" ? t.amount + 100 : t.shownAmount ?? t.amount,
    icc: toHex(icc),
    oda: { tlv: toHex(oda), staticData: toHex(b.staticData) },
  };
}

function makeBatch(
  term: Terminal,
  batchNo: number,
  denyListVersion: number,
  records: UploadRecord[],
  truth: TruthRow[],
): BatchOut {
  const amount = records.reduce((s, r) => s + r.fare, 0);
  return {
    file: `${term.id}-${String(batchNo).padStart(6, "0")}.json`,
    body: {
      terminalId: term.id,
      merchantId: MERCHANT_ID,
      batchNo,
      denyListVersion,
      records,
      totals: { count: records.length, amount },
    },
    truth,
  };
}
