/**
 * The contract between the kernel and TypeScript (`contract.ts`) is current: the generated
 * AssemblyScript file is exactly what `gen_contract.ts` derives, and the compiled kernel
 * exports the same codes, bits, layouts and limits.
 */
import { assert, assertEquals } from "@icfare/assert";
import { generate, GENERATED } from "./gen_contract.ts";
import { kernel } from "./kernel.ts";
import {
  CAPK_IN,
  CFG_IN,
  DESC,
  ENGINE_CALL_STATUSES,
  ENGINE_SLOTS,
  KEY_IN,
  LIMITS,
  ODA_CHECKS,
  PROFILE_REASONS,
  PROFILE_SELECTION,
  PROFILES,
  RECORD_STATUSES,
  RES,
  SCHEMES,
} from "./contract.ts";

function global(name: string): number {
  const g = kernel[name];
  if (!(g instanceof WebAssembly.Global)) throw new Error(`kernel exports no global ${name}`);
  return Number(g.value);
}

Deno.test("assembly/contract.ts is exactly what gen_contract.ts derives from contract.ts", async () => {
  const current = await Deno.readTextFile(new URL(GENERATED, import.meta.url));
  assertEquals(current === generate(), true, "stale: run deno task build");
});

Deno.test("the compiled kernel carries the contract's statuses, bits and check codes", () => {
  RECORD_STATUSES.forEach((s, i) => {
    assertEquals(global(`ST_ENGINE_${s.name}`), s.code, s.name);
    assertEquals(global(`F_${s.name}`) >>> 0, 2 ** i, `findings bit of ${s.name}`);
  });
  for (const s of ENGINE_CALL_STATUSES) assertEquals(global(`ST_ENGINE_${s.name}`), s.code);
  ODA_CHECKS.forEach((c, i) => assertEquals(global(`C_${c.name}`), i + 1, c.name));
  ENGINE_SLOTS.forEach((t, i) => assertEquals(global(`S_${t}`), i, t));
  assertEquals(global("PROFILE_COUNT"), PROFILES.length);
  assertEquals(global("SCHEME_COUNT"), SCHEMES.length);
  assertEquals(global("SELECT_COUNT"), PROFILE_SELECTION.length);
});

Deno.test("the compiled kernel carries the contract's layouts and limits", () => {
  const camel = (k: string) => k.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase();
  const layouts = { DESC, RES, KEY_IN, CFG_IN, CAPK_IN } as Record<string, Record<string, number>>;
  for (const [prefix, o] of Object.entries(layouts)) {
    for (const [k, v] of Object.entries(o)) assertEquals(global(`${prefix}_${camel(k)}`), v, k);
  }
  for (const [k, v] of Object.entries(LIMITS)) assertEquals(global(`LIMIT_${camel(k)}`), v, k);
});

Deno.test("contract tables are consistent: unique codes, rows name known profiles and reasons", () => {
  const codes = [...RECORD_STATUSES, ...ENGINE_CALL_STATUSES].map((s) => s.code);
  assertEquals(new Set(codes).size, codes.length);
  assert(RECORD_STATUSES.length <= 32, "findings are a 32-bit mask");
  const reasons = new Set(PROFILE_REASONS.map((r) => r.code));
  const ids = new Set(PROFILES.map((p) => p.id));
  for (const r of PROFILE_SELECTION) {
    assert(ids.has(r.profile), `selection row names ${r.profile}`);
    assert(reasons.has(r.reason), `selection row reason ${r.reason}`);
  }
  for (const s of SCHEMES) {
    for (const r of [s.layout.reason, s.unknownCvnReason]) assert(reasons.has(r), `${s.id} ${r}`);
  }
  assertEquals(RES.bytes % 4, 0);
  assert(RES.spans + 8 * 5 <= RES.bytes, "spans fit the result");
});
