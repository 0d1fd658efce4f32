import { assertEquals } from "@icfare/assert";
import { generate } from "./gen_sym_tables.ts";

Deno.test("assembly/sym_tables.ts is exactly what gen_sym_tables.ts derives", async () => {
  const current = await Deno.readTextFile(new URL("assembly/sym_tables.ts", import.meta.url));
  assertEquals(current === generate(), true, "run: deno run -W kernel-as/gen_sym_tables.ts");
});
