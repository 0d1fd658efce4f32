/**
 * The money of an archived day re-derived (docs/archive.md, "What audit checks"): each
 * clearing line from its stored verdict by the outcome table (`core/clearing/outcomes.ts`),
 * its fee by the one rounding rule and its postings by the chart of accounts
 * (`core/clearing/ledger.ts`); then the day's totals, the ledger's accounts and sum, and the
 * clearing file's trailer — count, amount, and with the evidence the SHA-256 of its detail
 * lines — compared with the archive's summary.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { decideOutcome, type Model } from "../clearing/outcomes.ts";
import { entries, feeOf } from "../clearing/ledger.ts";
import { daysBetween, shanghaiDayOf } from "../store/settlement.ts";
import { hexl } from "../archive/format.ts";
import type { HeaderLine, LaterLine, RecordLine, SummaryLine, Tally } from "../archive/format.ts";
import type { Findings } from "./findings.ts";
import type { Opened } from "./rederive.ts";

type Detail = { cryptogram?: string; oda?: string; cryptogramType?: string; odaCheck?: string };
const enc = new TextEncoder();

const tally = () => ({ count: 0, amount: 0 });
const add = (t: Tally, fare: number) => (t.count++, t.amount += fare);

/** Accumulates the day's books record by record, then compares them with the summary. */
export class Books {
  readonly outcomes: Record<string, Tally> = {
    CLEARED: tally(),
    DEBT: tally(),
    EXCEPTION: tally(),
    DUPLICATE: tally(),
  };
  readonly exceptions: Record<string, Tally> = {};
  readonly issuerVerifies = tally();
  readonly accounts = new Map<string, number>();
  readonly states = { verified: 0, rejected: 0 };
  readonly debtCards = new Set<string>();
  readonly debts = tally();
  fees = 0;
  entries = 0;
  postings = 0;
  records = 0;
  cleared = tally();
  readonly #trailer = nobleSha256.create();
  #details = 0;

  constructor(readonly header: HeaderLine, readonly f: Findings) {}

