/**
 * The independent tap builder (tests/support/indep/) held against published vectors, read as
 * data from fixtures/vectors/*.json (sources in each file; docs/testing.md): DES/3DES and KCVs,
 * ISO/IEC 9797-1 MACs, EMV/PBOC key derivation and cryptograms (pyemv's scheme examples and
 * the PBOC example), SHA, SM3 (GB/T 32905 Annex A), SM4 (GB/T 32907 Annex A), SM2 (GB/T
 * 32918.5 Annex A; the PBOC certificate and dynamic-signature samples of CardPlatform), the
 * Proxmark3 SDA chain and the UnionPay CAPK checksum. Also: the builder imports nothing of
 * icfare's, and what it signs recovers and verifies with third-party code (sm-crypto).
 */
import { assert, assertEquals } from "@icfare/assert";
import smCrypto from "sm-crypto";
import { ascii, cat, hex, toBig, unhex } from "./support/indep/bytes.ts";
import { desCbc, isoMac, kcv, sha1, sha256, sm3, sm4CbcMac, sm4Ecb } from "./support/indep/sym.ts";
import { des, tdesEcb } from "./support/indep/sym.ts";
import {
  type AcInputs,
  type Algorithm,
  applicationCryptogram,
  iccMasterKey,
  sessionKey,
} from "./support/indep/pboc.ts";
import {
  arpcMethod1,
  arpcMethod2,
  commonSessionKey,
  masterKeyFromBlock,
  optionBBlock,
  schemeCryptogram,
  visaSmSessionKey,
} from "./support/indep/schemes.ts";
import { rsaPublic } from "./support/indep/rsa.ts";
import { buildTap } from "./support/indep/tap.ts";
import { type TlvList, valueOf } from "./support/indep/tlv.ts";
import { CHAIN_A, IMK, SM2_CHAIN } from "./support/indep/world.ts";
import {
  DEFAULT_ID,
  digest,
  publicKeyOf,
  sm2KeyFromD,
  sm2Sign,
  sm2Verify,
  zValue,
} from "./support/indep/sm2.ts";

const V = async (name: string) =>
  JSON.parse(await Deno.readTextFile(new URL(`../fixtures/vectors/${name}.json`, import.meta.url)));

let assertions = 0;
/** assertEquals on values, counted for the report. */
function eq<T>(actual: unknown, expected: T, msg?: string): void {
  assertions++;
  assertEquals(actual, expected, msg);
}
function ok(cond: unknown, msg?: string): asserts cond {
  assertions++;
  assert(cond, msg);
}

Deno.test("the builder imports only node:crypto, @noble/*, sm-crypto and its own files", async () => {
  const dir = new URL("./support/indep/", import.meta.url);
  const allowed =
    /^(node:crypto|@noble\/curves\/.+|@noble\/hashes\/.+|sm-crypto|\.\/[a-z0-9_]+\.ts)$/;
  let files = 0;
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    files++;
    const text = await Deno.readTextFile(new URL(e.name, dir));
    const specs = [
      ...text.matchAll(/(?:import|export)\s[^;]*?from\s+"([^"]+)"/gs),
      ...text.matchAll(/import\(\s*"([^"]+)"\s*\)/g),
    ].map((m) => m[1]);
    for (const s of specs) ok(allowed.test(s), `${e.name} imports "${s}"`);
    ok(!/\.\.\//.test(specs.join(" ")), `${e.name} reaches outside tests/support/indep`);
  }
  ok(files >= 10, `found ${files} builder files`);
});

Deno.test("DES and 3DES known answers (FIPS 46/81, SP 800-17, SP 800-67, pyemv)", async () => {
  for (const v of (await V("des")).vectors) {
    const key = unhex(v.key), pt = unhex(v.plaintext);
    const ct = v.mode === "cbc"
      ? desCbc(key, unhex(v.iv), pt)
      : key.length === 8
      ? des(key, pt)
      : tdesEcb(key, pt);
    eq(hex(ct), v.ciphertext, v.source);
    if (v.mode === "ecb" && key.length !== 8) eq(hex(tdesEcb(key, ct, true)), v.plaintext);
  }
});

