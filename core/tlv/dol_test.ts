/**
 * DOL related data for every numeric (n) and compressed numeric (cn) tag (EMV 4.4 Book 3 §5.4;
 * the n and cn tags of Book 3 Annex A and of PBOC), with values.
 */
import { assertEquals } from "@icfare/assert";
import { fromHex, toHex } from "../hex.ts";
import { tagInfo, TAGS } from "./dictionary.ts";
import { buildDolData, dolFormat, fitDolValue } from "./dol.ts";

/** The tags of format n in EMV 4.4 Book 3 Annex A (Table 33). */
const EMV_N = [
  "42",
  "5F24",
  "5F25",
  "5F28",
  "5F2A",
  "5F30",
  "5F34",
  "5F36",
  "5F57",
  "9A",
  "9C",
  "9F01",
  "9F02",
  "9F03",
  "9F0C",
  "9F11",
  "9F15",
  "9F19",
  "9F1A",
  "9F21",
  "9F25",
  "9F35",
  "9F39",
  "9F3B",
  "9F3C",
  "9F3D",
  "9F41",
  "9F42",
  "9F43",
  "9F44",
];
/** PBOC amounts, limits and currency codes kept as BCD by the card (docs/emv-pboc.md). */
const PBOC_N = [
  "9F51",
  "9F54",
  "9F57",
  "9F5C",
  "9F5D",
  "9F6B",
  "9F6D",
  "9F73",
  "9F75",
  "9F76",
  "9F77",
  "9F78",
  "9F79",
  "9F7B",
  "DF62",
  "DF63",
  "DF71",
  "DF72",
  "DF76",
  "DF77",
  "DF78",
  "DF79",
];
/** The tags of format cn in EMV 4.4 Book 3 Annex A. */
const EMV_CN = ["5A", "9F20"];

Deno.test("the dictionary gives every n and cn tag of EMV Book 3 Annex A and PBOC its format", () => {
  for (const t of [...EMV_N, ...PBOC_N]) assertEquals(dolFormat(t), "n", t);
  for (const t of EMV_CN) assertEquals(dolFormat(t), "cn", t);
  // Exactly these: no other tag of the dictionary is n or cn.
  const listed = new Set([...EMV_N, ...PBOC_N, ...EMV_CN]);
  const numeric = TAGS.filter((t) => t.format === "n" || t.format === "cn").map((t) => t.tag);
  assertEquals(numeric.filter((t) => !listed.has(t)), []);
  assertEquals(numeric.length, listed.size);
  // Lengths of the tags the issue names (Book 3 Annex A).
  assertEquals([tagInfo("9F19")!.minBytes, tagInfo("9F19")!.maxBytes], [6, 6]); // n 11
  assertEquals([tagInfo("9F25")!.minBytes, tagInfo("9F25")!.maxBytes], [2, 2]); // n 4
  assertEquals([tagInfo("9F0C")!.minBytes, tagInfo("9F0C")!.maxBytes], [3, 4]); // n 6 or 8
  assertEquals(dolFormat("9F37"), "b");
  assertEquals(dolFormat("DF7F"), "b", "a tag the dictionary does not know is b");
});

Deno.test("n values are right-aligned behind leading zeros, truncated from the left (9F19, 9F25, 42)", () => {
  // Token Requestor ID 40000000082 (n 11 in 6 bytes).
  const trid = fromHex("040000000082");
  const dol = (hex: string) => fromHex(hex);
  const v = new Map([["9F19", trid], ["9F25", fromHex("1234")], ["42", fromHex("621483")]]);
  assertEquals(toHex(buildDolData(dol("9F1908"), v)), "0000040000000082");
  assertEquals(toHex(buildDolData(dol("9F1905"), v)), "0000000082");
  assertEquals(toHex(buildDolData(dol("9F2503"), v)), "001234");
  assertEquals(toHex(buildDolData(dol("9F2501"), v)), "34");
  assertEquals(toHex(buildDolData(dol("4204 4202"), v)), "00621483" + "1483");
  // Several in one DOL, with a missing n tag (zeros) in between.
  assertEquals(
    toHex(buildDolData(dol("9F1907 5F5702 9F2502"), v)),
    "00040000000082" + "0000" + "1234",
  );
});

Deno.test("cn values are left-aligned before trailing F, truncated from the right (9F20, 5A)", () => {
  // Track 2 discretionary data "12345" as cn: 12 34 5F.
  const v = new Map([["9F20", fromHex("12345F")], ["5A", fromHex("6214830000000018")]]);
  assertEquals(toHex(buildDolData(fromHex("9F2005"), v)), "12345FFFFF");
  assertEquals(toHex(buildDolData(fromHex("9F2002"), v)), "1234");
  assertEquals(toHex(buildDolData(fromHex("5A0A"), v)), "6214830000000018FFFF");
  assertEquals(toHex(buildDolData(fromHex("5A06"), v)), "621483000000");
  assertEquals(toHex(buildDolData(fromHex("9F2004"), new Map())), "00000000", "absent: zeros");
});

Deno.test("every n tag pads and truncates as n, every cn tag as cn, with the same value", () => {
  const value = fromHex("1234");
  for (const t of [...EMV_N, ...PBOC_N]) {
    assertEquals(toHex(fitDolValue(value, 4, dolFormat(t))), "00001234", `${t} longer`);
    assertEquals(toHex(fitDolValue(value, 1, dolFormat(t))), "34", `${t} shorter`);
  }
  for (const t of EMV_CN) {
    assertEquals(toHex(fitDolValue(value, 4, dolFormat(t))), "1234FFFF", `${t} longer`);
    assertEquals(toHex(fitDolValue(value, 1, dolFormat(t))), "12", `${t} shorter`);
  }
  // b and text formats: left-aligned before zeros, rightmost bytes dropped.
  for (const t of ["9F37", "9F1C", "50"]) {
    assertEquals(toHex(fitDolValue(value, 4, dolFormat(t))), "12340000", `${t} longer`);
    assertEquals(toHex(fitDolValue(value, 1, dolFormat(t))), "12", `${t} shorter`);
  }
});

Deno.test("PBOC amounts in a DOL: 9F54, 9F6B and DF63 are n 12", () => {
  const v = new Map([
    ["9F54", fromHex("000000050000")],
    ["9F6B", fromHex("030000")],
    ["DF63", fromHex("000000000150")],
  ]);
  assertEquals(
    toHex(buildDolData(fromHex("9F5406 9F6B06 DF6304"), v)),
    "000000050000" + "000000030000" + "00000150",
  );
});