  #post(r: { n: number; ref: string }, postings: readonly (readonly [string, number])[]) {
    let sum = 0;
    for (const [account, fen] of postings) {
      sum += fen;
      this.accounts.set(account, (this.accounts.get(account) ?? 0) + fen);
      this.postings++;
    }
    if (postings.length) this.entries++;
    if (sum !== 0) {
      this.f.add("LEDGER_MISMATCH", `the entry of ${r.ref} sums to ${sum} fen, not 0`, {
        record: r,
        field: "postings",
      });
    }
  }

  /** One record of the day; `opened` when its evidence was opened. */
  record(r: RecordLine, opened: Opened | undefined): void {
    this.records++;
    this.states[r.state === "verified" ? "verified" : "rejected"]++;
    const at = { record: { n: r.n, ref: r.ref } };
    const c = r.clearing;
    if (r.state !== "verified" || !c) {
      if (r.state === "verified" || c) {
        this.f.add(
          "CLEARING_MISMATCH",
          `record n=${r.n} ${r.ref}: ${r.state} ${c ? "with" : "without"} a clearing line`,
          { ...at, field: "clearing" },
        );
      }
      this.#post(at.record, r.postings);
      return;
    }
    const v = r.verdict as { status: string; detail?: Detail };
    const det = v.detail ?? {};
    const s = this.header.settings;
    const model = r.model as Model;
    const late = r.tapDay !== null &&
      daysBetween(r.tapDay, shanghaiDayOf(r.receivedAt)) > s.presentmentDays;
    const d = decideOutcome({
      status: v.status,
      model,
      cryptogram: String(det.cryptogram ?? "unsupported"),
      oda: String(det.oda ?? "absent"),
      cryptogramType: det.cryptogramType,
      odaCheck: det.odaCheck,
      late,
    });
    const bp = s.feeBp[model] ?? -1;
    const fee = d.ledger === "none" ? 0 : feeOf(r.fare, Math.max(0, bp));
    const bin = r.pan === null ? null : r.pan.slice(0, 6);
    const expect: [string, unknown, unknown][] = [
      ["outcome", c.outcome, d.outcome],
      ["reason", c.reason, d.reason],
      ["rule", c.rule, d.rule],
      ["issuerVerifies", c.issuerVerifies, d.issuerVerifies],
      ["model", c.model, r.model],
      ["fare", c.fare, r.fare],
      ["feeBp", c.feeBp, bp],
      ["fee", c.fee, fee],
      ["bin", c.bin, bin],
      ["denyReason", c.denyReason, d.deny && r.cardHash ? d.deny : null],
    ];
    for (const [field, stored, derived] of expect) {
      if (stored !== derived) {
        this.f.add(
          "CLEARING_MISMATCH",
          `record n=${r.n} ${r.ref}: clearing ${field} is ${JSON.stringify(stored)}, the ` +
            `outcome table gives ${JSON.stringify(derived)}`,
          { ...at, field: `clearing.${field}` },
        );
      }
    }
    this.#ledger(r, d.ledger, fee, bin);
    this.#tally(r, c.outcome, c.reason, c.issuerVerifies, c.fee);
    if (c.outcome === "CLEARED") this.#detail(r, opened);
  }

  #ledger(r: RecordLine, effect: string, fee: number, bin: string | null) {
    const at = { n: r.n, ref: r.ref };
    const kind = effect === "receivable" ? "clear" : effect;
    let want: (readonly [string, number])[] = [];
    if (effect !== "none" && bin !== null) {
      const e = entries[kind as "clear" | "debt" | "loss"]({
        recordId: r.id,
        day: this.header.day,
        fare: r.fare,
        fee,
        bin,
        merchant: r.merchant,
        line: r.line,
      });
      want = e.postings.filter(([, fen]) => fen !== 0).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    }
    const got = JSON.stringify(r.postings), exp = JSON.stringify(want);
    if (got !== exp || (want.length > 0) !== (r.entry?.kind === kind)) {
      this.f.add(
        "LEDGER_MISMATCH",
        `record n=${r.n} ${r.ref}: postings ${got} (${r.entry?.kind ?? "no entry"}), the chart ` +
          `of accounts gives ${exp} (${want.length ? kind : "no entry"})`,
        { record: at, field: "postings" },
      );
    }
    this.#post(at, r.postings);
  }

  #tally(r: RecordLine, outcome: string, reason: string, issuerVerifies: boolean, fee: number) {
    add(this.outcomes[outcome] ??= tally(), r.fare);
    if (outcome === "EXCEPTION") add(this.exceptions[reason] ??= tally(), r.fare);
    if (issuerVerifies && (outcome === "CLEARED" || outcome === "DEBT")) {
      add(this.issuerVerifies, r.fare);
    }
    this.fees += fee;
    if (outcome === "DEBT") {
      if (this.header.settings.fareMode === "aggregated") {
        const k = `${r.cardHash}|${r.psn}`;
        if (!this.debtCards.has(k)) (this.debtCards.add(k), this.debts.count++);
        this.debts.amount += r.fare;
      } else add(this.debts, r.fare);
    }
    if (outcome === "CLEARED") add(this.cleared, r.fare);
  }

  /** A cleared record's clearing-file line: hashed for the trailer, checked against the record. */
  #detail(r: RecordLine, o: Opened | undefined) {
    if (!o) return;
    const at = { record: { n: r.n, ref: r.ref } };
    if (o.detail === null) {
      this.f.add(
        "TRAILER_MISMATCH",
        `record n=${r.n} ${r.ref}: cleared, no clearing-file line`,
        at,
      );
      return;
    }
    this.#details++;
    this.#trailer.update(enc.encode(o.detail + "\n"));
    const d = JSON.parse(o.detail) as Record<string, unknown>;
    const det = (r.verdict as { detail?: Detail }).detail ?? {};
    const want: [string, unknown][] = [
      ["n", this.cleared.count],
      ["ref", r.ref],
      ["amount", r.fare],
      ["model", r.clearing!.model],
      ["issuerVerifies", r.clearing!.issuerVerifies],
      ["cryptogramType", det.cryptogramType ?? "-"],
      ["icc", o.record.icc.toUpperCase()],
      ["merchant", r.merchant],
      ["tappedAt", r.tappedAt],
    ];
    for (const [k, v] of want) {
      if (d[k] !== v) {
        this.f.add(
          "TRAILER_MISMATCH",
          `record n=${r.n} ${r.ref}: its clearing-file line has ${k} ${JSON.stringify(d[k])}`,
          { ...at, field: `detail.${k}` },
        );
      }
    }
  }

  /** Later ledger entries of the day (debts of earlier days that ended). */
  later(l: LaterLine): void {
    for (const e of l.entries) this.#post({ n: 0, ref: `entry ${e.id}` }, e.postings);
  }

  /** Compares everything with the summary line. */
  finish(z: SummaryLine, evidenceOpened: boolean): void {
    const total = [...this.accounts.values()].reduce((a, b) => a + b, 0);
    const accounts = [...this.accounts].filter(([, v]) => v !== 0)
      .sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const checks: [string, unknown, unknown][] = [
      ["records", z.records, this.records],
      ["states", z.states, this.states],
      ["outcomes", z.outcomes, this.outcomes],
      ["exceptions", sorted(z.exceptions), sorted(this.exceptions)],
      ["issuerVerifies", z.issuerVerifies, this.issuerVerifies],
      ["fees", z.fees, this.fees],
      ["debts", z.debts, this.debts],
      ["ledger.entries", z.ledger.entries, this.entries],
      ["ledger.postings", z.ledger.postings, this.postings],
      ["ledger.total", z.ledger.total, total],
      ["ledger.accounts", z.ledger.accounts.filter(([, v]) => v !== 0), accounts],
    ];
    for (const [field, stored, derived] of checks) {
      if (JSON.stringify(stored) !== JSON.stringify(derived)) {
        this.f.add(
          "TOTALS_MISMATCH",
          `${field}: ${JSON.stringify(stored)} in the summary, ${
            JSON.stringify(derived)
          } re-derived`,
          { field: `summary.${field}` },
        );
      }
    }
    if (total !== 0) {
      this.f.add("LEDGER_MISMATCH", `the day's postings sum to ${total} fen, not 0`, {
        field: "ledger",
      });
    }
    const cf = z.clearingFile;
    for (
      const [k, stored, derived] of [["count", cf.count, this.cleared.count], [
        "amount",
        cf.amount,
        this.cleared.amount,
      ]] as const
    ) {
      if (stored !== derived) {
        this.f.add(
          "TRAILER_MISMATCH",
          `the clearing file's trailer says ${k} ${stored}; the cleared records give ${derived}`,
          { field: `clearingFile.${k}` },
        );
      }
    }
    if (evidenceOpened && this.#details === this.cleared.count) {
      const sha = hexl(this.#trailer.digest());
      if (sha !== cf.trailer) {
        this.f.add(
          "TRAILER_MISMATCH",
          `the clearing file's trailer SHA-256 ${cf.trailer} is not that of the detail lines (${sha})`,
          { field: "clearingFile.trailer" },
        );
      }
    }
  }

  /** True when the trailer's SHA-256 was re-derived. */
  get trailerChecked(): boolean {
    return this.#details === this.cleared.count;
  }
}

function sorted(o: Record<string, Tally>): [string, Tally][] {
  return Object.entries(o).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}
