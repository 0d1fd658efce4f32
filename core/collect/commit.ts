/**
 * Group commit for the collection run (docs/iso8583.md, "icfare collect"): the journal steps and
 * outcomes of the debts in flight are queued and committed together, one `BEGIN IMMEDIATE …
 * COMMIT` (one fsync under `synchronous = FULL`) for every step that arrived since the last one.
 * Each step runs in its own savepoint, so a step that throws (a `DebtStateError`) is undone alone
 * and rejected; the others commit. A step's promise resolves only after the COMMIT: a debt made
 * `sent` this way is durable before its 0200 leaves, as the exactly-once rule wants.
 */
import type { SqlDb } from "../store/sql.ts";

interface Step {
  readonly run: () => unknown;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

export class GroupCommit {
  #queue: Step[] = [];
  #scheduled = false;
  /** Commits made, and steps committed (for the summary). */
  commits = 0;
  steps = 0;

  constructor(readonly db: SqlDb) {}

  /** Runs `f` in the next group transaction; resolves with its value once committed. */
  run<T>(f: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run: f, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setTimeout(() => this.#flush(), 0);
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    if (!queue.length) return;
    const done: { s: Step; v?: unknown; e?: unknown; failed: boolean }[] = [];
    try {
      this.db.exec("BEGIN IMMEDIATE");
      for (const s of queue) {
        this.db.exec("SAVEPOINT step");
        try {
          done.push({ s, v: s.run(), failed: false });
          this.db.exec("RELEASE step");
        } catch (e) {
          this.db.exec("ROLLBACK TO step");
          this.db.exec("RELEASE step");
          done.push({ s, e, failed: true });
        }
      }
      this.db.exec("COMMIT");
    } catch (e) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      for (const s of queue) s.reject(e);
      return;
    }
    this.commits++;
    this.steps += queue.length;
    for (const d of done) d.failed ? d.s.reject(d.e) : d.s.resolve(d.v);
  }
}
