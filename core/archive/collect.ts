/**
 * Reads a closed settlement day out of the store for the archive (docs/archive.md, "What an
 * archive holds"): every record of the day in the archive's order (terminal, batch, seq) with
 * its batch, verdict, clearing line and ledger entry; the raw record opened from its sealed
 * batch body with the card-data key, in memory only, and sealed again for the auditors.
 *
 * Two passes over the day: the first finds what the archive's first segment names (CA keys,
 * issuer certificates, issuer keys, cards, deny-list versions), the second yields the records.
 */
import type { SqlDb } from "../store/sql.ts";
import { toHex } from "../hex.ts";
import type { PanProtector } from "../store/pan.ts";
import { batchAad } from "../store/store.ts";
import type { EvidenceKey } from "./evidence.ts";
import { odaRefs, type RawRecord } from "./raw.ts";
import { type ArchivedClearing, type RecordLine, refOf } from "./format.ts";

type Row = Record<string, unknown>;
const enc = new TextEncoder();

const DAY_SQL = `SELECT r.id, r.batch_id, r.body_index, r.terminal_id, r.batch_no, r.seq,
    r.tapped_at, r.tap_day, r.line, r.vehicle, r.stop, r.fare, r.pan_masked, r.psn, r.atc,
    r.card_hash, r.model, r.status, r.reject_code, r.reject_message, r.reject_path,
    r.verification, r.verified_at, b.merchant_id, b.deny_list_version, b.received_at,
    c.outcome, c.reason, c.rule, c.model AS c_model, c.issuer_verifies, c.fare AS c_fare, c.fee,
    c.fee_bp, c.bin, c.deny_reason, c.deny_version, c.entry_id, e.kind AS entry_kind
  FROM records r JOIN batches b ON b.id = r.batch_id
  LEFT JOIN clearing_lines c ON c.record_id = r.id
  LEFT JOIN ledger_entries e ON e.id = c.entry_id
  WHERE r.settlement_day = ?
  ORDER BY r.terminal_id, r.batch_no, r.seq`;

/** Opened batch bodies, the last one kept (the day is read batch by batch). */
export class BodyReader {
  #id = -1;
  #records: RawRecord[] = [];
  constructor(readonly db: SqlDb, readonly pan: PanProtector) {}

  async record(batchId: number, index: number): Promise<RawRecord> {
    if (batchId !== this.#id) {
      const b = this.db.prepare(
        "SELECT terminal_id, batch_no, digest, body_sealed FROM batches WHERE id = ?",
      ).get(batchId) as Row;
      const aad = batchAad(String(b.terminal_id), Number(b.batch_no), String(b.digest));
      const plain = await this.pan.open(new Uint8Array(b.body_sealed as Uint8Array), aad);
      this.#records = JSON.parse(new TextDecoder().decode(plain)).records;
      plain.fill(0);
      this.#id = batchId;
    }
    const r = this.#records[index];
    if (!r) throw new Error(`batch ${batchId} has no record at index ${index}`);
    return r;
  }
}

/** What the first segment of the archive names, found in a first pass over the day. */
export interface DayScan {
  records: number;
  readonly capks: Set<string>;
  readonly issuerCerts: Map<
    string,
    { capk: string; cert: string; exponent: string | null; remainder: string | null }
  >;
  readonly keyIds: Set<string>;
  readonly cards: Set<string>;
  readonly reported: [number, number];
  maxDenyVersion: number;
}

/** The first pass: SQL rows and the ODA evidence of each record. */
export async function scanDay(db: SqlDb, pan: PanProtector, day: string): Promise<DayScan> {
  const bodies = new BodyReader(db, pan);
  const s: DayScan = {
    records: 0,
    capks: new Set(),
    issuerCerts: new Map(),
    keyIds: new Set(),
    cards: new Set(),
    reported: [Number.MAX_SAFE_INTEGER, 0],
    maxDenyVersion: 0,
  };
  for (const r of db.prepare(DAY_SQL).iterate(day) as Iterable<Row>) {
    s.records++;
    const v = Number(r.deny_list_version);
    s.reported[0] = Math.min(s.reported[0], v);
    s.reported[1] = Math.max(s.reported[1], v);
    if (r.deny_version != null) {
      s.maxDenyVersion = Math.max(s.maxDenyVersion, Number(r.deny_version));
    }
    if (r.card_hash != null) s.cards.add(toHex(new Uint8Array(r.card_hash as Uint8Array)));
    const keyId = r.verification ? JSON.parse(String(r.verification)).detail?.keyId : undefined;
    if (typeof keyId === "string") s.keyIds.add(keyId);
    const refs = odaRefs(await bodies.record(Number(r.batch_id), Number(r.body_index)));
    if (refs.capk) s.capks.add(refs.capk);
    if (refs.capk && refs.cert) {
      const k = `${refs.capk}|${refs.cert.cert}`;
      if (!s.issuerCerts.has(k)) s.issuerCerts.set(k, { capk: refs.capk, ...refs.cert });
    }
  }
  if (s.records === 0) s.reported[0] = 0;
  return s;
}

