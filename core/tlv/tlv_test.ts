import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { fromHex, toHex } from "../hex.ts";
import { flattenValues, parseTlv, type TlvNode } from "./tree.ts";
import { encodeLength, encodePrimitives, encodeTlv, tagBytes, type TlvInput } from "./encode.ts";
import { buildDolData, parseDol } from "./dol.ts";
import { renderTree, treeToJson } from "./render.ts";
import { cryptogramType, decodeCid, decodeCvr, decodePbocIad, decodeTvr } from "./decoders.ts";
import { tagInfo, TAGS } from "./dictionary.ts";

// Field-55 style EC offline TC built around the public sample in docs/emv-pboc.md (Issuer application data)
// (9F10 13 07 01 01 03 90 00 00 01 0A …, 9F74 ECC001).
const EC_TC = "9F2608 1122334455667788 9F2701 40" +
  "9F1013 07010103900000010A010000077347A057AB9E 9F7406 454343303031" +
  "9F3602 0012 9F3704 12345678 9F0206 000000000200 9F0306 000000000000 9F1A02 0156" +
  "9505 0000000000 5F2A02 0156 9A03 160624 9C01 00 8202 7C00 5A08 6212345678901234" +
  "5F3401 01 5F2403 251231 8407 A0000003330101";

function parsed(hex: string): TlvNode[] {
  const r = parseTlv(fromHex(hex));
  if (!r.ok) throw new Error(r.message);
  return r.nodes;
}

function toInput(nodes: readonly TlvNode[]): TlvInput[] {
  return nodes.map((n) =>
    n.constructed ? { tag: n.tag, children: toInput(n.children) } : { tag: n.tag, value: n.value }
  );
}

Deno.test("EC offline TC sample decodes with PBOC names and values", () => {
  const nodes = parsed(EC_TC);
  const v = flattenValues(nodes);
  assertEquals(toHex(v.get("9F74")!), "454343303031");
  const json = treeToJson(nodes);
  const byTag = Object.fromEntries(json.map((j) => [j.tag, j]));
  assertEquals(byTag["9F74"].name, "EC Issuer Authorization Code (电子现金发卡行授权码)");
  assertEquals(byTag["9F74"].decoded, "ECC001");
  assertEquals(byTag["9F02"].decoded, { fen: 200, yuan: "2.00" });
  assertEquals(byTag["9A"].decoded, "2016-06-24");
  assertEquals(byTag["5F2A"].decoded, { code: "0156", name: "CNY" });
  assertEquals((byTag["9F10"].decoded as Record<string, unknown>).cvn, 1);
  assertEquals((byTag["9F10"].decoded as Record<string, unknown>).cryptogramType, "TC");
  assertEquals((byTag["9F10"].decoded as Record<string, unknown>).algorithm, "3DES");
  assertEquals(byTag["9F27"].decoded, {
    hex: "40",
    type: "TC",
    adviceRequired: false,
    reason: "no information given",
  });
  // The PAN is masked in every rendering, and its hex is not in the JSON.
  assertEquals(byTag["5A"].decoded, { masked: "621234******1234" });
  assertEquals(byTag["5A"].value, undefined);
  const text = renderTree(nodes).join("\n");
  assert(text.includes("621234******1234"));
  assert(!text.includes("6212345678901234"));
  assert(text.includes("9F02 Amount, Authorised (Numeric) [6]: 2.00 yuan"));
});

Deno.test("round trip: encode(decode(x)) == x for canonical input", () => {
  const samples = [
    EC_TC,
    "6F1A 8407A0000003330101 A50F 500A50424F43204465626974 870101",
    "77 81 84 9F4B 81 80 " + "AB".repeat(128),
    "70 82 0100 " + "5F20 81 FC " + "41".repeat(252),
    "BF0C 04 DF6901 01",
    "DF9A03 01 00",
  ];
  for (const h of samples) {
    const bytes = fromHex(h);
    assertEquals(toHex(encodeTlv(toInput(parsed(h)))), toHex(bytes), h.slice(0, 20));
  }
});

Deno.test("00 and FF padding between objects is skipped", () => {
  const nodes = parsed("00 00 9F0201 05 FF 00 70 05 00 5A 01 12 FF 00");
  assertEquals(nodes.map((n) => n.tag), ["9F02", "70"]);
  assertEquals(nodes[1].children.map((n) => n.tag), ["5A"]);
});

