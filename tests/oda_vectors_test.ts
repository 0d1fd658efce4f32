/**
 * ODA against published vectors (fixtures/vectors/emv_oda.json; docs/emv-pboc.md, test
 * vectors): the Proxmark3 SDA chain, the UnionPay CA key checksum, the GB/T 32918.5 Annex A SM2
 * signature, the CardPlatform SM2 certificate and dynamic-signature samples.
 */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { fromHex, toHex } from "../core/hex.ts";
import {
  authenticateRecord,
  type RecoveredKey,
  recoverIccKeySm2,
  recoverIssuerKeyRsa,
  verifyDynamicSignatureSm2,
} from "../core/emv/oda.ts";
import { CapkImportError, CapkRegistry, parseCapkFile } from "../core/emv/capk.ts";
import { concat, sha1, sm2Verify, sm2Z } from "../core/emv/primitives.ts";

const V = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/vectors/emv_oda.json", import.meta.url)),
);
const h = (s: string) => fromHex(s);
const tagsOf = (t: Record<string, string>) =>
  new Map(Object.entries(t).map(([k, v]) => [k, h(v)] as [string, Uint8Array]));

Deno.test("Proxmark3 SDA chain: issuer key recovery and SSAD (docs/emv-pboc.md, test vectors)", () => {
  const s = V.sdaChain;
  const reg = parseCapkFile({ capks: [s.capk] });
  const capk = reg.capk("A000000003", "01")!;
  const r = recoverIssuerKeyRsa(capk, {
    cert: h(s.tags["90"]),
    remainder: h(s.tags["92"]),
    exponent: h("03"),
    pan: "4276550000000000",
    txnDate: "2009-11-15",
  });
  assert(r.ok, !r.ok ? r.check : "");
  assertEquals(r.fields.id, s.expected.issuerId);
  assertEquals(r.fields.expiry, s.expected.issuerExpiry);
  assertEquals(r.fields.serial, s.expected.issuerSerial);
  assertEquals(r.key.modulus.length * 8, s.expected.issuerModulusBits);
  assert(r.steps.some((x) => x.detail === s.expected.issuerHash));
  const out = authenticateRecord(tagsOf(s.tags), reg, { staticData: h(s.staticData) });
  assertEquals(out.verdict, "ok", out.check);
  assertEquals(out.method, "SDA");
  assertEquals(out.dac, s.expected.dac);
  // One changed byte of the static data, of 93 or of 92 fails the named check.
  const sd = h(s.staticData);
  sd[5] ^= 1;
  assertEquals(authenticateRecord(tagsOf(s.tags), reg, { staticData: sd }).check, "SSAD_HASH");
  const t93 = tagsOf(s.tags);
  t93.get("93")![10] ^= 1;
  assertEquals(authenticateRecord(t93, reg, { staticData: h(s.staticData) }).check, "SSAD_TRAILER");
  const t92 = tagsOf(s.tags);
  t92.get("92")![0] ^= 1;
  assertEquals(
    authenticateRecord(t92, reg, { staticData: h(s.staticData) }).check,
    "ISSUER_CERT_HASH",
  );
  // Transaction after the issuer certificate's month (12/09) → expired; 9A decides, not today.
  const late = tagsOf(s.tags);
  late.set("9A", h("100101"));
  assertEquals(
    authenticateRecord(late, reg, { staticData: h(s.staticData) }).check,
    "ISSUER_CERT_EXPIRED",
  );
  const lastDay = tagsOf(s.tags);
  lastDay.set("9A", h("091231"));
  assertEquals(authenticateRecord(lastDay, reg, { staticData: h(s.staticData) }).verdict, "ok");
});