Deno.test("key check values and the pyemv derivation chain with every intermediate KCV", async () => {
  const f = await V("kcv");
  for (const v of f.vectors) {
    const n = v.kcv.length / 2;
    eq(hex(kcv(v.algorithm, unhex(v.key), n)), v.kcv, v.source);
  }
  const c = f.chain;
  const imk = unhex(c.imk);
  eq(hex(kcv("3des", imk, 2)), c.imkKcv);
  const mk = iccMasterKey("3des", imk, c.pan, c.psn);
  eq(hex(kcv("3des", mk, 2)), c.iccMkKcv);
  const sk = commonSessionKey(mk, unhex(c.sessionR));
  eq(hex(kcv("3des", sk, 2)), c.sessionKeyKcv);
  eq(hex(isoMac(3, sk, unhex(c.acData), 2)), c.ac);
  eq(hex(arpcMethod1(mk, unhex(c.ac), unhex(c.arc))), c.arpcMethod1WithIccMk);
  for (const o of c.optionA) eq(hex(iccMasterKey("3des", imk, o.pan, o.psn)), o.mk);
  const s = c.commonSessionKey;
  eq(hex(commonSessionKey(unhex(s.mk), unhex(s.r))), s.sk);
});

Deno.test("ISO/IEC 9797-1 MAC algorithms 1 and 3, padding 1 and 2, and SM4 CBC-MAC", async () => {
  for (const v of (await V("iso9797")).vectors) {
    const key = unhex(v.key), data = unhex(v.data.replace(/\s/g, ""));
    const mac = v.alg === "sm4"
      ? sm4CbcMac(key, data, v.padding)
      : isoMac(v.alg, key, data, v.padding);
    eq(hex(mac), v.mac, v.source);
  }
});

function acInputs(tags: Record<string, string>): AcInputs {
  const t = (k: string) => unhex(tags[k]);
  return {
    amount: t("9F02"),
    amountOther: t("9F03"),
    country: t("9F1A"),
    tvr: t("95"),
    currency: t("5F2A"),
    date: t("9A"),
    txnType: t("9C"),
    un: t("9F37"),
    aip: t("82"),
    atc: t("9F36"),
    cvr: t("9F10").slice(4, 7),
  };
}

Deno.test("EMV and PBOC key derivation, session keys, MACs and ARPCs (pyemv, PBOC example)", async () => {
  const f = await V("emv_cryptogram");
  for (const v of f.keyDerivation) {
    const imk = unhex(v.imk);
    const mk = v.method === "sm4"
      ? iccMasterKey("sm4", imk, v.pan, v.psn)
      : v.method === "option-b"
      ? masterKeyFromBlock(imk, optionBBlock(v.pan, v.psn))
      : iccMasterKey("3des", imk, v.pan, v.psn);
    if (v.mk) eq(hex(mk), v.mk, v.source);
    if (v.mkKcv) eq(hex(kcv("3des", mk, v.mkKcv.length / 2)), v.mkKcv, v.source);
  }
  for (const v of f.sessionKeys) {
    const mk = unhex(v.mk);
    const sk = v.method === "common"
      ? commonSessionKey(mk, unhex(v.r))
      : v.method === "visa-sm"
      ? visaSmSessionKey(mk, unhex(v.atc))
      : sessionKey(v.method === "pboc-sm4" ? "sm4" : "3des", mk, parseInt(v.atc, 16));
    eq(hex(sk), v.sk, v.source);
  }
  for (const v of f.macs) {
    const key = unhex(v.key);
    eq(hex(isoMac(3, key, unhex(v.data.replace(/\s/g, "")), 2)), v.mac, v.source);
    eq(hex(arpcMethod1(key, unhex(v.arpc1.arqc), unhex(v.arpc1.arc))), v.arpc1.arpc);
    eq(hex(arpcMethod2(key, unhex(v.arpc2.arqc), unhex(v.arpc2.csu))), v.arpc2.arpc);
  }
  for (const v of f.kcv) eq(hex(kcv(v.algorithm, unhex(v.key), v.kcv.length / 2)), v.kcv);
});

