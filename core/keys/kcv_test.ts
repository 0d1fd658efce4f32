import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { fromHex, toHex } from "../hex.ts";
import { checkKeyLength, kcv, kcvMethod, matchKcv } from "./kcv.ts";

Deno.test("legacy KCV: 3DES key of docs/emv-pboc.md, 'Published test vectors' (pyemv key_check_digits)", () => {
  const k = fromHex("0123456789ABCDEFFEDCBA9876543210");
  assertEquals(kcv("3des", k), "08D7B4");
  assertEquals(kcv("3des", k, 8), "08D7B4FB629D0885");
  assertEquals(kcvMethod("3des"), "legacy");
  // The 24-byte form K1‖K2‖K1 is the same key.
  const k24 = new Uint8Array(24);
  k24.set(k);
  k24.set(k.subarray(0, 8), 16);
  assertEquals(kcv("3des", k24), "08D7B4");
});

Deno.test("AES KCV is CMAC over a zero block (TR-31:2018 A.7.4 key, KCV 08793E)", () => {
  assertEquals(kcv("aes", fromHex("3F419E1CB7079442AA37474C2EFBF8B8")), "08793E");
  assertEquals(kcvMethod("aes"), "cmac");
});

Deno.test("HMAC-SHA256 KCV: leftmost 3 bytes of HMAC(key, 32 zero bytes), checked with WebCrypto", async () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const ck = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", ck, new Uint8Array(32)));
  assertEquals(kcv("hmac-sha256", key), toHex(mac.subarray(0, 3)));
  assertEquals(kcvMethod("hmac-sha256"), "hmac");
});

Deno.test("matchKcv accepts either case, any length 2..8, and refuses a wrong KCV", () => {
  const k = fromHex("0123456789ABCDEFFEDCBA9876543210");
  assert(matchKcv("3des", k, "08d7"));
  assert(matchKcv("3des", k, "08D7B4FB"));
  assert(!matchKcv("3des", k, "08D7B5"));
  assertThrows(() => matchKcv("3des", k, "XYZ"), SyntaxError);
});

Deno.test("key lengths are checked per algorithm", () => {
  assertThrows(() => checkKeyLength("3des", new Uint8Array(8)), RangeError, "16 or 24");
  assertThrows(() => checkKeyLength("aes", new Uint8Array(20)), RangeError);
  assertThrows(() => checkKeyLength("sm4", new Uint8Array(24)), RangeError);
  checkKeyLength("hmac-sha256", new Uint8Array(32));
});

Deno.test("SM4 KCV (kernel): docs/emv-pboc.md 'Published test vectors', full check block 2677F46B…", () => {
  const k = fromHex("0123456789ABCDEFFEDCBA9876543210");
  assertEquals(kcv("sm4", k), "2677F4");
  assertEquals(kcv("sm4", k, 8), "2677F46B09C122CC");
});

Deno.test("TDES through the kernel agrees with node:crypto des-ede3-cbc (independent) on random keys", async () => {
  const { createCipheriv } = await import("node:crypto");
  const { tdesCbcEncrypt } = await import("./legacy_cipher.ts");
  for (let i = 0; i < 50; i++) {
    const key = crypto.getRandomValues(new Uint8Array(i % 2 ? 24 : 16));
    const iv = crypto.getRandomValues(new Uint8Array(8));
    const data = crypto.getRandomValues(new Uint8Array(8 * (1 + (i % 5))));
    const k24 = key.length === 24 ? key : Uint8Array.from([...key, ...key.subarray(0, 8)]);
    const c = createCipheriv("des-ede3-cbc", k24, iv);
    c.setAutoPadding(false);
    assertEquals(toHex(tdesCbcEncrypt(key, iv, data)), toHex(new Uint8Array(c.update(data))));
  }
});
