/**
 * Issue 13's expected verdicts (tests/support/indep/cases_13.ts) through both engine paths:
 * the kernel (`verifyRecordsKernel` → `verifyBatchBytes`) and the readable reference
 * (`verifyRecords`). Gated on `ENGINE_SUPPORTS_13`: until the engine implements issue 13 the
 * cases are only built (every case must build, name its item and source, and give import files
 * icfare's parsers accept) and one line says they are pending.
 */
import { assert, assertEquals } from "@icfare/assert";
import { verifyRecordsKernel } from "../core/emv/batch.ts";
import { BatchSchema, type RecordResult, summarise, verifyRecords } from "../core/emv/verify.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import {
  type Case13,
  CASES_13,
  ENGINE_SUPPORTS_13,
  type Expect13,
  SUMMARY_13,
} from "./support/indep/cases_13.ts";
import { uploadBatch } from "./support/indep/tap.ts";

let assertions = 0;
function eq<T>(actual: unknown, expected: T, msg: string): void {
  assertions++;
  assertEquals(actual, expected, msg);
}

type Verdict = RecordResult & Record<string, unknown>;

const FIELDS = [
  "status",
  "cryptogram",
  "oda",
  "cryptogramType",
  "cryptogramTypeSource",
  "odaCheck",
  "odaFormat",
  "profile",
] as const;

function checkVerdict(c: Case13, r: Verdict, path: string): void {
  const at = `${c.name} [${path}]`;
  const e: Expect13 = c.expect;
  for (const f of FIELDS) {
    if (e[f] !== undefined) eq(r[f], e[f], `${at}: ${f} (${r.message})`);
  }
  if (e.idd === null) eq(r.idd, undefined, `${at}: no idd`);
  else if (e.idd) {
    const idd = (r.idd ?? {}) as Record<string, unknown>;
    eq(idd.type, e.idd.type, `${at}: idd.type`);
    eq(idd.mac, e.idd.mac, `${at}: idd.mac`);
    if (e.idd.ecBalance !== undefined) eq(idd.ecBalance, e.idd.ecBalance, `${at}: idd.ecBalance`);
  }
  const notes = ((r.notes ?? []) as string[]).map((n) => n.toUpperCase());
  for (const n of e.notes ?? []) {
    eq(notes.some((x) => x.includes(n.toUpperCase())), true, `${at}: a note mentions ${n}`);
  }
  for (const n of e.notesExclude ?? []) {
    eq(notes.some((x) => x.includes(n.toUpperCase())), false, `${at}: no note mentions ${n}`);
  }
}

function contexts(b: { keys: object; capks: object | null }) {
  return () => ({
    keys: parseKeyFile(b.keys),
    capks: b.capks ? parseCapkFile(b.capks) : undefined,
  });
}

if (!ENGINE_SUPPORTS_13) {
  Deno.test("issue 13 cases: built and pending until the engine supports them", () => {
    const names = new Set<string>();
    for (const c of CASES_13) {
      assert(!names.has(c.name), `duplicate case name ${c.name}`);
      names.add(c.name);
      assert(c.source.length > 10, `${c.name}: source`);
      assert([1, 2, 3, 4, 5, 6, 10, 12, 13, 14, 15].includes(c.item), `${c.name}: item`);
      const b = c.build();
      const ctx = contexts(b)();
      assert(ctx.keys.size > 0 || c.item === 15, `${c.name}: keys parse`);
      assert(/^[0-9A-F]+$/.test(b.record.icc), `${c.name}: icc is hex`);
    }
    const s = SUMMARY_13.build();
    assert(s.records.length === 5);
    console.log(
      `indep_cases_13: ${CASES_13.length} cases + 1 summary pending (ENGINE_SUPPORTS_13 = false)`,
    );
  });
} else {
  for (const c of CASES_13) {
    Deno.test(`issue 13 (item ${c.item}): ${c.name}`, () => {
      const b = c.build();
      const ctx = contexts(b);
      // Item 13: the upload contract takes empty static data too.
      const upload = BatchSchema.safeParse(uploadBatch([b.record]));
      eq(upload.success, true, `${c.name}: upload contract (${upload.error?.message ?? ""})`);
      const kernel = verifyRecordsKernel([b.record], ctx())[0] as Verdict;
      const reference = verifyRecords([b.record], ctx())[0] as Verdict;
      checkVerdict(c, kernel, "kernel");
      checkVerdict(c, reference, "reference");
      for (const f of [...FIELDS, "idd", "notes"] as const) {
        eq(kernel[f], reference[f], `${c.name}: ${f} on both paths`);
      }
    });
  }
  Deno.test(`issue 13 (item 15): ${SUMMARY_13.name}`, () => {
    const b = SUMMARY_13.build();
    const ctx = contexts(b);
    for (
      const results of [verifyRecordsKernel(b.records, ctx()), verifyRecords(b.records, ctx())]
    ) {
      const s = summarise(results) as unknown as Record<string, unknown>;
      eq(s.cryptogramChecked, SUMMARY_13.expect.cryptogramChecked, "cryptogramChecked");
      eq(s.leftToIssuer, SUMMARY_13.expect.leftToIssuer, "leftToIssuer");
    }
  });
  Deno.test("value assertions of this suite", () => {
    console.log(
      `indep_cases_13_test: ${assertions} value assertions over ${CASES_13.length} cases`,
    );
    assert(assertions > CASES_13.length * 4);
  });
}
