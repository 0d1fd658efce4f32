/**
 * PBOC issuer discretionary data (IDD) in 9F10 (docs/emv-pboc.md, issuer application data):
 * `07 ‖ DKI ‖ CVN ‖ 03 CVR ‖ alg ‖ L ‖ type ‖ amounts ‖ MAC (4)`. Types 01-05 (IDD_TYPES in the
 * contract) carry 5-byte n10 amounts in fen: the electronic-cash balance after the tap (01,
 * 03), CTTA (02, 03, 04), its limit (04), the available offline spending amount 9F5D (05).
 *
 * The IDD MAC, as the card applet computes it (generateIssueAppData): ATC ‖ amounts,
 * zero-filled to a multiple of 8 bytes, MACed like the cryptogram (the profile's MAC and
 * padding) under the session key the profile derives from the ICC MAC master key (IMK-MAC);
 * the leftmost 4 bytes.
 */
import { IDD_FIELD_BYTES, IDD_MAC_BYTES, IDD_TYPES } from "../../kernel-as/contract.ts";
import { acMac, deriveIccMk, deriveSessionKey, type TagValues } from "./ac.ts";
import type { CryptogramProfile } from "./profiles.ts";
import { equalBytes } from "./primitives.ts";
import { toHex } from "../hex.ts";

/** Amount fields an IDD can carry. */
export type IddField = typeof IDD_TYPES[number]["fields"][number];

/** A decoded IDD. */
export interface Idd {
  /** The IDD type byte (1-5). */
  readonly type: number;
  readonly name: string;
  /** Amounts in fen, by field. */
  readonly amounts: Partial<Record<IddField, number>>;
  /** The amount bytes the MAC covers (after the type byte). */
  readonly data: Uint8Array;
  /** The 4-byte MAC the card appended. */
  readonly mac: Uint8Array;
}

function n10(b: Uint8Array): number | undefined {
  const s = toHex(b);
  return /^[0-9]+$/.test(s) ? Number(s) : undefined;
}

/**
 * The IDD of a PBOC 9F10 (the caller knows the profile is PBOC), or undefined when there is none
 * or its type or length is not one of IDD_TYPES (such an IDD is left undecoded, never a
 * finding).
 */
export function decodeIdd(iad: Uint8Array | undefined): Idd | undefined {
  if (!iad || iad.length < 10) return undefined;
  const len = iad[8];
  const t = IDD_TYPES.find((x) => x.type === iad[9]);
  if (!t || len !== 1 + t.fields.length * IDD_FIELD_BYTES + IDD_MAC_BYTES) return undefined;
  if (9 + len > iad.length) return undefined;
  const dataLen = t.fields.length * IDD_FIELD_BYTES;
  const data = iad.subarray(10, 10 + dataLen);
  const amounts: Partial<Record<IddField, number>> = {};
  t.fields.forEach((f, i) => {
    const v = n10(data.subarray(i * IDD_FIELD_BYTES, (i + 1) * IDD_FIELD_BYTES));
    if (v !== undefined) amounts[f] = v;
  });
  return { type: t.type, name: t.name, amounts, data, mac: iad.subarray(10 + dataLen, 9 + len) };
}

/** The MAC input of an IDD: ATC ‖ amounts, zero-filled to a multiple of 8 bytes. */
export function iddMacInput(atc: Uint8Array, idd: Idd): Uint8Array {
  const out = new Uint8Array((2 + idd.data.length + 7) & ~7);
  out.set(atc);
  out.set(idd.data, 2);
  return out;
}

/**
 * Checks the IDD MAC with the issuer's IMK-MAC `imkMac` under `profile` (its derivations and
 * MAC). Intermediate keys are wiped. Returns the computed MAC and whether it matches.
 */
export function checkIddMac(
  profile: CryptogramProfile,
  imkMac: Uint8Array,
  values: TagValues,
  pan: string,
  psn: string | undefined,
  idd: Idd,
): { ok: boolean; computed: Uint8Array } {
  const atc = values.get("9F36")!;
  const mk = deriveIccMk(profile, imkMac, pan, psn);
  const sk = deriveSessionKey(profile, mk, values);
  try {
    const computed = acMac(profile, sk, iddMacInput(atc, idd)).slice(0, IDD_MAC_BYTES);
    return { ok: equalBytes(computed, idd.mac), computed };
  } finally {
    mk.fill(0);
    sk.fill(0);
  }
}
