/**
 * The duplicate / replay rule (docs/verification.md, duplicates and replays), written once and
 * used by the readable path, the kernel batch path and store-mode verification:
 *
 * - a record's identity is (PAN, PSN, ATC); a PSN that is absent or not two BCD digits counts
 *   as "00";
 * - among records with the same identity the earliest is the original;
 * - a later record with the same cryptogram (9F26) and amount (9F02), byte for byte, is a
 *   `DUPLICATE`; with a different one, a `REPLAY_SUSPECT`.
 */
import { toHex } from "../hex.ts";

export type DuplicateStatus = "DUPLICATE" | "REPLAY_SUSPECT";

/** The PSN as two digits: "00" when absent or not BCD. */
export function psnOrDefault(psn: string | undefined): string {
  return psn !== undefined && /^[0-9]{2}$/.test(psn) ? psn : "00";
}

/** The identity of a record: PAN digits, PSN, ATC (hex). */
export function cardKey(pan: string, psn: string | undefined, atcHex: string): string {
  return `${pan}|${psnOrDefault(psn)}|${atcHex.toUpperCase()}`;
}

/** What tells a duplicate from a replay: 9F26 and 9F02 exactly as captured (hex). */
export function acAmountKey(
  ac: Uint8Array | string | undefined,
  amount: Uint8Array | string | undefined,
): string {
  const h = (v: Uint8Array | string | undefined) =>
    v === undefined ? "" : typeof v === "string" ? v.toUpperCase() : toHex(v);
  return `${h(ac)}|${h(amount)}`;
}

/** The finding of a later record against the original with the same identity. */
export function duplicateStatus(original: string, later: string): DuplicateStatus {
  return original === later ? "DUPLICATE" : "REPLAY_SUSPECT";
}

/** The note a record gets when it repeats the record `seq`. */
export function duplicateNote(seq: number | string): string {
  return `same card and ATC as seq ${seq}`;
}

/** Finds duplicates and replays within one list of records, in order. */
export class DuplicateFinder {
  readonly #seen = new Map<string, { index: number; acAmount: string }>();

  /**
   * Records `index` with its identity and 9F26/9F02 key; returns the finding and the index of
   * the original when an earlier record had the same identity.
   */
  see(
    index: number,
    key: string,
    acAmount: string,
  ): { status: DuplicateStatus; of: number } | undefined {
    const prev = this.#seen.get(key);
    if (!prev) {
      this.#seen.set(key, { index, acAmount });
      return undefined;
    }
    return { status: duplicateStatus(prev.acAmount, acAmount), of: prev.index };
  }
}
