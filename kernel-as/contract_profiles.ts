/**
 * The contract's cryptogram profiles and profile selection (part of `contract.ts`, which
 * re-exports it; data only): key derivations, session keys, MACs, AC data sets, profiles,
 * schemes, selection rows (CVN × algorithm → profile) and the reasons reported with them
 * (docs/emv-pboc.md: key derivation, AC data sets, IAD; docs/verification.md: profiles).
 */

/** ICC master key derivations (EMV 4.4 Book 2 A1.4: Option A / B; PBOC SM4). */
export const MK_METHODS = ["option-a", "option-b", "sm4"] as const;
/** Session key methods. */
export const SK_METHODS = ["none", "common-atc", "mastercard", "pboc", "pboc-sm4"] as const;
/** MAC methods (ISO/IEC 9797-1 algorithm 3, SM4 CBC-MAC). */
export const MAC_METHODS = ["iso9797-3", "sm4-cbc-mac"] as const;

/**
 * One element of an AC data set: a tag's whole value of a fixed length, a slice of 9F10, or the
 * whole 9F10 (at most `max` bytes).
 */
export type DataElement =
  | { readonly tag: string; readonly length: number }
  | {
    readonly tag: "9F10";
    readonly slice: { readonly offset: number; readonly length: number };
    readonly name: string;
  }
  | { readonly tag: "9F10"; readonly whole: true; readonly max: number };

const TERMINAL_SET = [
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
] as const;

/** AC data sets by name (the order of the elements is the order they are MACed). */
export const DATA_SETS = {
  /** PBOC CVN 01 and Visa CVN 10: 37 bytes ending with the CVR and its length byte. */
  "terminal-cvr4": [
    ...TERMINAL_SET,
    {
      tag: "9F10",
      slice: { offset: 3, length: 4 },
      name: "CVR (9F10 bytes 4-7, with its length byte)",
    },
  ],
  /** Visa CVN 18: the terminal set and the whole 9F10. */
  "terminal-iad": [...TERMINAL_SET, { tag: "9F10", whole: true, max: 64 }],
  /**
   * PBOC CVN 17 (docs/emv-pboc.md, data sets; the card applet and an issuer-side check agree):
   * amount, unpredictable number, ATC and CVR byte 1.
   */
  "cvn17": [
    { tag: "9F02", length: 6 },
    { tag: "9F37", length: 4 },
    { tag: "9F36", length: 2 },
    { tag: "9F10", slice: { offset: 4, length: 1 }, name: "CVR byte 1 (9F10 byte 5)" },
  ],
  /** MasterCard CVN 16: the terminal set and the CVR of 9F10 bytes 3-8. */
  "terminal-cvr-mc": [
    ...TERMINAL_SET,
    { tag: "9F10", slice: { offset: 2, length: 6 }, name: "CVR (9F10 bytes 3-8)" },
  ],
} as const satisfies Record<string, readonly DataElement[]>;

/**
 * Every cryptogram profile (the kernel's profile number is 1 + index). A profile says how the
 * card computes its cryptogram: master key derivation, session key, data set, padding, MAC, the
 * ARPC method, where 9F10 holds the DKI and the CVR, and (`idd`) whether 9F10 carries PBOC
 * issuer discretionary data whose MAC the same derivations under the IMK-MAC check.
 */
