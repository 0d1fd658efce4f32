/**
 * Named cryptogram profiles: how one scheme computes its application cryptogram (ICC master
 * key derivation, session key, data elements in order, padding, MAC) and its ARPC — and the
 * selection of a profile from 9F10, the RID and the issuer configuration. Both are DATA in
 * `kernel-as/contract.ts` (PROFILES, DATA_SETS, SCHEMES, PROFILE_SELECTION): the kernel walks
 * the same tables, generated into AssemblyScript, so a new CVN × algorithm is a new row.
 * Sources: `docs/emv-pboc.md` (key derivation, AC data sets, IAD) and the public vectors.
 *
 * The chosen profile and the reason for the choice are always reported.
 */
import {
  DATA_SETS,
  type DataElement,
  type MAC_METHODS,
  type MK_METHODS,
  PROFILE_REASONS,
  PROFILE_RENAMES,
  PROFILE_SELECTION,
  PROFILES as PROFILE_ROWS,
  SCHEMES,
  SELECTION_REASONS,
  type SK_METHODS,
} from "../../kernel-as/contract.ts";

/** Profile identifiers (stable: they appear in reports and issuer configuration). */
export type ProfileId = typeof PROFILE_ROWS[number]["id"];
/** Every profile id, in the kernel's order. */
export const PROFILE_IDS: readonly ProfileId[] = PROFILE_ROWS.map((p) => p.id);

/** One data element of the AC input (see `DataElement` in the contract). */
export type AcElement = DataElement;

export type MkDerivation = typeof MK_METHODS[number];
export type SessionKeyMethod = typeof SK_METHODS[number];
export type MacMethod = typeof MAC_METHODS[number];
export type SchemeId = typeof SCHEMES[number]["id"];

export interface CryptogramProfile {
  readonly id: ProfileId;
  /** Human name, e.g. "PBOC CVN 01 (3DES)". */
  readonly name: string;
  readonly algorithm: "3des" | "sm4";
  readonly mkDerivation: MkDerivation;
  readonly sessionKey: SessionKeyMethod;
  /** Name of the data set in the contract. */
  readonly dataSet: string;
  /** AC input elements, in order. */
  readonly data: readonly AcElement[];
  /** ISO/IEC 9797-1 padding method (1 zeros, 2 `80 00…`). */
  readonly padding: 1 | 2;
  readonly mac: MacMethod;
  /** Cryptogram length in bytes (always 8 here). */
  readonly acLength: 8;
  /** ARPC method and which key it uses (`mk` = the ICC master key, `sk` = the AC session key). */
  readonly arpc: { readonly method: 1 | 2; readonly key: "mk" | "sk" };
  /** Offset of the DKI in 9F10. */
  readonly dkiAt: number;
  /** 9F10 carries PBOC issuer discretionary data (its MAC is checked under the IMK-MAC). */
  readonly idd: boolean;
  /** Where the CVR sits in 9F10 (for the cryptogram type when 9F27 is absent). */
  readonly cvrInIad?: { readonly offset: number; readonly length: number };
  /** Sources of the formulas. */
  readonly source: string;
}

/** Every profile icfare knows, by id. */
export const PROFILES: Readonly<Record<ProfileId, CryptogramProfile>> = Object.freeze(
  Object.fromEntries(PROFILE_ROWS.map((p): [ProfileId, CryptogramProfile] => [p.id, {
    id: p.id,
    name: p.name,
    algorithm: p.algorithm,
    mkDerivation: p.mk,
    sessionKey: p.sk,
    dataSet: p.data,
    data: DATA_SETS[p.data],
    padding: p.padding,
    mac: p.mac,
    acLength: 8,
    arpc: p.arpc,
    dkiAt: p.dkiAt,
    idd: "idd" in p && p.idd === true,
    ...("cvrInIad" in p ? { cvrInIad: p.cvrInIad } : {}),
    source: p.source,
  }])) as Record<ProfileId, CryptogramProfile>,
);

/**
 * The current id of a profile id that may be an old name (e.g. `pboc-sm4` → `pboc-cvn01-sm4`,
 * renamed when profiles became CVN × algorithm); other strings pass unchanged.
 */
export function canonicalProfileId(id: string): string {
  return (PROFILE_RENAMES as Record<string, string>)[id] ?? id;
}

