/**
 * Expected verdicts for issue 13's new behaviour, as data, on taps of the independent builder.
 * `tests/indep_cases_13_test.ts` runs them through both engine paths once the engine supports
 * them: set `ENGINE_SUPPORTS_13` to true in the same commit that implements them.
 *
 * Names the engine must use (verdict fields as in docs/verification.md):
 * - statuses `CARD_EXPIRED` (precedence right after `CERT_EXPIRED`; also for a card not yet
 *   effective) and `IDD_MAC_MISMATCH` (right after `AC_MISMATCH`);
 * - ODA checks `SDAD_DYNAMIC_NUMBER`, `SDAD_CTQ`, `ISSUER_CERT_CURVE`, `ICC_CERT_CURVE`;
 * - oda flag `certs-only`; verdict fields `notes: string[]`, `odaFormat` ("03", "05", "95",
 *   "13", "15"), `cryptogramTypeSource` "CVR", profiles `pboc-cvn01-3des`, `pboc-cvn01-sm4`,
 *   `pboc-cvn17-3des`, `pboc-cvn17-sm4`, and `idd: {type, ecBalance?, mac}` with mac
 *   "ok" | "mismatch" | "no-key" (ecBalance in fen, for IDD types 01 and 03);
 * - `summarise(results)` gains `cryptogramChecked` (ok + mismatch) and `leftToIssuer`
 *   (no-key + unsupported).
 *
 * The IDD MAC follows the card applet: ATC ‖ IDD data zero-filled to 8 (5 data bytes) or 16
 * bytes (10), then MAC algorithm 3 with padding method 2 under the MAC session key, leftmost 4
 * bytes. For SM4 cards the builder uses SM4 CBC-MAC on the same input (no public source: UNSURE);
 * only the case named "SM4 card: IDD MAC …" holds the SM4 IMK-MAC, every other case holds the
 * 3DES IMK-MAC alone, so no other verdict depends on that convention.
 *
 * Each faulty tap breaks one thing only (a dynamic number, a CTQ, a curve byte …) with a valid
 * signature, so the expected check does not depend on the order of ODA checks.
 */
import { ITEM_1, ITEM_2, ITEM_3, ITEM_4 } from "./cases_13_a.ts";
import {
  ITEM_10,
  ITEM_12,
  ITEM_13,
  ITEM_14,
  ITEM_15,
  ITEM_5,
  ITEM_6,
  SUMMARY_13,
} from "./cases_13_b.ts";
import type { Case13 } from "./cases_13_common.ts";

export type { Case13, Expect13, Idd13 } from "./cases_13_common.ts";
export { SUMMARY_13 };

/** Flip to true in the commit that makes the engine implement issue 13. */
export const ENGINE_SUPPORTS_13 = true;

/** Every issue 13 case, by item. */
export const CASES_13: readonly Case13[] = [
  ...ITEM_1,
  ...ITEM_2,
  ...ITEM_3,
  ...ITEM_4,
  ...ITEM_5,
  ...ITEM_6,
  ...ITEM_10,
  ...ITEM_12,
  ...ITEM_13,
  ...ITEM_14,
  ...ITEM_15,
];
