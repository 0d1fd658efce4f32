/**
 * Expected verdicts for what icfare verifies today (docs/verification.md), on taps of the
 * independent builder: CVN 01 under 3DES and SM4, RSA fDDA (chains of 1152/1024/768 and
 * 1984/1408/1024 bits), SM2 fDDA, RSA SDA, and every fault the engine reports today. Only
 * behaviour issue 13 keeps is asserted here (9F27 always agrees with the CVR, cards are in
 * date, 9F69 carries the tap's CTQ and the signature the tap's ATC); issue 13's new verdicts
 * are in `cases_13.ts`.
 *
 * `keys`/`capks`: the import files (JSON objects), or null for "no file given".
 */
import { dropIccTag } from "./faults.ts";
import { buildTap, type BuiltTap, type TapSpec, type UploadRecord } from "./tap.ts";
import { capkFile, keysFile, type KeysFileSpec, UNKNOWN_CA_INDEX } from "./world.ts";

/** Expected fields of one record's verdict (absent = not asserted). */
export interface Expect {
  readonly status: string;
  readonly cryptogram?: string;
  readonly oda?: string;
  readonly cryptogramType?: string;
  readonly odaCheck?: string;
  readonly odaMethod?: string;
  /** "3des" → pboc-cvn01-3des; "sm4" → the SM4 CVN 01 profile (its id changes with issue 13). */
  readonly profile?: "3des" | "sm4";
  readonly duplicateOf?: number;
}

export interface TodayCase {
  readonly name: string;
  readonly source: string;
  build(): { records: UploadRecord[]; keys: object | null; capks: object | null };
  readonly expect: readonly Expect[];
}

export const ok = (extra: Partial<Expect> = {}): Expect => ({
  status: "OK",
  cryptogram: "ok",
  oda: "ok",
  cryptogramType: "TC",
  ...extra,
});

/**
 * The keys of the today-suite: both IMK-ACs, the 3DES IMK-MAC only. Issue 13 verifies the IDD
 * MAC where the IMK-MAC is held; the SM4 form of that MAC has no public source, so SM4 taps
 * here leave it unchecked ("no-key") and no verdict of this suite hangs on it.
 */
export const todayKeys = (spec: KeysFileSpec = {}) => keysFile({ mac: ["3des"], ...spec });

export const one = (
  t: BuiltTap,
  keys: object | null = todayKeys(),
  capks: object | null = capkFile(),
) => ({
  records: [t.record],
  keys,
  capks,
});

export const tap = (s: TapSpec = {}): BuiltTap => buildTap(s);
export const B = "EMV 4.4 Book 2";

export const HAPPY: TodayCase[] = [
  {
    name: "3DES CVN 01, RSA fDDA 01 (chain A, remainders)",
    source: "docs/emv-pboc.md (CVN 01 data set, fDDA); " + B + " §5.3, §6.4, §6.5",
    build: () => one(tap()),
    expect: [ok({ profile: "3des", odaMethod: "fDDA" })],
  },
  {
    name: "3DES CVN 01, RSA fDDA (chain B: 1984-bit CA, e = 65537)",
    source: B + " §5.3 (N_I ≤ N_CA − 36, no remainder)",
    build: () => one(tap({ chain: "B" })),
    expect: [ok({ profile: "3des", odaMethod: "fDDA" })],
  },
  {
    name: "SM4 CVN 01, RSA fDDA",
    source: "docs/emv-pboc.md (SM4 master and session keys, SM4 CBC-MAC)",
    build: () => one(tap({ alg: "sm4" })),
    expect: [ok({ profile: "sm4", odaMethod: "fDDA" })],
  },
  {
    name: "3DES CVN 01, SM2 fDDA (format 15)",
    source: "docs/emv-pboc.md (SM2 certificates 12/14, dynamic signature 15); GB/T 32918.2",
    build: () => one(tap({ oda: "sm2-fdda" })),
    expect: [ok({ profile: "3des", odaMethod: "SM2-fDDA" })],
  },
  {
    name: "SM4 CVN 01, SM2 fDDA",
    source: "docs/emv-pboc.md",
    build: () => one(tap({ alg: "sm4", oda: "sm2-fdda" })),
    expect: [ok({ profile: "sm4", odaMethod: "SM2-fDDA" })],
  },
  {
    name: "RSA SDA (93, format 03)",
    source: B + " §5.4, Table 7",
    build: () => one(tap({ oda: "rsa-sda" })),
    expect: [ok({ odaMethod: "SDA" })],
  },
  {
    name: "fDDA version 00 (no 9F69: the signature covers 9F37 alone)",
    source: "docs/emv-pboc.md (fDDA versions)",
    build: () => one(tap({ fddaVersion: 0 })),
    expect: [ok({ odaMethod: "fDDA" })],
  },
  {
    name: "ARQC (CVR 10, 9F27 80)",
    source: "docs/emv-pboc.md (CVR byte 1 b6-b5)",
    build: () => one(tap({ type: "ARQC" })),
    expect: [ok({ cryptogramType: "ARQC" })],
  },
  {
    name: "AAC (CVR 00, 9F27 00): the card declined",
    source: "docs/verification.md (CARD_DECLINED)",
    build: () => one(tap({ type: "AAC" })),
    expect: [{ status: "CARD_DECLINED", cryptogram: "ok", oda: "ok", cryptogramType: "AAC" }],
  },
  {
    name: "9F27 absent: the type comes from the CVR",
    source: "docs/emv-pboc.md (qPBOC GPO replies carry no 9F27)",
    build: () => one(tap({ cid: "absent" })),
    expect: [ok()],
  },
  {
    name: "19-digit PAN: Option A takes the rightmost 16 digits of PAN ‖ PSN",
    source: B + " Annex A1.4.1; docs/verification.md (Option A for every PBOC PAN length)",
    build: () => one(tap({ pan: "6214830000000000017", psn: "03" })),
    expect: [ok({ profile: "3des" })],
  },
  {
    name: "PSN absent: 00 in the derivation",
    source: B + " Annex A1.4.1",
    build: () => one(dropIccTag(tap({ psn: "00" }), "5F34")),
    expect: [ok({ profile: "3des" })],
  },
  {
    name: "no ODA evidence",
    source: "docs/upload-api.md (oda optional)",
    build: () => one(tap({ oda: "none" })),
    expect: [ok({ oda: "absent" })],
  },
  {
    name: "amount 99,999.99 yuan and ATC FFFE",
    source: "docs/emv-pboc.md (9F02 n 12, 9F36 b 2)",
    build: () => one(tap({ amount: 9999999, atc: 0xfffe })),
    expect: [ok()],
  },
];

