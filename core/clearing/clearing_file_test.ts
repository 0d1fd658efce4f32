import { assert, assertEquals, assertNotEquals, assertRejects, assertThrows } from "@icfare/assert";
import { createHash } from "node:crypto";
import { clearingKeyFrom } from "./clearing_key.ts";
import {
  checkTrailer,
  type DetailLine,
  detailLine,
  headerLine,
  openSealed,
  SealedFileError,
  SealedWriter,
  trailerLine,
} from "./clearing_file.ts";
import { balanceTrend } from "./reports.ts";
import { feeOf } from "./ledger.ts";
import { yuan } from "./report_text.ts";

const KEY = new Uint8Array(32).map((_, i) => i + 1);

function detail(n: number): DetailLine {
  return {
    n,
    ref: `LC000123/1/${n}`,
    terminal: "LC000123",
    merchant: "898371641110001",
    line: "K1",
    vehicle: "LC-1024",
    tappedAt: "2026-06-24T08:00:00+08:00",
    pan: "6234567890123456",
    psn: "01",
    expiry: "301231",
    atc: n.toString(16).toUpperCase().padStart(4, "0"),
    amount: 200,
    currency: "156",
    txnDate: "260624",
    aid: "A000000333010101",
    cryptogramType: "TC",
    cryptogram: "3B76CF10FECD8789",
    model: "EC",
    issuerVerifies: false,
    icc: "9F2608" + "3B76CF10FECD8789",
  };
}

/** A clear file of `n` records and its sealed form, with small segments to get several. */
async function sealed(n: number, keyBytes = KEY, segment = 256) {
  const key = await clearingKeyFrom(keyBytes.slice(), "clearing-1", "ABCDEF");
  const h = createHash("sha256");
  let text = headerLine("2026-06-24");
  for (let i = 1; i <= n; i++) {
    const l = detailLine(detail(i));
    h.update(l);
    text += l;
  }
  text += trailerLine(n, 200 * n, h.digest("hex"));
  const parts: Uint8Array[] = [];
  const w = new SealedWriter(
    "2026-06-24",
    key,
    (b) => Promise.resolve(void parts.push(b)),
    segment,
  );
  await w.start();
  for (let i = 0; i < text.length; i += 97) await w.write(text.slice(i, i + 97));
  await w.finish();
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return { key, text, bytes: out, segments: parts.length - 1 };
}

Deno.test("clearing file: sealed in segments, opens to the same text, trailer checks", async () => {
  const s = await sealed(12);
  assert(s.segments > 5, `${s.segments} segments`);
  const { preamble, text } = await openSealed(s.bytes, s.key);
  assertEquals(text, s.text);
  assertEquals([preamble.day, preamble.keyId, preamble.segmentBytes], [
    "2026-06-24",
    "clearing-1",
    256,
  ]);
  assertEquals(checkTrailer(text).count, 12);
  assert(!new TextDecoder().decode(s.bytes).includes("6234567890123456"), "no PAN in clear");
  const keys = Object.keys(JSON.parse(text.split("\n")[1]));
  assertEquals(keys.slice(0, 4), ["type", "n", "ref", "terminal"]);
});

Deno.test("clearing file: the same day and content seal to the same bytes; other content, other nonces", async () => {
  const a = await sealed(12), b = await sealed(12);
  assertEquals(a.bytes, b.bytes);
  const c = await sealed(13);
  const nonceOf = (x: Uint8Array) => {
    const lf = x.indexOf(0x0a);
    return Array.from(x.slice(lf + 5, lf + 17)).join(",");
  };
  assertEquals(nonceOf(a.bytes), nonceOf(c.bytes), "first segment identical: same nonce");
  const d = await sealed(12, KEY.map((x) => x ^ 0xff));
  assertNotEquals(nonceOf(a.bytes), nonceOf(d.bytes), "another key, another nonce");
});

Deno.test("clearing file: a flipped byte, a truncation, a reorder or another key does not open", async () => {
  const s = await sealed(12);
  const flipped = s.bytes.slice();
  flipped[flipped.length - 40] ^= 1;
  await assertRejects(() => openSealed(flipped, s.key), SealedFileError);
  // drop the final segment: the new last one was sealed as "not last"
  const lf = s.bytes.indexOf(0x0a);
  const bounds: number[] = [];
  for (let o = lf + 1; o < s.bytes.length;) {
    bounds.push(o);
    o += 16 + new DataView(s.bytes.buffer).getUint32(o);
  }
  await assertRejects(() => openSealed(s.bytes.slice(0, bounds.at(-1)), s.key), SealedFileError);
  const swapped = new Uint8Array(s.bytes.length);
  swapped.set(s.bytes.subarray(0, bounds[0]));
  const seg = (i: number) => s.bytes.subarray(bounds[i], bounds[i + 1]);
  swapped.set(seg(1), bounds[0]);
  swapped.set(seg(0), bounds[0] + seg(1).length);
  swapped.set(s.bytes.subarray(bounds[2]), bounds[2]);
  await assertRejects(() => openSealed(swapped, s.key), SealedFileError);
  const other = await clearingKeyFrom(KEY.map((x) => x ^ 1), "clearing-1", "ABCDEF");
  await assertRejects(() => openSealed(s.bytes, other), SealedFileError);
  const bad = s.text.replace('"amount":200', '"amount":201');
  assertThrows(() => checkTrailer(bad), SealedFileError);
});

Deno.test("fee rule: half up to the fen per record, integers only", () => {
  assertEquals(feeOf(200, 50), 1); // 1.00
  assertEquals(feeOf(150, 50), 1); // 0.75
  assertEquals(feeOf(100, 50), 1); // 0.50 → up
  assertEquals(feeOf(99, 50), 0); // 0.495
  assertEquals(feeOf(0, 80), 0);
  assertEquals(feeOf(999_999_999_999, 10000), 999_999_999_999);
  assertEquals(feeOf(999_999_999_999, 9999), 999_899_999_999); // exact via BigInt
  assertThrows(() => feeOf(1.5, 50), RangeError);
  assertThrows(() => feeOf(100, 10001), RangeError);
  assertEquals([yuan(0), yuan(5), yuan(12345), yuan(-250)], ["0.00", "0.05", "123.45", "-2.50"]);
});

Deno.test("EC balance trend: consecutive ATCs must fall by the fare; gaps are not judged", () => {
  const p = (card: string, atc: number, balance: number, fare = 200) => ({
    card,
    pan: "623456******0001",
    atc,
    fare,
    balance,
  });
  const r = balanceTrend([
    p("a", 5, 1000),
    p("a", 6, 800),
    p("a", 7, 700), // should be 600: flagged
    p("a", 9, 100), // gap: not judged
    p("b", 1, 500),
  ]);
  assertEquals([r.cards, r.pairs], [2, 2]);
  assertEquals(r.flagged.map((f) => [f.atcFrom, f.atcTo, f.expected, f.got]), [[6, 7, 600, 700]]);
});
