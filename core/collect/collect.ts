/**
 * Collecting the ODA model's debts over the acquirer link (docs/iso8583.md, "Exactly once";
 * docs/clearing.md, "Collection over ISO 8583"). One run:
 *
 * 1. signs on (0800/0810, working keys checked against their check values);
 * 2. finishes what an earlier run left half done: every debt found `sent` or `reversing` is
 *    reversed (0400, its own STAN) before anything else — its 0200 may have been charged;
 * 3. moves declined debts whose retry is due back to pending (the retry schedule);
 * 4. sends each due pending debt once per round with a fresh STAN, `sent` persisted first, up
 *    to `concurrency` in flight; an unknown outcome is reversed, a refusal or a confirmed
 *    reversal leaves the debt pending for the next round (a new STAN), up to `rounds` rounds.
 *
 * Every outcome goes through `DebtBook.apply`, which moves the debt along the state machine and
 * changes the ledger and the deny list in the same transaction (a decline lists the card, an
 * approval releases that hold). So killed at any point, the next run finishes every debt and
 * no tap is ever charged twice: a 0200 whose answer was not seen is never sent again.
 */
import { IcfareError } from "../errors.ts";
import { GroupCommit } from "./commit.ts";
import type { Debt, DebtBook } from "../debts/book.ts";
import type { AttemptResult, DebtState } from "../debts/states.ts";
import type { AcquirerLink, AuthInput } from "../iso8583/link.ts";
import type { LinkStats } from "../iso8583/link.ts";
import type { ReversalReason } from "../iso8583/messages.ts";
import {
  type AttemptJournal,
  type AttemptOutcome,
  resumeReversal,
  runAttempt,
} from "../iso8583/attempt.ts";

/** The link could not be used at all (unreachable, sign-on refused). */
export class CollectLinkError extends IcfareError {
  constructor(code: "COLLECT_UNREACHABLE" | "COLLECT_SIGN_ON", message: string) {
    super(code, message, {
      hint: code === "COLLECT_SIGN_ON"
        ? "icfare keys list (the acquirer-tmk key of the terminal)"
        : "icfare collect --host H --port P",
    });
    this.name = "CollectLinkError";
  }
}

/** Builds the request of a debt with a STAN (a fresh one, or the debt's own to reverse it). */
export type RequestOf = (d: Debt, stan: string) => Promise<AuthInput>;

export interface CollectOptions {
  readonly book: DebtBook;
  readonly link: AcquirerLink;
  readonly requestOf: RequestOf;
  /** The time stamped on every change (and the clock of the retry schedule). */
  readonly clock: () => string;
  /** Debts in flight together (default 4). */
  readonly concurrency?: number;
  /** Passes over the due debts (default 4): a refused or reversed debt is tried again. */
  readonly rounds?: number;
  /** 0400s per debt and round before leaving it `reversing` (default 3). */
  readonly reversalTries?: number;
  /** At most this many due debts are taken (default all). */
  readonly limit?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

/** Count and amount in fen. */
export interface Tally {
  count: number;
  amount: number;
}

/** What a run did. */
export interface CollectSummary {
  at: string;
  /** Debts found `sent`/`reversing` at the start, and how many of them were reversed. */
  resumed: { found: number; reversed: number };
  /** Declined debts whose retry was due. */
  swept: number;
  /** 0200s sent (with a fresh STAN each). */
  attempts: number;
  rounds: number;
  /** Money: approved (recovered), declined (to retry), written off (final decline). */
  collected: Tally;
  declined: Tally;
  writtenOff: Tally;
  /** Attempts ending with nothing charged and the debt pending again. */
  refused: number;
  reversed: number;
  /** Reversals not yet confirmed (the debt stays `reversing` for the next run). */
  reversalPending: number;
  /** Debts whose request could not be built (their data), with the coded reason. */
  failed: { debtId: number; code: string; message: string }[];
  /** Debts of this run still not settled at the end (pending, sent, reversing). */
  left: Record<"pending" | "sent" | "reversing", number>;
  link: LinkStats;
  /** Store commits of the journal and outcomes, and the steps they carried (group commit). */
  journal: { commits: number; steps: number };
  seconds: number;
  perSecond: number;
}

const tally = (): Tally => ({ count: 0, amount: 0 });

/** Runs `work` over `items` with at most `n` in flight. */
async function pool<T>(items: readonly T[], n: number, work: (x: T) => Promise<void>) {
  let next = 0;
  const runner = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, runner));
}

