import { assertEquals } from "@icfare/assert";
import { generate } from "./gen_sym_tables.ts";
import { generate as generateHashes } from "./gen_sym_hashes.ts";

Deno.test("assembly/sym_tables.ts is exactly what gen_sym_tables.ts derives", async () => {
  const current = await Deno.readTextFile(new URL("assembly/sym_tables.ts", import.meta.url));
  assertEquals(current === generate(), true, "run: deno run -W kernel-as/gen_sym_tables.ts");
});

Deno.test("assembly/hash_rounds.ts is exactly what gen_sym_hashes.ts derives", async () => {
  const current = await Deno.readTextFile(new URL("assembly/hash_rounds.ts", import.meta.url));
  assertEquals(current === generateHashes(), true, "run: deno run -W kernel-as/gen_sym_hashes.ts");
});
