/**
 * Debts in the store (docs/clearing.md, "Debts"): created by clearing for each `DEBT` record
 * (one per tap, or one per card per day in the aggregated fare mode), moved along the state
 * machine of `states.ts` by collection (`core/iso8583` through `AttemptJournal`) or by the intake
 * of response files, with the ledger and the deny list changed in the same transaction:
 * a decline puts the card on the deny list (a `DEBT_DECLINED` hold with the debt as its ref), an
 * approval posts the recovery and releases that hold (the card leaves the list when no other hold
 * is open: another unpaid debt, a fault clearing found), the last decline writes the debt off.
 *
 * Every method is synchronous and runs in its own `BEGIN IMMEDIATE` transaction, or inside the
 * caller's when one is open. Each change is kept in `debt_events`.
 */
import type { SqlDb, SqlStatement } from "../store/sql.ts";
import { toHex } from "../hex.ts";
import { IcfareError } from "../errors.ts";
import { shanghaiDayOf } from "../store/settlement.ts";
import type { DenyList } from "../denylist/journal.ts";
import { entries, LedgerWriter } from "../clearing/ledger.ts";
import { inTransaction } from "../clearing/settings.ts";
import {
  type AttemptResult,
  type DebtEvent,
  type DebtState,
  FINAL_STATES,
  nextState,
  retryAt,
} from "./states.ts";

