/**
 * The card hash is the card's identity in the store (duplicates, replays, the deny list): every
 * way of computing it must give the same 32 bytes, HMAC-SHA256(pan-hash key, PAN "/" PSN)
 * (core/store/pan.ts; docs/reliability.md). Checked against node:crypto, an implementation that
 * shares no code with the kernel.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@icfare/assert";
import { createHmac } from "node:crypto";
import { toHex } from "../hex.ts";
import { DevPanProtector, panHash, panHashes } from "./pan.ts";

const KEY = "5a".repeat(16) + "c3".repeat(16);
const DATA = "d4".repeat(32);
const keyBytes = () => Uint8Array.from(KEY.match(/../g)!, (h) => parseInt(h, 16));
const cards = [
  { pan: "6234567890123456", psn: "01" },
  { pan: "623456789012", psn: "00" },
  { pan: "6234567890123456789", psn: "99" },
  { pan: "6234567890123456", psn: "02" },
];
/** The card-data key of these tests (any AES-GCM key: only the hash is under test). */
const aesKey = () =>
  crypto.subtle.importKey("raw", keyBytes() as BufferSource, "AES-GCM", false, ["encrypt"]);
const expected = (c: { pan: string; psn: string }) =>
  createHmac("sha256", keyBytes()).update(`${c.pan}/${c.psn}`).digest("hex").toUpperCase();

Deno.test("card hash: the kernel batch, WebCrypto and node:crypto agree for every protector", async () => {
  const webKey = await crypto.subtle.importKey(
    "raw",
    keyBytes() as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const dataKey = await aesKey();
  const fromBytes = DevPanProtector.fromKeyBytes(keyBytes(), dataKey);
  const fromWeb = DevPanProtector.fromCryptoKeys(webKey, dataKey);
  const fromHex = await DevPanProtector.fromHex(KEY, DATA);
  const want = cards.map(expected);
  assertEquals(panHashes(keyBytes(), cards).map(toHex), want);
  for (const p of [fromBytes, fromWeb, fromHex]) {
    assertEquals((await p.hashCards(cards)).map(toHex), want);
    for (const [i, c] of cards.entries()) assertEquals(toHex(await p.hash(c.pan, c.psn)), want[i]);
    assertEquals(await p.hashCards([]), []);
  }
  assertEquals(toHex(await panHash(webKey, cards[0].pan, cards[0].psn)), want[0]);
  // each result owns its bytes
  const two = await fromBytes.hashCards(cards.slice(0, 2));
  two[0].fill(0);
  assertEquals(toHex(two[1]), want[1]);
});

Deno.test("card hash: bad card data is refused, and the key's bytes are taken over", async () => {
  const dataKey = await aesKey();
  const given = keyBytes();
  const p = DevPanProtector.fromKeyBytes(given, dataKey);
  assert(given.every((b) => b === 0), "the caller's copy of the key is zeroed");
  assertEquals(toHex(await p.hash(cards[0].pan, cards[0].psn)), expected(cards[0]));
  await assertRejects(() => p.hash("62345", "01"), RangeError, "pan");
  await assertRejects(
    () => p.hashCards([cards[0], { pan: "6234567890123456", psn: "1" }]),
    RangeError,
    "psn",
  );
  assertThrows(
    () => DevPanProtector.fromKeyBytes(new Uint8Array(16), dataKey),
    TypeError,
    "32 bytes",
  );
});