function clearingOf(r: Row): ArchivedClearing | null {
  if (r.outcome == null) return null;
  return {
    outcome: String(r.outcome),
    reason: String(r.reason),
    rule: String(r.rule),
    model: String(r.c_model),
    issuerVerifies: Number(r.issuer_verifies) === 1,
    fare: Number(r.c_fare),
    fee: Number(r.fee),
    feeBp: Number(r.fee_bp),
    bin: r.bin == null ? null : String(r.bin),
    denyReason: r.deny_reason == null ? null : String(r.deny_reason),
    denyVersion: r.deny_version == null ? null : Number(r.deny_version),
  };
}

function verdictOf(r: Row): Record<string, unknown> {
  if (r.status === "verified") return JSON.parse(String(r.verification));
  return {
    rejected: {
      code: String(r.reject_code ?? ""),
      message: String(r.reject_message ?? ""),
      path: r.reject_path == null ? null : String(r.reject_path),
    },
  };
}

/** Inputs of the second pass. */
export interface RecordsOptions {
  readonly db: SqlDb;
  readonly pan: PanProtector;
  readonly day: string;
  readonly evidence: EvidenceKey;
  /** The clearing file's detail line of each cleared record (by ref, without its LF). */
  readonly details: ReadonlyMap<string, string>;
}

/** The second pass: every record of the day as an archive line, in order. */
export async function* recordLines(o: RecordsOptions): AsyncGenerator<RecordLine> {
  const bodies = new BodyReader(o.db, o.pan);
  const postings = o.db.prepare(
    "SELECT account, amount FROM ledger_postings WHERE entry_id = ? ORDER BY account",
  );
  let n = 0;
  for (const r of o.db.prepare(DAY_SQL).iterate(o.day) as Iterable<Row>) {
    if (r.status === "pending") throw new Error(`record ${r.id} of a closed day is pending`);
    const ref = refOf(String(r.terminal_id), Number(r.batch_no), Number(r.seq));
    const raw = await bodies.record(Number(r.batch_id), Number(r.body_index));
    const clearing = clearingOf(r);
    const detail = clearing?.outcome === "CLEARED" ? o.details.get(ref) : null;
    if (detail === undefined) throw new Error(`cleared record ${ref} is not in the clearing file`);
    const plain = enc.encode(JSON.stringify({ record: raw, detail }));
    const evidence = await o.evidence.seal(ref, plain);
    plain.fill(0);
    const entryId = r.entry_id == null ? null : Number(r.entry_id);
    yield {
      t: "R",
      n: ++n,
      id: Number(r.id),
      ref,
      merchant: String(r.merchant_id),
      receivedAt: String(r.received_at),
      denyListVersion: Number(r.deny_list_version),
      tappedAt: String(r.tapped_at),
      tapDay: r.tap_day == null ? null : String(r.tap_day),
      line: String(r.line),
      vehicle: String(r.vehicle),
      stop: r.stop == null ? null : String(r.stop),
      fare: Number(r.fare),
      model: String(r.model),
      pan: r.pan_masked == null ? null : String(r.pan_masked),
      psn: r.psn == null ? null : String(r.psn),
      atc: r.atc == null ? null : Number(r.atc),
      cardHash: r.card_hash == null ? null : toHex(new Uint8Array(r.card_hash as Uint8Array)),
      capk: odaRefs(raw).capk,
      state: r.status === "verified" ? "verified" : "rejected",
      verifiedAt: r.verified_at == null ? null : String(r.verified_at),
      verdict: verdictOf(r),
      clearing,
      entry: entryId === null ? null : { id: entryId, kind: String(r.entry_kind) },
      postings: entryId === null
        ? []
        : (postings.all(entryId) as Row[]).map((p) => [String(p.account), Number(p.amount)]),
      evidence,
    };
  }
}
