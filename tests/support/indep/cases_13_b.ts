/**
 * Issue 13 cases, items 5, 6, 10, 12-15: the IDD and its MAC, SM2 certificate curve bytes and
 * SM2 SDA, DF60, fDDA format 95 and the recorded format, empty static data, certificates
 * alone, and the records left to the issuer (`cases_13.ts` explains the names).
 */
import { alterStaticData } from "./faults.ts";
import { APPLET, BAD_AC, type Case13, caseKeys, DOC, OK, one, tap } from "./cases_13_common.ts";
import type { UploadRecord } from "./tap.ts";
import { capkFile, keysFile, UNKNOWN_CA_INDEX } from "./world.ts";

const IDD = `${
  DOC("Issuer application data (9F10)")
}: IDD types 01-05 and the IDD MAC (${APPLET}, generateIssueAppData)`;

export const ITEM_5: Case13[] = [
  {
    name: "IDD 01: EC balance after the tap, MAC ok",
    item: 5,
    source: IDD,
    build: () => one(tap({ idd: { type: 1, ecBalance: 9800 } })),
    expect: { ...OK, idd: { type: 1, ecBalance: 9800, mac: "ok" } },
  },
  {
    name: "IDD 02: CTTA",
    item: 5,
    source: IDD,
    build: () => one(tap({ idd: { type: 2, ctta: 1500 } })),
    expect: { ...OK, idd: { type: 2, mac: "ok" } },
  },
  {
    name: "IDD 03: EC balance and CTTA (10 data bytes, 16-byte MAC input)",
    item: 5,
    source: IDD,
    build: () => one(tap({ idd: { type: 3, ecBalance: 5000, ctta: 1500 } })),
    expect: { ...OK, idd: { type: 3, ecBalance: 5000, mac: "ok" } },
  },
  {
    name: "IDD 04: CTTA and its limit",
    item: 5,
    source: IDD,
    build: () => one(tap({ idd: { type: 4, ctta: 1500, cttal: 50000 } })),
    expect: { ...OK, idd: { type: 4, mac: "ok" } },
  },
  {
    name: "IDD 05: available offline spending amount (9F5D)",
    item: 5,
    source: IDD,
    build: () => one(tap({ idd: { type: 5, available: 7700 } })),
    expect: { ...OK, idd: { type: 5, mac: "ok" } },
  },
  {
    name: "IDD MAC wrong: IDD_MAC_MISMATCH (the AC does not cover the IDD)",
    item: 5,
    source: IDD,
    build: () => one(tap({ iddMac: "bad" })),
    expect: {
      ...OK,
      status: "IDD_MAC_MISMATCH",
      idd: { type: 1, ecBalance: 9800, mac: "mismatch" },
    },
  },
  {
    name: "IDD MAC wrong on an ARQC with CVN 17",
    item: 5,
    source: IDD,
    build: () => one(tap({ cvn: 0x17, type: "ARQC", iddMac: "bad" })),
    expect: { status: "IDD_MAC_MISMATCH", cryptogram: "ok", idd: { type: 1, mac: "mismatch" } },
  },
  {
    name: "no IMK-MAC held: the IDD is decoded, its MAC left unchecked",
    item: 5,
    source: "issue 13 item 5: verify the IDD MAC where the IMK-MAC is held",
    build: () => one(tap({ iddMac: "bad" }), caseKeys({ mac: [] })),
    expect: { ...OK, idd: { type: 1, ecBalance: 9800, mac: "no-key" } },
  },
  {
    name: "IDD MAC wrong and AC wrong: AC_MISMATCH first",
    item: 5,
    source: "issue 13: IDD_MAC_MISMATCH right after AC_MISMATCH",
    build: () => one(tap({ iddMac: "bad", acOverride: BAD_AC })),
    expect: { status: "AC_MISMATCH", cryptogram: "mismatch", idd: { type: 1, mac: "mismatch" } },
  },
  {
    name: "IDD MAC wrong and issuer certificate revoked: IDD_MAC_MISMATCH first",
    item: 5,
    source: "issue 13: IDD_MAC_MISMATCH before CERT_REVOKED",
    build: () =>
      one(
        tap({ iddMac: "bad" }),
        caseKeys(),
        capkFile({ revoked: [{ index: "C1", serial: "00A001" }] }),
      ),
    expect: { status: "IDD_MAC_MISMATCH", odaCheck: "ISSUER_CERT_REVOKED" },
  },
  {
    name: "SM4 card: IDD MAC under the SM4 MAC session key (builder's analogue, UNSURE)",
    item: 5,
    source: `${IDD}; SM4 form: SM4 CBC-MAC on the same input (no public source)`,
    build: () => one(tap({ alg: "sm4", idd: { type: 1, ecBalance: 120 } }), keysFile()),
    expect: { ...OK, idd: { type: 1, ecBalance: 120, mac: "ok" } },
  },
  {
    name: "no IDD: no idd in the verdict",
    item: 5,
    source: DOC("Issuer application data (9F10)"),
    build: () => one(tap({ idd: null })),
    expect: { ...OK, idd: null },
  },
];

