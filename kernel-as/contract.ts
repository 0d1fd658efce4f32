/**
 * The one contract between the verification kernel (`assembly/`) and TypeScript: every status,
 * check name, flag, profile, selection rule, tag slot, record layout and limit the two sides
 * share, declared here once as data. `gen_contract.ts` writes `assembly/contract.ts` (the
 * AssemblyScript constants and tables) from it; the TypeScript wrappers and `core/emv` import
 * it directly. `contract_test.ts` fails when the generated file is stale or the compiled
 * kernel disagrees.
 *
 * Rules (precedence, profile selection, data sets) are explained in `docs/verification.md`
 * and `docs/emv-pboc.md`; this file holds no code.
 */

export * from "./contract_oda.ts";
export * from "./contract_profiles.ts";

/**
 * Record statuses in precedence order (the first that applies wins; design contract of
 * `docs/verification.md`). `code` is the kernel's stable numeric status; a record's findings
 * bitmask has bit i for `RECORD_STATUSES[i]`.
 */
export const RECORD_STATUSES = [
  {
    name: "MALFORMED_TLV",
    code: 401,
    message: "chip data or ODA evidence is not valid BER-TLV",
  },
  {
    name: "MISSING_DATA",
    code: 402,
    message: "a data object needed for verification is absent or has the wrong length",
  },
  {
    name: "FARE_MISMATCH",
    code: 403,
    message: "fare differs from the amount the card signed (9F02)",
  },
  {
    name: "REPLAY_SUSPECT",
    code: 404,
    message: "same card and ATC seen with a different cryptogram or amount",
  },
  {
    name: "DUPLICATE",
    code: 405,
    message: "exact duplicate of an earlier record (same card, ATC and cryptogram)",
  },
  // Decided in the store path only (core/denylist/listed.ts), never by the kernel.
  {
    name: "DENYLISTED",
    code: 412,
    message: "the card was on the deny list the terminal reported running",
  },
  { name: "AC_MISMATCH", code: 406, message: "application cryptogram does not match" },
  { name: "CERT_REVOKED", code: 407, message: "issuer certificate is revoked" },
  {
    name: "CERT_EXPIRED",
    code: 408,
    message: "a certificate or CA key expired at the transaction date",
  },
  { name: "ODA_FAILED", code: 409, message: "offline data authentication failed" },
  {
    name: "CAPK_UNKNOWN",
    code: 410,
    message: "no CA public key for the card's RID and index",
  },
  { name: "CARD_DECLINED", code: 411, message: "the card declined (AAC)" },
] as const;

/** The status of a record with no finding. */
export const STATUS_OK = {
  name: "OK",
  code: 0,
  message: "every check that could be made passed",
} as const;

/** Statuses of the engine's calls (not of records). */
export const ENGINE_CALL_STATUSES = [
  {
    name: "TOO_MANY_KEYS",
    code: 420,
    message: "more keys or issuer configurations than the engine holds",
  },
  { name: "KEY_INVALID", code: 421, message: "engine key entry has a bad algorithm or prefix" },
] as const;

/** Cryptogram verdicts; the kernel's byte is the index. */
export const CRYPTOGRAM_FLAGS = ["ok", "mismatch", "no-key", "unsupported"] as const;

/** Cryptogram types by the 2-bit code of 9F27 b8-b7 / CVR byte 1 (EMV 4.4 Book 3 Table 15). */
export const CRYPTOGRAM_TYPES = ["AAC", "TC", "ARQC", "RFU"] as const;

/** Where the cryptogram type came from; the kernel's byte is 1 + index (0: none). */
export const CRYPTOGRAM_TYPE_SOURCES = ["9F27", "CVR"] as const;

/** ODA verdicts; the kernel's byte is the index. */
export const ODA_VERDICTS = ["ok", "failed", "absent", "no-capk"] as const;

/** ODA methods the kernel reports; the kernel's byte is the index. */
export const ODA_METHODS = ["none", "SDA", "fDDA", "SM2-fDDA"] as const;

/**
 * The engine's tag slots: the data objects it reads from a record (chip data first, then ODA
 * evidence; the first primitive occurrence wins). The slot number is the index.
 */
export const ENGINE_SLOTS = [
  "9F26",
  "9F27",
  "9F10",
  "9F36",
  "9F37",
  "9F02",
  "9F03",
  "9F1A",
  "95",
  "5F2A",
  "9A",
  "9C",
  "82",
  "5A",
  "5F34",
  "4F",
  "84",
  "9F4B",
  "9F69",
  "8F",
  "90",
  "92",
  "9F32",
  "9F46",
  "9F47",
  "9F48",
  "9F4A",
  "93",
] as const;

