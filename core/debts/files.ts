/**
 * Debt request and response files (docs/clearing.md, "Debt files"), JSON lines, for an acquirer
 * reached by file exchange; collection over ISO 8583 (`core/iso8583`) uses the same book and
 * the same journal steps.
 *
 * - **Export**: declined debts whose retry is due go back to pending; each due pending debt gets
 *   a fresh STAN and is made `sent` in the store (one transaction) *before* the file is written;
 *   with `resend`, debts still `sent` are written again with their STAN (a retransmission).
 *   A line carries the amount, the card as its keyed hash, the records it covers, the tap's ARQC,
 *   ATC and chip data with every card-number tag taken out (5A, 57, 56, 5F20, 9F0B, 9F1F, 9F6B):
 *   no PAN; the acquirer side opens the record itself.
 * - **Intake**: each response line `{"debtId","stan","outcome","responseCode"?,…}` is applied
 *   through `DebtBook.apply` in its own transaction; a line for a STAN the debt no longer has,
 *   or for a debt already ended the same way, is reported and changes nothing, so taking the
 *   same file in twice is harmless.
 */
import type { SqlDb } from "../store/sql.ts";
import { z } from "zod";
import { decodeTlv } from "../../kernel-as/mod.ts";
import { fromHex, toHex } from "../hex.ts";
import { IcfareError } from "../errors.ts";
import type { PanProtector } from "../store/pan.ts";
import { batchAad } from "../store/store.ts";
import { flattenValues, parseTlv } from "../tlv/tree.ts";
import { type Debt, type DebtBook, DebtStateError } from "./book.ts";
import { inTransaction } from "../clearing/settings.ts";

/** Tags that carry the card number or the cardholder: never in a request file. */
const CARD_TAGS = new Set([0x5a, 0x57, 0x56, 0x5f20, 0x9f0b, 0x9f1f, 0x9f6b]);

/** Chip data (hex) without the card-number tags, other objects kept in order and as received. */
export function chipWithoutCard(icc: Uint8Array): string {
  const d = decodeTlv(icc);
  if (!d.ok) throw new Error("stored chip data does not decode");
  let out = "";
  for (const e of d.entries) {
    if (e.parent !== -1 || CARD_TAGS.has(e.tag)) continue;
    out += toHex(icc.subarray(e.header, e.value + e.length));
  }
  return out;
}

type Row = Record<string, unknown>;

/** One line of a request file. */
export interface DebtRequest {
  debtId: number;
  stan: string;
  send: number;
  retransmission: number;
  amount: number;
  currency: "156";
  card: string;
  psn: string;
  day: string;
  mode: string;
  records: {
    recordId: number;
    ref: string;
    fare: number;
    tappedAt: string;
    line: string;
    vehicle: string;
  }[];
  arqc: string;
  atc: string;
  chip: string;
}

async function requestOf(db: SqlDb, pan: PanProtector, d: Debt): Promise<DebtRequest> {
  const recs = db.prepare(
    `SELECT r.id, r.terminal_id, r.batch_no, r.seq, r.tapped_at, r.line, r.vehicle, r.batch_id,
       r.body_index, dr.fare, b.digest, b.body_sealed
     FROM debt_records dr JOIN records r ON r.id = dr.record_id JOIN batches b ON b.id = r.batch_id
     WHERE dr.debt_id = ? ORDER BY r.id`,
  ).all(d.id) as Row[];
  const first = recs[0];
  const aad = batchAad(String(first.terminal_id), Number(first.batch_no), String(first.digest));
  const body = JSON.parse(
    new TextDecoder().decode(await pan.open(new Uint8Array(first.body_sealed as Uint8Array), aad)),
  ) as { records: { icc: string }[] };
  const icc = fromHex(body.records[Number(first.body_index)].icc, "icc");
  const p = parseTlv(icc);
  const v = p.ok ? flattenValues(p.nodes) : new Map<string, Uint8Array>();
  return {
    debtId: d.id,
    stan: d.stan!,
    send: d.sends,
    retransmission: d.retransmissions,
    amount: d.amount,
    currency: "156",
    card: d.cardHash,
    psn: d.psn,
    day: d.day,
    mode: d.mode,
    records: recs.map((r) => ({
      recordId: Number(r.id),
      ref: `${r.terminal_id}/${r.batch_no}/${r.seq}`,
      fare: Number(r.fare),
      tappedAt: String(r.tapped_at),
      line: String(r.line),
      vehicle: String(r.vehicle),
    })),
    arqc: toHex(v.get("9F26") ?? new Uint8Array(0)),
    atc: toHex(v.get("9F36") ?? new Uint8Array(0)),
    chip: chipWithoutCard(icc),
  };
}