/** One collection run; see the module comment. */
export async function collectDebts(o: CollectOptions): Promise<CollectSummary> {
  return await new Run(o).run();
}

class Run {
  readonly s: CollectSummary;
  readonly #t0 = performance.now();
  #signing: Promise<boolean> | undefined;
  #unreachable = 0;
  #done = 0;
  #total = 0;
  #chosen = new Set<number>();
  #stans: string[] = [];
  readonly #commit: GroupCommit;

  constructor(readonly o: CollectOptions) {
    this.#commit = new GroupCommit(o.book.db);
    this.s = {
      at: o.clock(),
      resumed: { found: 0, reversed: 0 },
      swept: 0,
      attempts: 0,
      rounds: 0,
      collected: tally(),
      declined: tally(),
      writtenOff: tally(),
      refused: 0,
      reversed: 0,
      reversalPending: 0,
      failed: [],
      left: { pending: 0, sent: 0, reversing: 0 },
      link: o.link.stats,
      journal: { commits: 0, steps: 0 },
      seconds: 0,
      perSecond: 0,
    };
  }

  /** A fresh STAN; reserved from the store 64 at a time (one commit per block). */
  stan(): string {
    if (!this.#stans.length) this.#stans = this.o.book.nextStans(64).reverse();
    return this.#stans.pop()!;
  }

  /** One sign-on at a time; true when the link holds working keys. */
  signOn = (): Promise<boolean> => {
    if (this.o.link.signedOn) return Promise.resolve(true);
    this.#signing ??= this.o.link.signOn(this.stan()).then((r) => {
      if (!r.ok && r.reason === "unreachable") this.#unreachable++;
      return r.ok;
    }).finally(() => (this.#signing = undefined));
    return this.#signing;
  };

  journalOf(id: number): AttemptJournal {
    const { book, clock } = this.o;
    const c = this.#commit;
    return {
      sending: (stan) => c.run(() => void book.sending(id, stan, clock())),
      reversing: (stan, reason) => c.run(() => void book.reversing(id, stan, reason, clock())),
    };
  }

  async run(): Promise<CollectSummary> {
    const { book, link } = this.o;
    const first = await link.signOn(this.stan());
    if (!first.ok) {
      throw first.reason === "unreachable"
        ? new CollectLinkError("COLLECT_UNREACHABLE", "acquirer host: cannot connect")
        : new CollectLinkError(
          "COLLECT_SIGN_ON",
          `acquirer host: sign-on refused (${first.responseCode ?? first.reason})`,
        );
    }
    const half = book.list({ states: ["sent", "reversing"] });
    this.s.resumed.found = half.length;
    this.s.swept = book.sweep(this.s.at);
    // The debts of this run: those left half done, and the due ones (up to the limit).
    const chosen = new Set([...half, ...book.due(this.s.at, this.o.limit)].map((d) => d.id));
    this.#chosen = chosen;
    this.#total = chosen.size;
    await this.#resume(half, true);
    const rounds = this.o.rounds ?? 4;
    for (let round = 0; round < rounds && this.#unreachable < 3; round++) {
      if (round > 0) await this.#resume(book.list({ states: ["sent", "reversing"] }), false);
      const due = book.due(this.s.at).filter((d) => chosen.has(d.id));
      if (!due.length) break;
      this.s.rounds++;
      await pool(due, this.o.concurrency ?? 4, (d) => this.#attempt(d));
    }
    return this.#finish();
  }

  async #resume(debts: readonly Debt[], counted: boolean): Promise<void> {
    await pool(debts, this.o.concurrency ?? 4, async (d) => {
      const req = await this.#request(d, d.stan!);
      if (!req) return;
      const reason = (d.reversalReason ?? "98") as ReversalReason;
      const r = await resumeReversal(this.o.link, req, reason, this.journalOf(d.id), {
        signOn: this.signOn,
        reversalTries: this.o.reversalTries ?? 3,
      });
      if (r.final === "reversal-pending") return;
      const result = { final: "reversed" as const, stan: r.stan, responseCode: r.responseCode };
      await this.#commit.run(() => this.o.book.apply(d.id, result, this.o.clock()));
      if (counted) this.s.resumed.reversed++;
    });
  }

  async #request(d: Debt, stan: string): Promise<AuthInput | undefined> {
    try {
      return await this.o.requestOf(d, stan);
    } catch (e) {
      if (!(e instanceof IcfareError)) throw e;
      if (!this.s.failed.some((f) => f.debtId === d.id)) {
        this.s.failed.push({ debtId: d.id, code: e.code, message: e.message });
      }
      return undefined;
    }
  }

