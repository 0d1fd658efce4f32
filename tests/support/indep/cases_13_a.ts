/**
 * Issue 13 cases, items 1-4: CVN 17, the cryptogram type from the CVR, fDDA bound to the tap,
 * card expiry (`cases_13.ts` explains the names).
 */
import { unhex } from "./bytes.ts";
import { setIccTag } from "./faults.ts";
import { APPLET, BAD_AC, type Case13, DOC, iadByte, OK, one, tap } from "./cases_13_common.ts";

export const ITEM_1: Case13[] = [
  {
    name: "CVN 17, 3DES: 9F02 ‖ 9F37 ‖ 9F36 ‖ CVR byte 1",
    item: 1,
    source: `${DOC("Data sets")}; ${APPLET}, GPO and GENERATE AC (密文版本号17)`,
    build: () => one(tap({ cvn: 0x17 })),
    expect: { ...OK, profile: "pboc-cvn17-3des", cryptogramType: "TC" },
  },
  {
    name: "CVN 17, SM4 (algorithm byte 04)",
    item: 1,
    source: `${DOC("Data sets")}; iCard StandardPboc.java (SM4 branch)`,
    build: () => one(tap({ cvn: 0x17, alg: "sm4" })),
    expect: { ...OK, profile: "pboc-cvn17-sm4" },
  },
  {
    name: "CVN 17, SM4, 9F26 changed",
    item: 1,
    source: DOC("Data sets"),
    build: () => one(tap({ cvn: 0x17, alg: "sm4", acOverride: BAD_AC })),
    expect: { status: "AC_MISMATCH", cryptogram: "mismatch", profile: "pboc-cvn17-sm4" },
  },
  {
    name: "CVN 01, SM4: profile pboc-cvn01-sm4",
    item: 1,
    source: `docs/verification.md "Profile selection": profiles are (CVN × algorithm)`,
    build: () => one(tap({ alg: "sm4" })),
    expect: { ...OK, profile: "pboc-cvn01-sm4" },
  },
  {
    name: "CVN 17, ARQC",
    item: 1,
    source: `${APPLET}, qPBOC ARQC branch`,
    build: () => one(tap({ cvn: 0x17, type: "ARQC" })),
    expect: { ...OK, profile: "pboc-cvn17-3des", cryptogramType: "ARQC" },
  },
  {
    name: "9F10 says CVN 17 but the card MACed the CVN 01 data: AC_MISMATCH",
    item: 1,
    source: `${DOC("Data sets")}: the CVN decides the data set, the algorithm byte the cipher`,
    build: () => one(iadByte(tap(), 2, 0x17)),
    expect: { status: "AC_MISMATCH", cryptogram: "mismatch", profile: "pboc-cvn17-3des" },
  },
  {
    name: "SM4 card with CVN 17 whose AC covers the CVN 01 data: no false OK",
    item: 1,
    source: `${DOC("Data sets")}: an SM4 card with CVN 17 must not get the CVN 01 data`,
    build: () => one(iadByte(tap({ alg: "sm4" }), 2, 0x17)),
    expect: { status: "AC_MISMATCH", cryptogram: "mismatch", profile: "pboc-cvn17-sm4" },
  },
  {
    name: "CVN 17 does not cover the TVR: 95 changed after signing, AC still ok",
    item: 1,
    source: `${APPLET}: CVN 17 MACs 9F02 ‖ 9F37 ‖ 9F36 ‖ CVR byte 1 only`,
    build: () => one(setIccTag(tap({ cvn: 0x17 }), "95", unhex("0000008000"))),
    expect: { ...OK, profile: "pboc-cvn17-3des" },
  },
  {
    name: "CVN 17 covers CVR byte 1: TC turned into ARQC after signing",
    item: 1,
    source: `${APPLET}: 发卡行应用数据第五个字节 (9F10 byte 5 = CVR byte 1) in the CVN 17 data`,
    build: () => one(setIccTag(iadByte(tap({ cvn: 0x17 }), 4, 0xa0), "9F27", Uint8Array.of(0x80))),
    expect: { status: "AC_MISMATCH", cryptogram: "mismatch", cryptogramType: "ARQC" },
  },
];

export const ITEM_2: Case13[] = [
  {
    name: "9F27 absent: type from the CVR, nothing noted",
    item: 2,
    source: `${DOC("Issuer application data (9F10)")}: qPBOC GPO replies carry no 9F27 (${APPLET})`,
    build: () => one(tap({ cid: "absent" })),
    expect: { ...OK, cryptogramType: "TC", cryptogramTypeSource: "CVR", notesExclude: ["9F27"] },
  },
  {
    name: "9F27 agrees with the CVR: type from the CVR, nothing noted",
    item: 2,
    source: DOC("Issuer application data (9F10)"),
    build: () => one(tap()),
    expect: { ...OK, cryptogramType: "TC", cryptogramTypeSource: "CVR", notesExclude: ["9F27"] },
  },
  {
    name: "terminal hard-codes 9F27 80 on a TC: TC, disagreement noted",
    item: 2,
    source: `${
      DOC("Issuer application data (9F10)")
    }; ProjectAfcApp qpboc_8583.c hard-codes 9F27 80`,
    build: () => one(tap({ cid: 0x80 })),
    expect: { ...OK, cryptogramType: "TC", cryptogramTypeSource: "CVR", notes: ["9F27"] },
  },
  {
    name: "terminal forces 9F27 40 on an ARQC: ARQC, noted",
    item: 2,
    source: `${
      DOC("Issuer application data (9F10)")
    }; LiaoYang_POS tranproc.c forces 9F27 40 before upload`,
    build: () => one(tap({ type: "ARQC", cid: 0x40 })),
    expect: { ...OK, cryptogramType: "ARQC", cryptogramTypeSource: "CVR", notes: ["9F27"] },
  },
  {
    name: "9F27 00 on a TC: not declined",
    item: 2,
    source: `${DOC("Issuer application data (9F10)")}: the CVR decides, 9F27 never alone`,
    build: () => one(tap({ cid: 0x00 })),
    expect: { ...OK, cryptogramType: "TC", notes: ["9F27"] },
  },
  {
    name: "9F27 40 on an AAC: declined (the CVR decides)",
    item: 2,
    source: `${DOC("Issuer application data (9F10)")}: the CVR decides, 9F27 never alone`,
    build: () => one(tap({ type: "AAC", cid: 0x40 })),
    expect: { status: "CARD_DECLINED", cryptogram: "ok", cryptogramType: "AAC", notes: ["9F27"] },
  },
];