/** Per-issuer configuration that can steer profile selection. */
export interface IssuerConfig {
  /** Pin one profile for every card of the issuer. */
  readonly profile?: ProfileId;
  /** Map of CVN (two hex digits, e.g. "17") to a profile, for CVNs whose data set is known. */
  readonly cvnProfiles?: Readonly<Record<string, ProfileId>>;
  /** Scheme hint when the IAD alone is ambiguous. */
  readonly scheme?: SchemeId;
}

/** The outcome of profile selection: a profile and why, or why none applies. */
export type ProfileChoice =
  | {
    readonly ok: true;
    readonly profile: CryptogramProfile;
    readonly reason: string;
    readonly reasonCode: number;
  }
  | { readonly ok: false; readonly reason: string; readonly reasonCode: number };

const REASON_TEXT: ReadonlyMap<number, string> = new Map(
  PROFILE_REASONS.map((r) => [r.code, r.text]),
);

/** The words of a profile-selection reason code. */
export function reasonText(code: number): string {
  return REASON_TEXT.get(code) ?? `reason ${code}`;
}

function chose(id: ProfileId, code: number): ProfileChoice {
  return { ok: true, profile: PROFILES[id], reason: reasonText(code), reasonCode: code };
}

function none(code: number): ProfileChoice {
  return { ok: false, reason: reasonText(code), reasonCode: code };
}

type Scheme = typeof SCHEMES[number];

function schemeOf(iad: Uint8Array, hint: SchemeId | undefined, rid?: string): Scheme | undefined {
  if (hint) return SCHEMES.find((s) => s.id === hint);
  const byRid = rid && SCHEMES.find((s) => s.rid === rid.toUpperCase());
  if (byRid) return byRid;
  return SCHEMES.find((s) =>
    iad.length >= s.detect.minLength && iad.length > s.detect.at &&
    iad[s.detect.at] === s.detect.value
  );
}

/** The reason code when 9F10 does not follow the scheme's layout, or undefined. */
function layoutFails(s: Scheme, iad: Uint8Array): number | undefined {
  if (iad.length < s.layout.minLength) return s.layout.reason;
  const bytes = s.layout.bytes as readonly { at: number; value: number }[];
  return bytes.some((b) => iad[b.at] !== b.value) ? s.layout.reason : undefined;
}

/**
 * Chooses the cryptogram profile from the Issuer Application Data (9F10), the RID of 4F/84 and
 * the issuer's configuration, by the contract's tables (the kernel's `selectProfile` walks the
 * same). Never throws for data: an unknown layout is `{ok: false, reason}` (the record's
 * cryptogram verdict is then `unsupported`).
 */
export function selectProfile(
  iad: Uint8Array | undefined,
  issuerConfig: IssuerConfig = {},
  rid?: string,
): ProfileChoice {
  if (issuerConfig.profile) {
    const pinned = canonicalProfileId(issuerConfig.profile) as ProfileId;
    return PROFILES[pinned]
      ? chose(pinned, SELECTION_REASONS.pinned)
      : none(SELECTION_REASONS.badPin);
  }
  if (!iad || iad.length === 0) return none(SELECTION_REASONS.noIad);
  const s = schemeOf(iad, issuerConfig.scheme, rid);
  if (!s) return none(SELECTION_REASONS.unknownScheme);
  const bad = layoutFails(s, iad);
  if (bad !== undefined) return none(bad);
  const cvn = iad[s.cvnAt];
  if (s.mappable) {
    for (const [c, named] of Object.entries(issuerConfig.cvnProfiles ?? {})) {
      const id = canonicalProfileId(named) as ProfileId;
      if (parseInt(c, 16) === cvn && PROFILES[id]) return chose(id, SELECTION_REASONS.mapped);
    }
  }
  const alg = "algAt" in s ? iad[s.algAt] : 0;
  if ("algorithms" in s && !(s.algorithms as readonly number[]).includes(alg)) {
    return none(s.badAlgorithmReason);
  }
  const row = PROFILE_SELECTION.find((r) =>
    r.scheme === s.id && (!("cvn" in r) || r.cvn === cvn) &&
    (!("algorithm" in r) || r.algorithm === alg)
  );
  return row ? chose(row.profile, row.reason) : none(s.unknownCvnReason);
}