const SM2 = DOC("SM2 (PBOC 3.0)");

export const ITEM_6: Case13[] = [
  {
    name: "SM2 issuer certificate byte 11 (key-encryption algorithm) not 00",
    item: 6,
    source:
      `${SM2}: byte 11 = 00, byte 12 = 11 (PBOC SM2 certificate header; UnionPay IST DF38 11)`,
    build: () => one(tap({ oda: "sm2-fdda", issuerCert: { byte11: 0x01 } })),
    expect: {
      status: "ODA_FAILED",
      cryptogram: "ok",
      oda: "failed",
      odaCheck: "ISSUER_CERT_CURVE",
    },
  },
  {
    name: "SM2 issuer certificate byte 12 (curve parameter) not 11",
    item: 6,
    source: SM2,
    build: () => one(tap({ oda: "sm2-fdda", issuerCert: { byte12: 0x12 } })),
    expect: { status: "ODA_FAILED", oda: "failed", odaCheck: "ISSUER_CERT_CURVE" },
  },
  {
    name: "SM2 ICC certificate byte 18 (curve parameter) not 11",
    item: 6,
    source: SM2,
    build: () => one(tap({ oda: "sm2-fdda", iccCert: { byte18: 0x00 } })),
    expect: { status: "ODA_FAILED", oda: "failed", odaCheck: "ICC_CERT_CURVE" },
  },
  {
    name: "SM2 ICC certificate byte 17 not 00",
    item: 6,
    source: SM2,
    build: () => one(tap({ oda: "sm2-fdda", iccCert: { byte17: 0x04 } })),
    expect: { status: "ODA_FAILED", oda: "failed", odaCheck: "ICC_CERT_CURVE" },
  },
  {
    name: "SM2 SDA: 93 = 13 ‖ DAC ‖ signature",
    item: 6,
    source: `${SM2}: SM2 SDA format 13 (PBOC SM2 certificate header)`,
    build: () => one(tap({ oda: "sm2-sda" })),
    expect: { ...OK, odaFormat: "13" },
  },
  {
    name: "SM2 SDA over altered static data",
    item: 6,
    source: SM2,
    build: () => one(alterStaticData(tap({ oda: "sm2-sda" }), 4)),
    expect: { status: "ODA_FAILED", cryptogram: "ok", oda: "failed" },
  },
  {
    name: "SM2 SDA with an expired issuer certificate",
    item: 6,
    source: `${SM2}; ${DOC("Expiry and revocation")}`,
    build: () => one(tap({ oda: "sm2-sda", issuerCert: { expiry: "0126" } })),
    expect: { status: "CERT_EXPIRED", oda: "failed", odaCheck: "ISSUER_CERT_EXPIRED" },
  },
];

export const ITEM_10: Case13[] = [
  {
    name: "DF60 = 01 (segmented fare) in the chip data: verified as usual",
    item: 10,
    source: `${
      DOC("The transit tag set")
    }: DF60 0 none, 1 segmented fare, 2/3 offline pre-auth (${APPLET})`,
    build: () => one(tap({ df60: 0x01, df61: 0x01 })),
    expect: { ...OK, cryptogramType: "TC" },
  },
];

const FORMAT = `${DOC("fDDA, the transit case")}: a real card's 9F4B recovers with format 95`;

export const ITEM_12: Case13[] = [
  {
    name: "RSA fDDA format 05 recorded",
    item: 12,
    source: "EMV 4.4 Book 2 §6.5, Table 17",
    build: () => one(tap()),
    expect: { ...OK, odaFormat: "05" },
  },
  {
    name: "RSA fDDA format 95 accepted and recorded",
    item: 12,
    source: FORMAT,
    build: () => one(tap({ sdadFormat: 0x95 })),
    expect: { ...OK, odaFormat: "95" },
  },
  {
    name: "format 95 over another UN: SDAD_HASH",
    item: 12,
    source: FORMAT,
    build: () => one(tap({ sdadFormat: 0x95, signedUn: "DEADBEEF" })),
    expect: { status: "ODA_FAILED", oda: "failed", odaCheck: "SDAD_HASH" },
  },
  {
    name: "format 25: SDAD_FORMAT",
    item: 12,
    source: "EMV 4.4 Book 2 §6.5 step 3",
    build: () => one(tap({ sdadFormat: 0x25 })),
    expect: { status: "ODA_FAILED", oda: "failed", odaCheck: "SDAD_FORMAT" },
  },
  {
    name: "SM2 fDDA format 15 recorded",
    item: 12,
    source: DOC("SM2 (PBOC 3.0)"),
    build: () => one(tap({ oda: "sm2-fdda" })),
    expect: { ...OK, odaFormat: "15" },
  },
  {
    name: "RSA SDA format 03 recorded",
    item: 12,
    source: "EMV 4.4 Book 2 §5.4, Table 7",
    build: () => one(tap({ oda: "rsa-sda" })),
    expect: { ...OK, odaFormat: "03" },
  },
];

