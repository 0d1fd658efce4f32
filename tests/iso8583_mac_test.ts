/**
 * Field-64 MACs and sign-on working keys against published and computed vectors:
 *
 * - UnionPay POS "ECB" MAC: the worked example in solo123/pgate
 *   `test/integration/pos_mac_test.rb` (every intermediate value), the XOR-fold steps of the
 *   worked example in blog.csdn.net/zhu244912654/article/details/80005341, and the vectors
 *   computed in docs/iso8583.md over sample 1;
 * - ANSI X9.9 CBC MAC: FIPS 113 (key 0123456789ABCDEF, "7654321 Now is the time for "), and
 *   agreement with the kernel's ISO/IEC 9797-1 algorithm 1 on random inputs;
 * - working keys: the zhu244912654 example's TAK decrypted under its TMK, and wrap/unwrap with
 *   check values for every field-62 layout.
 */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { fromHex, toHex } from "../core/hex.ts";
import { desDecryptEcb, desEncryptEcb } from "../core/emv/primitives.ts";
import { macIso9797Alg1 } from "../kernel-as/sym.ts";
import {
  computeMac,
  macBlock,
  macUnionPayEcb,
  macX99,
  signPacked,
  verifyPacked,
  xorFold,
} from "../core/iso8583/mac.ts";
import {
  KEY_LAYOUTS,
  layoutBytes,
  signOnCode,
  unwrapWorkingKeys,
  wrapWorkingKeys,
} from "../core/iso8583/keys.ts";
import { Iso8583Error } from "../core/iso8583/errors.ts";
import { isoMessage, Packager } from "../core/iso8583/codec.ts";
import { UNIONPAY_PACKAGER } from "../core/iso8583/fields.ts";
import { xorshiftBytes } from "./support/rng.ts";

const ascii = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("ECB MAC: solo123/pgate worked example, every intermediate value", () => {
  const mak = fromHex("2222222222222222");
  const mab = fromHex("1234567890ABCDEFABCDEF1234567890");
  assertEquals(toHex(xorFold(mab)), "B9F9B96AA4FDB57F");
  const hex16 = new TextEncoder().encode("B9F9B96AA4FDB57F");
  assertEquals(toHex(hex16), "42394639423936414134464442353746");
  const e1 = desEncryptEcb(mak, hex16.subarray(0, 8));
  assertEquals(toHex(e1), "9FDE90A34CF73B2E");
  for (let i = 0; i < 8; i++) e1[i] ^= hex16[8 + i];
  assertEquals(toHex(e1), "DEEAD6E70EC20C68");
  assertEquals(toHex(desEncryptEcb(mak, e1)), "E267B6E21913D339");
  assertEquals(ascii(macUnionPayEcb(mak, mab)), "E267B6E2");
});

Deno.test("ECB MAC: the XOR fold of the zhu244912654 worked example (0x00 padding)", () => {
  const mab = fromHex(
    "0200302004C020C0981100000000000000005100183402100006324392260009942820D1312101120084393136363838303134303030303030303030303030303031313536ACF46E73838A82F92600000000000000000822000001",
  );
  assertEquals(toHex(xorFold(mab.subarray(0, 16))), "9A11302004C020C0");
  assertEquals(toHex(xorFold(mab.subarray(0, 24))), "9A1161201CF422D0");
  assertEquals(toHex(xorFold(mab.subarray(0, 32))), "9A1753638ED222D9");
  // The last block M12 = 0000010000000000: the 91-byte MAB is padded with 00.
  assertEquals(toHex(mab.subarray(88)), "000001");
});

Deno.test("working key: the zhu244912654 example's TAK under its TMK (3DES EDE2 ECB)", () => {
  const tmk = fromHex("70F2A84CCBC2AE8625CBB0F2C22AB923");
  assertEquals(toHex(desDecryptEcb(tmk, fromHex("96D605EA176B7E9E"))), "C24A8FB57AA20123");
});

Deno.test("X9.9 MAC: FIPS 113 vector, and the kernel's ISO 9797-1 algorithm 1 agrees", () => {
  const key = fromHex("0123456789ABCDEF");
  const text = new TextEncoder().encode("7654321 Now is the time for ");
  assertEquals(toHex(macX99(key, text)), "F1D30F6849312CA4");
  const rnd = xorshiftBytes(0x9ac);
  for (let n = 0; n < 200; n++) {
    const k = rnd(8), d = rnd(n);
    const want = n === 0 ? macIso9797Alg1(k, new Uint8Array(8), 0) : macIso9797Alg1(k, d, 1);
    assertEquals(toHex(macX99(k, d)), toHex(want), `length ${n}`);
  }
});

Deno.test("both methods: the vectors computed in docs/iso8583.md (MAK 0A0B0C0D0E0F0102)", () => {
  const mak = fromHex("0A0B0C0D0E0F0102");
  const sample1 = fromHex(
    "08000020000000C0001600000131303030303135393838303231303031303231303136300011000000010030002953657175656E6365204E6F3136333135305358582D34433330343131390003303120",
  );
  assertEquals(sample1.length, 80);
  assertEquals(ascii(computeMac("unionpay-ecb", mak, sample1)), "2CD448A9");
  assertEquals(toHex(computeMac("x9.9", mak, sample1)), "573CA3E7F427A1ED");
  const short = fromHex("0102030405060708090A");
  assertEquals(ascii(macUnionPayEcb(mak, short)), "98CEFE17");
  assertEquals(toHex(macX99(mak, short)), "226F8F3C2F9A58DC");
});

