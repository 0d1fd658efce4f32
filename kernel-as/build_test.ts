import { assertEquals } from "@icfare/assert";
import { compileKernel } from "./build.ts";
import { KERNEL_WASM_BASE64 } from "./kernel_wasm.ts";
import { decodeBase64 } from "./base64.ts";

Deno.test("kernel rebuilt from source is byte-identical to the loaded module", async () => {
  const fresh = await compileKernel();
  const loaded = decodeBase64(KERNEL_WASM_BASE64);
  assertEquals(fresh.length, loaded.length);
  assertEquals(fresh, loaded);
});