  async #attempt(d: Debt): Promise<void> {
    if (this.#unreachable >= 3) return;
    const req = await this.#request(d, this.stan());
    if (!req) return;
    const r = await runAttempt(this.o.link, req, this.journalOf(d.id), {
      signOn: this.signOn,
      reversalTries: this.o.reversalTries ?? 3,
    });
    if (r.final !== "not-sent") this.s.attempts++;
    await this.#apply(d, r);
  }

  async #apply(d: Debt, r: AttemptOutcome): Promise<void> {
    const s = this.s;
    if (r.final === "not-sent") {
      if (r.reason === "unreachable") this.#unreachable++;
      return;
    }
    if (r.final === "reversal-pending") return void s.reversalPending++;
    this.#unreachable = 0;
    const result: AttemptResult = r.final === "reversed"
      ? { final: "reversed", stan: r.stan, responseCode: r.responseCode }
      : {
        final: r.final,
        stan: r.stan,
        responseCode: r.answer.responseCode,
        ...(r.answer.authCode ? { authCode: r.answer.authCode } : {}),
        ...(r.answer.rrn ? { rrn: r.answer.rrn } : {}),
      };
    const after = await this.#commit.run(() => this.o.book.apply(d.id, result, this.o.clock()));
    const add = (t: Tally) => (t.count++, t.amount += d.amount, this.#progress());
    if (after.state === "recovered") add(s.collected);
    else if (after.state === "written_off") add(s.writtenOff);
    else if (after.state === "declined") add(s.declined);
    else if (r.final === "reversed") s.reversed++;
    else s.refused++;
  }

  #progress(): void {
    this.#done++;
    this.o.onProgress?.(Math.min(this.#done, this.#total), this.#total);
  }

  #finish(): CollectSummary {
    const { book } = this.o;
    const count = (states: DebtState[]) =>
      book.list({ states }).filter((d) => this.#chosen.has(d.id)).length;
    this.s.left = {
      pending: count(["pending"]),
      sent: count(["sent"]),
      reversing: count(["reversing"]),
    };
    this.s.link = this.o.link.stats;
    this.s.journal = { commits: this.#commit.commits, steps: this.#commit.steps };
    this.s.seconds = Math.round((performance.now() - this.#t0) / 10) / 100;
    const settled = this.s.collected.count + this.s.declined.count + this.s.writtenOff.count;
    this.s.perSecond = this.s.seconds > 0 ? Math.round(settled / this.s.seconds) : settled;
    this.o.onProgress?.(this.#total, this.#total);
    return this.s;
  }
}