Deno.test("the complete scheme examples: Visa CVN 10/18, Mastercard CVN 16, PBOC 3DES and SM4", async () => {
  for (const v of (await V("emv_cryptogram")).records) {
    const imk = unhex(v.imk);
    if (v.profile.startsWith("pboc")) {
      const alg: Algorithm = v.profile === "pboc-sm4" ? "sm4" : "3des";
      const mk = iccMasterKey(alg, imk, v.pan, v.psn);
      if (v.mkKcv) eq(hex(kcv("3des", mk, v.mkKcv.length / 2)), v.mkKcv);
      eq(hex(applicationCryptogram(alg, 0x01, mk, acInputs(v.tags))), v.ac, v.source);
      if (v.arpc) {
        const sk = sessionKey(alg, mk, parseInt(v.tags["9F36"], 16));
        eq(hex(arpcMethod1(sk, unhex(v.ac), unhex(v.arpc.arc))), v.arpc.value);
      }
      continue;
    }
    const r = schemeCryptogram(v.profile, imk, v.pan, v.psn, v.tags);
    eq(hex(kcv("3des", r.mk, 2)), v.mkKcv, v.source);
    if (v.skKcv) eq(hex(kcv("3des", r.sk, 2)), v.skKcv);
    eq(hex(r.ac), v.ac, v.source);
    const a = v.arpc;
    const arpc = a.method === 1
      ? arpcMethod1(v.profile === "visa-cvn18" ? r.sk : r.mk, r.ac, unhex(a.arc))
      : arpcMethod2(r.sk, r.ac, unhex(a.csu));
    eq(hex(arpc), a.value);
  }
});

Deno.test("SHA-1, SHA-256 (FIPS 180-4) and SM3 (GB/T 32905 Annex A) known answers", async () => {
  for (const v of (await V("sha")).vectors) {
    const m = v.hex !== undefined ? unhex(v.hex) : ascii(v.ascii.repeat(v.repeat ?? 1));
    eq(hex(v.alg === "sha1" ? sha1(m) : sha256(m)), v.digest, v.source);
  }
  for (const v of (await V("sm3")).vectors) {
    const m = v.hex !== undefined ? unhex(v.hex) : ascii(v.ascii.repeat(v.repeat ?? 1));
    eq(hex(sm3(m)), v.digest, v.source);
  }
});

Deno.test("SM4 (GB/T 32907 Annex A) known answers; the iterated one with ICFARE_SLOW=1", async () => {
  for (const v of (await V("sm4")).vectors) {
    const key = unhex(v.key);
    if (v.iterations > 1 && !Deno.env.get("ICFARE_SLOW")) continue;
    let x = unhex(v.plaintext);
    for (let i = 0; i < v.iterations; i++) x = sm4Ecb(key, x);
    eq(hex(x), v.ciphertext, v.source);
    if (v.iterations === 1) eq(hex(sm4Ecb(key, x, true)), v.plaintext);
  }
});

