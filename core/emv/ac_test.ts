/**
 * Key derivation, AC and ARPC against every vector of fixtures/vectors/emv_cryptogram.json
 * (docs/emv-pboc.md, test vectors, §6.13), plus one-byte negative tests on every MACed element.
 */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { fromHex, toHex } from "../hex.ts";
import {
  deriveIccMkOptionA,
  deriveIccMkOptionB,
  deriveIccMkSm4,
  sessionKeyCommon,
  sessionKeyMastercard,
  sessionKeyPboc,
  sessionKeyPbocSm4,
  sessionKeyVisaSm,
} from "./keys.ts";
import {
  acInput,
  acMac,
  arpcMethod1,
  arpcMethod2,
  computeAc,
  deriveIccMk,
  deriveSessionKey,
  verifyAc,
} from "./ac.ts";
import { canonicalProfileId, type ProfileId, PROFILES, selectProfile } from "./profiles.ts";
import { kcv, macIso9797Alg3 } from "./primitives.ts";

const V = JSON.parse(
  await Deno.readTextFile(new URL("../../fixtures/vectors/emv_cryptogram.json", import.meta.url)),
);
const h = (s: string) => fromHex(s);
const tagsOf = (t: Record<string, string>) =>
  new Map(Object.entries(t).map(([k, v]) => [k, h(v)] as [string, Uint8Array]));

Deno.test("ICC master key derivation vectors", () => {
  for (const v of V.keyDerivation) {
    const f = v.method === "option-a"
      ? deriveIccMkOptionA
      : v.method === "option-b"
      ? deriveIccMkOptionB
      : deriveIccMkSm4;
    const mk = f(h(v.imk), v.pan, v.psn);
    if (v.mk) assertEquals(toHex(mk), v.mk, v.source);
    if (v.mkKcv) {
      assertEquals(toHex(kcv("3des", mk, v.mkKcv.length / 2)), v.mkKcv, v.source);
    }
  }
});

Deno.test("Option B equals Option A for PANs of 16 digits or fewer", () => {
  const imk = h("0123456789ABCDEFFEDCBA9876543210");
  assertEquals(
    toHex(deriveIccMkOptionB(imk, "1234567890123456", "00")),
    toHex(deriveIccMkOptionA(imk, "1234567890123456", "00")),
  );
});

Deno.test("session key vectors", () => {
  for (const v of V.sessionKeys) {
    const mk = h(v.mk);
    const sk = v.method === "common"
      ? sessionKeyCommon(mk, h(v.r))
      : v.method === "visa-sm"
      ? sessionKeyVisaSm(mk, h(v.atc))
      : v.method === "pboc"
      ? sessionKeyPboc(mk, h(v.atc))
      : sessionKeyPbocSm4(mk, h(v.atc));
    assertEquals(toHex(sk), v.sk, v.source);
  }
});

Deno.test("MAC and ARPC vectors (ISO 9797-1 alg 3, ARPC methods 1 and 2)", () => {
  for (const v of V.macs) {
    const key = h(v.key);
    assertEquals(toHex(macIso9797Alg3(key, h(v.data), 2)), v.mac, v.source);
    assertEquals(toHex(arpcMethod1(key, h(v.arpc1.arqc), h(v.arpc1.arc))), v.arpc1.arpc, v.source);
    assertEquals(toHex(arpcMethod2(key, h(v.arpc2.arqc), h(v.arpc2.csu))), v.arpc2.arpc, v.source);
  }
});

Deno.test("full chain with the KCV of every intermediate key (pyemv test_kd_hsm)", () => {
  for (const c of V.chains) {
    const imk = h(c.imk);
    assertEquals(toHex(kcv("3des", imk, 2)), c.imkKcv);
    const mk = deriveIccMkOptionA(imk, c.pan, c.psn);
    assertEquals(toHex(kcv("3des", mk, 2)), c.mkKcv);
    const sk = sessionKeyCommon(mk, h(c.r));
    assertEquals(toHex(kcv("3des", sk, 2)), c.skKcv);
    assertEquals(toHex(macIso9797Alg3(sk, h(c.data), 2)), c.ac);
    assertEquals(toHex(arpcMethod1(mk, h(c.ac), h(c.arpcWithMk.arc))), c.arpcWithMk.arpc);
  }
});

