/**
 * Expected verdicts for every fault icfare reports today (docs/verification.md statuses and
 * precedence; ODA check names in the order of EMV 4.4 Book 2), on taps of the independent
 * builder. `TODAY_CASES` is the whole today-suite.
 */
import { numeric, unhex } from "./bytes.ts";
import {
  alterStaticData,
  dropIccTag,
  dropOdaTag,
  flipByte,
  records,
  resent,
  setIccTag,
  truncateIcc,
  withFare,
} from "./faults.ts";
import { B, HAPPY, KEYS_AND_CA, ok, one, tap, type TodayCase, todayKeys } from "./cases_today.ts";
import { rsaPublic } from "./rsa.ts";
import { valueOf } from "./tlv.ts";
import { capkFile, CHAIN_A } from "./world.ts";
import type { BuiltTap } from "./tap.ts";

/** The last byte of an RSA block once recovered; a tampered block must not end in BC. */
function tamperedRsa(t: BuiltTap, tag: string, modulus: Uint8Array, exponent: Uint8Array) {
  const v = valueOf(t.icc, tag) ?? valueOf(t.oda, tag)!;
  const x = rsaPublic(modulus, exponent, v);
  if (x[x.length - 1] === 0xbc) throw new Error(`tampered ${tag} still ends in BC: pick another`);
  return t;
}

const CRYPTOGRAM: TodayCase[] = [
  {
    name: "9F26 changed: AC_MISMATCH",
    source: "docs/emv-pboc.md (CVN 01 data set, MAC algorithm 3)",
    build: () => one(tap({ acOverride: "0102030405060708" })),
    expect: [{ status: "AC_MISMATCH", cryptogram: "mismatch", oda: "ok", profile: "3des" }],
  },
  {
    name: "SM4 card, 9F26 changed",
    source: "docs/emv-pboc.md (SM4 CBC-MAC)",
    build: () => one(tap({ alg: "sm4", acOverride: "0102030405060708" })),
    expect: [{ status: "AC_MISMATCH", cryptogram: "mismatch", profile: "sm4" }],
  },
  {
    name: "TVR (95) changed after the card signed: CVN 01 covers it",
    source: "docs/emv-pboc.md (CVN 01: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36 CVR)",
    build: () => one(setIccTag(tap(), "95", unhex("0000008000"))),
    expect: [{ status: "AC_MISMATCH", cryptogram: "mismatch", oda: "ok" }],
  },
  {
    name: "9F02 raised after signing (fare follows it): AC and fDDA both fail, AC wins",
    source: "docs/verification.md (precedence AC_MISMATCH before ODA_FAILED)",
    build: () => one(withFare(setIccTag(tap(), "9F02", numeric(300, 6)), 300)),
    expect: [{
      status: "AC_MISMATCH",
      cryptogram: "mismatch",
      oda: "failed",
      odaCheck: "SDAD_HASH",
    }],
  },
  {
    name: "fare differs from 9F02",
    source: "docs/upload-api.md (fare must equal 9F02)",
    build: () => one(withFare(tap(), 300)),
    expect: [{ status: "FARE_MISMATCH", cryptogram: "ok", oda: "ok" }],
  },
  {
    name: "CA key unknown and AC mismatch: AC_MISMATCH first",
    source: "docs/verification.md (precedence)",
    build: () => one(tap({ acOverride: "0102030405060708", caIndex: "C9" })),
    expect: [{ status: "AC_MISMATCH", cryptogram: "mismatch", oda: "no-capk" }],
  },
];

const STRUCTURE: TodayCase[] = [
  {
    name: "chip data cut short",
    source: "EMV 4.4 Book 3 Annex B (a length that overruns the data)",
    build: () => one(truncateIcc(tap(), 3)),
    expect: [{ status: "MALFORMED_TLV", cryptogram: "unsupported", oda: "failed" }],
  },
  {
    name: "9F36 missing",
    source: "docs/verification.md (MISSING_DATA)",
    build: () => one(dropIccTag(tap(), "9F36")),
    expect: [{ status: "MISSING_DATA", cryptogram: "unsupported" }],
  },
  {
    name: "9F26 missing",
    source: "docs/verification.md (MISSING_DATA)",
    build: () => one(dropIccTag(tap(), "9F26")),
    expect: [{ status: "MISSING_DATA", cryptogram: "unsupported", oda: "ok" }],
  },
  {
    name: "5A missing",
    source: "docs/verification.md (MISSING_DATA)",
    build: () => one(dropIccTag(tap(), "5A")),
    expect: [{ status: "MISSING_DATA", cryptogram: "unsupported", odaCheck: "ODA_DATA_MISSING" }],
  },
  {
    name: "9F37 missing",
    source: "docs/verification.md (MISSING_DATA); fDDA needs 9F37",
    build: () => one(dropIccTag(tap(), "9F37")),
    expect: [{ status: "MISSING_DATA", cryptogram: "unsupported", odaCheck: "ODA_DATA_MISSING" }],
  },
  {
    name: "9F46 missing for fDDA",
    source: B + " §6.1 (ICC key needed for fDDA)",
    build: () => one(dropOdaTag(tap(), "9F46")),
    expect: [{ status: "MISSING_DATA", cryptogram: "ok", odaCheck: "ODA_DATA_MISSING" }],
  },
  {
    name: "issuer remainder 92 missing",
    source: B + " §5.3 step 5",
    build: () => one(dropOdaTag(tap(), "92")),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "ISSUER_REMAINDER_MISSING" }],
  },
  {
    name: "ICC remainder 9F48 missing",
    source: B + " §6.4 step 5",
    build: () => one(dropOdaTag(tap(), "9F48")),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "ICC_REMAINDER_MISSING" }],
  },
  {
    name: "SDA tag list 9F4A other than 82",
    source: B + " §5.4 (only the AIP may be listed)",
    build: () => one(flipByte(tap(), "9F4A")),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "SDA_TAG_LIST" }],
  },
  {
    name: "fDDA version 02 in 9F69",
    source: "docs/emv-pboc.md (versions 00 and 01 only)",
    build: () => one(setIccTag(tap(), "9F69", unhex("02AABBCCDD200000"))),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "FDDA_VERSION" }],
  },
];

