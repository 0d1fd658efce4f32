/**
 * Simulated upload bodies meet the server's contract (core/upload, docs/upload-api.md): every body
 * passes the zod schema; totals fail exactly for the `*.bad-totals.json` uploads the manifest
 * expects a 422 for; the structural record checks reject exactly the records the ground truth
 * marks `uploadRejected` (truncated TLV) and accept every other one.
 */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { simDay } from "./support/sim_day.ts";
import { checkRecords, checkTotals, UploadBatchSchema } from "../core/upload/mod.ts";
import { ApiError } from "../core/upload/errors.ts";

Deno.test("simulated batches meet the upload contract with the expected rejections", () => {
  const { batches, manifest } = simDay({
    seed: "upload",
    cards: 150,
    terminals: 5,
    taps: 800,
    faults: [
      "truncated-tlv=0.03",
      "fare-mismatch=0.03",
      "missing-tag=0.03",
      "totalsMismatch=0.3",
    ],
  });
  let rejected = 0, badTotals = 0;
  for (const m of manifest) {
    const out = batches.get(m.file)!;
    const parsed = UploadBatchSchema.safeParse(out.body);
    assert(parsed.success, `${m.file}: ${JSON.stringify(parsed.error?.issues?.slice(0, 2))}`);
    if (m.expect === "TOTALS_MISMATCH") {
      assertThrows(() => checkTotals(parsed.data!), ApiError);
      badTotals++;
      continue;
    }
    checkTotals(parsed.data!);
    const checks = checkRecords(parsed.data!);
    checks.forEach((c, i) => {
      const t = out.truth[i];
      assertEquals(c.reject !== null, t.uploadRejected === true, `${m.file} seq ${t.seq}`);
      if (c.reject) {
        assertEquals(c.reject.code.startsWith("TLV_"), t.fault === "truncated-tlv");
        assertEquals(c.reject.code === "FARE_MISMATCH", t.fault === "fare-mismatch");
        assertEquals(c.reject.code === "MISSING_TAG", t.fault === "missing-tag");
        rejected++;
      }
    });
  }
  assert(
    rejected > 0 && badTotals > 0,
    `covers rejections (${rejected}) and bad totals (${badTotals})`,
  );
});
