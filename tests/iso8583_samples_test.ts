/**
 * The ISO 8583 codec against real messages: the five UnionPay samples of docs/iso8583.md
 * (each from a public terminal's source, named in its test) and published ISO 8583 examples
 * from two independent projects: fluidpay/iso8583 `message_test.go` (commit 04aa174, ASCII
 * dialect, ISO 8583:1993 fields, a secondary bitmap) and ralvescosta/digital-payments
 * `README.md` (a binary 0800 with BCD numbers). Each decodes to the documented values and
 * re-encodes byte for byte.
 */
import { assertEquals } from "@icfare/assert";
import { fromHex, toHex } from "../core/hex.ts";
import { type IsoMessage, isoMessage, Packager } from "../core/iso8583/codec.ts";
import {
  ASCII_DIALECT,
  BCD_DIALECT,
  type FieldSpec,
  UNIONPAY_PACKAGER,
} from "../core/iso8583/fields.ts";
import { FrameDecoder, openEnvelope, processingRequirement } from "../core/iso8583/frame.ts";
import { chipValues } from "../core/iso8583/chip.ts";
import { field60Parts } from "../core/iso8583/messages.ts";

const up = new Packager(UNIONPAY_PACKAGER);
const text = (m: IsoMessage, f: number) => m.fields.get(f) as string;
const bin = (m: IsoMessage, f: number) => toHex(m.fields.get(f) as Uint8Array);

/** Splits a sample (length ‖ TPDU ‖ 6-byte header ‖ message), checks the length, decodes. */
function sample(hex: string) {
  const b = fromHex(hex);
  assertEquals((b[0] << 8) | b[1], b.length - 2, "2-byte length counts what follows");
  const frames = new FrameDecoder().push(b);
  assertEquals(frames.length, 1);
  const env = openEnvelope(frames[0], 6);
  const msg = up.unpack(env.message);
  assertEquals(toHex(up.pack(msg)), toHex(env.message), "re-encodes byte for byte");
  return { env, msg };
}

// ------------------------------------------------------------------ UnionPay samples

Deno.test("sample 1 (AFC HTTP.h:17): 0800 sign-on, 60.3 003, terminal information in 62", () => {
  const { env, msg } = sample(
    "005B600003000060310031131208000020000000C0001600000131303030303135393838303231303031303231303136300011000000010030002953657175656E6365204E6F3136333135305358582D34433330343131390003303120",
  );
  assertEquals(toHex(env.tpdu), "6000030000");
  assertEquals(toHex(env.header), "603100311312");
  assertEquals(msg.mti, "0800");
  assertEquals([...msg.fields.keys()], [11, 41, 42, 60, 62, 63]);
  assertEquals([text(msg, 11), text(msg, 41), text(msg, 42)], [
    "000001",
    "10000159",
    "880210010210160",
  ]);
  assertEquals(field60Parts(msg.fields.get(60)), { type: "00", batch: "000001", code: "003" });
  assertEquals(
    new TextDecoder().decode(msg.fields.get(62) as Uint8Array),
    "Sequence No163150SXX-4C304119",
  );
  assertEquals(text(msg, 63), "01 ");
});

Deno.test("sample 2 (AFC EC20Lx_HTTPS.c:1141, :1199): 0800 sign-ons with 60.3 004 and 003", () => {
  const a = sample(
    "003C600601000060320032170208000020000000C00012000001323838303037383839333635323233343131313838303100110000000100400003303031",
  );
  assertEquals(toHex(a.env.tpdu), "6006010000");
  assertEquals(field60Parts(a.msg.fields.get(60)).code, "004");
  assertEquals([text(a.msg, 41), text(a.msg, 42), text(a.msg, 63)], [
    "28800788",
    "936522341118801",
    "001",
  ]);
  const b = sample(
    "003c600601000061010001020108000020000000c00012000253343030313333303838323133343031363035313430363100110000000000300003303031",
  );
  assertEquals(toHex(b.env.header), "610100010201");
  assertEquals([text(b.msg, 11), text(b.msg, 41)], ["000253", "40013308"]);
  assertEquals(field60Parts(b.msg.fields.get(60)), { type: "00", batch: "000000", code: "003" });
});

