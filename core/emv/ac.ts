/**
 * Application cryptograms (ARQC / TC / AAC) and ARPC, computed or verified from the chip data
 * bytes exactly as the card saw them (docs/emv-pboc.md, cryptograms and IAD). Both directions live here: the
 * simulator computes with these functions, the verifier compares with them.
 *
 * @example Visa CVN 10, the published pyemv vector (fixtures/vectors/emv_cryptogram.json)
 * ```ts
 * import { assertEquals } from "@icfare/assert";
 * import { fromHex, toHex } from "../hex.ts";
 * import { computeAc, deriveIccMk } from "./ac.ts";
 * const imk = fromHex("0123456789ABCDEFFEDCBA9876543210");
 * const mk = deriveIccMk("visa-cvn10", imk, "1234567890123456", "00");
 * const values = new Map(Object.entries({
 *   "9F02": "000000004000", "9F03": "000000000000", "9F1A": "0124", "95": "8000048000",
 *   "5F2A": "0124", "9A": "191105", "9C": "01", "9F37": "52BF4585", "82": "1800",
 *   "9F36": "001C", "9F10": "06010A03A06010",
 * }).map(([tag, hex]) => [tag, fromHex(hex)]));
 * assertEquals(toHex(computeAc("visa-cvn10", mk, values).ac), "29CCA15AE665FA2E");
 * ```
 */
import {
  type AcElement,
  canonicalProfileId,
  type CryptogramProfile,
  type ProfileId,
  PROFILES,
} from "./profiles.ts";
import {
  deriveIccMkOptionA,
  deriveIccMkOptionB,
  deriveIccMkSm4,
  sessionKeyCommon,
  sessionKeyMastercard,
  sessionKeyPboc,
  sessionKeyPbocSm4,
} from "./keys.ts";
import {
  concat,
  desEncryptEcb,
  equalBytes,
  macIso9797Alg3,
  sm4CbcMac,
  sm4EncryptEcb,
  xor,
} from "./primitives.ts";

/** Tag values of one record (upper-case hex tag → value bytes). */
export type TagValues = ReadonlyMap<string, Uint8Array>;

/** Raised when the record lacks an element the profile needs, or has it at the wrong length. */
export class AcInputError extends Error {
  constructor(readonly tag: string, readonly problem: "missing" | "length", message: string) {
    super(message);
    this.name = "AcInputError";
  }
}

/** One element of the MACed block as it was taken from the record. */
export interface AcPart {
  readonly label: string;
  readonly value: Uint8Array;
}

function resolveProfile(p: CryptogramProfile | ProfileId): CryptogramProfile {
  const profile = typeof p === "string" ? PROFILES[canonicalProfileId(p) as ProfileId] : p;
  if (!profile) throw new RangeError(`profile: unknown profile ${String(p)}`);
  return profile;
}

function take(values: TagValues, tag: string): Uint8Array {
  const v = values.get(tag);
  if (!v) throw new AcInputError(tag, "missing", `AC input needs ${tag}, absent from the record`);
  return v;
}

function element(values: TagValues, e: AcElement): AcPart {
  if ("length" in e) {
    const v = take(values, e.tag);
    if (v.length !== e.length) {
      throw new AcInputError(
        e.tag,
        "length",
        `AC input: ${e.tag} must be ${e.length} bytes, got ${v.length}`,
      );
    }
    return { label: e.tag, value: v };
  }
  const iad = take(values, "9F10");
  if ("whole" in e) {
    if (iad.length > e.max) {
      throw new AcInputError("9F10", "length", `AC input: 9F10 longer than ${e.max} bytes`);
    }
    return { label: "9F10", value: iad };
  }
  const { offset, length } = e.slice;
  if (iad.length < offset + length) {
    throw new AcInputError(
      "9F10",
      "length",
      `AC input: ${e.name} needs 9F10 of at least ${offset + length} bytes, got ${iad.length}`,
    );
  }
  return { label: e.name, value: iad.subarray(offset, offset + length) };
}

/** The AC input elements of a profile, in order, taken from the record's values. */
export function acParts(profile: CryptogramProfile | ProfileId, values: TagValues): AcPart[] {
  return resolveProfile(profile).data.map((e) => element(values, e));
}

/** The data block the card MACed (before padding). Throws `AcInputError` when incomplete. */
export function acInput(profile: CryptogramProfile | ProfileId, values: TagValues): Uint8Array {
  return concat(...acParts(profile, values).map((p) => p.value));
}

/** ICC master key by the profile's derivation. `psn` absent means "00". */
export function deriveIccMk(
  profile: CryptogramProfile | ProfileId,
  imk: Uint8Array,
  pan: string,
  psn?: string,
): Uint8Array {
  const p = resolveProfile(profile);
  switch (p.mkDerivation) {
    case "option-a":
      return deriveIccMkOptionA(imk, pan, psn);
    case "option-b":
      return deriveIccMkOptionB(imk, pan, psn);
    case "sm4":
      return deriveIccMkSm4(imk, pan, psn);
  }
}

