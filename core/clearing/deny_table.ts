/**
 * A stand-in `DenyList` over the store's version-1 `deny_list` table, synchronous on the
 * caller's connection (so its changes commit with the caller's transaction). It keeps only the
 * latest add and remove of each card, not a history nor holds; the deny-list room's
 * `core/denylist/` replaces it (docs/denylist.md). Used by `icfare clear` and `icfare debts` until
 * then.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { fromHex } from "../hex.ts";
import type { DenyCard, DenyList, DenyReason } from "./deny_port.ts";

type Row = Record<string, unknown>;

export class TableDenyList implements DenyList {
  readonly #version: StatementSync;
  readonly #get: StatementSync;

  constructor(readonly db: DatabaseSync) {
    this.#version = db.prepare("SELECT value FROM meta WHERE key = 'deny_list_version'");
    this.#get = db.prepare(
      "SELECT reason, added_version, removed_version FROM deny_list WHERE card_hash = ?",
    );
  }

  version(): number {
    const r = this.#version.get() as Row | undefined;
    return r ? Number(r.value) : 0;
  }

  #row(card: DenyCard): Row | undefined {
    return this.#get.get(fromHex(card.cardHash, "cardHash")) as Row | undefined;
  }

  isListed(card: DenyCard, atVersion?: number): boolean {
    const r = this.#row(card);
    if (!r) return false;
    const v = atVersion ?? this.version();
    const removed = r.removed_version == null ? null : Number(r.removed_version);
    return Number(r.added_version) <= v && (removed === null || removed > v);
  }

  #otherHolds(card: DenyCard, ref?: string): boolean {
    const h = fromHex(card.cardHash, "cardHash");
    const debt = ref?.startsWith("debt:") ? Number(ref.slice(5)) : -1;
    const r = this.db.prepare(
      `SELECT (SELECT count(*) FROM debts WHERE card_hash = ?1 AND psn = ?2 AND id <> ?3
         AND state IN ('declined', 'written_off'))
       + (SELECT count(*) FROM clearing_lines WHERE card_hash = ?1 AND psn IS ?2
         AND deny_reason IS NOT NULL) AS n`,
    ).get(h, card.psn, debt) as Row;
    return Number(r.n) > 0;
  }

  #bump(): number {
    const v = this.version() + 1;
    this.db.prepare("UPDATE meta SET value = ? WHERE key = 'deny_list_version'").run(String(v));
    return v;
  }

  add(card: DenyCard, reason: DenyReason, _by: string, _ref?: string): number {
    if (this.isListed(card)) return this.version();
    const v = this.#bump();
    this.db.prepare(
      `INSERT INTO deny_list (card_hash, reason, added_version, removed_version)
       VALUES (?, ?, ?, NULL)
       ON CONFLICT (card_hash) DO UPDATE SET reason = excluded.reason,
         added_version = excluded.added_version, removed_version = NULL`,
    ).run(fromHex(card.cardHash, "cardHash"), reason, v);
    return v;
  }

  /**
   * Without the deny-list room's holds, a `DEBT_RECOVERED` release is emulated: the card stays
   * listed while another debt of it is declined or written off, or clearing listed it for a
   * fault of its own (a clearing line with a deny reason).
   */
  remove(card: DenyCard, reason: string, _by: string, ref?: string): number {
    if (!this.isListed(card)) return this.version();
    if (reason === "DEBT_RECOVERED" && this.#otherHolds(card, ref)) return this.version();
    const v = this.#bump();
    this.db.prepare("UPDATE deny_list SET removed_version = ? WHERE card_hash = ?")
      .run(v, fromHex(card.cardHash, "cardHash"));
    return v;
  }
}
