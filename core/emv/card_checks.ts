/**
 * Record checks that read the card's own data objects, with the words both verification paths
 * use: the cryptogram type from the CVR rather than 9F27 (terminals make 9F27 up; a
 * disagreement is noted, docs/verification.md), and the card's validity at the transaction
 * date (5F24 expiry, 5F25 effective date against 9A; EMV 4.4 Book 3 §10.4.3).
 */
import type { CARD_DATES } from "../../kernel-as/contract.ts";
import { toHex } from "../hex.ts";
import { cryptogramType } from "../tlv/decoders.ts";

/** The cryptogram type of a record, where it came from, and the type 9F27 states. */
export type TypeFinding = NonNullable<ReturnType<typeof cryptogramType>>;

/** Cryptogram type: the CVR's, else 9F27's (the rule is `cryptogramType` of the decoders). */
export const cryptogramTypeOf = cryptogramType;

/** The note when 9F27 disagrees with the CVR, or undefined. */
export function cidNote(t: TypeFinding | undefined): string | undefined {
  if (!t || t.source !== "CVR" || t.cid === undefined || t.cid === t.type) return undefined;
  return `9F27 says ${t.cid} but the CVR says ${t.type}: the type is taken from the CVR`;
}

/** Card validity at the transaction date (`CARD_DATES`). */
export type CardDate = typeof CARD_DATES[number];

function ymd(v: Uint8Array | undefined): number | undefined {
  if (!v || v.length !== 3) return undefined;
  const s = toHex(v);
  if (!/^[0-9]{6}$/.test(s)) return undefined;
  const mm = +s.slice(2, 4), dd = +s.slice(4, 6);
  if (mm < 1 || mm > 12 || dd < 1 || dd > 31) return undefined;
  const yy = +s.slice(0, 2);
  return (yy < 50 ? 2000 + yy : 1900 + yy) * 10000 + mm * 100 + dd;
}

/**
 * The card's validity at 9A: expired after 5F24, not yet effective before 5F25; a present
 * 5F24/5F25 that is not a YYMMDD date is `not-a-date`. "ok" when 9A is not a date (unchecked).
 */
export function cardDate(
  d9a: Uint8Array | undefined,
  expiry: Uint8Array | undefined,
  effective: Uint8Array | undefined,
): CardDate {
  const txn = ymd(d9a);
  if (txn === undefined) return "ok";
  const exp = expiry === undefined ? undefined : ymd(expiry) ?? null;
  const eff = effective === undefined ? undefined : ymd(effective) ?? null;
  if (exp === null || eff === null) return "not-a-date";
  if (exp !== undefined && txn > exp) return "expired";
  if (eff !== undefined && txn < eff) return "not-yet-effective";
  return "ok";
}

/** The finding and message note of a card date. */
export const CARD_DATE_FINDINGS: Readonly<
  Record<CardDate, { status: "CARD_EXPIRED" | "MISSING_DATA"; note: string } | undefined>
> = {
  "ok": undefined,
  "expired": { status: "CARD_EXPIRED", note: "card expired (5F24) before the tap's 9A" },
  "not-yet-effective": {
    status: "CARD_EXPIRED",
    note: "card not yet effective (5F25) at the tap's 9A",
  },
  "not-a-date": { status: "MISSING_DATA", note: "5F24/5F25 is not a YYMMDD date" },
};