/** One debt as the store keeps it (the card as its keyed hash, never the PAN). */
export interface Debt {
  readonly id: number;
  readonly cardHash: string;
  readonly psn: string;
  readonly bin: string;
  readonly day: string;
  readonly mode: "single" | "aggregated";
  readonly amount: number;
  readonly state: DebtState;
  readonly stan: string | null;
  readonly sends: number;
  readonly retransmissions: number;
  readonly declines: number;
  readonly reversalReason: string | null;
  readonly firstDeclinedAt: string | null;
  readonly nextAttemptAt: string;
  readonly responseCode: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** A debt cannot take this step (a stale or foreign response, a debt in another state). */
export class DebtStateError extends IcfareError {
  constructor(message: string) {
    super("DEBT_STATE", message, { hint: "icfare debts list" });
    this.name = "DebtStateError";
  }
}

/** What clearing hands over for one `DEBT` record. */
export interface NewDebt {
  readonly recordId: number;
  readonly cardHash: Uint8Array;
  readonly psn: string;
  readonly bin: string;
  readonly day: string;
  readonly fare: number;
  readonly mode: "single" | "aggregated";
  readonly at: string;
}

type Row = Record<string, unknown>;
/** One step of `#move`: the event and the columns it sets. */
type Step = { event: DebtEvent; set: Record<string, string | number | null> };

function debtOf(r: Row): Debt {
  const s = (k: string) => (r[k] == null ? null : String(r[k]));
  return {
    id: Number(r.id),
    cardHash: toHex(new Uint8Array(r.card_hash as Uint8Array)),
    psn: String(r.psn),
    bin: String(r.bin),
    day: String(r.settlement_day),
    mode: r.mode as Debt["mode"],
    amount: Number(r.amount),
    state: r.state as DebtState,
    stan: s("stan"),
    sends: Number(r.sends),
    retransmissions: Number(r.retransmissions),
    declines: Number(r.declines),
    reversalReason: s("reversal_reason"),
    firstDeclinedAt: s("first_declined_at"),
    nextAttemptAt: String(r.next_attempt_at),
    responseCode: s("response_code"),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

const COLS = `id, card_hash, psn, bin, settlement_day, mode, amount, state, stan, sends,
  retransmissions, declines, reversal_reason, first_declined_at, next_attempt_at, response_code,
  created_at, updated_at`;

/** The debts of one store, with the deny list they change and the actor they record. */
export class DebtBook {
  readonly #s: Record<string, SqlStatement>;
  readonly #ledger: LedgerWriter;

  constructor(readonly db: SqlDb, readonly deny: DenyList, readonly by: string) {
    const p = (sql: string) => db.prepare(sql);
    this.#ledger = new LedgerWriter(db);
    this.#s = {
      get: p(`SELECT ${COLS} FROM debts WHERE id = ?`),
      openAggregate: p(
        `SELECT id FROM debts WHERE card_hash = ? AND psn = ? AND settlement_day = ?
         AND mode = 'aggregated' AND state = 'pending' AND sends = 0 ORDER BY id LIMIT 1`,
      ),
      insert: p(
        `INSERT INTO debts (card_hash, psn, bin, settlement_day, mode, amount, state,
           next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) RETURNING id`,
      ),
      grow: p("UPDATE debts SET amount = amount + ?, updated_at = ? WHERE id = ?"),
      link: p("INSERT INTO debt_records (debt_id, record_id, fare) VALUES (?, ?, ?)"),
      event: p(
        `INSERT INTO debt_events (debt_id, at, from_state, to_state, stan, detail)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      records: p(
        `SELECT d.record_id, d.fare, r.line, b.merchant_id FROM debt_records d
         JOIN records r ON r.id = d.record_id JOIN batches b ON b.id = r.batch_id
         WHERE d.debt_id = ? ORDER BY d.record_id`,
      ),
      stan: p("SELECT value FROM meta WHERE key = 'debt_stan'"),
      setStan: p("UPDATE meta SET value = ? WHERE key = 'debt_stan'"),
    };
  }

  /** Records a `DEBT` record as a debt (or adds it to the card's open aggregate); its id. */
  create(d: NewDebt): number {
    return inTransaction(this.db, () => {
      if (d.mode === "aggregated") {
        const open = this.#s.openAggregate.get(d.cardHash, d.psn, d.day) as Row | undefined;
        if (open) {
          const id = Number(open.id);
          this.#s.grow.run(d.fare, d.at, id);
          this.#s.link.run(id, d.recordId, d.fare);
          this.#s.event.run(id, d.at, "pending", "pending", null, `+record ${d.recordId}`);
          return id;
        }
      }
      const id = Number(
        this.#s.insert.get(d.cardHash, d.psn, d.bin, d.day, d.mode, d.fare, d.at, d.at, d.at)!.id,
      );
      this.#s.link.run(id, d.recordId, d.fare);
      this.#s.event.run(id, d.at, null, "pending", null, `record ${d.recordId}`);
      return id;
    });
  }

  /** One debt, or throws `DebtStateError` when there is none. */
  get(id: number): Debt {
    const r = this.#s.get.get(id) as Row | undefined;
    if (!r) throw new DebtStateError(`no debt ${id}`);
    return debtOf(r);
  }

  /** Debts, oldest first, filtered by state(s) and settlement day. */
  list(f: { states?: readonly DebtState[]; day?: string; limit?: number } = {}): Debt[] {
    const where: string[] = [], args: (string | number)[] = [];
    if (f.states?.length) {
      where.push(`state IN (${f.states.map(() => "?").join(", ")})`);
      args.push(...f.states);
    }
    if (f.day) (where.push("settlement_day = ?"), args.push(f.day));
    const sql = `SELECT ${COLS} FROM debts ${where.length ? "WHERE " + where.join(" AND ") : ""}
      ORDER BY id LIMIT ?`;
    return (this.db.prepare(sql).all(...args, f.limit ?? Number.MAX_SAFE_INTEGER) as Row[]).map(
      debtOf,
    );
  }

  /** The records of a debt with their fares. */
  recordsOf(id: number): { recordId: number; fare: number; line: string; merchant: string }[] {
    return (this.#s.records.all(id) as Row[]).map((r) => ({
      recordId: Number(r.record_id),
      fare: Number(r.fare),
      line: String(r.line),
      merchant: String(r.merchant_id),
    }));
  }

  /** The next STAN (000001..999999, then round again), kept in the store. */
  nextStan(): string {
    return this.nextStans(1)[0];
  }

  /**
   * The next `n` STANs, reserved in one transaction (one commit instead of `n`); a STAN reserved
   * and never used (the run ended first) is simply skipped.
   */
  nextStans(n: number): string[] {
    if (!Number.isInteger(n) || n < 1 || n > 999_999) {
      throw new RangeError(`n: 1..999999, got ${n}`);
    }
    return inTransaction(this.db, () => {
      let v = Number((this.#s.stan.get() as Row).value);
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        v = v % 999999 + 1;
        out.push(String(v).padStart(6, "0"));
      }
      this.#s.setStan.run(String(v));
      return out;
    });
  }

  /** Journal, before a request leaves: `pending` → `sent` with `stan` (same STAN: a resend). */
  sending(id: number, stan: string, at: string): Debt {
    if (!/^\d{6}$/.test(stan)) throw new RangeError(`stan must be 6 digits, got "${stan}"`);
    return this.#move(id, at, (d): Step => {
      if (d.state === "sent" && d.stan === stan) {
        return { event: "retransmit", set: { retransmissions: d.retransmissions + 1 } };
      }
      return { event: "sending", set: { stan, sends: d.sends + 1, reversal_reason: null } };
    }, stan);
  }

  /** Journal, before each reversal: `sent` → `reversing` (with the reason code). */
  reversing(id: number, stan: string, reason: string, at: string): Debt {
    return this.#move(id, at, (d): Step => {
      if (d.stan !== stan) {
        throw new DebtStateError(`debt ${id}: reversal of STAN ${stan}, not ${d.stan}`);
      }
      return { event: "reversing", set: { reversal_reason: reason } };
    }, stan);
  }

  /** Applies the end of an attempt (collection or a response file). */
  apply(id: number, r: AttemptResult, at: string): Debt {
    const final = r.final;
    if (final === "reversal-pending" || final === "not-sent") return this.get(id);
    return this.#move(id, at, (d): Step => {
      if (d.stan !== r.stan) {
        throw new DebtStateError(`debt ${id}: response for STAN ${r.stan}, the debt has ${d.stan}`);
      }
      const code = "responseCode" in r ? r.responseCode ?? null : null;
      if (r.final === "approved") {
        return {
          event: "approved",
          set: { response_code: code, auth_code: r.authCode ?? null, rrn: r.rrn ?? null },
        };
      }
      if (r.final === "declined") {
        const first = d.firstDeclinedAt ?? at;
        const next = retryAt(first, d.declines + 1);
        return {
          event: next === null ? "declined-final" : "declined",
          set: {
            response_code: code,
            declines: d.declines + 1,
            first_declined_at: first,
            next_attempt_at: next ?? d.nextAttemptAt,
          },
        };
      }
      return { event: final, set: { response_code: code, stan: null, reversal_reason: null } };
    }, r.stan);
  }

  /** Declined debts whose retry is due at `at` go back to `pending`; returns how many. */
  sweep(at: string): number {
    return inTransaction(this.db, () => {
      const due = this.db.prepare(
        `SELECT id FROM debts WHERE state = 'declined' AND next_attempt_at <= ? ORDER BY id`,
      ).all(at) as Row[];
      for (const r of due) {
        this.#move(Number(r.id), at, (): Step => ({ event: "retry-due", set: {} }));
      }
      return due.length;
    });
  }

  /** Pending debts due at `at`, oldest first (all of them unless `limit`). */
  due(at: string, limit?: number): Debt[] {
    return (this.db.prepare(
      `SELECT ${COLS} FROM debts WHERE state = 'pending' AND next_attempt_at <= ?
       ORDER BY id LIMIT ?`,
    ).all(at, limit ?? Number.MAX_SAFE_INTEGER) as Row[]).map(debtOf);
  }

  /** Moves a debt along one edge of the state machine with its side effects, in a transaction. */
  #move(
    id: number,
    at: string,
    step: (d: Debt) => Step,
    stan: string | null = null,
  ): Debt {
    return inTransaction(this.db, () => {
      const d = this.get(id);
      if (FINAL_STATES.has(d.state)) throw new DebtStateError(`debt ${id} is ${d.state}`);
      const { event, set } = step(d);
      const to = nextState(d.state, event);
      if (to === null) throw new DebtStateError(`debt ${id} is ${d.state}: cannot take ${event}`);
      const cols = { ...set, state: to, updated_at: at };
      const keys = Object.keys(cols);
      this.db.prepare(`UPDATE debts SET ${keys.map((k) => `${k} = ?`).join(", ")} WHERE id = ?`)
        .run(...keys.map((k) => cols[k as keyof typeof cols]), id);
      this.#s.event.run(id, at, d.state, to, stan, event);
      this.#effects(d, to, event, at);
      return this.get(id);
    });
  }

  /** Ledger and deny list for a state change (inside `#move`'s transaction). */
  #effects(d: Debt, to: DebtState, event: DebtEvent, at: string): void {
    const card = { cardHash: d.cardHash, psn: d.psn };
    if (event === "declined" || event === "declined-final") {
      this.deny.add(card, "DEBT_DECLINED", this.by, `debt:${d.id}`);
    }
    if (to !== "recovered" && to !== "written_off") return;
    const day = shanghaiDayOf(at);
    try {
      this.#post(d, to, day);
    } catch (e) {
      this.#ledger.reset();
      throw e;
    }
    // Closes this debt's hold; the card stays listed while another hold (another declined
    // debt, a fault clearing found) is open (docs/denylist.md).
    if (to === "recovered") this.deny.remove(card, "DEBT_RECOVERED", this.by, `debt:${d.id}`);
  }

  /** The recovery or write-off entries of a debt's records, sealed (ledger at 0 fen). */
  #post(d: Debt, to: "recovered" | "written_off", day: string): void {
    for (const r of this.recordsOf(d.id)) {
      const p = {
        recordId: r.recordId,
        day,
        fare: r.fare,
        fee: 0,
        bin: d.bin,
        merchant: r.merchant,
        line: r.line,
        debtId: d.id,
      };
      this.#ledger.post(to === "recovered" ? entries.recovery(p) : entries.writeOff(p));
    }
    this.#ledger.seal();
  }
}
