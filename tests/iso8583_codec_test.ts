/**
 * The ISO 8583 codec and messages: round trips of every message type of the link for every
 * built-in acquirer profile, BCD alignment, field 48 "PA", track 2, and every rejection path
 * with its code and the field it names (never the value).
 */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { fromHex, toHex } from "../core/hex.ts";
import { type IsoMessage, isoMessage, Packager } from "../core/iso8583/codec.ts";
import {
  ASCII_DIALECT,
  BCD_DIALECT,
  type FieldSpec,
  UNIONPAY_PACKAGER,
} from "../core/iso8583/fields.ts";
import { Iso8583Error } from "../core/iso8583/errors.ts";
import { FrameDecoder, frameOf, openEnvelope } from "../core/iso8583/frame.ts";
import { track2FromTag57, track2Parts } from "../core/iso8583/chip.ts";
import { decodePa, encodePa } from "../core/iso8583/pa.ts";
import { packagerOf, parseProfile, PROFILES } from "../core/iso8583/profile.ts";
import {
  buildAuth,
  buildDenyListRequest,
  buildReversal,
  buildSignOn,
} from "../core/iso8583/messages.ts";
import {
  buildAuthAnswer,
  buildDenyListAnswer,
  buildSignOnAnswer,
  readAuthAnswer,
  readDenyListPage,
  readReversalAnswer,
} from "../core/iso8583/answers.ts";
import { authInputOf, syntheticTaps } from "../sim/acquirer/taps.ts";

const up = new Packager(UNIONPAY_PACKAGER);
const text = (m: IsoMessage, f: number) => m.fields.get(f) as string;
const ascii = (s: string) => new TextEncoder().encode(s);
const iso93 = new Packager({
  name: "ascii-two-fields",
  dialect: ASCII_DIALECT,
  fields: [{ field: 3, name: "processing code", kind: "n", length: 6, prefix: 0 }],
});

function isoError(fn: () => unknown, code: string, includes: string): Iso8583Error {
  const e = assertThrows(fn, Iso8583Error, includes) as Iso8583Error;
  assertEquals(e.code, code);
  return e;
}

// ------------------------------------------------------------------ every message type

const profileNames = Object.keys(PROFILES);
const tap = syntheticTaps("codec", 1)[0];
const who = { terminalId: "10000159", merchantId: "880210010210160", batchNo: "000007" };

Deno.test("round trips of 0200/0210, 0400/0410, 0800/0810 sign-on and deny list, every profile", () => {
  const now = new Date("2026-06-24T02:03:04Z");
  for (const name of profileNames) {
    const p = PROFILES[name];
    const k = packagerOf(p);
    const auth = buildAuth(p, { ...authInputOf(tap, "000123"), ...who });
    const rev = buildReversal(p, { ...authInputOf(tap, "000123"), ...who }, "98");
    const signOn = buildSignOn(p, { ...who, stan: "000001", terminalInfo: "Sequence No1" });
    const deny = buildDenyListRequest(p, { ...who, stan: "000002", cursor: "0000000000" });
    const parts = { now, rrn: "000000000001", acquirer: "00096500", mac: true };
    const msgs = [
      auth,
      rev,
      signOn,
      deny,
      buildAuthAnswer(auth, { ...parts, responseCode: "00", authCode: "123456" }),
      buildAuthAnswer(rev, { ...parts, responseCode: "25" }),
      buildSignOnAnswer(signOn, {
        ...parts,
        responseCode: "00",
        batchNo: "000008",
        field62: new Uint8Array(40),
      }),
      buildDenyListAnswer(deny, "00", {
        last: true,
        cursor: "0000000001",
        entries: [{ action: "add", pan: tap.pan, psn: "001" }],
      }),
    ];
    for (const m of msgs) {
      const b = k.pack(m);
      const back = k.unpack(b);
      assertEquals(back.mti, m.mti, `${name} ${m.mti}`);
      assertEquals(toHex(k.pack(back)), toHex(b), `${name} ${m.mti} canonical`);
    }
    const a = k.unpack(k.pack(auth));
    assertEquals([text(a, 3), text(a, 22), text(a, 25), text(a, 49)], [
      "000000",
      "072",
      "00",
      "156",
    ]);
    assertEquals(text(a, 2), tap.pan);
    assertEquals(text(a, 35), tap.track2);
    assertEquals(text(a, 60), "22000007000601");
    assertEquals(a.fields.has(55), p.chipData !== "ff56", `${name}: field 55 per profile`);
    const pa = decodePa(a.fields.get(48) as Uint8Array);
    assertEquals(pa.iccData !== undefined, p.chipData !== "field55", `${name}: FF56 per profile`);
    assertEquals([pa.channel, pa.institution, pa.line, pa.vehicle], [
      "01",
      p.institution,
      tap.line,
      tap.vehicle,
    ]);
    const r = k.unpack(k.pack(rev));
    assertEquals([r.mti, text(r, 39), r.fields.has(35), text(r, 11)], [
      "0400",
      "98",
      false,
      "000123",
    ]);
    assertEquals(readAuthAnswer(k.unpack(k.pack(msgs[4]))).disposition, "approved");
    assertEquals(readReversalAnswer(k.unpack(k.pack(msgs[5]))).reversed, true);
    const page = readDenyListPage(k.unpack(k.pack(msgs[7])));
    assertEquals(page.entries, [{ action: "add", pan: tap.pan, psn: "001" }]);
    assertEquals([page.last, page.cursor], [true, "0000000001"]);
  }
});