Deno.test("every malformed form answers with its code and the offset", () => {
  const cases: [string, string, number][] = [
    ["9F", "TLV_TRUNCATED_TAG", 0],
    ["5A01129F", "TLV_TRUNCATED_TAG", 3],
    ["9F818181 01 00", "TLV_TAG_TOO_LONG", 0],
    ["9F02", "TLV_TRUNCATED_LENGTH", 2],
    ["9F02 80 0000", "TLV_INDEFINITE_LENGTH", 2],
    ["9F02 84 00000001 00", "TLV_LENGTH_FORM", 2],
    ["9F02 82 01", "TLV_TRUNCATED_LENGTH", 2],
    ["9F02 06 0000", "TLV_VALUE_OVERRUN", 2],
    ["70 03 5A 05 11", "TLV_VALUE_OVERRUN", 3],
    ["70 02 5A 01 12", "TLV_VALUE_OVERRUN", 3],
  ];
  for (const [hex, code, offset] of cases) {
    const r = parseTlv(fromHex(hex));
    assert(!r.ok, hex);
    assertEquals([r.code, r.offset], [code, offset], hex);
    assert(r.message.startsWith(`Cannot decode TLV at offset ${offset}: `));
  }
});

Deno.test("depth and object-count limits are enforced", () => {
  let deep = fromHex("5A0112");
  for (let i = 0; i < 9; i++) deep = encodeTlv([{ tag: "70", value: deep }]);
  const r = parseTlv(deep);
  assert(!r.ok);
  assertEquals(r.code, "TLV_DEPTH_EXCEEDED");
  assertEquals(r.offset, 14); // the eighth template (depth 7) would open a ninth level
  assert(parseTlv(deep, { maxDepth: 10 }).ok);
  const many = fromHex("5A0112".repeat(20));
  const m = parseTlv(many, { maxObjects: 19 });
  assert(!m.ok);
  assertEquals([m.code, m.offset], ["TLV_TOO_MANY_OBJECTS", 57]);
  assertThrows(() => parseTlv(many, { maxDepth: 0 }), RangeError, "maxDepth");
});

Deno.test("encoder uses minimal lengths and refuses bad tags", () => {
  assertEquals(toHex(encodeLength(127)), "7F");
  assertEquals(toHex(encodeLength(128)), "8180");
  assertEquals(toHex(encodeLength(255)), "81FF");
  assertEquals(toHex(encodeLength(256)), "820100");
  assertEquals(toHex(encodeLength(65536)), "83010000");
  assertThrows(() => tagBytes("9F"), RangeError, "needs subsequent bytes");
  assertThrows(() => tagBytes("9F8181"), RangeError, "continuation");
  assertThrows(() => tagBytes("5A02"), RangeError, "first byte ends the tag");
  assertThrows(() => tagBytes("00"), RangeError, "padding");
  assertThrows(() => tagBytes("XY"), SyntaxError, "invalid hex");
});

Deno.test("DOL related data follows the EMV padding and truncation rules", () => {
  // qPBOC PDOL (docs/emv-pboc.md, The transit tag set).
  const pdol = fromHex("9F6604 9F0206 9F0306 9F1A02 9505 5F2A02 9A03 9C01 9F3704 DF6001 DF6901");
  const entries = parseDol(pdol);
  assertEquals(entries.length, 11);
  assertEquals(entries[0], { tag: "9F66", length: 4 });
  const values = new Map<string, Uint8Array>([
    ["9F02", fromHex("0200")], // n, short → left-padded with 00
    ["9F37", fromHex("1122334455")], // b, long → leftmost kept
    ["9A", fromHex("20160624")], // n, long → rightmost kept
    ["DF69", fromHex("01")],
  ]);
  const data = toHex(buildDolData(pdol, values));
  assertEquals(
    data,
    "00000000" + "000000000200" + "000000000000" + "0000" + "0000000000" + "0000" +
      "160624" + "00" + "11223344" + "00" + "01",
  );
  // cn shorter → right-padded with FF; other formats right-padded with 00.
  const cn = buildDolData(
    fromHex("5A0A 5003"),
    new Map([["5A", fromHex("6212")], ["50", fromHex("41")]]),
  );
  assertEquals(toHex(cn), "6212FFFFFFFFFFFFFFFF" + "410000");
  assertThrows(() => parseDol(fromHex("9F02")), RangeError, "length missing");
});