export const PROFILES = [
  {
    id: "pboc-cvn01-3des",
    name: "PBOC CVN 01 (3DES)",
    algorithm: "3des",
    mk: "option-a",
    sk: "pboc",
    data: "terminal-cvr4",
    padding: 2,
    mac: "iso9797-3",
    arpc: { method: 1, key: "sk" },
    dkiAt: 1,
    cvrInIad: { offset: 4, length: 3 },
    idd: true,
    source: "docs/emv-pboc.md (PBOC key derivation, CVN 01 data set, retail MAC)",
  },
  {
    id: "pboc-cvn01-sm4",
    name: "PBOC CVN 01 (SM4)",
    algorithm: "sm4",
    mk: "sm4",
    sk: "pboc-sm4",
    data: "terminal-cvr4",
    padding: 2,
    mac: "sm4-cbc-mac",
    arpc: { method: 1, key: "sk" },
    dkiAt: 1,
    cvrInIad: { offset: 4, length: 3 },
    idd: true,
    source: "docs/emv-pboc.md (SM4 key derivation and CBC-MAC, CVN 01 data set)",
  },
  {
    id: "pboc-cvn17-3des",
    name: "PBOC CVN 17 (3DES)",
    algorithm: "3des",
    mk: "option-a",
    sk: "pboc",
    data: "cvn17",
    padding: 2,
    mac: "iso9797-3",
    arpc: { method: 1, key: "sk" },
    dkiAt: 1,
    cvrInIad: { offset: 4, length: 3 },
    idd: true,
    source: "docs/emv-pboc.md (CVN 17 data set: card applet, issuer-side ARQC check)",
  },
  {
    id: "pboc-cvn17-sm4",
    name: "PBOC CVN 17 (SM4)",
    algorithm: "sm4",
    mk: "sm4",
    sk: "pboc-sm4",
    data: "cvn17",
    padding: 2,
    mac: "sm4-cbc-mac",
    arpc: { method: 1, key: "sk" },
    dkiAt: 1,
    cvrInIad: { offset: 4, length: 3 },
    idd: true,
    source: "docs/emv-pboc.md (CVN 17 data set; SM4 MAC when the algorithm byte is 04)",
  },
  {
    id: "visa-cvn10",
    name: "Visa CVN 10",
    algorithm: "3des",
    mk: "option-a",
    sk: "none",
    data: "terminal-cvr4",
    padding: 1,
    mac: "iso9797-3",
    arpc: { method: 1, key: "mk" },
    dkiAt: 1,
    cvrInIad: { offset: 4, length: 3 },
    source: "pyemv cvn.VisaCVN10 (docs/emv-pboc.md, public vectors)",
  },
  {
    id: "visa-cvn18",
    name: "Visa CVN 18",
    algorithm: "3des",
    mk: "option-b",
    sk: "common-atc",
    data: "terminal-iad",
    padding: 2,
    mac: "iso9797-3",
    arpc: { method: 2, key: "sk" },
    dkiAt: 1,
    cvrInIad: { offset: 4, length: 3 },
    source: "pyemv cvn.VisaCVN18 (docs/emv-pboc.md, public vectors)",
  },
  {
    id: "mastercard-cvn16",
    name: "MasterCard CVN 16 (M/Chip 4)",
    algorithm: "3des",
    mk: "option-a",
    sk: "mastercard",
    data: "terminal-cvr-mc",
    padding: 2,
    mac: "iso9797-3",
    arpc: { method: 1, key: "mk" },
    dkiAt: 0,
    source: "pyemv cvn.MasterCardCVN16, tests/test_cvn_hsm.py (docs/emv-pboc.md)",
  },
] as const;