Deno.test("field 22 is left-aligned BCD (07 20), fixed n right-aligned, LLVAR n left-aligned", () => {
  const m = isoMessage("0200", { 2: "621700123", 11: "123", 22: "072" });
  const b = up.pack(m);
  // MTI 0200 ‖ bitmap 4020040000000000 (bits 2, 11, 22) ‖ 2: 09 62 17 00 12 30 ‖ 11: 00 01 23 ‖ 22: 07 20
  assertEquals(toHex(b), "0200" + "4020040000000000" + "096217001230" + "000123" + "0720");
  assertEquals(Object.fromEntries(up.unpack(b).fields), {
    2: "621700123",
    11: "000123",
    22: "072",
  });
});

Deno.test("field 48 PA: every item AFC writes, in its order, and back", () => {
  const pa = {
    productCode: "5709",
    region: "0000",
    regionAddOn: "0001",
    mark: "24",
    channel: "01",
    iccData: tap.iccData,
    station: "1",
    txnTime: "20260624081500",
    company: "SLZR-CS",
    line: "000101",
    vehicle: "LC123456",
    driver: "00001234",
    institution: "0000FSGJ",
    earlierTrace: "300123",
    extra: [["FF70", Uint8Array.of(1, 2)]] as [string, Uint8Array][],
  };
  const v = encodePa(pa);
  const t = new TextDecoder("latin1").decode(v);
  assert(t.startsWith("PA570900000001"));
  assert(t.endsWith("#"));
  assertEquals(toHex(v.subarray(14, 19)), "1F51023234", "1F51 02 '24'");
  const ff56 = t.indexOf("\xff\x56");
  assertEquals(
    toHex(v.subarray(ff56, ff56 + 4)),
    "FF5681" + tap.iccData.length.toString(16).toUpperCase(),
  );
  const back = decodePa(v);
  assertEquals({
    ...back,
    iccData: toHex(back.iccData!),
    extra: back.extra!.map(([k, x]) => [k, toHex(x)]),
  }, {
    ...pa,
    iccData: toHex(tap.iccData),
    extra: [["FF70", "0102"]],
  });
  assertEquals(toHex(encodePa(back)), toHex(v));
});

Deno.test("track 2 from tag 57: F pad removed, PAN and expiry read", () => {
  assertEquals(
    track2FromTag57(fromHex("6217001234567890123D2712220123456F")),
    "6217001234567890123D2712220123456",
  );
  assertEquals(track2Parts("6217001234567890123D2712220123456"), {
    pan: "6217001234567890123",
    expiry: "2712",
  });
  isoError(() => track2FromTag57(fromHex("62170012D27F")), "ISO8583_FIELD_CONTENT", "field 35:");
  isoError(() => track2Parts("621700123456=ABCD"), "ISO8583_FIELD_CONTENT", "field 35:");
});

