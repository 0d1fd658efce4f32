/**
 * Record verification: statuses, flags, precedence, duplicates/replays, and "one changed
 * byte flips the right status and only that one" at the record level.
 */
import { assert, assertEquals } from "@icfare/assert";
import { fromHex, toHex } from "../core/hex.ts";
import { flattenValues, parseTlv } from "../core/tlv/tree.ts";
import { encodePrimitives } from "../core/tlv/encode.ts";
import {
  precedence,
  RECORD_STATUSES,
  type RecordStatus,
  summarise,
  type TapRecord,
  verifyRecords,
} from "../core/emv/verify.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import { tap, testCapkFile, testKeyFile } from "./support/emv_signing.ts";

const keys = parseKeyFile(testKeyFile());
const capks = parseCapkFile(testCapkFile());
const ctx = { keys, capks };

/** Re-encodes one TLV field of a tap after changing a value. */
function mutate(
  t: TapRecord,
  where: "icc" | "oda",
  tag: string,
  f: (v: Uint8Array) => Uint8Array | undefined,
): TapRecord {
  const hex = where === "icc" ? t.icc : t.oda!.tlv;
  const p = parseTlv(fromHex(hex));
  if (!p.ok) throw new Error("test tap does not parse");
  const pairs: [string, Uint8Array][] = [];
  for (const [k, v] of flattenValues(p.nodes)) {
    const nv = k === tag ? f(v.slice()) : v;
    if (nv) pairs.push([k, nv]);
  }
  const out = toHex(encodePrimitives(pairs));
  return where === "icc" ? { ...t, icc: out } : { ...t, oda: { ...t.oda!, tlv: out } };
}

const flip = (at: number) => (v: Uint8Array) => (v[at] ^= 1, v);

Deno.test("good taps: PBOC 3DES + RSA fDDA, PBOC SM4 + SM2 fDDA", () => {
  const [a, b] = verifyRecords([
    tap({ seq: 1 }),
    tap({ seq: 2, sm4: true, oda: "sm2", atc: "0002" }),
  ], ctx);
  assertEquals([a.status, a.cryptogram, a.oda, a.profile, a.odaMethod], [
    "OK",
    "ok",
    "ok",
    "pboc-cvn01-3des",
    "fDDA",
  ]);
  // The CVR decides the type; 9F27 agrees here, so nothing is noted (issue 13 item 2).
  assertEquals([a.cryptogramType, a.cryptogramTypeSource, a.notes], ["TC", "CVR", undefined]);
  assertEquals(a.pan, "621234******1234");
  assertEquals([b.status, b.cryptogram, b.oda, b.profile, b.odaMethod], [
    "OK",
    "ok",
    "ok",
    "pboc-cvn01-sm4",
    "SM2-fDDA",
  ]);
});

Deno.test("cryptogram type from the CVR when 9F27 is absent", () => {
  const [r] = verifyRecords([tap({ noCid: true, cvr: "03A00000" })], ctx);
  assertEquals([r.status, r.cryptogramType, r.cryptogramTypeSource], ["OK", "ARQC", "CVR"]);
  const [d] = verifyRecords([tap({ noCid: true, cvr: "03800000" })], ctx);
  assertEquals([d.status, d.cryptogramType], ["CARD_DECLINED", "AAC"]);
});

Deno.test("no key, no CAPK, no ODA evidence", () => {
  const [r] = verifyRecords([tap()], { capks });
  assertEquals([r.status, r.cryptogram, r.oda], ["OK", "no-key", "ok"]);
  const [s] = verifyRecords([tap()], { keys });
  assertEquals([s.status, s.cryptogram, s.oda], ["CAPK_UNKNOWN", "ok", "no-capk"]);
  const [t] = verifyRecords([tap({ oda: "none" })], ctx);
  assertEquals([t.status, t.cryptogram, t.oda], ["OK", "ok", "absent"]);
});

