/**
 * Named cryptogram profiles: small declarative descriptions of how one scheme computes its
 * application cryptogram (which ICC master key derivation, which session key, which data
 * elements in which order, padding, MAC) and its ARPC. Sources: domain.md §3–§4, pyemv
 * `cvn.py` / `tests/test_cvn_hsm.py` for Visa and MasterCard, CardPlatform `CaseBase.cs`
 * and the guolong HSM simulator for PBOC.
 *
 * Selection (`selectProfile`) follows design.md §6: for PBOC, 9F10 byte 3 is the CVN and
 * byte 8 the algorithm (01 = 3DES, 04 = SM4). The issuer configuration may pin a profile.
 * The chosen profile and the reason for the choice are always reported.
 */

/** Profile identifiers (stable: they appear in reports and issuer configuration). */
export type ProfileId =
  | "pboc-cvn01-3des"
  | "pboc-sm4"
  | "visa-cvn10"
  | "visa-cvn18"
  | "mastercard-cvn16";

/** One data element of the AC input: a tag's whole value (with its required length) or a slice of 9F10. */
export type AcElement =
  | { readonly tag: string; readonly length: number }
  | {
    readonly tag: "9F10";
    readonly slice: { readonly offset: number; readonly length: number };
    readonly name: string;
  }
  | { readonly tag: "9F10"; readonly whole: true };

export type MkDerivation = "option-a" | "option-b" | "sm4";
export type SessionKeyMethod = "none" | "common-atc" | "mastercard" | "pboc" | "pboc-sm4";
export type MacMethod = "iso9797-3" | "sm4-cbc-mac";

export interface CryptogramProfile {
  readonly id: ProfileId;
  /** Human name, e.g. "PBOC CVN 01 (3DES)". */
  readonly name: string;
  readonly algorithm: "3des" | "sm4";
  readonly mkDerivation: MkDerivation;
  readonly sessionKey: SessionKeyMethod;
  /** AC input elements, in order. */
  readonly data: readonly AcElement[];
  /** ISO/IEC 9797-1 padding method (1 zeros, 2 `80 00…`). */
  readonly padding: 1 | 2;
  readonly mac: MacMethod;
  /** Cryptogram length in bytes (always 8 here). */
  readonly acLength: 8;
  /** ARPC method and which key it uses (`mk` = the ICC master key, `sk` = the AC session key). */
  readonly arpc: { readonly method: 1 | 2; readonly key: "mk" | "sk" };
  /** Where the CVR sits in 9F10 (for the cryptogram type when 9F27 is absent). */
  readonly cvrInIad?: { readonly offset: number; readonly length: number };
  /** Sources of the formulas. */
  readonly source: string;
}

const TERMINAL_SET: readonly AcElement[] = [
  { tag: "9F02", length: 6 },
  { tag: "9F03", length: 6 },
  { tag: "9F1A", length: 2 },
  { tag: "95", length: 5 },
  { tag: "5F2A", length: 2 },
  { tag: "9A", length: 3 },
  { tag: "9C", length: 1 },
  { tag: "9F37", length: 4 },
  { tag: "82", length: 2 },
  { tag: "9F36", length: 2 },
];

const CVR4: AcElement = {
  tag: "9F10",
  slice: { offset: 3, length: 4 },
  name: "CVR (9F10 bytes 4-7, with its length byte)",
};

/** Every profile icfare knows, by id. */
export const PROFILES: Readonly<Record<ProfileId, CryptogramProfile>> = Object.freeze({
  "pboc-cvn01-3des": {
    id: "pboc-cvn01-3des",
    name: "PBOC CVN 01 (3DES)",
    algorithm: "3des",
    mkDerivation: "option-a",
    sessionKey: "pboc",
    data: [...TERMINAL_SET, CVR4],
    padding: 2,
    mac: "iso9797-3",
    acLength: 8,
    arpc: { method: 1, key: "sk" },
    cvrInIad: { offset: 4, length: 3 },
    source: "domain.md §3.1, §3.3 (PBOC ATC method), §4.2, §4.3; design.md §6",
  },
  "pboc-sm4": {
    id: "pboc-sm4",
    name: "PBOC SM4 (algorithm 04)",
    algorithm: "sm4",
    mkDerivation: "sm4",
    sessionKey: "pboc-sm4",
    data: [...TERMINAL_SET, CVR4],
    padding: 2,
    mac: "sm4-cbc-mac",
    acLength: 8,
    arpc: { method: 1, key: "sk" },
    cvrInIad: { offset: 4, length: 3 },
    source: "domain.md §3.4, §4.3, §4.4 (SM4 rows UNSURE, CardPlatform GenKey.cpp)",
  },
  "visa-cvn10": {
    id: "visa-cvn10",
    name: "Visa CVN 10",
    algorithm: "3des",
    mkDerivation: "option-a",
    sessionKey: "none",
    data: [...TERMINAL_SET, CVR4],
    padding: 1,
    mac: "iso9797-3",
    acLength: 8,
    arpc: { method: 1, key: "mk" },
    cvrInIad: { offset: 4, length: 3 },
    source: "pyemv cvn.VisaCVN10 (domain.md §6.4)",
  },
  "visa-cvn18": {
    id: "visa-cvn18",
    name: "Visa CVN 18",
    algorithm: "3des",
    mkDerivation: "option-b",
    sessionKey: "common-atc",
    data: [...TERMINAL_SET, { tag: "9F10", whole: true }],
    padding: 2,
    mac: "iso9797-3",
    acLength: 8,
    arpc: { method: 2, key: "sk" },
    cvrInIad: { offset: 4, length: 3 },
    source: "pyemv cvn.VisaCVN18 (domain.md §6.4)",
  },
  "mastercard-cvn16": {
    id: "mastercard-cvn16",
    name: "MasterCard CVN 16 (M/Chip 4)",
    algorithm: "3des",
    mkDerivation: "option-a",
    sessionKey: "mastercard",
    data: [...TERMINAL_SET, {
      tag: "9F10",
      slice: { offset: 2, length: 6 },
      name: "CVR (9F10 bytes 3-8)",
    }],
    padding: 2,
    mac: "iso9797-3",
    acLength: 8,
    arpc: { method: 1, key: "mk" },
    source: "pyemv cvn.MasterCardCVN16, tests/test_cvn_hsm.py (domain.md §6.4)",
  },
});