/** AC session key by the profile's method (`none` returns a copy of the master key). */
export function deriveSessionKey(
  profile: CryptogramProfile | ProfileId,
  mk: Uint8Array,
  values: TagValues,
): Uint8Array {
  const p = resolveProfile(profile);
  switch (p.sessionKey) {
    case "none":
      return mk.slice();
    case "common-atc":
      return sessionKeyCommon(mk, concat(take(values, "9F36"), new Uint8Array(6)));
    case "mastercard":
      return sessionKeyMastercard(mk, take(values, "9F36"), take(values, "9F37"));
    case "pboc":
      return sessionKeyPboc(mk, take(values, "9F36"));
    case "pboc-sm4":
      return sessionKeyPbocSm4(mk, take(values, "9F36"));
  }
}

/** The profile's MAC over `data` with key `sk`, truncated to the cryptogram length. */
export function acMac(profile: CryptogramProfile | ProfileId, sk: Uint8Array, data: Uint8Array) {
  const p = resolveProfile(profile);
  const full = p.mac === "sm4-cbc-mac"
    ? sm4CbcMac(sk, data, p.padding)
    : macIso9797Alg3(sk, data, p.padding);
  return full.slice(0, p.acLength);
}

/** Result of an AC computation: the cryptogram and what went into it. */
export interface AcComputation {
  readonly ac: Uint8Array;
  readonly sessionKey: Uint8Array;
  readonly data: Uint8Array;
  readonly parts: AcPart[];
}

/**
 * Computes the application cryptogram from the ICC master key `mk` and the record's values
 * (the card's direction: the simulator uses this).
 */
export function computeAc(
  profile: CryptogramProfile | ProfileId,
  mk: Uint8Array,
  values: TagValues,
): AcComputation {
  const p = resolveProfile(profile);
  const parts = acParts(p, values);
  const data = concat(...parts.map((x) => x.value));
  const sessionKey = deriveSessionKey(p, mk, values);
  return { ac: acMac(p, sessionKey, data), sessionKey, data, parts };
}

/** Outcome of verifying the cryptogram 9F26 of a record. */
export type AcVerdict =
  | { readonly ok: true; readonly computed: Uint8Array; readonly data: Uint8Array }
  | {
    readonly ok: false;
    readonly reason: "mismatch";
    readonly computed: Uint8Array;
    readonly data: Uint8Array;
  }
  | {
    readonly ok: false;
    readonly reason: "input";
    readonly tag: string;
    readonly message: string;
  };

/**
 * Verifies 9F26 against the cryptogram computed from the issuer master key `imk` for card
 * (pan, psn). Intermediate keys are wiped before returning.
 */
export function verifyAc(
  profile: CryptogramProfile | ProfileId,
  imk: Uint8Array,
  values: TagValues,
  pan: string,
  psn?: string,
): AcVerdict {
  const p = resolveProfile(profile);
  let mk: Uint8Array | undefined;
  try {
    const ac = values.get("9F26");
    if (!ac || ac.length !== 8) {
      return { ok: false, reason: "input", tag: "9F26", message: "9F26 must be present, 8 bytes" };
    }
    mk = deriveIccMk(p, imk, pan, psn);
    const r = computeAc(p, mk, values);
    r.sessionKey.fill(0);
    return equalBytes(r.ac, ac)
      ? { ok: true, computed: r.ac, data: r.data }
      : { ok: false, reason: "mismatch", computed: r.ac, data: r.data };
  } catch (e) {
    if (e instanceof AcInputError) {
      return { ok: false, reason: "input", tag: e.tag, message: e.message };
    }
    throw e;
  } finally {
    mk?.fill(0);
  }
}

/**
 * ARPC method 1 (EMV Book 2 §8.2.1): `ENC(K)[ARQC XOR (ARC ‖ 00×6)]`. With 3DES (16-byte key)
 * the result is 8 bytes; with SM4 (`algorithm: "sm4"`) the block is `(ARQC XOR ARC‖00×6) ‖ 00×8`
 * and the leftmost 8 bytes are returned (docs/emv-pboc.md, cryptograms and IAD, UNSURE for SM4).
 */
export function arpcMethod1(
  key: Uint8Array,
  arqc: Uint8Array,
  arc: Uint8Array,
  algorithm: "3des" | "sm4" = "3des",
): Uint8Array {
  if (arqc.length !== 8) throw new RangeError(`arqc must be 8 bytes, got ${arqc.length}`);
  if (arc.length !== 2) throw new RangeError(`arc must be 2 bytes, got ${arc.length}`);
  const x = xor(arqc, concat(arc, new Uint8Array(6)));
  if (algorithm === "sm4") return sm4EncryptEcb(key, concat(x, new Uint8Array(8))).slice(0, 8);
  return desEncryptEcb(key, x);
}

/**
 * ARPC method 2 (EMV Book 2 §8.2.2): leftmost 4 bytes of ISO 9797-1 MAC algorithm 3 (padding 2)
 * over `ARQC ‖ CSU ‖ proprietary authentication data (0–8 bytes)`.
 */
export function arpcMethod2(
  key: Uint8Array,
  arqc: Uint8Array,
  csu: Uint8Array,
  proprietary: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (arqc.length !== 8) throw new RangeError(`arqc must be 8 bytes, got ${arqc.length}`);
  if (csu.length !== 4) throw new RangeError(`csu must be 4 bytes, got ${csu.length}`);
  if (proprietary.length > 8) throw new RangeError(`proprietary data must be 0-8 bytes`);
  return macIso9797Alg3(key, concat(arqc, csu, proprietary), 2).slice(0, 4);
}
