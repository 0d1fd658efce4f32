/**
 * ODA on generated RSA (EMV sizes) and SM2 chains (tests/support/emv_signing.ts): every chain
 * verifies, and one changed byte in each signed field flips exactly the named check.
 */
import { assert, assertEquals } from "@icfare/assert";
import { authenticateRecord, type OdaCheck, OdaKeyCache, sdadPlain } from "../core/emv/oda.ts";
import { type Capk, CapkRegistry } from "../core/emv/capk.ts";
import { concat, sha1 } from "../core/emv/primitives.ts";
import {
  resignSdad,
  type RsaCard,
  rsaCard,
  rsaKey,
  rsaSign,
  sm2Card,
  testCapk,
} from "./support/emv_signing.ts";
import { issuerCertPlain } from "../core/emv/oda.ts";
import { fromHex } from "../core/hex.ts";

const h = (s: string) => fromHex(s);

function registry(...c: Capk[]): CapkRegistry {
  const r = new CapkRegistry();
  for (const x of c) r.add(x);
  return r;
}

function run(
  card: { tags: Map<string, Uint8Array>; staticData: Uint8Array; capk: Capk },
  reg?: CapkRegistry,
) {
  return authenticateRecord(card.tags, reg ?? registry(card.capk), { staticData: card.staticData });
}

function flipped(card: RsaCard, tag: string, at = 0): RsaCard {
  const tags = new Map(card.tags);
  const v = tags.get(tag)!.slice();
  v[at] ^= 0x01;
  tags.set(tag, v);
  return { ...card, tags };
}

Deno.test("RSA fDDA 01 and 00 chains at EMV sizes verify", () => {
  const c1 = rsaCard();
  assert(
    !c1.tags.has("92") && c1.tags.has("9F48"),
    "at EMV sizes only the ICC key has a remainder",
  );
  const r1 = run(c1);
  assertEquals(r1.verdict, "ok", r1.check);
  assertEquals(r1.method, "fDDA");
  assertEquals(r1.fddaVersion, 1);
  assertEquals(r1.iccDynamicNumber, "00D1");
  const r0 = run(rsaCard({ fddaVersion: 0 }));
  assertEquals(r0.verdict, "ok", r0.check);
  assertEquals(r0.fddaVersion, 0);
});

const SMALL = { ca: "ca1152", issuer: "issuer1024", iccKey: "icc1024" };

Deno.test("RSA chain with both remainders verifies", () => {
  const c = rsaCard(SMALL);
  assert(c.tags.has("92") && c.tags.has("9F48"));
  assertEquals(run(c).verdict, "ok");
});

Deno.test("RSA chain: one changed byte in each signed field fails exactly its check", () => {
  const card = rsaCard(SMALL);
  const cases: [string, number, OdaCheck][] = [
    ["90", 7, "ISSUER_CERT_TRAILER"],
    ["92", 3, "ISSUER_CERT_HASH"],
    ["9F46", 9, "ICC_CERT_TRAILER"],
    ["9F48", 2, "ICC_CERT_HASH"],
    ["82", 0, "ICC_CERT_HASH"],
    ["9F4B", 4, "SDAD_TRAILER"],
    ["9F37", 3, "SDAD_HASH"],
    ["9F02", 5, "SDAD_HASH"],
    ["5F2A", 1, "SDAD_HASH"],
    ["9F69", 4, "SDAD_HASH"],
    ["5A", 7, "ICC_PAN_MISMATCH"],
    ["5A", 0, "ISSUER_ID_MISMATCH"],
  ];
  for (const [tag, at, check] of cases) {
    assertEquals(run(flipped(card, tag, at)).check, check, `${tag}[${at}]`);
  }
  const sd = card.staticData.slice();
  sd[3] ^= 1;
  assertEquals(run({ ...card, staticData: sd }).check, "ICC_CERT_HASH");
  // fDDA 00 signs only 9F37: the amount is not covered.
  const v0 = rsaCard({ fddaVersion: 0 });
  assertEquals(run(flipped(v0, "9F02", 5)).verdict, "ok");
  assertEquals(run(flipped(v0, "9F37", 0)).check, "SDAD_HASH");
});

