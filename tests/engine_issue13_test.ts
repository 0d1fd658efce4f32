/**
 * Issue 13 beyond the verdicts of `indep_cases_13_test.ts`, on taps of the independent builder
 * (tests/support/indep/): what `icfare explain` shows (the CVN 17 data set, the type from the
 * CVR and a disagreeing 9F27, the dynamic-number and CTQ checks, the IDD contents and MAC,
 * DF60 and the CTQ bits), what the kernel's result carries, and what store-mode verification
 * records (the IDD and the EC balance column for clearing, notes, the ODA format, and the
 * counts of cryptograms checked apart from those left to the issuer).
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { explainRecord, renderExplanation } from "../core/emv/explain.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import { fromHex } from "../core/hex.ts";
import { engineVerify } from "../kernel-as/engine.ts";
import { CARD_DATES, IDD_MAC_VERDICTS, RECORD_NOTES } from "../kernel-as/contract.ts";
import { ingestUpload } from "../core/upload/ingest.ts";
import { bodyDigestHex } from "../core/auth/hmac.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { verifyStore } from "../core/verify_store.ts";
import type { CapkRecord } from "../core/keys/store.ts";
import { buildTap, uploadBatch } from "./support/indep/tap.ts";
import { capkFile, keysFile } from "./support/indep/world.ts";

const ctx = () => ({ keys: parseKeyFile(keysFile()), capks: parseCapkFile(capkFile()) });
const APPLET = "the PBOC 3.0 card applet (docs/emv-pboc.md, sources)";

function explained(spec: Parameters<typeof buildTap>[0]): string {
  return renderExplanation(explainRecord(buildTap(spec).record, ctx())).join("\n");
}

Deno.test(`explain: CVN 17 data set, type from the CVR beside 9F27, DF60, CTQ, IDD (${APPLET})`, () => {
  const text = explained({ cvn: 0x17, cid: 0x80, df60: 0x01 });
  // Item 1: the CVN 17 profile and its data set.
  assertMatch(text, /profile PBOC CVN 17 \(3DES\)/);
  assertMatch(text, /data: 9F02 ‖ 9F37 ‖ 9F36 ‖ CVR byte 1 \(9F10 byte 5\)/);
  assertMatch(text, /9F02 +000000000200\n/);
  assertMatch(text, /13 bytes: /);
  // Item 2: the type from the CVR; 9F27 80 (ARQC) disagrees and is noted.
  assertMatch(text, /TC \(from CVR byte 1 b6-b5\)/);
  assertMatch(text, /9F27 states ARQC/);
  assertMatch(text, /note: 9F27 says ARQC but the CVR says TC/);
  // Item 10: DF60 and the CTQ bits.
  assertMatch(text, /DF60 01: segmented fare/);
  assertMatch(text, /CTQ \(9F6C\) 2000: Go online if offline data authentication fails/);
  // Item 3: the dynamic number and the CTQ inside 9F69 are checked.
  assertMatch(text, /ok {3}dynamic number = 02 ‖ 9F36: ATC 0021/);
  assertMatch(text, /ok {3}CTQ in 9F69 = 9F6C: 2000/);
  // Item 5: the IDD contents and its MAC under the IMK-MAC.
  assertMatch(text, /issuer discretionary data {2}— ok/);
  assertMatch(text, /type 01: EC balance/);
  assertMatch(text, /ecBalance 9800 fen/);
  assertMatch(text, /MAC input ATC ‖ amounts zero-filled to 8 bytes/);
  assertMatch(text, /computed [0-9A-F]{8}: match/);
  assert(!/6214830000000018/.test(text), "PAN masked");
});

Deno.test("explain names a broken binding and a bad IDD MAC (docs/emv-pboc.md, fDDA; IDD)", () => {
  const dn = explained({ signedAtc: 0x22 });
  assertMatch(dn, /FAIL SDAD_DYNAMIC_NUMBER: ICC dynamic number 020022, 02 ‖ 9F36 = 020021/);
  assertMatch(dn, /failed check SDAD_DYNAMIC_NUMBER/);
  const ctq = explained({ ctq: "2000", signedCtq: "1000" });
  assertMatch(ctq, /FAIL SDAD_CTQ: CTQ in 9F69 1000, 9F6C 2000/);
  const mac = explained({ iddMac: "bad" });
  assertMatch(mac, /issuer discretionary data {2}— FAIL/);
  assertMatch(mac, /MISMATCH/);
  const types = explained({ idd: { type: 3, ecBalance: 5000, ctta: 1500 } });
  assertMatch(types, /type 03: EC balance and CTTA\n +ecBalance 5000 fen\n +ctta 1500 fen/);
  assertMatch(types, /zero-filled to 16 bytes/);
});

Deno.test("kernel result: IDD type and MAC, notes, ODA format, card date (contract RES layout)", () => {
  const t = [
    buildTap({ seq: 1, cid: 0x80 }), // TC, 9F27 says ARQC
    buildTap({ seq: 2, atc: 2, iddMac: "bad", sdadFormat: 0x95 }),
    buildTap({ seq: 3, atc: 3, expiry: "261126", oda: "sm2-fdda" }),
  ];
  const keys = parseKeyFile(keysFile({ mac: ["3des"] }));
  const capks = parseCapkFile(capkFile());
  const ek = [...keys.listImkAc(), ...keys.listImkMac()].map((k) => ({
    algorithm: k.algorithm,
    issuer: k.issuer,
    dki: k.dki,
    value: k.value,
    usage: k.usage,
  }));
  const r = engineVerify(
    t.map((x) => ({
      icc: fromHex(x.record.icc),
      oda: fromHex(x.record.oda!.tlv),
      staticData: fromHex(x.record.oda!.staticData),
      fare: x.record.fare,
    })),
    ek,
    [],
    { capks: capks.list(), revoked: capks.revokedList() },
  );
  const view = (i: number) => {
    const a = r.at(i);
    return {
      status: a.status,
      idd: [a.iddType, IDD_MAC_VERDICTS[a.iddMac]],
      notes: RECORD_NOTES.filter((_, b) => a.notes & (1 << b)).map((n) => n.name),
      format: a.odaFormat,
      date: CARD_DATES[a.cardDate],
      macKey: a.macKeyIndex,
      type: [a.type, a.typeSource, a.cidType],
    };
  };
  // Statuses are the contract's codes: 0 OK, 413 IDD_MAC_MISMATCH, 414 CARD_EXPIRED. The
  // IMK-MAC is the third key loaded (index 2). Type 1 (TC) from the CVR (source 2); 9F27 says 2.
  assertEquals(view(0), {
    status: 0,
    idd: [1, "ok"],
    notes: ["CID_DISAGREES"],
    format: 0x05,
    date: "ok",
    macKey: 2,
    type: [1, 2, 2],
  });
  assertEquals(view(1), {
    status: 413,
    idd: [1, "mismatch"],
    notes: [],
    format: 0x95,
    date: "ok",
    macKey: 2,
    type: [1, 2, 1],
  });
  assertEquals(view(2), {
    status: 414,
    idd: [1, "ok"],
    notes: [],
    format: 0x15,
    date: "expired",
    macKey: 2,
    type: [1, 2, 1],
  });
});

Deno.test("store mode records the IDD, the EC balance column, notes and checked/left counts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "icfare-issue13-" });
  const store = openSqliteStore(`${dir}/icfare.db`);
  try {
    const pan = await DevPanProtector.fromHex("55".repeat(32), "66".repeat(32));
    const records = [
      buildTap({ seq: 1, atc: 1, idd: { type: 1, ecBalance: 9800 } }).record,
      buildTap({ seq: 2, atc: 2, cid: 0x80, idd: { type: 3, ecBalance: 4321, ctta: 10 } })
        .record,
      buildTap({ seq: 3, atc: 3, alg: "sm4", idd: { type: 2, ctta: 700 } }).record, // no SM4 key
      buildTap({ seq: 4, atc: 4, staticData: "empty", iddMac: "bad" }).record,
    ];
    const raw = new TextEncoder().encode(JSON.stringify(uploadBatch(records, 7)));
    const a = await ingestUpload({ store, pan }, raw, await bodyDigestHex(raw), "LC000123");
    assertEquals([a.accepted, a.rejected], [4, 0]);
    const keys = parseKeyFile(keysFile({ ac: ["3des"], mac: ["3des"] }));
    const capks: CapkRecord[] = capkFile().capks.map((c) => ({
      ...c,
      algorithm: c.algorithm as "rsa" | "sm2",
      state: "active",
      importedAt: "2026-12-01T00:00:00Z",
      revokedSerials: [],
    }));
    const summary = await verifyStore(store, pan, {
      imkAc: keys.listImkAc(),
      imkMac: keys.listImkMac(),
      configs: [],
      capks,
    }, { workers: 1 });
    assertEquals(
      [summary.records, summary.cryptogramChecked, summary.leftToIssuer, summary.status],
      [4, 3, 1, { OK: 3, IDD_MAC_MISMATCH: 1 }],
    );
    const rows = store.connection.prepare(
      "SELECT seq, status, verification, ec_balance FROM records ORDER BY seq",
    ).all() as { seq: number; verification: string; ec_balance: number | null }[];
    const v = rows.map((r) => ({ ec: r.ec_balance, ...JSON.parse(r.verification) }));
    assertEquals(v.map((x) => [x.status, x.ec, x.detail.idd]), [
      ["OK", 9800, { type: 1, ecBalance: 9800, mac: "ok" }],
      ["OK", 4321, { type: 3, ecBalance: 4321, mac: "ok" }],
      ["OK", null, { type: 2, mac: "no-key" }],
      ["IDD_MAC_MISMATCH", 9800, { type: 1, ecBalance: 9800, mac: "mismatch" }],
    ]);
    assertEquals(v[1].detail.notes, [
      "9F27 says ARQC but the CVR says TC: the type is taken from the CVR",
    ]);
    assertEquals(v.map((x) => [x.detail.cryptogram, x.detail.oda, x.detail.odaFormat]), [
      ["ok", "ok", "05"],
      ["ok", "ok", "05"],
      ["no-key", "ok", "05"],
      ["ok", "ok", "05"],
    ]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