Deno.test("scheme records: profile selection, AC, ARPC and KCVs", () => {
  for (const r of V.records) {
    const values = tagsOf(r.tags);
    const choice = selectProfile(values.get("9F10"));
    assert(choice.ok, `${r.source}: ${!choice.ok && choice.reason}`);
    // The vectors name the SM4 CVN 01 profile by its old id (renamed, issue 13).
    assertEquals(choice.profile.id, canonicalProfileId(r.profile), r.source);
    const p = PROFILES[canonicalProfileId(r.profile) as ProfileId];
    const mk = deriveIccMk(p, h(r.imk), r.pan, r.psn);
    if (r.mkKcv) assertEquals(toHex(kcv("3des", mk, r.mkKcv.length / 2)), r.mkKcv, r.source);
    const { ac, sessionKey } = computeAc(p, mk, values);
    if (r.skKcv) assertEquals(toHex(kcv("3des", sessionKey, 2)), r.skKcv, r.source);
    assertEquals(toHex(ac), r.ac, r.source);
    values.set("9F26", h(r.ac));
    assert(verifyAc(p, h(r.imk), values, r.pan, r.psn).ok, r.source);
    if (r.arpc) {
      const key = p.arpc.key === "mk" ? mk : sessionKey;
      const arpc = r.arpc.method === 1
        ? arpcMethod1(key, ac, h(r.arpc.arc), p.algorithm)
        : arpcMethod2(key, ac, h(r.arpc.csu));
      assertEquals(toHex(arpc), r.arpc.value, r.source);
    }
  }
});

Deno.test("one changed byte in any MACed element flips the verdict to mismatch", () => {
  for (const r of V.records) {
    const p = PROFILES[canonicalProfileId(r.profile) as ProfileId];
    const base = tagsOf(r.tags);
    base.set("9F26", h(r.ac));
    const data = acInput(p, base);
    let start = 0; // where the element's bytes begin in the data block
    for (const e of p.data) {
      const tag = e.tag;
      const orig = base.get(tag)!;
      // Flip the first byte that the element actually feeds into the MAC.
      const at = "slice" in e ? e.slice.offset : 0;
      const changed = orig.slice();
      changed[at] ^= 0x01;
      const values = new Map(base);
      values.set(tag, changed);
      const v = verifyAc(p, h(r.imk), values, r.pan, r.psn);
      assert(!v.ok && v.reason === "mismatch", `${r.profile}: change in ${tag} not detected`);
      // The MACed block is the original with exactly that byte changed.
      const expected = data.slice();
      expected[start] ^= 0x01;
      assertEquals(toHex(v.data), toHex(expected), `${r.profile}: block after changing ${tag}`);
      start += "length" in e ? e.length : "slice" in e ? e.slice.length : orig.length;
    }
    // A changed cryptogram is a mismatch too; a changed PAN derives another key.
    const ac = base.get("9F26")!.slice();
    ac[7] ^= 0x80;
    const v2 = verifyAc(p, h(r.imk), new Map(base).set("9F26", ac), r.pan, r.psn);
    assert(!v2.ok && v2.reason === "mismatch");
    const otherPan = r.pan.slice(0, -1) + ((+r.pan.slice(-1) + 1) % 10);
    assert(!verifyAc(p, h(r.imk), base, otherPan, r.psn).ok);
  }
});