Deno.test("field 64 in a packed message: MAB from MTI to field 63, sign and verify", () => {
  const k = new Packager(UNIONPAY_PACKAGER);
  const mak = fromHex("0A0B0C0D0E0F0102");
  for (const method of ["unionpay-ecb", "x9.9"] as const) {
    const packed = k.pack(
      isoMessage("0200", { 11: "000001", 41: "10000159", 63: "CUP", 64: new Uint8Array(8) }),
    );
    const mab = packed.slice(0, packed.length - 8);
    signPacked(packed, method, mak);
    assertEquals(toHex(packed.subarray(packed.length - 8)), toHex(computeMac(method, mak, mab)));
    assert(verifyPacked(packed, method, mak));
    const tampered = packed.slice();
    tampered[12] ^= 1; // a digit of the STAN
    assert(!verifyPacked(tampered, method, mak), `${method}: a changed field fails`);
    assert(
      !verifyPacked(packed, method, fromHex("0A0B0C0D0E0F0104")),
      `${method}: another key fails (not only a parity bit)`,
    );
  }
  const noMac = k.pack(isoMessage("0200", { 11: "000001" }));
  const e = assertThrows(() => macBlock(noMac), Iso8583Error, "field 64") as Iso8583Error;
  assertEquals(e.code, "ISO8583_MAC");
  const e2 = assertThrows(
    () => macX99(new Uint8Array(16), noMac),
    Iso8583Error,
    "8 bytes",
  ) as Iso8583Error;
  assertEquals(e2.code, "ISO8583_MAC");
});

Deno.test("field-62 working keys: every layout wraps and unwraps with its check values", () => {
  const rnd = xorshiftBytes(62);
  for (const tmk of [rnd(16), rnd(8)]) {
    for (const layout of KEY_LAYOUTS) {
      const keys = { pik: rnd(layout === "001" ? 8 : 16), mak: rnd(8), tdk: rnd(16) };
      const f62 = wrapWorkingKeys(keys, layout, tmk);
      assertEquals(f62.length, layoutBytes(layout));
      assertEquals(f62.length, { "001": 24, "003": 40, "003-32": 32, "004": 60 }[layout]);
      // The MAK's check value is single DES of a zero block under the 8-byte MAK (AFC :4013).
      const makCvAt = { "001": 20, "003": 36, "003-32": 28, "004": 36 }[layout];
      assertEquals(
        toHex(f62.subarray(makCvAt, makCvAt + 4)),
        toHex(desEncryptEcb(keys.mak, new Uint8Array(8)).subarray(0, 4)),
      );
      for (const kcvBytes of [3, 4] as const) {
        const w = unwrapWorkingKeys(f62, layout, tmk, kcvBytes);
        assertEquals([toHex(w.pik), toHex(w.mak)], [toHex(keys.pik), toHex(keys.mak)], `${layout}`);
        assertEquals(w.tdk && toHex(w.tdk), layout === "004" ? toHex(keys.tdk) : undefined);
        w.wipe();
        assertEquals(toHex(w.mak), "0000000000000000", "wipe zeroes the keys");
      }
    }
  }
  assertEquals([signOnCode("001"), signOnCode("003"), signOnCode("003-32"), signOnCode("004")], [
    "001",
    "003",
    "003",
    "004",
  ]);
});

Deno.test("field-62 working keys: a wrong check value or length is refused", () => {
  const tmk = fromHex("70F2A84CCBC2AE8625CBB0F2C22AB923");
  const f62 = wrapWorkingKeys(
    { pik: fromHex("1111111111111111"), mak: fromHex("2222222222222222") },
    "001",
    tmk,
  );
  const badMak = f62.slice();
  badMak[23] ^= 1; // last byte of the MAK's 4-byte check value
  const e = assertThrows(
    () => unwrapWorkingKeys(badMak, "001", tmk, 4),
    Iso8583Error,
    "field 62: MAK does not match",
  ) as Iso8583Error;
  assertEquals(e.code, "ISO8583_KCV");
  // With 3-byte check values the fourth byte is not compared.
  assertEquals(toHex(unwrapWorkingKeys(badMak, "001", tmk, 3).mak), "2222222222222222");
  const badPik = f62.slice();
  badPik[8] ^= 1;
  assertThrows(
    () => unwrapWorkingKeys(badPik, "001", tmk, 3),
    Iso8583Error,
    "field 62: PIK does not match",
  );
  assertThrows(
    () => unwrapWorkingKeys(f62.subarray(1), "001", tmk),
    Iso8583Error,
    "field 62: 23 bytes, layout 001 has 24",
  );
  assertThrows(() => unwrapWorkingKeys(f62, "001", new Uint8Array(5)), Iso8583Error, "TMK");
  // CL sample 3's keys under a TMK that is not theirs: the check values refuse them.
  const cl = fromHex("B2BE021366619F2785CE901640D96E17766C3F2784001126");
  assertThrows(
    () => unwrapWorkingKeys(cl, "001", tmk),
    Iso8583Error,
    "does not match its check value",
  );
});
