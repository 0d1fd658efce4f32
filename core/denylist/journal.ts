/**
 * The deny list's lifecycle over the store's SQLite connection (docs/denylist.md): who put a
 * card on the list, why, and what takes it off; every change of the list a new version, every
 * event in the journal with its actor, reason and reference.
 *
 * A card is listed while it has at least one open **hold**: `(reason, ref)`, e.g.
 * `(DEBT_DECLINED, debt 812)`. `add` opens a hold, `remove` closes holds; the list — and its
 * version — changes only when a card goes on (first hold) or off (last hold closed). So a
 * second declined debt keeps the card listed after the first one is recovered.
 *
 * Synchronous, like `node:sqlite`: when the connection is already in a transaction (a caller's
 * `BEGIN IMMEDIATE`, e.g. clearing a day), every change joins it; otherwise each change is its
 * own `BEGIN IMMEDIATE` … `COMMIT`.
 */
import type { SqlDb, SqlStatement } from "../store/sql.ts";
import { IcfareError } from "../errors.ts";
import { fromHex, toHex } from "../hex.ts";

/** Why a card goes on the list (docs/denylist.md, "Reasons"). */
export type DenyReason =
  | "ODA_FAILED"
  | "CRYPTOGRAM_FAILED"
  | "CARD_EXPIRED"
  | "DEBT_DECLINED"
  | "OPERATOR";

/** Every add reason, as accepted at the boundaries. */
export const DENY_REASONS: readonly DenyReason[] = [
  "ODA_FAILED",
  "CRYPTOGRAM_FAILED",
  "CARD_EXPIRED",
  "DEBT_DECLINED",
  "OPERATOR",
];

/**
 * Why holds are closed: `DEBT_RECOVERED` closes the `DEBT_DECLINED` hold of the debt `ref`
 * (every `DEBT_DECLINED` hold without a ref); `OPERATOR` closes every hold of the card.
 */
export type RemoveReason = "DEBT_RECOVERED" | "OPERATOR";

/** Every remove reason. */
export const REMOVE_REASONS: readonly RemoveReason[] = ["DEBT_RECOVERED", "OPERATOR"];

/** A card: the store's keyed hash of PAN and PSN (64 hex) and the PSN (2 digits). */
export interface Card {
  readonly cardHash: string;
  readonly psn: string;
}

/** The deny list as clearing and collection use it (docs/clearing.md shares this contract). */
export interface DenyList {
  /** Opens a hold; the list version after it (unchanged when the card was already listed). */
  add(card: Card, reason: DenyReason, by: string, ref?: string): number;
  /** Closes holds; the list version after it (unchanged unless the card left the list). */
  remove(card: Card, reason: string, by: string, ref?: string): number;
  /** Whether the card is listed now, or in list version `atVersion`. */
  isListed(card: Card, atVersion?: number): boolean;
  /** The current list version (0: nothing ever listed). */
  version(): number;
}

/** One journal event of a card. */
export interface DenyEvent {
  readonly id: number;
  readonly event: "hold" | "release";
  readonly reason: string;
  readonly ref: string | null;
  readonly by: string;
  readonly at: string;
  /** The list version this event made, or null when the list did not change. */
  readonly version: number | null;
  /** Whether the card was listed after the event. */
  readonly listed: boolean;
}

/** A listed card. */
export interface ListedCard {
  readonly cardHash: string;
  readonly psn: string;
  /** The reason of the hold that put the card on the list. */
  readonly reason: string;
  /** The list version that put it there. */
  readonly version: number;
}

/** One change of the served list: a card to add or to remove. */
export interface ListChange {
  readonly cardHash: string;
  readonly psn: string;
  readonly action: "add" | "remove";
  /** add: the reason the card is listed; remove: the reason it was taken off. */
  readonly reason: string;
  /** The list version of the change. */
  readonly version: number;
}

/** A bad card key, reason or version at the deny list's boundary. */
export class DenyListError extends IcfareError {
  constructor(message: string, hint?: string) {
    super("DENYLIST_BAD_INPUT", message, { hint });
    this.name = "DenyListError";
  }
}

type Row = Record<string, unknown>;

function cardBytes(card: Card): Uint8Array {
  if (typeof card?.cardHash !== "string" || !/^[0-9A-Fa-f]{64}$/.test(card.cardHash)) {
    throw new DenyListError("card.cardHash: 64 hex digits (the keyed hash of PAN and PSN)");
  }
  if (typeof card.psn !== "string" || !/^[0-9]{2}$/.test(card.psn)) {
    throw new DenyListError("card.psn: 2 digits (00 when 5F34 is absent)");
  }
  return fromHex(card.cardHash);
}