// ------------------------------------------------------------------ rejections

Deno.test("encode refusals name the field: length, format, type, unknown, MTI", () => {
  isoError(
    () => up.pack(isoMessage("0200", { 35: "6".repeat(36) + "D27" })),
    "ISO8583_FIELD_LENGTH",
    "field 35: 39 exceeds the maximum 37",
  );
  isoError(
    () => up.pack(isoMessage("0200", { 11: "1234567" })),
    "ISO8583_FIELD_LENGTH",
    "field 11:",
  );
  isoError(
    () => up.pack(isoMessage("0200", { 64: new Uint8Array(7) })),
    "ISO8583_FIELD_LENGTH",
    "field 64: 7 bytes",
  );
  isoError(() => up.pack(isoMessage("0200", { 4: "12A" })), "ISO8583_FIELD_FORMAT", "field 4:");
  isoError(() => up.pack(isoMessage("0200", { 39: "0!" })), "ISO8583_FIELD_FORMAT", "field 39:");
  isoError(
    () => up.pack(isoMessage("0200", { 41: "终端号12" })),
    "ISO8583_FIELD_FORMAT",
    "field 41:",
  );
  isoError(() => up.pack(isoMessage("0200", { 62: "text" })), "ISO8583_FIELD_TYPE", "field 62:");
  isoError(
    () => up.pack(isoMessage("0200", { 11: new Uint8Array(3) })),
    "ISO8583_FIELD_TYPE",
    "field 11:",
  );
  isoError(() => up.pack(isoMessage("0200", { 5: "1" })), "ISO8583_FIELD_UNKNOWN", "field 5:");
  isoError(() => up.pack(isoMessage("0200", { 1: "1" })), "ISO8583_FIELD_UNKNOWN", "field 1:");
  isoError(() => up.pack(isoMessage("200", {})), "ISO8583_MTI", "MTI");
  isoError(
    () => up.pack(isoMessage("0200", { 55: Uint8Array.of(0x9f, 0x26, 0x08, 1) })),
    "ISO8583_FIELD_TLV",
    "field 55: BER-TLV",
  );
  isoError(
    () => up.pack(isoMessage("0200", { 48: new TextEncoder().encode("XX") })),
    "ISO8583_FIELD_CONTENT",
    "field 48:",
  );
});

Deno.test("decode refusals name the field: prefix, pad nibble, truncation, trailing, bitmaps", () => {
  const good = up.pack(isoMessage("0200", { 2: "621700123", 11: "000123" }));
  isoError(() => up.unpack(good.subarray(0, good.length - 1)), "ISO8583_TRUNCATED", "field 11:");
  isoError(() => up.unpack(good.subarray(0, 5)), "ISO8583_TRUNCATED", "primary bitmap");
  isoError(
    () => up.unpack(Uint8Array.of(...good, 0)),
    "ISO8583_TRAILING",
    "1 bytes after the last field",
  );
  const over = good.slice();
  over[10] = 0x20; // field 2 LLVAR prefix 20 > 19
  isoError(
    () => up.unpack(over),
    "ISO8583_FIELD_LENGTH",
    "field 2: length 20 exceeds the maximum 19",
  );
  const notBcd = good.slice();
  notBcd[10] = 0x0a;
  isoError(
    () => up.unpack(notBcd),
    "ISO8583_FIELD_LENGTH",
    "field 2: length prefix is not decimal",
  );
  const pad = good.slice();
  pad[15] |= 0x05; // field 2 has 9 digits: the right pad nibble must be 0
  isoError(() => up.unpack(pad), "ISO8583_FIELD_FORMAT", "field 2: pad nibble");
  const digit = good.slice();
  digit[good.length - 1] = 0x2b;
  isoError(() => up.unpack(digit), "ISO8583_FIELD_FORMAT", "field 11: nibble 6");
  const mti = good.slice();
  mti[0] = 0x0a;
  isoError(() => up.unpack(mti), "ISO8583_MTI", "MTI");
  const unknown = good.slice();
  unknown[2] |= 0x08; // bit 5
  isoError(() => up.unpack(unknown), "ISO8583_FIELD_UNKNOWN", "field 5:");
  const secondary = up.pack(isoMessage("0200", { 11: "000001", 70: "301" }));
  assertEquals(Object.fromEntries(up.unpack(secondary).fields), { 11: "000001", 70: "301" });
  isoError(() => up.unpack(secondary.subarray(0, 14)), "ISO8583_TRUNCATED", "secondary bitmap");
  const tertiary = secondary.slice();
  tertiary[10] |= 0x80;
  isoError(() => up.unpack(tertiary), "ISO8583_BITMAP", "field 65");
  const f55 = up.pack(isoMessage("0200", { 55: fromHex("9F260102") }));
  f55[f55.length - 2] = 0x05; // 9F26 length 5 runs past the field
  isoError(() => up.unpack(f55), "ISO8583_FIELD_TLV", "field 55: BER-TLV TLV_VALUE_OVERRUN");
  isoError(
    () => iso93.unpack(ascii("1200F23004010ZA00000")),
    "ISO8583_BITMAP",
    "primary bitmap: not hex",
  );
});