Deno.test("one changed byte: MACed-only fields flip the cryptogram, signed-only fields the ODA", () => {
  const base = tap();
  const cases: [("icc" | "oda"), string, number, RecordStatus, string, string][] = [
    ["icc", "9F26", 0, "AC_MISMATCH", "mismatch", "ok"],
    ["icc", "95", 0, "AC_MISMATCH", "mismatch", "ok"],
    ["icc", "9A", 0, "AC_MISMATCH", "mismatch", "ok"],
    ["icc", "9C", 0, "AC_MISMATCH", "mismatch", "ok"],
    ["icc", "9F03", 5, "AC_MISMATCH", "mismatch", "ok"],
    ["icc", "9F1A", 1, "AC_MISMATCH", "mismatch", "ok"],
    // The ATC is MACed and, as fDDA's dynamic number 02 ‖ ATC, bound to the signature.
    ["icc", "9F36", 1, "AC_MISMATCH", "mismatch", "failed"],
    ["icc", "9F10", 4, "AC_MISMATCH", "mismatch", "ok"],
    ["icc", "9F37", 3, "AC_MISMATCH", "mismatch", "failed"],
    ["icc", "82", 1, "AC_MISMATCH", "mismatch", "failed"],
    ["icc", "5F2A", 1, "AC_MISMATCH", "mismatch", "failed"],
    ["icc", "9F4B", 5, "ODA_FAILED", "ok", "failed"],
    ["icc", "9F69", 3, "ODA_FAILED", "ok", "failed"],
    ["oda", "90", 3, "ODA_FAILED", "ok", "failed"],
    ["oda", "9F46", 3, "ODA_FAILED", "ok", "failed"],
    ["oda", "9F48", 3, "ODA_FAILED", "ok", "failed"],
  ];
  for (const [where, tag, at, status, c, o] of cases) {
    const [r] = verifyRecords([mutate(base, where, tag, flip(at))], ctx);
    assertEquals([r.status, r.cryptogram, r.oda], [status, c, o], `${where} ${tag}[${at}]`);
  }
  // The amount is both MACed and signed (fDDA 01), and the fare no longer matches it.
  const [amt] = verifyRecords([mutate(base, "icc", "9F02", flip(5))], ctx);
  assertEquals([amt.status, amt.cryptogram, amt.oda], ["FARE_MISMATCH", "mismatch", "failed"]);
  // Static data: only the ICC certificate covers it.
  const sd = fromHex(base.oda!.staticData!);
  sd[4] ^= 1;
  const [st] = verifyRecords([{ ...base, oda: { ...base.oda!, staticData: toHex(sd) } }], ctx);
  assertEquals([st.status, st.cryptogram, st.oda, st.odaCheck], [
    "ODA_FAILED",
    "ok",
    "failed",
    "ICC_CERT_HASH",
  ]);
});

Deno.test("certificate dates, unknown CA key, malformed TLV, missing data", () => {
  const late = tap({ date: "300115" });
  const [r] = verifyRecords([late], ctx);
  assertEquals([r.status, r.cryptogram, r.odaCheck], ["CERT_EXPIRED", "ok", "ICC_CERT_EXPIRED"]);
  const [u] = verifyRecords([mutate(tap(), "oda", "8F", () => fromHex("07"))], ctx);
  assertEquals([u.status, u.oda], ["CAPK_UNKNOWN", "no-capk"]);
  const [m] = verifyRecords([{ ...tap(), icc: "9F2608AABB" }], ctx);
  assertEquals([m.status, m.cryptogram], ["MALFORMED_TLV", "unsupported"]);
  const [n] = verifyRecords([mutate(tap(), "icc", "9F37", () => undefined)], ctx);
  assertEquals(n.status, "MISSING_DATA");
});

Deno.test("duplicates and replays inside one file", () => {
  const a = tap({ seq: 1 });
  const b = { ...tap({ seq: 2 }) };
  const c = tap({ seq: 3, amount: "000000000100", fare: 100 });
  const rs = verifyRecords([a, b, c], ctx);
  assertEquals(rs.map((r) => r.status), ["OK", "DUPLICATE", "REPLAY_SUSPECT"]);
  assertEquals([rs[1].duplicateOf, rs[2].duplicateOf], [1, 1]);
  assertEquals(rs[2].cryptogram, "ok", "a replay can carry a valid cryptogram");
  const other = tap({ seq: 4, atc: "0002" });
  assertEquals(verifyRecords([a, other], ctx).map((r) => r.status), ["OK", "OK"]);
  assertEquals(summarise(rs).status, { OK: 1, DUPLICATE: 1, REPLAY_SUSPECT: 1 });
});

Deno.test("status precedence is total and stable", () => {
  assertEquals(precedence([]), "OK");
  assertEquals(precedence(["ODA_FAILED", "AC_MISMATCH"]), "AC_MISMATCH");
  assertEquals(precedence(["CAPK_UNKNOWN", "CERT_EXPIRED", "DUPLICATE"]), "DUPLICATE");
  assertEquals(RECORD_STATUSES.at(-1), "OK");
  assert(new Set(RECORD_STATUSES).size === RECORD_STATUSES.length);
});
