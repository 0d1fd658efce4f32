import { assert, assertEquals } from "@icfare/assert";
import {
  bodyDigestHex,
  canonicalString,
  parseAuthorization,
  signRequest,
  timestampFresh,
  verifySignature,
} from "./hmac.ts";
import { importHmacKey, StaticTerminalKeys } from "./terminal_keys.ts";
import { fromHex, toHex } from "../hex.ts";
import { createHmac } from "node:crypto";

const KEY_HEX = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";

Deno.test("auth: signature matches an independent HMAC (node:crypto) of the canonical string", async () => {
  const key = await importHmacKey(fromHex(KEY_HEX));
  const body = new TextEncoder().encode('{"a":1}');
  const h = await signRequest({
    key,
    terminalId: "LC000123",
    method: "post",
    path: "/v1/batches",
    body,
    timestamp: 1466724662,
  });
  const digest = await bodyDigestHex(body);
  // SHA-256 of the empty string is a well-known constant
  assertEquals(
    await bodyDigestHex(new Uint8Array(0)),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  const expect = createHmac("sha256", Buffer.from(KEY_HEX, "hex"))
    .update(`POST\n/v1/batches\n1466724662\n${digest}`).digest("hex");
  assertEquals(
    h,
    `ICFARE-HMAC-SHA256 Credential=LC000123, Timestamp=1466724662, Signature=${expect}`,
  );
  const parsed = parseAuthorization(h);
  assert(typeof parsed !== "string");
  assertEquals(parsed.terminalId, "LC000123");
  assertEquals(toHex(parsed.signature).toLowerCase(), expect);
  assert(await verifySignature(key, parsed, "POST", "/v1/batches", digest));
  assert(!(await verifySignature(key, parsed, "POST", "/v1/batches/x", digest)));
  assert(!(await verifySignature(key, parsed, "GET", "/v1/batches", digest)));
  assert(
    !(await verifySignature(
      key,
      { ...parsed, timestamp: 1466724663 },
      "POST",
      "/v1/batches",
      digest,
    )),
  );
  assertEquals(canonicalString("get", "/p", 5, "ab"), "GET\n/p\n5\nab");
});

Deno.test("auth: header parsing refuses every malformed form", () => {
  assertEquals(parseAuthorization(null), "AUTH_MISSING");
  assertEquals(parseAuthorization(""), "AUTH_MISSING");
  const sig = "a".repeat(64);
  for (
    const bad of [
      "Bearer x",
      `ICFARE-HMAC-SHA256 Credential=LC00012, Timestamp=1, Signature=${sig}`,
      `ICFARE-HMAC-SHA256 Credential=LC000123, Timestamp=-1, Signature=${sig}`,
      `ICFARE-HMAC-SHA256 Credential=LC000123, Timestamp=1, Signature=${sig}0`,
      `ICFARE-HMAC-SHA256 Credential=LC000123, Timestamp=1, Signature=${"g".repeat(64)}`,
      `ICFARE-HMAC-SHA256 Credential=LC000123,Timestamp=1.5,Signature=${sig}`,
      "x".repeat(1000),
    ]
  ) assertEquals(parseAuthorization(bad), "AUTH_MALFORMED", bad);
});

Deno.test("auth: 300 s window both ways", () => {
  const now = 1_000_000_000_000;
  assert(timestampFresh(now / 1000 - 300, now));
  assert(timestampFresh(now / 1000 + 300, now));
  assert(!timestampFresh(now / 1000 - 301, now));
  assert(!timestampFresh(now / 1000 + 301, now));
});

Deno.test("auth: static registry knows only its terminals", async () => {
  const k = await StaticTerminalKeys.fromHex({ LC000123: KEY_HEX });
  assert((await k.hmacKey("LC000123")) !== null);
  assertEquals(await k.hmacKey("LC000124"), null);
});