Deno.test("field 48 PA refusals: head, terminator, lengths, item rules", () => {
  const v = encodePa({ channel: "01", txnTime: "20260624081500", institution: "0000FSGJ" });
  const bad = (b: Uint8Array, includes: string) =>
    isoError(
      () => up.unpack(up.pack(isoMessage("0200", { 11: "000001", 48: b }))),
      "ISO8583_FIELD_CONTENT",
      includes,
    );
  bad(v.subarray(0, v.length - 1), "field 48: PA ends without #");
  bad(Uint8Array.of(...ascii("PB570900000001"), 0x23), "field 48: not the PA usage");
  const cut = v.slice();
  cut[16] = 0x40; // 1F52 length 64 runs past the field
  bad(cut, "field 48 1F52: value runs past the field");
  const form = v.slice();
  form[16] = 0x82;
  bad(form, "field 48 1F52: length form");
  bad(
    Uint8Array.of(...v.subarray(0, v.length - 1), ...v.subarray(14, 19), 0x23),
    "field 48 1F52: item appears twice",
  );
  isoError(
    () => encodePa({ channel: "01", txnTime: "2026062408", institution: "0000FSGJ" }),
    "ISO8583_FIELD_CONTENT",
    "field 48 FF58",
  );
  isoError(() => encodePa({ channel: "04" }), "ISO8583_FIELD_CONTENT", "field 48 1F52");
  isoError(() => encodePa({ earlierTrace: "12" }), "ISO8583_FIELD_CONTENT", "field 48 FF66");
  isoError(
    () => encodePa({ iccData: fromHex("9F2605") }),
    "ISO8583_FIELD_TLV",
    "field 48 FF56: BER-TLV",
  );
  const lone65 = Uint8Array.of(...v.subarray(0, v.length - 1), 0xff, 0x65, 1, 0x31, 0x23);
  bad(lone65, "field 48 FF65");
});