function checkActor(by: string): void {
  if (typeof by !== "string" || by.trim() === "" || by.length > 200) {
    throw new DenyListError("by: who acts, 1-200 characters");
  }
}

function checkRef(ref: string | undefined): string {
  if (ref === undefined) return "";
  if (typeof ref !== "string" || ref === "" || ref.length > 200) {
    throw new DenyListError("ref: a record or debt id, 1-200 characters");
  }
  return ref;
}

/** The SQL of the deny list, prepared once per connection. */
function statements(db: SqlDb): Record<string, SqlStatement> {
  const p = (sql: string) => db.prepare(sql);
  return {
    version: p("SELECT coalesce(max(version), 0) AS v FROM deny_journal"),
    listed: p("SELECT psn, reason, version FROM deny_cards WHERE card_hash = ?"),
    listedAt: p(
      `SELECT listed FROM deny_journal WHERE card_hash = ? AND version IS NOT NULL
       AND version <= ? ORDER BY version DESC LIMIT 1`,
    ),
    hold: p("SELECT 1 FROM deny_holds WHERE card_hash = ? AND reason = ? AND ref = ?"),
    holds: p("SELECT reason, ref FROM deny_holds WHERE card_hash = ?"),
    journal: p(
      `INSERT INTO deny_journal (card_hash, psn, event, reason, ref, actor, at, version, listed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    ),
    openHold: p("INSERT INTO deny_holds (card_hash, reason, ref, journal_id) VALUES (?, ?, ?, ?)"),
    closeHold: p("DELETE FROM deny_holds WHERE card_hash = ? AND reason = ? AND ref = ?"),
    putCard: p("INSERT INTO deny_cards (card_hash, psn, reason, version) VALUES (?, ?, ?, ?)"),
    dropCard: p("DELETE FROM deny_cards WHERE card_hash = ?"),
    history: p(
      `SELECT id, event, reason, ref, actor, at, version, listed FROM deny_journal
       WHERE card_hash = ? ORDER BY id`,
    ),
    all: p("SELECT card_hash, psn, reason, version FROM deny_cards ORDER BY version"),
    latest: p(
      "SELECT card_hash, psn, reason, version FROM deny_cards ORDER BY version DESC LIMIT ?",
    ),
    count: p("SELECT count(*) AS n FROM deny_cards"),
    // Each card's last change after version ?1, with whether it was listed at ?1.
    since: p(
      `SELECT j.card_hash, j.psn, j.reason, j.version, j.listed,
         coalesce((SELECT b.listed FROM deny_journal b WHERE b.card_hash = j.card_hash
           AND b.version IS NOT NULL AND b.version <= ?1 ORDER BY b.version DESC LIMIT 1), 0)
           AS before
       FROM deny_journal j
       WHERE j.version > ?1 AND j.version = (SELECT max(x.version) FROM deny_journal x
         WHERE x.card_hash = j.card_hash)
       ORDER BY j.version`,
    ),
    at: p("SELECT version, at FROM deny_journal WHERE version > ? ORDER BY version LIMIT 1"),
  };
}

/** `DenyList` over the store's journal tables (schema step 2), on SQLite or PostgreSQL (`SqlDb`). */
export class JournalDenyList implements DenyList {
  readonly #db: SqlDb;
  readonly #s: Record<string, SqlStatement>;
  readonly #now: () => string;

  constructor(db: SqlDb, options: { now?: () => string } = {}) {
    this.#db = db;
    this.#s = statements(db);
    this.#now = options.now ?? (() => new Date().toISOString());
  }

  version(): number {
    return Number((this.#s.version.get() as Row).v);
  }

  isListed(card: Card, atVersion?: number): boolean {
    const h = cardBytes(card);
    if (atVersion === undefined) return this.#s.listed.get(h) !== undefined;
    if (!Number.isSafeInteger(atVersion) || atVersion < 0) {
      throw new DenyListError(`atVersion: a list version, got ${atVersion}`);
    }
    const r = this.#s.listedAt.get(h, atVersion) as Row | undefined;
    return r !== undefined && Number(r.listed) === 1;
  }

  add(card: Card, reason: DenyReason, by: string, ref?: string): number {
    const h = cardBytes(card);
    if (!DENY_REASONS.includes(reason)) {
      throw new DenyListError(`reason: one of ${DENY_REASONS.join(", ")}, got "${reason}"`);
    }
    checkActor(by);
    const r = checkRef(ref);
    return this.#tx(() => {
      const v = this.version();
      if (this.#s.hold.get(h, reason, r) !== undefined) return v;
      const first = this.#s.listed.get(h) === undefined;
      const nv = first ? v + 1 : null;
      const j = this.#s.journal.get(h, card.psn, "hold", reason, r, by, this.#now(), nv, 1)!;
      this.#s.openHold.run(h, reason, r, Number(j.id));
      if (first) this.#s.putCard.run(h, card.psn, reason, nv);
      return nv ?? v;
    });
  }

  remove(card: Card, reason: string, by: string, ref?: string): number {
    const h = cardBytes(card);
    if (!(REMOVE_REASONS as readonly string[]).includes(reason)) {
      throw new DenyListError(`reason: one of ${REMOVE_REASONS.join(", ")}, got "${reason}"`);
    }
    checkActor(by);
    const r = checkRef(ref);
    return this.#tx(() => {
      const v = this.version();
      const open = (this.#s.holds.all(h) as Row[]).map((x) => [String(x.reason), String(x.ref)]);
      const closing = open.filter(([why, what]) =>
        reason === "OPERATOR" || (why === "DEBT_DECLINED" && (r === "" || what === r))
      );
      if (closing.length === 0) return v;
      for (const [why, what] of closing) this.#s.closeHold.run(h, why, what);
      const last = closing.length === open.length;
      const nv = last ? v + 1 : null;
      this.#s.journal.run(h, card.psn, "release", reason, r, by, this.#now(), nv, last ? 0 : 1);
      if (last) this.#s.dropCard.run(h);
      return nv ?? v;
    });
  }

  /** Every journal event of a card, oldest first. */
  history(card: Card): DenyEvent[] {
    return (this.#s.history.all(cardBytes(card)) as Row[]).map((x) => ({
      id: Number(x.id),
      event: String(x.event) as DenyEvent["event"],
      reason: String(x.reason),
      ref: x.ref === "" ? null : String(x.ref),
      by: String(x.actor),
      at: String(x.at),
      version: x.version === null ? null : Number(x.version),
      listed: Number(x.listed) === 1,
    }));
  }

  /** The listed cards, in the order they were listed (the latest `latest`, newest first). */
  cards(latest?: number): ListedCard[] {
    const rows = latest === undefined ? this.#s.all.all() : this.#s.latest.all(latest);
    return (rows as Row[]).map((x) => ({
      cardHash: toHex(x.card_hash as Uint8Array),
      psn: String(x.psn),
      reason: String(x.reason),
      version: Number(x.version),
    }));
  }

  /** How many cards are listed. */
  listedCount(): number {
    return Number((this.#s.count.get() as Row).n);
  }

  /**
   * The changes a holder of list version `since` needs to reach the current version: each card
   * whose listing differs between the two, once, with the version of its last change. A card
   * put on and taken off again in between does not appear. `since` 0 gives the full list.
   */
  changesSince(since: number): { version: number; changes: ListChange[] } {
    if (!Number.isSafeInteger(since) || since < 0) {
      throw new DenyListError(`since: a list version, got ${since}`);
    }
    return this.read(() => {
      const version = this.version();
      const changes: ListChange[] = [];
      for (const x of this.#s.since.all(since) as Row[]) {
        const now = Number(x.listed) === 1;
        if (now === (Number(x.before) === 1)) continue;
        const cardHash = toHex(x.card_hash as Uint8Array);
        const listed = now ? this.#s.listed.get(x.card_hash as Uint8Array) as Row : undefined;
        changes.push({
          cardHash,
          psn: String(x.psn),
          action: now ? "add" : "remove",
          reason: listed ? String(listed.reason) : String(x.reason),
          version: Number(x.version),
        });
      }
      return { version, changes };
    });
  }

  /** The first change after version `v` (when a holder of `v` fell behind), or null. */
  changedAfter(v: number): { version: number; at: string } | null {
    const r = this.#s.at.get(v) as Row | undefined;
    return r ? { version: Number(r.version), at: String(r.at) } : null;
  }

  /** The open holds of a card (why it is listed). */
  holds(card: Card): { reason: string; ref: string | null }[] {
    return (this.#s.holds.all(cardBytes(card)) as Row[]).map((x) => ({
      reason: String(x.reason),
      ref: x.ref === "" ? null : String(x.ref),
    }));
  }

  /** Runs the reads of `f` on one snapshot (a read transaction unless one is open). */
  read<T>(f: () => T): T {
    if (this.#db.isTransaction) return f();
    this.#db.exec("BEGIN");
    try {
      return f();
    } finally {
      this.#db.exec("COMMIT");
    }
  }

  /** Runs `f` in the caller's transaction, or in one of its own. */
  #tx<T>(f: () => T): T {
    if (this.#db.isTransaction) return f();
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const v = f();
      this.#db.exec("COMMIT");
      return v;
    } catch (e) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw e;
    }
  }
}
