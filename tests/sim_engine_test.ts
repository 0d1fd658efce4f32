/**
 * Everything the simulator makes verifies through the engine — the readable reference
 * (core/emv/verify.ts) and the kernel batch path (core/emv/batch.ts) — with exactly
 * the ground-truth verdicts: status, cryptogram flag and ODA flag of every record, with the
 * records fed in upload order (duplicates and replays are found across batches).
 */
import { assertEquals } from "@icfare/assert";
import { World } from "../sim/world.ts";
import { type BatchOut, generateDay, type TruthRow, type UploadEntry } from "../sim/day.ts";
import { DEFAULT_FAULTS, NO_FAULTS } from "../sim/faults.ts";
import { capkFile, keysFile, revocationsFile } from "../sim/simulate.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import { BatchSchema, type TapRecord, verifyRecords } from "../core/emv/verify.ts";
import { verifyRecordsKernel } from "../core/emv/batch.ts";

function run(
  seed: string,
  cards: number,
  terminals: number,
  taps: number,
  faults = DEFAULT_FAULTS,
) {
  const world = new World({
    seed,
    cards,
    terminals,
    date: "2026-06-24",
    expiredCertCards: faults.expiredCertCards,
    revokedCertCards: faults.revokedCertCards,
    staleDenyListTerminals: faults.staleDenyListTerminals,
  });
  const gen = generateDay(world, { taps, faults });
  const batches = new Map<string, BatchOut>();
  let manifest: UploadEntry[];
  for (;;) {
    const s = gen.next();
    if (s.done) {
      manifest = s.value.manifest;
      break;
    }
    batches.set(s.value.file, s.value);
  }
  return { world, batches, manifest };
}

function check(
  seed: string,
  cards: number,
  terminals: number,
  taps: number,
  faults = DEFAULT_FAULTS,
) {
  const { world, batches, manifest } = run(seed, cards, terminals, taps, faults);
  const keys = parseKeyFile(JSON.parse(JSON.stringify(keysFile(world))));
  const capks = parseCapkFile(
    JSON.parse(JSON.stringify({ ...capkFile(world), ...revocationsFile(world) })),
  );
  const records: TapRecord[] = [];
  const truth: TruthRow[] = [];
  for (const m of manifest) {
    const b = batches.get(m.file)!;
    // Every upload body, good or bad totals, fits the upload schema.
    assertEquals(BatchSchema.safeParse(b.body).success, true, m.file);
    const sum = b.body.records.reduce((s, r) => s + r.fare, 0);
    assertEquals(
      sum === b.body.totals.amount && b.body.records.length === b.body.totals.count,
      m.expect !== "TOTALS_MISMATCH",
      `${m.file} totals`,
    );
    if (m.expect !== "stored") continue;
    records.push(...b.body.records);
    truth.push(...b.truth);
  }
  const results = verifyRecords(records, { keys, capks });
  const kernel = verifyRecordsKernel(records, { keys, capks });
  const mismatches: string[] = [];
  for (const [path, rs] of [["reference", results], ["kernel", kernel]] as const) {
    rs.forEach((r, i) => {
      const t = truth[i];
      const got = `${r.status}/${r.cryptogram}/${r.oda}`;
      const want = `${t.status}/${t.cryptogram}/${t.oda}`;
      if (got !== want) {
        mismatches.push(
          `${path} ${t.terminalId}#${t.batchNo}/${t.seq} ${
            t.fault ?? "-"
          }: ${got} ≠ ${want} (${r.message})`,
        );
      }
    });
  }
  assertEquals(mismatches.slice(0, 10), []);
  assertEquals(results.length, truth.length);
  return { results, truth };
}

Deno.test("engine agrees with the ground truth on a faulty day (every record)", () => {
  const { truth } = check("engine-agree", 300, 8, 1500);
  const statuses = new Set(truth.map((t) => t.status));
  for (
    const s of [
      "OK",
      "AC_MISMATCH",
      "ODA_FAILED",
      "CAPK_UNKNOWN",
      "CERT_EXPIRED",
      "CERT_REVOKED",
      "MALFORMED_TLV",
      "DUPLICATE",
      "REPLAY_SUSPECT",
      "FARE_MISMATCH",
      "MISSING_DATA",
    ]
  ) {
    assertEquals(statuses.has(s as never), true, `fault mix covers ${s}`);
  }
});

Deno.test("engine: a day without faults is all OK (no-key for the issuer whose keys we do not hold)", () => {
  const { results } = check("clean", 120, 4, 400, NO_FAULTS);
  for (const r of results) {
    assertEquals(r.status, "OK");
    assertEquals(r.oda, "ok");
  }
  assertEquals(results.some((r) => r.cryptogram === "no-key"), true);
  assertEquals(results.some((r) => r.cryptogram === "ok"), true);
});