/**
 * Makes due debts `sent` (fresh STANs; with `resend` also the `sent` ones again) and returns
 * their request lines. The state is committed before the caller writes the file.
 */
export async function exportDue(
  db: SqlDb,
  pan: PanProtector,
  book: DebtBook,
  o: { at: string; resend?: boolean; limit?: number },
): Promise<{ requests: DebtRequest[]; swept: number }> {
  const swept = book.sweep(o.at);
  const chosen = inTransaction(db, () => {
    const out: Debt[] = [];
    for (const d of book.due(o.at, o.limit)) {
      out.push(book.sending(d.id, book.nextStan(), o.at));
    }
    if (o.resend) {
      for (const d of book.list({ states: ["sent"] })) {
        if (!out.some((x) => x.id === d.id)) out.push(book.sending(d.id, d.stan!, o.at));
      }
    }
    return out;
  });
  const requests: DebtRequest[] = [];
  for (const d of chosen) requests.push(await requestOf(db, pan, d));
  return { requests, swept };
}

/** A response line. */
export const ResponseSchema = z.strictObject({
  debtId: z.int().min(1),
  stan: z.string().regex(/^\d{6}$/),
  outcome: z.enum(["approved", "declined", "refused", "reversed"]),
  responseCode: z.string().regex(/^[0-9A-Z]{2}$/).optional(),
  authCode: z.string().max(6).optional(),
  rrn: z.string().max(12).optional(),
});

/** A response file that cannot be read (its line named). */
export class IntakeError extends IcfareError {
  constructor(message: string) {
    super("INTAKE_INVALID", message);
    this.name = "IntakeError";
  }
}

/** What an intake did, line by line. */
export interface IntakeResult {
  applied: { debtId: number; outcome: string; state: string }[];
  /** Already applied (the same outcome for the same STAN): nothing changed. */
  repeated: number[];
  /** Not applicable (unknown debt, another STAN, a debt in another state), with why. */
  refused: { line: number; debtId: number; why: string }[];
}

/** Parses every line first (a bad line refuses the whole file), then applies them in order. */
export function intake(book: DebtBook, text: string, at: string): IntakeResult {
  const lines = text.split("\n").map((l, i) => [i + 1, l.trim()] as const).filter(([, l]) => l);
  const parsed = lines.map(([n, l]) => {
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch {
      throw new IntakeError(`line ${n}: not JSON`);
    }
    const r = ResponseSchema.safeParse(v);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new IntakeError(`line ${n}: ${i.path.join(".") || "(line)"}: ${i.message}`);
    }
    return [n, r.data] as const;
  });
  const out: IntakeResult = { applied: [], repeated: [], refused: [] };
  for (const [n, r] of parsed) {
    let d: Debt;
    try {
      d = book.get(r.debtId);
    } catch {
      out.refused.push({ line: n, debtId: r.debtId, why: "no such debt" });
      continue;
    }
    const ended = { approved: "recovered", declined: "declined" } as Record<string, string>;
    if (
      d.stan === r.stan && ended[r.outcome] === d.state ||
      (d.state === "written_off" && r.outcome === "declined" && d.stan === r.stan)
    ) {
      out.repeated.push(r.debtId);
      continue;
    }
    try {
      const after = book.apply(d.id, {
        final: r.outcome,
        stan: r.stan,
        responseCode: r.responseCode,
        authCode: r.authCode,
        rrn: r.rrn,
      }, at);
      out.applied.push({ debtId: d.id, outcome: r.outcome, state: after.state });
    } catch (e) {
      if (!(e instanceof DebtStateError)) throw e;
      out.refused.push({ line: n, debtId: r.debtId, why: e.message });
    }
  }
  return out;
}