Deno.test("SM2: the GB/T 32918.5 Annex A signature, its Z and e, and its negative checks", async () => {
  const a = (await V("sm2")).annexA;
  const key = sm2KeyFromD("annexA", toBig(unhex(a.privateKey)));
  eq(hex(key.publicKey), a.publicKey);
  eq(hex(zValue(key.publicKey, a.userId)), a.z);
  const m = unhex(a.message);
  eq(digest(key.publicKey, m, a.userId).toString(16).toUpperCase(), a.e);
  eq(hex(sm2Sign(key, m, toBig(unhex(a.k)), a.userId)), a.signature);
  ok(sm2Verify(key.publicKey, m, unhex(a.signature), a.userId));
  eq(sm2Verify(key.publicKey, m, unhex(a.signature), a.failsWithUserId), false);
  eq(sm2Verify(key.publicKey, unhex(a.failsWithMessage), unhex(a.signature), a.userId), false);
  // A deterministic signature of ours verifies with sm-crypto (third-party code).
  const mine = sm2Sign(key, m);
  eq(
    smCrypto.sm2.doVerifySignature(Array.from(m), hex(mine), "04" + a.publicKey, { hash: true }),
    true,
  );
  eq(hex(sm2Sign(key, m)), hex(mine), "the nonce is deterministic");
  eq(
    hex(publicKeyOf(1n)).slice(0, 64),
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
  );
});

Deno.test("SM2: the PBOC ICC certificate and dynamic-signature samples (CardPlatform)", async () => {
  const f = await V("sm2");
  const c = f.pbocCertificate;
  const issuerCert = unhex(c.issuerCertificate), iccCert = unhex(c.iccCertificate);
  eq(issuerCert.length, 142);
  eq(iccCert.length, 148);
  eq(hex(issuerCert.subarray(10, 14)), "04001140", "issuer cert bytes 10-13: 04 00 11 40");
  eq(hex(iccCert.subarray(16, 20)), "04001140", "ICC cert bytes 16-19: 04 00 11 40");
  const issuerPk = issuerCert.slice(14, 78);
  const sd = unhex(c.staticData);
  const signed = cat(iccCert.subarray(0, 84), sd);
  eq(sm2Verify(issuerPk, signed, iccCert.subarray(84)), true);
  eq(sm2Verify(issuerPk, signed, iccCert.subarray(84), ""), false, "empty ID fails");
  eq(
    sm2Verify(issuerPk, cat(iccCert.subarray(0, 84), sd.subarray(0, -2)), iccCert.subarray(84)),
    false,
  );
  const d = f.pbocDynamic;
  eq(sm2Verify(unhex(d.publicKey), unhex(d.message), unhex(d.signature), DEFAULT_ID), true);
});

Deno.test("RSA: the Proxmark3 SDA chain recovers with its embedded hashes and DAC 3132", async () => {
  const f = await V("rsa_sda_pm3");
  const caN = unhex(f.ca.modulus), caE = unhex(f.ca.exponent);
  eq(hex(sha1(cat(unhex(f.ca.rid), unhex(f.ca.index), caN, caE))), f.ca.checksum.toUpperCase());
  const x = rsaPublic(caN, caE, unhex(f.issuerCertificate));
  const nCa = caN.length;
  eq(hex(x.subarray(0, 15)), f.expected.issuerCertPrefix.replace(/\s/g, ""));
  eq(x[nCa - 1], 0xbc);
  const rem = unhex(f.issuerRemainder), exp = unhex(f.issuerExponent);
  const hash = sha1(cat(x.subarray(1, nCa - 21), rem, exp));
  eq(hex(hash), f.expected.issuerCertHash);
  eq(hex(x.subarray(nCa - 21, nCa - 1)), f.expected.issuerCertHash);
  const issuerN = cat(x.subarray(15, 15 + nCa - 36), rem);
  eq(issuerN.length, x[13]);
  const y = rsaPublic(issuerN, exp, unhex(f.ssad));
  const nI = issuerN.length;
  eq(hex(y.subarray(0, 5)), "6A0301" + f.expected.dac);
  eq(hex(sha1(cat(y.subarray(1, nI - 21), unhex(f.staticData)))), hex(y.subarray(nI - 21, nI - 1)));
});

Deno.test("the UnionPay CAPK index 08 checksum is SHA-1(RID ‖ index ‖ modulus ‖ exponent)", async () => {
  for (const c of (await V("capk")).capks) {
    const sum = sha1(cat(unhex(c.rid), unhex(c.index), unhex(c.modulus), unhex(c.exponent)));
    eq(hex(sum), c.checksum);
  }
});