export const KEYS_AND_CA: TodayCase[] = [
  {
    name: "no issuer key held: cryptogram no-key, status OK",
    source: "docs/verification.md (no-key)",
    build: () => one(tap(), todayKeys({ ac: [], mac: [] })),
    expect: [ok({ cryptogram: "no-key", profile: "3des" })],
  },
  {
    name: "SM4 card, only the 3DES key held: no-key",
    source: "docs/verification.md (the profile's algorithm picks the key)",
    build: () => one(tap({ alg: "sm4" }), todayKeys({ ac: ["3des"] })),
    expect: [ok({ cryptogram: "no-key", profile: "sm4" })],
  },
  {
    name: "no CA key file: no-capk",
    source: "docs/verification.md (CAPK_UNKNOWN)",
    build: () => one(tap(), todayKeys(), null),
    expect: [{ status: "CAPK_UNKNOWN", cryptogram: "ok", oda: "no-capk" }],
  },
  {
    name: "CA index not in the file",
    source: B + " §5.3 step 1 (CA key by RID and index)",
    build: () => one(tap({ caIndex: UNKNOWN_CA_INDEX })),
    expect: [{ status: "CAPK_UNKNOWN", oda: "no-capk", odaCheck: "CAPK_UNKNOWN" }],
  },
  {
    name: "CA key expired at the transaction date",
    source: "docs/verification.md (expiry against 9A)",
    build: () => one(tap(), todayKeys(), capkFile({ expiry: { C1: "2025-12-31" } })),
    expect: [{ status: "CERT_EXPIRED", oda: "failed", odaCheck: "CAPK_EXPIRED" }],
  },
  {
    name: "issuer certificate expired (10/25 before 9A 2026-11-27)",
    source: B + " §5.3 step 9",
    build: () => one(tap({ issuerCert: { expiry: "1025" } })),
    expect: [{ status: "CERT_EXPIRED", oda: "failed", odaCheck: "ISSUER_CERT_EXPIRED" }],
  },
  {
    name: "issuer certificate valid through the last day of its month (11/26)",
    source: "docs/verification.md (valid through the last day of the MMYY month)",
    build: () => one(tap({ issuerCert: { expiry: "1126" } })),
    expect: [ok()],
  },
  {
    name: "ICC certificate expired",
    source: B + " §6.4 step 9",
    build: () => one(tap({ iccCert: { expiry: "0926" } })),
    expect: [{ status: "CERT_EXPIRED", oda: "failed", odaCheck: "ICC_CERT_EXPIRED" }],
  },
  {
    name: "SM2 issuer certificate expired",
    source: "docs/emv-pboc.md (SM2 certificate 12, expiry MMYY)",
    build: () => one(tap({ oda: "sm2-fdda", issuerCert: { expiry: "0126" } })),
    expect: [{ status: "CERT_EXPIRED", oda: "failed", odaCheck: "ISSUER_CERT_EXPIRED" }],
  },
  {
    name: "issuer certificate serial revoked",
    source: B + " §5.3 step 10",
    build: () =>
      one(tap(), todayKeys(), capkFile({ revoked: [{ index: "C1", serial: "00A001" }] })),
    expect: [{ status: "CERT_REVOKED", oda: "failed", odaCheck: "ISSUER_CERT_REVOKED" }],
  },
];
