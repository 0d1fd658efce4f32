/**
 * The deny-list interface clearing and collection call (docs/denylist.md; the contract shared
 * with the deny-list room). Synchronous: when the caller passes work inside its own store
 * transaction, the list change commits or rolls back with it.
 *
 * A card is its keyed PAN hash (hex, `core/store/pan.ts`) plus its PSN, never the PAN.
 */

/** Why a card is put on the list. */
export type DenyReason =
  | "ODA_FAILED"
  | "CRYPTOGRAM_FAILED"
  | "CARD_EXPIRED"
  | "DEBT_DECLINED"
  | "OPERATOR";

/** A card as the deny list knows it. */
export interface DenyCard {
  readonly cardHash: string;
  readonly psn: string;
}

/**
 * The deny list. `add` and `remove` are idempotent: adding a listed card (or removing one that
 * is not listed) changes nothing and does not bump the version. Every change bumps the
 * version and is kept as history (who, why, `ref` = the record or debt it came from).
 */
export interface DenyList {
  add(card: DenyCard, reason: DenyReason, by: string, ref?: string): number;
  remove(card: DenyCard, reason: string, by: string, ref?: string): number;
  isListed(card: DenyCard, atVersion?: number): boolean;
  version(): number;
}
