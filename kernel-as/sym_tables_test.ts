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

// FIPS 46-3 initial permutation, bit 1 = most significant.
const IP = [
  58,
  50,
  42,
  34,
  26,
  18,
  10,
  2,
  60,
  52,
  44,
  36,
  28,
  20,
  12,
  4,
  62,
  54,
  46,
  38,
  30,
  22,
  14,
  6,
  64,
  56,
  48,
  40,
  32,
  24,
  16,
  8,
  57,
  49,
  41,
  33,
  25,
  17,
  9,
  1,
  59,
  51,
  43,
  35,
  27,
  19,
  11,
  3,
  61,
  53,
  45,
  37,
  29,
  21,
  13,
  5,
  63,
  55,
  47,
  39,
  31,
  23,
  15,
  7,
]; // deno-fmt-ignore-line

Deno.test("the kernel's delta-swap IP/IP⁻¹ (assembly/des.ts) equal FIPS 46-3's IP table", async () => {
  // Re-evaluate the kernel's swap sequences from its source text, so the check follows it.
  const src = await Deno.readTextFile(new URL("assembly/des.ts", import.meta.url));
  const body = (name: string) =>
    src.slice(src.indexOf(`function ${name}(`)).split("\n").slice(1, 6).map((l) =>
      l.trim().replace(/let t/, "t").replace(/t << (\d+)/g, "(t << $1)")
    ).join("\n");
  const make = (name: string) =>
    new Function("l", "r", `let t;\n${body(name)}\nreturn [l >>> 0, r >>> 0];`) as (
      l: number,
      r: number,
    ) => [number, number];
  const ip = make("desIp"), fp = make("desFp");
  let s = 0x12345678;
  for (let i = 0; i < 2000; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const hi = s;
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const lo = s;
    const x = (BigInt(hi) << 32n) | BigInt(lo);
    let y = 0n;
    for (const p of IP) y = (y << 1n) | ((x >> BigInt(64 - p)) & 1n);
    assertEquals(ip(hi, lo), [Number(y >> 32n), Number(y & 0xffffffffn)]);
    assertEquals(fp(Number(y >> 32n), Number(y & 0xffffffffn)), [hi, lo]);
  }
});