Deno.test("sample 3 (CL TERMAPP_record.c:1115-1116): 0810 answers, 97 and 00 with 24-byte keys", () => {
  const a = sample(
    "004F60000000096021000000000810003800010AC0001000000116444710090800096500303030303030303030303030393732303130303334343935323531303634313131303030310011001410090010",
  );
  assertEquals(toHex(a.env.tpdu), "6000000009", "answer TPDU");
  assertEquals(processingRequirement(a.env.header), 0);
  assertEquals([...a.msg.fields.keys()], [11, 12, 13, 32, 37, 39, 41, 42, 60]);
  assertEquals([text(a.msg, 12), text(a.msg, 13), text(a.msg, 32)], ["164447", "1009", "00096500"]);
  assertEquals(text(a.msg, 39), "97");
  const b = sample(
    "006960000000096021000000000810003800010AC00014000002145850111908000965003134353835303333313531303030323031353230383133303535313036343131313030303100110000002400100024B2BE021366619F2785CE901640D96E17766C3F2784001126",
  );
  assertEquals([text(b.msg, 37), text(b.msg, 39)], ["145850331510", "00"]);
  assertEquals(field60Parts(b.msg.fields.get(60)), { type: "00", batch: "000024", code: "001" });
  assertEquals(bin(b.msg, 62), "B2BE021366619F2785CE901640D96E17766C3F2784001126");
});

Deno.test("sample 4 (CL TERMAPP_record.c:5810): 0510 settlement answer, 48 as n62 totals", () => {
  const { msg } = sample(
    "007860000000096021000000000510003A000108C18012000009122424031903190800096500313232343234363130373630323031303033343339353235313036343131313030303100620000000545603470000000000000002000000000000000000000000000000131353600110000231920100003303031",
  );
  assertEquals(msg.mti, "0510");
  assertEquals([...msg.fields.keys()], [11, 12, 13, 15, 32, 37, 41, 42, 48, 49, 60, 63]);
  assertEquals(text(msg, 15), "0319");
  assertEquals(text(msg, 48).length, 62);
  assertEquals(text(msg, 48).slice(0, 15), "000000054560347", "RMB debit amount 12 ‖ count 3");
  assertEquals(text(msg, 49), "156");
  assertEquals(field60Parts(msg.fields.get(60)), { type: "00", batch: "002319", code: "201" });
});

Deno.test("sample 5 (AFC qpboc_8583.c:1596): field 55 of a PAX terminal through the TLV code", () => {
  const f55 = fromHex(
    "01249F3303E0E1C8950500000000009F1E0835343030343331389F101307011703A00000010A010000049993865EF2209F2608F207A58A91AB83839F3602006782027C009C01009F1A0201569A031709229F02060000000000015F2A0201569F03060000000000009F3501229F370463A5E81D9F2701809F410400000089",
  );
  const chip = f55.subarray(2);
  assertEquals(chip.length, 124);
  const m = isoMessage("0200", { 11: "000001", 55: chip });
  const packed = up.pack(m);
  assertEquals(toHex(packed.subarray(packed.length - 126)), toHex(f55), "LLL prefix 0124");
  const tags = chipValues(up.unpack(packed).fields.get(55) as Uint8Array, "55");
  assertEquals(tags.size, 17);
  assertEquals(toHex(tags.get("9F26")!), "F207A58A91AB8383");
  assertEquals(toHex(tags.get("9F36")!), "0067");
  assertEquals(toHex(tags.get("9A")!), "170922");
});

// ------------------------------------------------------------------ independent examples

/** ISO 8583:1993 fields as the fluidpay/iso8583 tests define them (ASCII dialect). */
const F93: FieldSpec[] = [
  { field: 2, name: "PAN", kind: "n", length: 19, prefix: 2 },
  { field: 3, name: "processing code", kind: "n", length: 6, prefix: 0 },
  { field: 4, name: "amount", kind: "n", length: 12, prefix: 0 },
  { field: 7, name: "transmission date and time", kind: "n", length: 10, prefix: 0 },
  { field: 11, name: "STAN", kind: "n", length: 6, prefix: 0 },
  { field: 12, name: "local date and time", kind: "n", length: 12, prefix: 0 },
  { field: 18, name: "merchant type", kind: "n", length: 4, prefix: 0 },
  { field: 22, name: "POS data code", kind: "an", length: 12, prefix: 0 },
  { field: 24, name: "function code", kind: "n", length: 3, prefix: 0 },
  { field: 32, name: "acquiring institution", kind: "n", length: 11, prefix: 2 },
  { field: 35, name: "track 2", kind: "z", length: 37, prefix: 2 },
  { field: 39, name: "action code", kind: "n", length: 3, prefix: 0 },
  { field: 41, name: "terminal", kind: "ans", length: 8, prefix: 0 },
  { field: 42, name: "card acceptor", kind: "ans", length: 15, prefix: 0 },
  { field: 43, name: "name/location", kind: "ans", length: 99, prefix: 2 },
  { field: 49, name: "currency", kind: "n", length: 3, prefix: 0 },
  { field: 52, name: "PIN data", kind: "b", length: 8, prefix: 0 },
  { field: 54, name: "additional amounts", kind: "ans", length: 120, prefix: 3 },
  { field: 102, name: "account identification 1", kind: "ans", length: 28, prefix: 2 },
];
const iso93 = new Packager({ name: "iso8583-1993-ascii", dialect: ASCII_DIALECT, fields: F93 });
const ascii = (s: string) => new TextEncoder().encode(s);