// ---- the kernel ABI: layouts and limits (docs/kernel.md) ----

/** A record descriptor the wrapper writes for each record (offsets in bytes). */
export const DESC = {
  bytes: 32,
  /** u32 pointer and length of the chip data. */
  icc: 0,
  iccLen: 4,
  /** u32 pointer and length of the ODA evidence TLV (0, 0: none). */
  oda: 8,
  odaLen: 12,
  /** u32 pointer and length of the static data to be authenticated. */
  sd: 16,
  sdLen: 20,
  /** i32 fare in fen, -1 none. */
  fare: 24,
} as const;

/** Spans (u32 offset, u32 length inside the chip data; offset 0xFFFFFFFF: absent) of a result. */
export const RESULT_SPANS = ["5A", "5F34", "9F36", "9F26", "9F02"] as const;

/** A record result the kernel writes (offsets in bytes). */
export const RES = {
  bytes: 64,
  /** u32 record status code (0 or a `RECORD_STATUSES` code). */
  status: 0,
  /** u32 findings bitmask, bit i = `RECORD_STATUSES[i]`. */
  findings: 4,
  /** u8 index in `CRYPTOGRAM_FLAGS`. */
  cryptogram: 8,
  /** u8 index in `ODA_VERDICTS`. */
  oda: 9,
  /** u8 index in `CRYPTOGRAM_TYPES`, 255 none. */
  type: 10,
  /** u8 1 + index in `CRYPTOGRAM_TYPE_SOURCES`, 0 none. */
  typeSource: 11,
  /** u8 profile number (1 + index in `PROFILES`), 0 none. */
  profile: 12,
  /** u8 a `PROFILE_REASONS` code, 0 none. */
  reason: 13,
  /** u8 slot of a data object the cryptogram misses, 255 none. */
  missingSlot: 14,
  /** u8 index in `ODA_METHODS`. */
  odaMethod: 15,
  /** u32 index of the key used in the loaded list, 0xFFFFFFFF none. */
  keyIndex: 16,
  /** u32 failed ODA check (1 + index in `ODA_CHECKS`), 0 none. */
  odaCheck: 20,
  /** `RESULT_SPANS.length` pairs of u32 (offset, length). */
  spans: 24,
} as const;

/** One issuer master key as the wrapper hands it to the kernel (offsets in bytes). */
export const KEY_IN = {
  bytes: 48,
  /** u8 1 3DES, 4 SM4. */
  algorithm: 0,
  /** u8 DKI, 0xFF any. */
  dki: 1,
  /** u8 number of prefix digits. */
  prefixLength: 2,
  /** 20 ASCII digits. */
  prefix: 4,
  /** 16 key bytes. */
  key: 24,
} as const;

/** One issuer configuration (offsets in bytes). */
export const CFG_IN = {
  bytes: 32,
  prefixLength: 0,
  /** u8 pinned profile number, 0 none. */
  pinned: 1,
  /** u8 number of (CVN, profile) pairs. */
  mapCount: 2,
  /** u8 scheme hint: 1 + index in `SCHEMES`, 0 none. */
  scheme: 3,
  prefix: 4,
  /** `LIMITS.cvnMappingsMax` pairs of (u8 CVN, u8 profile number). */
  map: 24,
} as const;

/** One CA public key (offsets in bytes). */
export const CAPK_IN = {
  bytes: 336,
  /** u8 1 RSA, 2 SM2. */
  algorithm: 0,
  index: 1,
  modulusLength: 2,
  exponentLength: 3,
  rid: 4,
  /** u32 YYYYMMDD. */
  expiry: 12,
  /** RSA modulus (≤ 248) or SM2 x‖y (64). */
  key: 16,
  /** RSA exponent (≤ 4). */
  exponent: 272,
} as const;

/** One revoked issuer certificate serial: RID (5), CA index (1), serial (3). */
export const REVOKED_IN = { bytes: 12, rid: 0, index: 5, serial: 6 } as const;

/** The engine's limits. */
export const LIMITS = {
  keysMax: 256,
  configsMax: 256,
  cvnMappingsMax: 4,
  capksMax: 64,
  revokedMax: 1024,
  /** Records of one engine call. */
  batchMax: 0x100000,
  /** Prefix digits of a key or configuration. */
  prefixDigitsMax: 19,
  /** Static data to be authenticated, AIP included. */
  staticDataMax: 0x8000,
} as const;
