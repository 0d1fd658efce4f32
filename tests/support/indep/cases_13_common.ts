/**
 * Shared shape and helpers of the issue 13 cases (`cases_13.ts` explains the names).
 */
import { setIccTag } from "./faults.ts";
import { buildTap, type BuiltTap, type TapSpec, type UploadRecord } from "./tap.ts";
import { valueOf } from "./tlv.ts";
import { capkFile, keysFile, type KeysFileSpec } from "./world.ts";

export interface Idd13 {
  readonly type: number;
  readonly ecBalance?: number;
  readonly mac: "ok" | "mismatch" | "no-key";
}

/** Expected verdict fields (absent = not asserted). */
export interface Expect13 {
  readonly status: string;
  readonly cryptogram?: string;
  readonly oda?: string;
  readonly cryptogramType?: string;
  readonly cryptogramTypeSource?: "CVR";
  readonly odaCheck?: string;
  readonly odaFormat?: string;
  readonly profile?: string;
  /** null: the verdict carries no `idd`. */
  readonly idd?: Idd13 | null;
  /** Each must appear (case-insensitive) in one of the verdict's notes. */
  readonly notes?: readonly string[];
  /** No note may contain any of these. */
  readonly notesExclude?: readonly string[];
}

export interface Case13 {
  readonly name: string;
  /** Issue 13 item. */
  readonly item: number;
  readonly source: string;
  build(): { record: UploadRecord; keys: object; capks: object | null };
  readonly expect: Expect13;
}

/** A section of docs/emv-pboc.md. */
export const DOC = (section: string) => `docs/emv-pboc.md "${section}"`;
/** The PBOC 3.0 card applet named in docs/emv-pboc.md "Sources" (what the card computes). */
export const APPLET = "PBOC applet (com.broadthinking.pboc3.PBOC)";
/**
 * The keys of a case unless it says otherwise: both IMK-ACs, the 3DES IMK-MAC only, so that
 * SM4 taps leave their IDD MAC unchecked (its SM4 form has no public source) except in the case
 * that asks for it.
 */
export const caseKeys = (spec: KeysFileSpec = {}) => keysFile({ mac: ["3des"], ...spec });

export const one = (t: BuiltTap, keys: object = caseKeys(), capks: object | null = capkFile()) => ({
  record: t.record,
  keys,
  capks,
});
export const tap = (s: TapSpec = {}) => buildTap(s);
export const BAD_AC = "0102030405060708";
export const OK = { status: "OK", cryptogram: "ok", oda: "ok" } as const;

/** The tap with one byte of 9F10 set (the card signed the original). */
export function iadByte(t: BuiltTap, index: number, value: number): BuiltTap {
  const v = valueOf(t.icc, "9F10")!.slice();
  v[index] = value;
  return setIccTag(t, "9F10", v);
}