Deno.test("frame, table and profile refusals", () => {
  isoError(() => new FrameDecoder(100).push(Uint8Array.of(0, 101)), "ISO8583_FRAME", "length: 101");
  isoError(() => new FrameDecoder().push(Uint8Array.of(0, 0)), "ISO8583_FRAME", "length: 0");
  isoError(() => frameOf(new Uint8Array(0)), "ISO8583_FRAME", "length: 0");
  isoError(
    () => openEnvelope(fromHex("70000000000000000000000000"), 6),
    "ISO8583_FRAME",
    "TPDU: id is not 60",
  );
  isoError(() => openEnvelope(fromHex("6000"), 6), "ISO8583_FRAME", "too short");
  const d = new FrameDecoder();
  assertEquals(d.push(fromHex("0003AA")), []);
  assertEquals(d.push(fromHex("BBCC0001")).map(toHex), ["AABBCC"]);
  assertEquals([d.push(fromHex("DD")).map(toHex), d.pending], [["DD"], 0]);
  const t = (fields: FieldSpec[]) => () =>
    new Packager({ name: "t", dialect: BCD_DIALECT, fields });
  isoError(
    t([{ field: 65, name: "x", kind: "b", length: 8, prefix: 0 }]),
    "ISO8583_TABLE",
    "field 65",
  );
  isoError(
    t([{ field: 2, name: "x", kind: "n", length: 100, prefix: 2 }]),
    "ISO8583_TABLE",
    "field 2: length must be 1..99",
  );
  isoError(
    t([{ field: 3, name: "x", kind: "an", length: 3, prefix: 0, pad: "left" }]),
    "ISO8583_TABLE",
    "pad applies",
  );
  isoError(
    t([{ field: 3, name: "x", kind: "n", length: 3, prefix: 0 }, {
      field: 3,
      name: "y",
      kind: "n",
      length: 3,
      prefix: 0,
    }]),
    "ISO8583_TABLE",
    "defined twice",
  );
  isoError(
    () => parseProfile({ ...PROFILES.afc, tpdu: "7005010000" }),
    "ISO8583_PROFILE",
    "profile tpdu",
  );
  isoError(() => parseProfile({ ...PROFILES.afc, mac: "cmac" }), "ISO8583_PROFILE", "profile mac");
  isoError(() => parseProfile({ ...PROFILES.afc, extra: 1 }), "ISO8583_PROFILE", "profile");
  isoError(
    () =>
      parseProfile({
        ...PROFILES.afc,
        fields: [{ field: 48, name: "x", kind: "ans", length: 999, prefix: 3, content: "pa" }],
      }),
    "ISO8583_TABLE",
    "content rules apply to binary fields",
  );
  const custom = parseProfile({
    ...PROFILES.afc,
    name: "gbk63",
    fields: [{ field: 63, name: "GBK text", kind: "b", length: 999, prefix: 3 }],
  });
  const k = packagerOf(custom);
  assertEquals(k.fieldSpec(63, "0810")?.kind, "b");
  assertEquals(
    toHex(
      k.unpack(k.pack(isoMessage("0810", { 63: Uint8Array.of(0xd6, 0xd0) }))).fields.get(
        63,
      ) as Uint8Array,
    ),
    "D6D0",
  );
});

Deno.test("message builders refuse bad requests naming the field, never the value", () => {
  const p = PROFILES["icfare-sim"];
  const req = { ...authInputOf(tap, "000001"), ...who };
  isoError(() => buildAuth(p, { ...req, stan: "1" }), "ISO8583_FIELD_FORMAT", "field 11:");
  isoError(() => buildAuth(p, { ...req, amountFen: 0 }), "ISO8583_FIELD_LENGTH", "field 4:");
  isoError(() => buildAuth(p, { ...req, amountFen: 1.5 }), "ISO8583_FIELD_LENGTH", "field 4:");
  isoError(() => buildAuth(p, { ...req, terminalId: "123" }), "ISO8583_FIELD_LENGTH", "field 41:");
  isoError(() => buildAuth(p, { ...req, merchantId: "1" }), "ISO8583_FIELD_LENGTH", "field 42:");
  isoError(() => buildAuth(p, { ...req, batchNo: "x" }), "ISO8583_FIELD_FORMAT", "field 60.2:");
  isoError(() => buildAuth(p, { ...req, psn: "0001" }), "ISO8583_FIELD_FORMAT", "field 23:");
  const e = isoError(
    () => buildAuth(p, { ...req, track2: tap.pan + "X2712" }),
    "ISO8583_FIELD_CONTENT",
    "field 35:",
  );
  assert(!e.message.includes(tap.pan.slice(6, 12)), "no PAN digits in the message");
  isoError(() => buildReversal(p, req, "99" as "98"), "ISO8583_FIELD_FORMAT", "field 39:");
  isoError(
    () => buildDenyListRequest(p, { ...who, stan: "000001", cursor: "1" }),
    "ISO8583_FIELD_CONTENT",
    "field 63:",
  );
  isoError(
    () => buildSignOn(p, { ...who, stan: "000001", terminalInfo: "" }),
    "ISO8583_FIELD_FORMAT",
    "field 62:",
  );
});