const SIGNATURES: TodayCase[] = [
  {
    name: "RSA 9F4B tampered: the recovered block has no BC trailer",
    source: B + " §6.5 step 2",
    build: () => {
      const t = flipByte(tap(), "9F4B", 10);
      return one(tamperedRsa(t, "9F4B", CHAIN_A.icc.modulus, CHAIN_A.icc.exponent));
    },
    expect: [{ status: "ODA_FAILED", cryptogram: "ok", oda: "failed", odaCheck: "SDAD_TRAILER" }],
  },
  {
    name: "RSA 9F4B signed over another UN",
    source: B + " §6.5 step 7 (hash over the terminal dynamic data)",
    build: () => one(tap({ signedUn: "DEADBEEF" })),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "SDAD_HASH" }],
  },
  {
    name: "RSA issuer certificate tampered",
    source: B + " §5.3 step 2",
    build: () => {
      const t = flipByte(tap(), "90", 20);
      return one(tamperedRsa(t, "90", CHAIN_A.ca.modulus, CHAIN_A.ca.exponent));
    },
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "ISSUER_CERT_TRAILER" }],
  },
  {
    name: "static data altered: the ICC certificate hash fails",
    source: B + " §6.4 step 7",
    build: () => one(alterStaticData(tap(), 4)),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "ICC_CERT_HASH" }],
  },
  {
    name: "static data altered under SDA",
    source: B + " §5.4 step 7",
    build: () => one(alterStaticData(tap({ oda: "rsa-sda" }), 4)),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "SSAD_HASH" }],
  },
  {
    name: "issuer identifier not the PAN's leading digits",
    source: B + " §5.3 step 8",
    build: () => one(tap({ issuerCert: { issuerId: "622222" } })),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "ISSUER_ID_MISMATCH" }],
  },
  {
    name: "ICC certificate of another PAN",
    source: B + " §6.4 step 8",
    build: () => one(tap({ iccCert: { pan: "6214830000000026" } })),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "ICC_PAN_MISMATCH" }],
  },
  {
    name: "SM2 dynamic signature tampered",
    source: "GB/T 32918.2 §7 (verification)",
    build: () => one(flipByte(tap({ oda: "sm2-fdda" }), "9F4B", -1)),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "SDAD_SIGNATURE" }],
  },
  {
    name: "SM2 issuer certificate tampered",
    source: "docs/emv-pboc.md (SM2 issuer certificate signed by the CA)",
    build: () => one(flipByte(tap({ oda: "sm2-fdda" }), "90", -1)),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "ISSUER_CERT_SIGNATURE" }],
  },
  {
    name: "SM2 static data altered: the ICC certificate signature fails",
    source: "docs/emv-pboc.md (SM2 ICC certificate signs cert ‖ static data ‖ AIP)",
    build: () => one(alterStaticData(tap({ oda: "sm2-fdda" }), 4)),
    expect: [{ status: "ODA_FAILED", oda: "failed", odaCheck: "ICC_CERT_SIGNATURE" }],
  },
];

const DUPLICATES: TodayCase[] = [
  {
    name: "the same tap sent twice: DUPLICATE of the first",
    source: "docs/verification.md (duplicates by PAN, PSN, ATC)",
    build: () => {
      const t = tap({ seq: 11 });
      return { records: records(t, resent(t, 12)), keys: todayKeys(), capks: capkFile() };
    },
    expect: [ok(), { status: "DUPLICATE", cryptogram: "ok", oda: "ok", duplicateOf: 11 }],
  },
  {
    name: "same card and ATC, another UN (another 9F26): REPLAY_SUSPECT",
    source: "docs/verification.md (replays)",
    build: () => ({
      records: records(tap({ seq: 21 }), tap({ seq: 22, un: "0A0B0C0D" })),
      keys: todayKeys(),
      capks: capkFile(),
    }),
    expect: [ok(), { status: "REPLAY_SUSPECT", cryptogram: "ok", oda: "ok", duplicateOf: 21 }],
  },
  {
    name: "same card and ATC, another amount: REPLAY_SUSPECT",
    source: "docs/verification.md (replays)",
    build: () => ({
      records: records(
        tap({ seq: 31, un: "01020304" }),
        tap({ seq: 32, un: "01020304", amount: 400 }),
      ),
      keys: todayKeys(),
      capks: capkFile(),
    }),
    expect: [ok(), { status: "REPLAY_SUSPECT", cryptogram: "ok", duplicateOf: 31 }],
  },
  {
    name: "same PAN and ATC, another PSN: two cards, no duplicate",
    source: "docs/verification.md (identity is PAN, PSN, ATC)",
    build: () => ({
      records: records(tap({ seq: 41 }), tap({ seq: 42, psn: "02" })),
      keys: todayKeys(),
      capks: capkFile(),
    }),
    expect: [ok(), ok()],
  },
];

/** Every case of the today-suite. */
export const TODAY_CASES: readonly TodayCase[] = [
  ...HAPPY,
  ...KEYS_AND_CA,
  ...CRYPTOGRAM,
  ...STRUCTURE,
  ...SIGNATURES,
  ...DUPLICATES,
];