Deno.test("fluidpay/iso8583 message_test.go: 1200 with a secondary bitmap (field 102)", () => {
  const wire =
    "1200F230040102A0000000000000040000001048468112122012340000100000001107221800000001161204171926FABCDE123ABD06414243000termid1210Community11112341234234";
  // The fields the fluidpay test sets (field 4 given as "10000000").
  const given = {
    2: "4846811212",
    3: "201234",
    4: "10000000",
    7: "1107221800",
    11: "000001",
    12: "161204171926",
    22: "FABCDE123ABD",
    32: "414243",
    39: "000",
    41: "termid12",
    43: "Community1",
    102: "12341234234",
  };
  const m = iso93.unpack(ascii(wire));
  assertEquals(m.mti, "1200");
  assertEquals(Object.fromEntries(m.fields), { ...given, 4: "000010000000" });
  const built = isoMessage("1200", given);
  assertEquals(
    new TextDecoder().decode(iso93.pack(built)),
    wire,
    "numbers zero-filled on the left",
  );
});

Deno.test("fluidpay/iso8583 message_test.go: 1100 balance inquiry from an ATM and its 1110", () => {
  const req =
    "11006230450120E0900014000000000000003120000108204503007530950108144500601121120121014C10011101111111182656258101223070=99120041947NY030400               58NJ NEWARK          123 PINE STREET      USWRIGHT AID DRUGS840CD2C09CDCA80244C";
  const m = iso93.unpack(ascii(req));
  assertEquals(text(m, 35), "56258101223070=99120041947");
  assertEquals(text(m, 42), " ".repeat(15), "empty ans15 is space-filled");
  assertEquals(bin(m, 52), "CD2C09CDCA80244C");
  assertEquals(text(m, 43).slice(0, 9), "NJ NEWARK");
  assertEquals(new TextDecoder().decode(iso93.pack(m)), req);
  const res =
    "1110E23000010200040000000000040000001400000000000000312000010820450600753095010814450011101111111180000402001840C0000007000002002840C0000006000001400000012456184";
  const r = iso93.unpack(ascii(res));
  assertEquals([text(r, 11), text(r, 39), text(r, 102)], ["007530", "000", "00000012456184"]);
  assertEquals(text(r, 54), "2001840C0000007000002002840C000000600000");
  assertEquals(new TextDecoder().decode(iso93.pack(r)), res);
});

Deno.test("ralvescosta/digital-payments README: binary 0800 with fields 3, 11, 12, 13, 43, 63", () => {
  const iso87b = new Packager({
    name: "iso8583-1987-binary",
    dialect: BCD_DIALECT,
    fields: [
      { field: 3, name: "processing code", kind: "n", length: 6, prefix: 0 },
      { field: 11, name: "STAN", kind: "n", length: 6, prefix: 0 },
      { field: 12, name: "local time", kind: "n", length: 6, prefix: 0 },
      { field: 13, name: "local date", kind: "n", length: 4, prefix: 0 },
      { field: 43, name: "card acceptor name/location", kind: "ans", length: 40, prefix: 0 },
      { field: 63, name: "private", kind: "b", length: 999, prefix: 3 },
    ],
  });
  const wire =
    "08002038000000200002810000000001084909052253415630305A303537363331202020205341564E47583130303131303032303030302020202020200011010008B9F3F723CA3CD2F8";
  const m = iso87b.unpack(fromHex(wire));
  assertEquals(m.mti, "0800");
  assertEquals([text(m, 3), text(m, 11), text(m, 12), text(m, 13)], [
    "810000",
    "000001",
    "084909",
    "0522",
  ]);
  assertEquals(text(m, 43), "SAV00Z057631    SAVNGX100110020000      ");
  assertEquals(bin(m, 63), "010008B9F3F723CA3CD2F8");
  assertEquals(toHex(iso87b.pack(m)), wire);
});