Deno.test("RSA chain: data-object, date, CAPK and revocation checks", () => {
  const card = rsaCard(SMALL);
  const w = (f: (t: Map<string, Uint8Array>) => void) => {
    const tags = new Map(card.tags);
    f(tags);
    return run({ ...card, tags });
  };
  assertEquals(w((t) => t.delete("92")).check, "ISSUER_REMAINDER_MISSING");
  assertEquals(w((t) => t.set("92", t.get("92")!.subarray(1))).check, "ISSUER_REMAINDER_LENGTH");
  assertEquals(w((t) => t.set("9F32", h("010001"))).check, "ISSUER_EXPONENT");
  assertEquals(w((t) => t.delete("9F48")).check, "ICC_REMAINDER_MISSING");
  assertEquals(w((t) => t.set("9F47", h("05"))).check, "ICC_EXPONENT");
  assertEquals(w((t) => t.set("90", t.get("90")!.subarray(1))).check, "ISSUER_CERT_LENGTH");
  assertEquals(w((t) => t.set("9F46", t.get("9F46")!.subarray(1))).check, "ICC_CERT_LENGTH");
  assertEquals(w((t) => t.set("9F4B", t.get("9F4B")!.subarray(1))).check, "SDAD_LENGTH");
  assertEquals(w((t) => t.set("9F4A", h("9F37"))).check, "SDA_TAG_LIST");
  assertEquals(w((t) => t.set("9F69", h("02A1B2C3D4E5F60000"))).check, "FDDA_VERSION");
  assertEquals(w((t) => t.set("9A", h("310101"))).check, "ISSUER_CERT_EXPIRED");
  assertEquals(w((t) => t.set("9A", h("300115"))).check, "ICC_CERT_EXPIRED");
  assertEquals(w((t) => t.set("9A", h("291231"))).verdict, "ok");
  const unknown = w((t) => t.set("8F", h("09")));
  assertEquals([unknown.verdict, unknown.check], ["no-capk", "CAPK_UNKNOWN"]);
  // Certificates without 9F4B/93 are checked and reported (issue 13 item 14).
  assertEquals(w((t) => t.delete("9F4B")).verdict, "certs-only");
  assertEquals(w((t) => (t.delete("9F4B"), t.delete("9F46"))).verdict, "absent");
  const expiredCa = registry({ ...testCapk("A000000333", "08", rsaKey("ca1152"), "2024-12-31") });
  assertEquals(run(card, expiredCa).check, "CAPK_EXPIRED");
  const rev = registry(card.capk).revoke("A000000333", "08", "0000A1");
  assertEquals(run(card, rev).check, "ISSUER_CERT_REVOKED");
  assertEquals(run(card, registry(card.capk).revoke("A000000333", "08", "0000A2")).verdict, "ok");
});

Deno.test("RSA issuer certificate: header, format, hash and key algorithm bytes", () => {
  const ca = rsaKey("ca1984");
  const iss = rsaKey("issuer1408");
  const base = rsaCard();
  const mk = (mutate: (x: Uint8Array) => void, rehash: boolean) => {
    const { plain, remainder } = issuerCertPlain(ca.modulus.length, {
      issuerId: "621234",
      expiry: "1230",
      serial: "0000A1",
      modulus: iss.modulus,
      exponent: iss.exponent,
    });
    mutate(plain);
    if (rehash) {
      const n = plain.length;
      plain.set(sha1(concat(plain.subarray(1, n - 21), remainder, iss.exponent)), n - 21);
    }
    const tags = new Map(base.tags);
    tags.set("90", rsaSign(ca, plain));
    return run({ ...base, tags }).check;
  };
  assertEquals(mk((x) => (x[0] = 0x6b), false), "ISSUER_CERT_HEADER");
  assertEquals(mk((x) => (x[1] = 0x03), false), "ISSUER_CERT_FORMAT");
  assertEquals(mk((x) => (x[11] = 0x02), false), "ISSUER_CERT_HASH_ALGORITHM");
  assertEquals(mk((x) => (x[12] = 0x02), true), "ISSUER_PK_ALGORITHM");
  assertEquals(mk((x) => (x[12] = 0x02), false), "ISSUER_CERT_HASH");
  assertEquals(mk(() => {}, false), undefined);
});

Deno.test("RSA dynamic data: header, format and dynamic length", () => {
  const card = rsaCard();
  const nIc = card.icc.modulus.length;
  const terminal = concat(
    card.tags.get("9F37")!,
    card.tags.get("9F02")!,
    card.tags.get("5F2A")!,
    card.tags.get("9F69")!,
  );
  const with9F4B = (mutate: (x: Uint8Array) => void) => {
    const p = sdadPlain(nIc, h("0200D1"), terminal);
    mutate(p);
    const tags = new Map(card.tags);
    tags.set("9F4B", rsaSign(card.icc, p));
    return run({ ...card, tags }).check;
  };
  assertEquals(with9F4B(() => {}), undefined);
  assertEquals(with9F4B((x) => (x[0] = 0x6b)), "SDAD_HEADER");
  assertEquals(with9F4B((x) => (x[1] = 0x03)), "SDAD_FORMAT");
  assertEquals(with9F4B((x) => (x[2] = 0x02)), "SDAD_HASH_ALGORITHM");
  assertEquals(with9F4B((x) => (x[3] = 0xff)), "SDAD_DYNAMIC_LENGTH");
});

