import { assert, assertEquals, assertRejects, assertThrows } from "@icfare/assert";
import { join } from "node:path";
import {
  checkRecords,
  ingestUpload,
  jsonDepthExceeds,
  n12Amount,
  parseUpload,
} from "../core/upload/ingest.ts";
import { openEvidence } from "../core/upload/evidence.ts";
import { ApiError } from "../core/upload/errors.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { bodyDigestHex } from "../core/auth/hmac.ts";
import { enc, sampleBatch, sampleIcc } from "./support/terminal.ts";
import { fromHex, toHex } from "../core/hex.ts";

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "icfare-ingest-" });
  const store = openSqliteStore(join(dir, "icfare.db"));
  const pan = await DevPanProtector.fromHex("33".repeat(32), "44".repeat(32));
  return { store, pan };
}

Deno.test("ingest: n12 amounts, JSON depth bound", () => {
  assertEquals(n12Amount(fromHex("000000000200")), 200);
  assertEquals(n12Amount(fromHex("999999999999")), 999999999999);
  assertEquals(n12Amount(fromHex("00000000020A")), null);
  assertEquals(n12Amount(fromHex("0200")), null);
  assertEquals(jsonDepthExceeds(enc.encode('{"a":[[1]]}'), 3), false);
  assertEquals(jsonDepthExceeds(enc.encode('{"a":[[[1]]]}'), 3), true);
  assertEquals(jsonDepthExceeds(enc.encode('{"a":"[[[[[[\\"[["}'), 3), false);
});

Deno.test("ingest: per-record codes — missing tag, fare, amount, PAN, ODA TLV", () => {
  const b = parseUpload(enc.encode(JSON.stringify(sampleBatch({ records: 6 }))));
  const mut = b.records;
  mut[0].icc = sampleIcc().replace("5F340101", ""); // no PSN
  mut[1].icc = sampleIcc().replace("9F0206000000000200", "9F020600000000020A"); // not BCD
  mut[2].fare = 100;
  mut[3].icc = sampleIcc({ pan: "62345678901" }); // 11 digits
  mut[4].oda = { tlv: "8F0208", staticData: "00" }; // truncated
  const c = checkRecords(b);
  assertEquals(c.map((x) => x.reject?.code ?? "OK"), [
    "MISSING_TAG",
    "AMOUNT_INVALID",
    "FARE_MISMATCH",
    "PAN_INVALID",
    "TLV_VALUE_OVERRUN",
    "OK",
  ]);
  assertEquals(c[0].reject?.message, "icc lacks 5F34");
  assertEquals(c[4].reject?.path, "records[4].oda.tlv");
  assertEquals([c[5].pan, c[5].psn, c[5].atc], ["6234567890000005", "01", 6]);
});

Deno.test("ingest: tag 57 is never stored — blanked in the sealed body, evidence opens", async () => {
  const { store, pan } = await setup();
  const b = sampleBatch({ records: 2 });
  b.records[1].icc = sampleIcc({ track2: true, atc: 2 });
  const raw = enc.encode(JSON.stringify(b));
  const digest = await bodyDigestHex(raw);
  const a = await ingestUpload({ store, pan }, raw, digest, "LC000123");
  assertEquals([a.accepted, a.rejected, a.replayed], [2, 0, false]);
  const pending = await store.pendingRecords(10);
  const ev = await openEvidence(store, pan, pending);
  const icc = toHex(ev.get(pending[1].id)!.icc);
  assert(!icc.includes("D30122010000000000"), "track 2 gone");
  // the whole object became 00 bytes, which BER-TLV skips as padding (EMV Book 3 Annex B)
  assert(icc.endsWith("84" + "08A000000333010101" + "0".repeat(38)), icc);
  assertEquals(toHex(ev.get(pending[0].id)!.icc), b.records[0].icc);
  // the receipt's digest is of the body as received
  assertEquals(JSON.parse(a.body).digest, digest);
  // replay: same bytes but the flag; conflict: 409
  const again = await ingestUpload({ store, pan }, raw, digest, "LC000123");
  assertEquals(again.body, a.body.replace("false}", "true}"));
  const other = enc.encode(JSON.stringify(sampleBatch({ records: 1 })));
  const e = await assertRejects(
    async () => await ingestUpload({ store, pan }, other, await bodyDigestHex(other), "LC000123"),
    ApiError,
  );
  assertEquals((e as ApiError).code, "BATCH_CONFLICT");
  store.close();
});

Deno.test("ingest: a short tag 57 is blanked where it is, not wherever its hex recurs", async () => {
  // An empty tag 57 is the hex text "5700"; the other record's ATC 0x5700 carries the same text
  // ("9F36025700"). Only the tag 57 object may become zeros: the other record keeps its data.
  const { store, pan } = await setup();
  const b = sampleBatch({ records: 3 });
  b.records[0].icc = sampleIcc({ pan: "6234567890000000", atc: 0x5700 });
  b.records[1].icc = sampleIcc({ pan: "6234567890000001", atc: 2 }) + "5700";
  b.records[2].icc = b.records[1].icc; // the same tap twice: blanked in both places
  const raw = enc.encode(JSON.stringify(b));
  const a = await ingestUpload({ store, pan }, raw, await bodyDigestHex(raw), "LC000123");
  assertEquals([a.accepted, a.rejected], [3, 0]);
  const pending = await store.pendingRecords(10);
  const ev = await openEvidence(store, pan, pending);
  assertEquals(toHex(ev.get(pending[0].id)!.icc), b.records[0].icc);
  assertEquals(toHex(ev.get(pending[1].id)!.icc), b.records[1].icc.slice(0, -4) + "0000");
  assertEquals(toHex(ev.get(pending[2].id)!.icc), b.records[1].icc.slice(0, -4) + "0000");
  store.close();
});

Deno.test("ingest: validation paths and totals", () => {
  const bad = sampleBatch() as Record<string, unknown>;
  (bad.records as Record<string, unknown>[])[0].tappedAt = "2016-02-30T07:31:02+08:00";
  const e = assertThrows(() => parseUpload(enc.encode(JSON.stringify(bad))), ApiError) as ApiError;
  assertEquals([e.code, e.path], ["VALIDATION_FAILED", "records[0].tappedAt"]);
  const e2 = assertThrows(() => parseUpload(enc.encode("[1]")), ApiError) as ApiError;
  assertEquals(e2.code, "VALIDATION_FAILED");
});