Deno.test("CAPK checksums: UnionPay index 08 verifies; a changed byte refuses the import", () => {
  const c = V.unionpayCapk08;
  const reg = parseCapkFile({ capks: [c] });
  assertEquals(reg.size, 1);
  const bad = { ...c, modulus: c.modulus.slice(0, -2) + "BE" };
  assertThrows(() => parseCapkFile({ capks: [c, bad] }), CapkImportError, "checksum");
  const reg2 = new CapkRegistry();
  assertThrows(() => parseCapkFile({ capks: [c, bad] }, reg2));
  assertEquals(reg2.size, 0, "a refused file adds nothing");
  assertThrows(
    () => parseCapkFile({ capks: [{ ...c, exponent: "05" }] }),
    CapkImportError,
    "exponent",
  );
  // SM2 checksum convention: SHA-1(RID ‖ index ‖ x ‖ y).
  const pk = V.sm2Standard.publicKey;
  const sum = toHex(sha1(h("A000000333" + "18" + pk)));
  assertEquals(
    parseCapkFile({
      capks: [{
        rid: "A000000333",
        index: "18",
        algorithm: "sm2",
        publicKey: pk,
        expiry: "2030-12-31",
        checksum: sum,
      }],
    }).size,
    1,
  );
});

Deno.test("SM2 standard signature (GB/T 32918.5 Annex A) and Z", () => {
  const s = V.sm2Standard;
  assertEquals(toHex(sm2Z(h(s.publicKey))), s.z);
  assert(sm2Verify(h(s.publicKey), h(s.message), h(s.signature)));
  assert(
    !sm2Verify(
      h(s.publicKey),
      h(s.message),
      h(s.signature),
      new TextEncoder().encode("ALICE123@YAHOO.COM"),
    ),
  );
  assert(!sm2Verify(h(s.publicKey), new TextEncoder().encode("message digesT"), h(s.signature)));
});

Deno.test("PBOC SM2 ICC certificate sample (CardPlatform, docs/emv-pboc.md, test vectors)", () => {
  const s = V.sm2IccCert;
  const issuerPub = h(s.issuerCert).slice(14, 78);
  const issuer: RecoveredKey = {
    algorithm: "sm2",
    modulus: issuerPub,
    exponent: new Uint8Array(0),
    fingerprint: "",
  };
  const ok = recoverIccKeySm2(issuer, {
    cert: h(s.iccCert),
    pan: s.pan,
    txnDate: s.txnDate,
    staticData: h(s.staticDataWithAip),
  });
  assert(ok.ok, !ok.ok ? ok.check : "");
  assertEquals(ok.fields.expiry, "0625");
  const noAip = h(s.staticDataWithAip).slice(0, -2);
  const r = recoverIccKeySm2(issuer, {
    cert: h(s.iccCert),
    pan: s.pan,
    txnDate: s.txnDate,
    staticData: noAip,
  });
  assert(!r.ok && r.check === "ICC_CERT_SIGNATURE");
  const late = recoverIccKeySm2(issuer, {
    cert: h(s.iccCert),
    pan: s.pan,
    txnDate: "2025-07-01",
    staticData: h(s.staticDataWithAip),
  });
  assert(!late.ok && late.check === "ICC_CERT_EXPIRED");
});

Deno.test("PBOC SM2 dynamic signature sample (CardPlatform, docs/emv-pboc.md, test vectors)", () => {
  const s = V.sm2DynamicSignature;
  const m = h(s.message);
  const t = h(s.terminalData);
  const sdad = concat(m.subarray(0, m.length - t.length), h(s.signature));
  const key: RecoveredKey = {
    algorithm: "sm2",
    modulus: h(s.publicKey),
    exponent: new Uint8Array(0),
    fingerprint: "",
  };
  const r = verifyDynamicSignatureSm2(key, sdad, t);
  assert(r.ok);
  assertEquals(toHex(r.iccDynamicData).slice(0, 6), "0200D1");
  const t2 = t.slice();
  t2[0] ^= 1;
  const bad = verifyDynamicSignatureSm2(key, sdad, t2);
  assert(!bad.ok && bad.check === "SDAD_SIGNATURE");
});

// ---------------------------------------------------------------------------------------------
// Generated RSA chain at EMV sizes (CA 1984, issuer 1408, ICC 1152 bits)