Deno.test("CDA: CID, AC and transaction data hash inside the dynamic signature", () => {
  const card = rsaCard({ fddaVersion: 0 });
  card.tags.delete("9F69");
  const txData = h("9F02060000000002009F370412345678");
  const ac = h("CB085879F1505FE2");
  const dd = concat(h("0200D1"), h("40"), ac, sha1(txData));
  resignSdad(card, dd);
  card.tags.set("9F27", h("40"));
  card.tags.set("9F26", ac);
  const cda = (tags: Map<string, Uint8Array>, tx = txData) =>
    authenticateRecord(tags, registry(card.capk), {
      staticData: card.staticData,
      cdaTransactionData: tx,
    });
  const ok = cda(card.tags);
  assertEquals([ok.verdict, ok.method], ["ok", "CDA"], ok.check);
  assertEquals(cda(new Map(card.tags).set("9F27", h("80"))).check, "CDA_CID_MISMATCH");
  assertEquals(cda(new Map(card.tags).set("9F26", h("CB085879F1505FE3"))).check, "CDA_AC_MISMATCH");
  const tx2 = txData.slice();
  tx2[3] ^= 1;
  assertEquals(cda(card.tags, tx2).check, "CDA_TDHC");
});

Deno.test("SM2 chain (formats 12, 14, 15) verifies; each changed byte fails its check", () => {
  const card = sm2Card();
  const r = run(card);
  assertEquals([r.verdict, r.method], ["ok", "SM2-fDDA"], r.check);
  const f = (tag: string, at: number) => {
    const tags = new Map(card.tags);
    const v = tags.get(tag)!.slice();
    v[at] ^= 1;
    tags.set(tag, v);
    return run({ ...card, tags }).check;
  };
  assertEquals(f("90", 20), "ISSUER_CERT_SIGNATURE");
  assertEquals(f("90", 100), "ISSUER_CERT_SIGNATURE");
  assertEquals(f("9F46", 30), "ICC_CERT_SIGNATURE");
  assertEquals(f("82", 0), "ICC_CERT_SIGNATURE");
  assertEquals(f("9F4B", 3), "SDAD_SIGNATURE");
  assertEquals(f("9F37", 0), "SDAD_SIGNATURE");
  assertEquals(f("9F02", 5), "SDAD_SIGNATURE");
  assertEquals(f("9F4B", 0), "SDAD_FORMAT");
  assertEquals(f("90", 0), "ISSUER_CERT_FORMAT");
  assertEquals(f("5A", 7), "ICC_PAN_MISMATCH");
  const late = new Map(card.tags).set("9A", h("310101"));
  assertEquals(run({ ...card, tags: late }).check, "ISSUER_CERT_EXPIRED");
  const rev = registry(card.capk).revoke("A000000333", "18", "001258");
  assertEquals(run(card, rev).check, "ISSUER_CERT_REVOKED");
  const sd = card.staticData.slice();
  sd[0] ^= 1;
  assertEquals(run({ ...card, staticData: sd }).check, "ICC_CERT_SIGNATURE");
});

Deno.test("key cache: hits skip recovery but never the per-record checks", () => {
  const card = rsaCard();
  const reg = registry(card.capk);
  const cache = new OdaKeyCache();
  const a = authenticateRecord(card.tags, reg, { staticData: card.staticData, cache });
  assertEquals(a.verdict, "ok");
  assertEquals([cache.hits, cache.misses], [0, 2]);
  const b = authenticateRecord(card.tags, reg, { staticData: card.staticData, cache });
  assertEquals(b.verdict, "ok");
  assertEquals([cache.hits, cache.misses], [2, 2]);
  const late = new Map(card.tags).set("9A", h("300115"));
  assertEquals(
    authenticateRecord(late, reg, { staticData: card.staticData, cache }).check,
    "ICC_CERT_EXPIRED",
  );
  const rev = registry(card.capk).revoke("A000000333", "08", "0000A1");
  assertEquals(
    authenticateRecord(card.tags, rev, { staticData: card.staticData, cache }).check,
    "ISSUER_CERT_REVOKED",
  );
  cache.clear();
  assertEquals(cache.issuer.size + cache.icc.size, 0);
});