Deno.test("missing or mis-sized elements are named, not thrown", () => {
  const r = V.records[3];
  const p = PROFILES["pboc-cvn01-3des"];
  const values = tagsOf(r.tags);
  values.set("9F26", h(r.ac));
  values.delete("9F37");
  const v = verifyAc(p, h(r.imk), values, r.pan, r.psn);
  assert(!v.ok && v.reason === "input" && v.tag === "9F37");
  values.set("9F37", h("123456"));
  const w = verifyAc(p, h(r.imk), values, r.pan, r.psn);
  assert(!w.ok && w.reason === "input" && w.tag === "9F37");
});

Deno.test("profile selection reports its reason and refuses unknown layouts", () => {
  const sm4 = selectProfile(h("07010103900000040A01000000000000000000"));
  assert(sm4.ok && sm4.profile.id === "pboc-cvn01-sm4" && /algorithm 04/.test(sm4.reason));
  // Profiles are CVN × algorithm (issue 13 item 1; docs/emv-pboc.md, data sets).
  const cvn17 = selectProfile(h("07011703A0000001"));
  assert(cvn17.ok && cvn17.profile.id === "pboc-cvn17-3des" && cvn17.reasonCode === 8);
  const cvn17sm4 = selectProfile(h("07011703A0000004"));
  assert(cvn17sm4.ok && cvn17sm4.profile.id === "pboc-cvn17-sm4" && cvn17sm4.reasonCode === 9);
  const cvn18 = selectProfile(h("07011803A0000001"));
  assert(!cvn18.ok && cvn18.reasonCode === 23 && /not 01 or 17/.test(cvn18.reason));
  const mapped = selectProfile(h("07011803A0000001"), { cvnProfiles: { "18": "pboc-cvn01-3des" } });
  assert(mapped.ok && mapped.profile.id === "pboc-cvn01-3des");
  // The old id of the SM4 CVN 01 profile still names it in an issuer configuration.
  const renamed = selectProfile(undefined, { profile: "pboc-sm4" as ProfileId });
  assert(renamed.ok && renamed.profile.id === "pboc-cvn01-sm4");
  const pinned = selectProfile(undefined, { profile: "visa-cvn10" });
  assert(pinned.ok && /pinned/.test(pinned.reason));
  assert(!selectProfile(undefined).ok);
  assert(!selectProfile(h("0501020304")).ok);
});

Deno.test("input checks name the argument", () => {
  assertThrows(() => deriveIccMkOptionA(new Uint8Array(8), "1234", "00"), RangeError, "imk");
  assertThrows(() => deriveIccMkOptionA(new Uint8Array(16), "12a4", "00"), RangeError, "pan");
  assertThrows(() => sessionKeyPboc(new Uint8Array(16), new Uint8Array(3)), RangeError, "atc");
  assertThrows(
    () => sessionKeyMastercard(new Uint8Array(16), new Uint8Array(2), new Uint8Array(2)),
    RangeError,
    "un",
  );
  assertThrows(
    () => arpcMethod1(new Uint8Array(16), new Uint8Array(7), new Uint8Array(2)),
    RangeError,
    "arqc",
  );
  // deriveSessionKey/acMac on the SM4 profile: the COMPUTED SM4 example of docs/emv-pboc.md
  // (test vectors, PBOC session key / AC): MK → SK at ATC 0001 → AC over the 37-byte data.
  const p = PROFILES["pboc-cvn01-sm4"];
  const sk = deriveSessionKey(
    p,
    h("3963EC943821603EFBAA4F8424027A3C"),
    new Map([["9F36", h("0001")]]),
  );
  assertEquals(toHex(sk), "80C63503DE30175991B3EBE25DA3AB85");
  const data = h(
    "000000000200" + "000000000000" + "0156" + "0000000000" + "0156" + "250101" + "00" +
      "12345678" + "7C00" + "0001" + "03900000",
  );
  assertEquals(toHex(acMac(p, sk, data)), "60B254E174AC2970");
});

Deno.test("key check values (docs/emv-pboc.md, test vectors)", () => {
  for (const v of V.kcv) {
    assertEquals(toHex(kcv(v.algorithm, h(v.key), v.kcv.length / 2)), v.kcv, v.source);
  }
});
