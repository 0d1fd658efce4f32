/**
 * A stand-in `DenyList` over the store's version-1 `deny_list` table, synchronous on the
 * caller's connection (so its changes commit with the caller's transaction). It keeps only the
 * latest add and remove of each card, not a history; the deny-list room's `core/denylist/`
 * replaces it (docs/denylist.md). Used by `icfare clear` and `icfare debts` until then.
 */
import type { DatabaseSync } from "node:sqlite";
import { fromHex } from "../hex.ts";
import type { DenyCard, DenyList, DenyReason } from "./deny_port.ts";

type Row = Record<string, unknown>;

export class TableDenyList implements DenyList {
  constructor(readonly db: DatabaseSync) {}

  version(): number {
    const r = this.db.prepare("SELECT value FROM meta WHERE key = 'deny_list_version'").get() as
      | Row
      | undefined;
    return r ? Number(r.value) : 0;
  }

  #row(card: DenyCard): Row | undefined {
    return this.db.prepare(
      "SELECT reason, added_version, removed_version FROM deny_list WHERE card_hash = ?",
    ).get(fromHex(card.cardHash, "cardHash")) as Row | undefined;
  }

  isListed(card: DenyCard, atVersion?: number): boolean {
    const r = this.#row(card);
    if (!r) return false;
    const v = atVersion ?? this.version();
    const removed = r.removed_version == null ? null : Number(r.removed_version);
    return Number(r.added_version) <= v && (removed === null || removed > v);
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

  remove(card: DenyCard, _reason: string, _by: string, _ref?: string): number {
    if (!this.isListed(card)) return this.version();
    const v = this.#bump();
    this.db.prepare("UPDATE deny_list SET removed_version = ? WHERE card_hash = ?")
      .run(v, fromHex(card.cardHash, "cardHash"));
    return v;
  }
}