/** Per-issuer configuration that can steer profile selection. */
export interface IssuerConfig {
  /** Pin one profile for every card of the issuer. */
  readonly profile?: ProfileId;
  /** Map of CVN (two hex digits, e.g. "17") to a profile, for CVNs whose data set is known. */
  readonly cvnProfiles?: Readonly<Record<string, ProfileId>>;
  /** Scheme hint when the IAD alone is ambiguous. */
  readonly scheme?: "pboc" | "visa" | "mastercard";
}

/** The outcome of profile selection: a profile and why, or why none applies. */
export type ProfileChoice =
  | { readonly ok: true; readonly profile: CryptogramProfile; readonly reason: string }
  | { readonly ok: false; readonly reason: string };

function h2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}

/**
 * Chooses the cryptogram profile from the Issuer Application Data (9F10) and the issuer's
 * configuration. Never throws for data: an unknown layout is `{ok: false, reason}`
 * (the record's cryptogram verdict is then `unsupported`).
 */
export function selectProfile(
  iad: Uint8Array | undefined,
  issuerConfig: IssuerConfig = {},
  rid?: string,
): ProfileChoice {
  if (issuerConfig.profile) {
    const p = PROFILES[issuerConfig.profile];
    if (!p) {
      return {
        ok: false,
        reason: `issuer configuration names unknown profile ${issuerConfig.profile}`,
      };
    }
    return { ok: true, profile: p, reason: `pinned by issuer configuration (${p.id})` };
  }
  if (!iad || iad.length === 0) return { ok: false, reason: "9F10 absent: cannot tell the CVN" };
  const scheme = issuerConfig.scheme ??
    (rid === "A000000333"
      ? "pboc"
      : rid === "A000000003"
      ? "visa"
      : rid === "A000000004"
      ? "mastercard"
      : iad[0] === 0x07
      ? "pboc"
      : iad[0] === 0x06
      ? "visa"
      : iad.length >= 18 && iad[1] === 0x10
      ? "mastercard"
      : undefined);
  const via = issuerConfig.scheme ? "issuer configuration" : rid ? `RID ${rid}` : "9F10 layout";
  if (scheme === "pboc") {
    if (iad.length < 8 || iad[0] !== 0x07 || iad[3] !== 0x03) {
      return { ok: false, reason: `9F10 does not follow the PBOC layout 07|DKI|CVN|03 CVR|alg` };
    }
    const cvn = h2(iad[2]);
    const alg = iad[7];
    const mapped = issuerConfig.cvnProfiles?.[cvn];
    if (mapped && PROFILES[mapped]) {
      return {
        ok: true,
        profile: PROFILES[mapped],
        reason: `PBOC CVN ${cvn} mapped by issuer configuration`,
      };
    }
    if (alg === 0x04) {
      return {
        ok: true,
        profile: PROFILES["pboc-sm4"],
        reason: `PBOC (${via}): 9F10 byte 8 algorithm 04 = SM4, CVN ${cvn}`,
      };
    }
    if (alg !== 0x01) {
      return { ok: false, reason: `PBOC 9F10 algorithm identifier ${h2(alg)} is not 01 or 04` };
    }
    if (iad[2] === 0x01) {
      return {
        ok: true,
        profile: PROFILES["pboc-cvn01-3des"],
        reason: `PBOC (${via}): 9F10 byte 3 CVN 01, byte 8 algorithm 01 = 3DES`,
      };
    }
    return {
      ok: false,
      reason:
        `PBOC CVN ${cvn}: data set not public (domain.md §4.1); map it in the issuer configuration`,
    };
  }
  if (scheme === "visa") {
    if (iad.length < 7) return { ok: false, reason: "Visa 9F10 shorter than 7 bytes" };
    if (iad[2] === 0x0a) {
      return { ok: true, profile: PROFILES["visa-cvn10"], reason: `Visa (${via}): CVN 10 (0A)` };
    }
    if (iad[2] === 0x12) {
      return { ok: true, profile: PROFILES["visa-cvn18"], reason: `Visa (${via}): CVN 18 (12)` };
    }
    return { ok: false, reason: `Visa CVN ${h2(iad[2])} is not supported` };
  }
  if (scheme === "mastercard") {
    if (iad.length >= 8 && iad[1] === 0x10) {
      return {
        ok: true,
        profile: PROFILES["mastercard-cvn16"],
        reason: `MasterCard (${via}): CVN 16 (10)`,
      };
    }
    return {
      ok: false,
      reason: `MasterCard CVN ${iad.length > 1 ? h2(iad[1]) : "?"} is not supported`,
    };
  }
  return { ok: false, reason: "9F10 layout matches no known scheme" };
}