/** Profile-selection reasons (number → text), reported with every verdict. */
export const PROFILE_REASONS = [
  { code: 1, text: "pinned by issuer configuration" },
  { code: 2, text: "PBOC CVN mapped by issuer configuration" },
  { code: 3, text: "PBOC: 9F10 byte 3 CVN 01, byte 8 algorithm 04 = SM4" },
  { code: 4, text: "PBOC: 9F10 byte 3 CVN 01, byte 8 algorithm 01 = 3DES" },
  { code: 8, text: "PBOC: 9F10 byte 3 CVN 17, byte 8 algorithm 01 = 3DES" },
  { code: 9, text: "PBOC: 9F10 byte 3 CVN 17, byte 8 algorithm 04 = SM4" },
  { code: 5, text: "Visa: CVN 10 (0A)" },
  { code: 6, text: "Visa: CVN 18 (12)" },
  { code: 7, text: "MasterCard: CVN 16 (10)" },
  { code: 20, text: "9F10 absent: cannot tell the CVN" },
  { code: 21, text: "9F10 does not follow the PBOC layout 07|DKI|CVN|03 CVR|alg" },
  { code: 22, text: "PBOC 9F10 algorithm identifier is not 01 or 04" },
  {
    code: 23,
    text: "PBOC CVN is not 01 or 17 (docs/emv-pboc.md); map it in the issuer configuration",
  },
  { code: 24, text: "Visa 9F10 shorter than 7 bytes" },
  { code: 25, text: "Visa CVN is not supported" },
  { code: 26, text: "MasterCard CVN is not supported" },
  { code: 27, text: "9F10 layout matches no known scheme" },
  { code: 28, text: "issuer configuration names an unknown profile" },
] as const;

/**
 * Schemes, told by the RID of 4F/84, else by the 9F10 layout (`detect`: byte `at` equals
 * `value` and 9F10 is at least `minLength` bytes). `layout` lists what 9F10 must satisfy before
 * its CVN (byte `cvnAt`) and algorithm (byte `algAt`, with the values `algorithms` allows) are
 * read; each failure has its reason.
 */
export const SCHEMES = [
  {
    id: "pboc",
    rid: "A000000333",
    detect: { at: 0, value: 0x07, minLength: 1 },
    layout: { minLength: 8, bytes: [{ at: 0, value: 0x07 }, { at: 3, value: 0x03 }], reason: 21 },
    cvnAt: 2,
    algAt: 7,
    algorithms: [0x01, 0x04],
    badAlgorithmReason: 22,
    unknownCvnReason: 23,
    mappable: true,
  },
  {
    id: "visa",
    rid: "A000000003",
    detect: { at: 0, value: 0x06, minLength: 1 },
    layout: { minLength: 7, bytes: [], reason: 24 },
    cvnAt: 2,
    unknownCvnReason: 25,
    mappable: false,
  },
  {
    id: "mastercard",
    rid: "A000000004",
    detect: { at: 1, value: 0x10, minLength: 18 },
    layout: { minLength: 8, bytes: [], reason: 26 },
    cvnAt: 1,
    unknownCvnReason: 26,
    mappable: false,
  },
] as const;

/**
 * Profile selection (CVN × algorithm → profile): the first row of the record's scheme whose CVN
 * and algorithm match (absent = any) chooses the profile, with its reason.
 */
export const PROFILE_SELECTION = [
  { scheme: "pboc", cvn: 0x01, algorithm: 0x01, profile: "pboc-cvn01-3des", reason: 4 },
  { scheme: "pboc", cvn: 0x01, algorithm: 0x04, profile: "pboc-cvn01-sm4", reason: 3 },
  { scheme: "pboc", cvn: 0x17, algorithm: 0x01, profile: "pboc-cvn17-3des", reason: 8 },
  { scheme: "pboc", cvn: 0x17, algorithm: 0x04, profile: "pboc-cvn17-sm4", reason: 9 },
  { scheme: "visa", cvn: 0x0a, profile: "visa-cvn10", reason: 5 },
  { scheme: "visa", cvn: 0x12, profile: "visa-cvn18", reason: 6 },
  { scheme: "mastercard", cvn: 0x10, profile: "mastercard-cvn16", reason: 7 },
] as const;

/**
 * Profile ids that were renamed, old → new (issue 13: profiles are CVN × algorithm). Issuer
 * configurations naming an old id keep working.
 */
export const PROFILE_RENAMES = { "pboc-sm4": "pboc-cvn01-sm4" } as const;

/** Selection reasons outside the table rows. */
export const SELECTION_REASONS = {
  pinned: 1,
  mapped: 2,
  noIad: 20,
  unknownScheme: 27,
  badPin: 28,
} as const;