const EMPTY = `${DOC("RSA recovery")}: cards whose AFL names no ODA record have empty static data`;

export const ITEM_13: Case13[] = [
  {
    name: "empty static data, no 9F4A: RSA fDDA",
    item: 13,
    source: EMPTY,
    build: () => one(tap({ staticData: "empty", sdaTagList: false })),
    expect: { ...OK, odaFormat: "05" },
  },
  {
    name: "empty static data, 9F4A lists the AIP: the AIP alone is signed",
    item: 13,
    source: EMPTY,
    build: () => one(tap({ staticData: "empty" })),
    expect: OK,
  },
  {
    name: "empty static data: SM2 fDDA",
    item: 13,
    source: EMPTY,
    build: () => one(tap({ oda: "sm2-fdda", staticData: "empty", sdaTagList: false })),
    expect: OK,
  },
  {
    name: "empty static data: RSA SDA",
    item: 13,
    source: EMPTY,
    build: () => one(tap({ oda: "rsa-sda", staticData: "empty" })),
    expect: OK,
  },
];

const CERTS = "issue 13 item 14: a chain without 9F4B/93 is checked and reported";

export const ITEM_14: Case13[] = [
  {
    name: "RSA certificates alone: certs-only",
    item: 14,
    source: CERTS,
    build: () => one(tap({ oda: "rsa-certs" })),
    expect: { status: "OK", cryptogram: "ok", oda: "certs-only" },
  },
  {
    name: "SM2 certificates alone: certs-only",
    item: 14,
    source: CERTS,
    build: () => one(tap({ oda: "sm2-certs" })),
    expect: { status: "OK", cryptogram: "ok", oda: "certs-only" },
  },
  {
    name: "certificates alone, static data altered: the ICC certificate fails",
    item: 14,
    source: `${CERTS}; EMV 4.4 Book 2 §6.4 step 7`,
    build: () => one(alterStaticData(tap({ oda: "rsa-certs" }), 4)),
    expect: { status: "ODA_FAILED", oda: "failed", odaCheck: "ICC_CERT_HASH" },
  },
  {
    name: "certificates alone, issuer certificate expired",
    item: 14,
    source: `${CERTS}; EMV 4.4 Book 2 §5.3 step 9`,
    build: () => one(tap({ oda: "rsa-certs", issuerCert: { expiry: "1025" } })),
    expect: { status: "CERT_EXPIRED", oda: "failed", odaCheck: "ISSUER_CERT_EXPIRED" },
  },
  {
    name: "certificates alone under an unknown CA key",
    item: 14,
    source: CERTS,
    build: () => one(tap({ oda: "rsa-certs", caIndex: UNKNOWN_CA_INDEX })),
    expect: { status: "CAPK_UNKNOWN", oda: "no-capk", odaCheck: "CAPK_UNKNOWN" },
  },
];

const LEFT = "issue 13 item 15: no-key may stay OK, counted apart from checked cryptograms";

export const ITEM_15: Case13[] = [
  {
    name: "no IMK-AC held: OK, cryptogram no-key (left to the issuer)",
    item: 15,
    source: LEFT,
    build: () => one(tap(), caseKeys({ ac: [] })),
    expect: { ...OK, cryptogram: "no-key" },
  },
];

/**
 * Item 15 over a list: `summarise(results)` counts the cryptograms icfare checked (ok,
 * mismatch) apart from those left to the issuer (no-key, unsupported).
 */
export const SUMMARY_13 = {
  name: "summaries count checked cryptograms apart from those left to the issuer",
  source: LEFT,
  build(): { records: UploadRecord[]; keys: object; capks: object } {
    const records = [
      tap({ seq: 1, atc: 1 }).record, // ok
      tap({ seq: 2, atc: 2, acOverride: BAD_AC }).record, // mismatch
      tap({ seq: 3, atc: 3, alg: "sm4" }).record, // no-key: only 3DES held
      tap({ seq: 4, atc: 4, algorithmByte: 0x02 }).record, // unsupported algorithm byte
      tap({ seq: 5, atc: 5, cvn: 0x17 }).record, // ok
    ];
    return { records, keys: caseKeys({ ac: ["3des"] }), capks: capkFile() };
  },
  expect: { cryptogramChecked: 3, leftToIssuer: 2 },
} as const;
