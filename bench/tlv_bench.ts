/**
 * Decoding a typical ~300-byte qPBOC transaction record: the kernel (one call per record,
 * and the batch structural check over 1,000 records) vs the pure-TS reference decoder.
 * Run: deno task bench (the ratio is read from the same run's group summary).
 */
import { checkTlvBatch, decodeTlv } from "../kernel-as/tlv.ts";
import { fromHex } from "../core/hex.ts";
import { refDecode } from "../tests/support/ref_ber.ts";

// Field-55 style record with fDDA evidence pieces: ~300 bytes.
const RECORD = fromHex(
  "9F2608 1122334455667788 9F2701 40 9F1013 07010103900000010A010000077347A057AB9E" +
    "9F7406 454343303031 9F3602 0012 9F3704 12345678 9F0206 000000000200 9F0306 000000000000" +
    "9F1A02 0156 9505 0000000000 5F2A02 0156 9A03 160624 9C01 00 8202 7C00" +
    "5A08 6212345678901234 5F3401 01 5F2403 251231 8407 A0000003330101 9F6604 26000080" +
    "9F6C02 0000 9F6908 01AABBCCDD000000 9F4B 8190 " + "AB".repeat(144) +
    "9F3303 E0E1C8 9F3501 22 9F1E08 3132333435363738 9F0902 0030 9F4104 00000123",
);
const BATCH = Array.from({ length: 1000 }, () => RECORD);
if (!decodeTlv(RECORD).ok || !refDecode(RECORD).ok) throw new Error("bench record malformed");

Deno.bench({
  name: `kernel decodeTlv, ${RECORD.length}-byte record`,
  group: "tlv record",
  baseline: true,
  fn: () => {
    decodeTlv(RECORD);
  },
});

Deno.bench({
  name: `pure-TS reference decoder, ${RECORD.length}-byte record`,
  group: "tlv record",
  fn: () => {
    refDecode(RECORD);
  },
});

Deno.bench({
  name: "kernel checkTlvBatch, 1,000 records per call",
  group: "tlv batch of 1000",
  baseline: true,
  fn: () => {
    checkTlvBatch(BATCH);
  },
});

Deno.bench({
  name: "pure-TS reference decoder, 1,000 records",
  group: "tlv batch of 1000",
  fn: () => {
    for (const r of BATCH) refDecode(r);
  },
});