Deno.test("what the builder signs recovers by the Book 2 layouts (RSA) and verifies with sm-crypto (SM2)", () => {
  const tap = buildTap({ seq: 7, atc: 0x0123, amount: 350 });
  const v = (list: TlvList, tag: string) => valueOf(list, tag)!;
  const { ca, issuer, icc } = CHAIN_A;
  const x = rsaPublic(ca.modulus, ca.exponent, v(tap.oda, "90"));
  eq(hex(x.subarray(0, 11)), "6A02621483FF1230" + "00A001");
  eq(hex(x.subarray(11, 15)), "0101" + "8001", "SHA-1, RSA, N_I 128, exponent of 1 byte");
  const nCa = ca.modulus.length;
  eq(hex(cat(x.subarray(15, nCa - 21), v(tap.oda, "92"))), hex(issuer.modulus));
  const y = rsaPublic(issuer.modulus, issuer.exponent, v(tap.oda, "9F46"));
  eq(hex(y.subarray(0, 12)), "6A04" + "6214830000000018FFFF");
  const z = rsaPublic(icc.modulus, icc.exponent, v(tap.icc, "9F4B"));
  eq(hex(z.subarray(0, 7)), "6A0501030201" + "23", "format 05, L_DD 3, ICC dynamic data 02 ‖ ATC");
  const cad = v(tap.icc, "9F69");
  eq(cad.length, 8);
  eq(hex(cad.subarray(5, 7)), hex(v(tap.icc, "9F6C")), "the CTQ inside 9F69 is 9F6C");
  const n = icc.modulus.length;
  const td = cat(v(tap.icc, "9F37"), v(tap.icc, "9F02"), v(tap.icc, "5F2A"), cad);
  eq(hex(sha1(cat(z.subarray(1, n - 21), td))), hex(z.subarray(n - 21, n - 1)));
  // 9F10: 07 DKI CVN 03 CVR alg | 0A | 01 balance(5) MAC(4); the MAC as the applet computes it.
  const iad = v(tap.icc, "9F10");
  eq(hex(iad.subarray(0, 15)), "07010103900000010A01" + "0000009800");
  const mkMac = iccMasterKey("3des", IMK["3des"].mac, tap.pan, "01");
  const skMac = sessionKey("3des", mkMac, 0x0123);
  const macIn = cat(unhex("0123"), unhex("0000009800"), new Uint8Array(1));
  eq(hex(iad.subarray(15)), hex(isoMac(3, skMac, macIn, 2).subarray(0, 4)));
  // SM2: third-party verification of all three signatures.
  const s = buildTap({ seq: 8, oda: "sm2-fdda" });
  const sv = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array) =>
    smCrypto.sm2.doVerifySignature(Array.from(msg), hex(sig), "04" + hex(pk), { hash: true });
  const c90 = v(s.oda, "90"), c46 = v(s.oda, "9F46"), sdad = v(s.icc, "9F4B");
  eq(sv(SM2_CHAIN.ca.publicKey, c90.subarray(0, 78), c90.subarray(78)), true);
  const sd = cat(s.staticRecords, unhex("7C00"));
  eq(sv(SM2_CHAIN.issuer.publicKey, cat(c46.subarray(0, 84), sd), c46.subarray(84)), true);
  const std = cat(v(s.icc, "9F37"), v(s.icc, "9F02"), v(s.icc, "5F2A"), v(s.icc, "9F69"));
  eq(hex(sdad.subarray(0, 5)), "1503020021");
  eq(sv(SM2_CHAIN.icc.publicKey, cat(sdad.subarray(0, 5), std), sdad.subarray(5)), true);
});

Deno.test("value assertions of this suite", () => {
  console.log(`indep_builder_test: ${assertions} value assertions`);
  ok(assertions > 100);
});