Deno.test("bit-field decoders spell out TVR, CID, CVR and the PBOC 9F10", () => {
  assertEquals(decodeTvr(fromHex("8000048000")).map((f) => f.name), [
    "Offline data authentication was not performed",
    "Online PIN entered",
    "Transaction exceeds floor limit",
  ]);
  assertEquals(decodeCid(fromHex("80")).type, "ARQC");
  assertEquals(decodeCid(fromHex("00")).type, "AAC");
  assertEquals(decodeCid(fromHex("49")).adviceRequired, true);
  assertEquals(decodeCvr(fromHex("A00000")).firstAc, "ARQC");
  assertEquals(decodeCvr(fromHex("A00000")).secondAc, "not requested");
  const iad = decodePbocIad(fromHex("07010103900000010A010000077347A057AB9E"));
  assertEquals([iad.dki, iad.cvn, iad.algorithmName, toHex(iad.cvrWithLength)], [
    1,
    1,
    "3DES",
    "03900000",
  ]);
  assertEquals(toHex(iad.idd), "010000077347A057AB9E");
  assertEquals(decodePbocIad(fromHex("0701010390000204")).algorithmName, "SM4");
  assertThrows(() => decodePbocIad(fromHex("06010103")), RangeError, "9F10");
  assertEquals(cryptogramType(undefined, fromHex("07010103A0000001")), {
    type: "ARQC",
    source: "CVR",
  });
  assertEquals(cryptogramType(fromHex("40"), fromHex("07010103A00000010A")), {
    type: "TC",
    source: "9F27",
    cid: "TC",
  });
  // The CVR decides when 9F10 has the PBOC layout; 9F27 is kept to note a disagreement.
  assertEquals(cryptogramType(fromHex("40"), fromHex("07010103A0000001")), {
    type: "ARQC",
    source: "CVR",
    cid: "TC",
  });
});

Deno.test("dictionary covers the transit tag set with PBOC meanings", () => {
  const must = [
    "4F",
    "84",
    "50",
    "57",
    "5A",
    "5F24",
    "5F25",
    "5F28",
    "5F2A",
    "5F34",
    "5F36",
    "82",
    "8A",
    "8C",
    "8D",
    "8F",
    "90",
    "91",
    "92",
    "93",
    "94",
    "95",
    "9A",
    "9B",
    "9C",
    "9F02",
    "9F03",
    "9F07",
    "9F08",
    "9F09",
    "9F10",
    "9F1A",
    "9F1C",
    "9F1E",
    "9F21",
    "9F26",
    "9F27",
    "9F32",
    "9F33",
    "9F34",
    "9F35",
    "9F36",
    "9F37",
    "9F38",
    "9F40",
    "9F41",
    "9F45",
    "9F46",
    "9F47",
    "9F48",
    "9F49",
    "9F4A",
    "9F4B",
    "9F4C",
    "9F4D",
    "9F4F",
    "9F51",
    "9F5D",
    "9F63",
    "9F66",
    "9F69",
    "9F6C",
    "9F6D",
    "9F74",
    "9F77",
    "9F78",
    "9F79",
    "9F7A",
    "9F7B",
    "DF4D",
    "DF4F",
    "DF60",
    "DF69",
    "DF71",
    "DF79",
  ];
  for (const t of must) assert(tagInfo(t), `missing ${t}`);
  assert(tagInfo("9F74")!.name.startsWith("EC Issuer Authorization Code"));
  assert(tagInfo("9F79")!.name.startsWith("EC Balance"));
  assert(tagInfo("DF69")!.name.startsWith("SM Algorithm Support"));
  assertEquals(new Set(TAGS.map((t) => t.tag)).size, TAGS.length);
  for (const t of TAGS) assertEquals(tagBytes(t.tag).length, t.tag.length / 2);
});

Deno.test("encodePrimitives gives encodeTlv's bytes (long lengths, repeated tags) and refuses bad tags", () => {
  const v = (n: number, b: number) => new Uint8Array(n).fill(b);
  const pairs: [string, Uint8Array][] = [
    ["9F26", v(8, 1)],
    ["82", v(2, 2)],
    ["9F4B", v(127, 3)],
    ["9F46", v(128, 4)],
    ["90", v(255, 5)],
    ["70", v(256, 6)],
    ["9F26", v(0, 7)],
    ["DF69", v(1, 8)],
    ["5F20", v(70000, 9)],
  ];
  const reference = encodeTlv(pairs.map(([tag, value]) => ({ tag, value })));
  for (let round = 0; round < 2; round++) assertEquals(encodePrimitives(pairs), reference);
  assertEquals(encodePrimitives([]), new Uint8Array(0));
  for (const tag of ["00", "FF", "9F", "9F8", "1F"]) {
    assertThrows(() => encodePrimitives([[tag, Uint8Array.of(1)]]));
  }
});