export const ITEM_3: Case13[] = [
  {
    name: "RSA fDDA: dynamic number in the signature ≠ 9F36",
    item: 3,
    source: `${
      DOC("fDDA, the transit case")
    }: ICC dynamic data 02 ‖ ATC (${APPLET}); Proxmark3 emv_pki.c`,
    build: () => one(tap({ signedAtc: 0x22 })),
    expect: {
      status: "ODA_FAILED",
      cryptogram: "ok",
      oda: "failed",
      odaCheck: "SDAD_DYNAMIC_NUMBER",
    },
  },
  {
    name: "SM2 fDDA: dynamic number ≠ 9F36",
    item: 3,
    source: DOC("fDDA, the transit case"),
    build: () => one(tap({ oda: "sm2-fdda", signedAtc: 0x0100 })),
    expect: { status: "ODA_FAILED", oda: "failed", odaCheck: "SDAD_DYNAMIC_NUMBER" },
  },
  {
    name: "RSA fDDA: the CTQ inside 9F69 ≠ 9F6C",
    item: 3,
    source: `${
      DOC("fDDA, the transit case")
    }: 9F69 = 01 ‖ random ‖ CTQ ‖ DF61 (${APPLET}; JR/T 0025.12 Annex C)`,
    build: () => one(tap({ ctq: "2000", signedCtq: "0000" })),
    expect: { status: "ODA_FAILED", cryptogram: "ok", oda: "failed", odaCheck: "SDAD_CTQ" },
  },
  {
    name: "SM2 fDDA: the CTQ inside 9F69 ≠ 9F6C",
    item: 3,
    source: DOC("fDDA, the transit case"),
    build: () => one(tap({ oda: "sm2-fdda", ctq: "3000", signedCtq: "2000" })),
    expect: { status: "ODA_FAILED", oda: "failed", odaCheck: "SDAD_CTQ" },
  },
  {
    name: "fDDA 00 (no 9F69): the dynamic number is still checked, no CTQ to compare",
    item: 3,
    source: DOC("fDDA, the transit case"),
    build: () => one(tap({ fddaVersion: 0 })),
    expect: { ...OK, odaFormat: "05" },
  },
];

export const ITEM_4: Case13[] = [
  {
    name: "card expired the day before the tap (5F24 261126, 9A 261127)",
    item: 4,
    source: `${DOC("Expiry and revocation")}; EMV 4.4 Book 3 §10.4.3`,
    build: () => one(tap({ expiry: "261126" })),
    expect: { status: "CARD_EXPIRED", cryptogram: "ok", oda: "ok" },
  },
  {
    name: "card expires on the tap's day: valid",
    item: 4,
    source: "EMV 4.4 Book 3 §10.4.3 (expired when the transaction date is after 5F24)",
    build: () => one(tap({ expiry: "261127" })),
    expect: OK,
  },
  {
    name: "card not yet effective (5F25 261128)",
    item: 4,
    source: `${DOC("Expiry and revocation")} (5F25 when present); EMV 4.4 Book 3 §10.4.3`,
    build: () => one(tap({ effective: "261128" })),
    expect: { status: "CARD_EXPIRED", cryptogram: "ok", oda: "ok" },
  },
  {
    name: "card effective on the tap's day: valid",
    item: 4,
    source: "EMV 4.4 Book 3 §10.4.3",
    build: () => one(tap({ effective: "261127" })),
    expect: OK,
  },
  {
    name: "expired card and expired issuer certificate: CERT_EXPIRED first",
    item: 4,
    source: "issue 13: CARD_EXPIRED right after CERT_EXPIRED in the precedence",
    build: () => one(tap({ expiry: "251231", issuerCert: { expiry: "1025" } })),
    expect: { status: "CERT_EXPIRED", odaCheck: "ISSUER_CERT_EXPIRED" },
  },
  {
    name: "expired card and a failed fDDA: CARD_EXPIRED first",
    item: 4,
    source: "issue 13: CARD_EXPIRED before ODA_FAILED",
    build: () => one(tap({ expiry: "251231", signedUn: "DEADBEEF" })),
    expect: { status: "CARD_EXPIRED", oda: "failed", odaCheck: "SDAD_HASH" },
  },
  {
    name: "expired card and AC mismatch: AC_MISMATCH first",
    item: 4,
    source: "issue 13 precedence",
    build: () => one(tap({ expiry: "251231", acOverride: BAD_AC })),
    expect: { status: "AC_MISMATCH", cryptogram: "mismatch" },
  },
];
