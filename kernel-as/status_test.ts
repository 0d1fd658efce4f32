import { assertEquals } from "@icfare/assert";
import { kernel } from "./kernel.ts";
import { STATUSES } from "./status.ts";

Deno.test("status table and compiled kernel agree exactly", () => {
  const fromKernel = new Map<string, number>();
  for (const [name, v] of Object.entries(kernel)) {
    if (name.startsWith("ST_") && v instanceof WebAssembly.Global) {
      fromKernel.set(name.slice(3), v.value as number);
    }
  }
  const fromTable = new Map([...STATUSES.values()].map((s) => [s.name, s.code]));
  assertEquals(
    Object.fromEntries([...fromKernel].sort()),
    Object.fromEntries([...fromTable].sort()),
  );
});

Deno.test("status codes are unique and inside their family range", () => {
  const seen = new Set<number>();
  for (const s of STATUSES.values()) {
    assertEquals(seen.has(s.code), false, `duplicate code ${s.code}`);
    seen.add(s.code);
    const family = s.name.startsWith("TLV_")
      ? 1
      : s.name.startsWith("SYM_")
      ? 2
      : s.name.startsWith("PK_") || s.name.startsWith("SM2_")
      ? 3
      : 0;
    if (family > 0) assertEquals(Math.floor(s.code / 100), family, s.name);
  }
});
