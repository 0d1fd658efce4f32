/**
 * HMAC-SHA-256 over the kernel's batched SHA-256 (`hmac.ts`): the RFC 4231 vectors, and agreement
 * with node:crypto (an implementation that shares no code with the kernel) on random keys and
 * messages, keys shorter than, equal to and longer than the 64-byte block.
 */
import { assertEquals, assertThrows } from "@icfare/assert";
import { createHmac } from "node:crypto";
import { fromHex, toHex } from "../core/hex.ts";
import { hmacSha256Batch } from "./hmac.ts";
import { SymError } from "./sym.ts";

interface HmacVector {
  case: number;
  key: string;
  ascii?: string;
  hex?: string;
  mac: string;
}

Deno.test("HMAC-SHA-256 batch matches RFC 4231 test cases 1-4, 6 and 7", async () => {
  const url = new URL("../fixtures/vectors/hmac_sha256.json", import.meta.url);
  const vs: HmacVector[] = JSON.parse(await Deno.readTextFile(url)).vectors;
  assertEquals(vs.length, 6);
  for (const v of vs) {
    const data = v.ascii !== undefined ? new TextEncoder().encode(v.ascii) : fromHex(v.hex!, "hex");
    const key = fromHex(v.key, "key");
    // alone and in the middle of a batch of other messages under the same key
    assertEquals(toHex(hmacSha256Batch(key, [data])), v.mac.toUpperCase(), `case ${v.case}`);
    const three = hmacSha256Batch(key, [new Uint8Array(0), data, new Uint8Array(100)]);
    assertEquals(toHex(three.subarray(32, 64)), v.mac.toUpperCase(), `case ${v.case} in a batch`);
    assertEquals(key, fromHex(v.key, "key"), "the caller's key is left as it was");
  }
});

Deno.test("HMAC-SHA-256 batch agrees with node:crypto on random keys and messages", () => {
  for (const keyLen of [0, 1, 16, 32, 63, 64, 65, 200]) {
    const key = crypto.getRandomValues(new Uint8Array(keyLen));
    const msgs = [0, 1, 19, 55, 56, 63, 64, 65, 119, 1000, 5000].map((n) =>
      crypto.getRandomValues(new Uint8Array(n))
    );
    const macs = hmacSha256Batch(key, msgs);
    assertEquals(macs.length, 32 * msgs.length);
    msgs.forEach((m, i) =>
      assertEquals(
        toHex(macs.subarray(32 * i, 32 * i + 32)),
        createHmac("sha256", key).update(m).digest("hex").toUpperCase(),
        `key ${keyLen} bytes, message ${m.length} bytes`,
      )
    );
  }
  assertEquals(hmacSha256Batch(new Uint8Array(32), []).length, 0);
  assertThrows(() => hmacSha256Batch("key" as never, []), SymError, "key must be a Uint8Array");
  assertThrows(() => hmacSha256Batch(new Uint8Array(32), ["x" as never]), SymError, "messages[0]");
});
