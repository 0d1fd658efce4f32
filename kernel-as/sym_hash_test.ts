import { assertEquals, assertThrows } from "@icfare/assert";
import { createHash } from "node:crypto";
import { fromHex, toHex } from "../core/hex.ts";
import {
  hashBatch,
  sha1,
  sha1Batch,
  sha256,
  sha256Batch,
  sm3,
  sm3Batch,
  sm3Intermediate,
  SymError,
} from "./sym.ts";

interface HashVector {
  alg?: string;
  ascii?: string;
  hex?: string;
  repeat?: number;
  digest: string;
  source: string;
  intermediate?: { blocks: number; state: string }[];
}

async function load(name: string): Promise<HashVector[]> {
  const url = new URL(`../fixtures/vectors/${name}`, import.meta.url);
  return JSON.parse(await Deno.readTextFile(url)).vectors;
}

function message(v: HashVector): Uint8Array {
  const one = v.ascii !== undefined ? new TextEncoder().encode(v.ascii) : fromHex(v.hex!, "hex");
  const n = v.repeat ?? 1;
  const out = new Uint8Array(one.length * n);
  for (let i = 0; i < n; i++) out.set(one, i * one.length);
  return out;
}

Deno.test("SHA-1 and SHA-256 match the FIPS 180-4 examples", async () => {
  const vs = await load("sha.json");
  assertEquals(vs.length >= 8, true);
  for (const v of vs) {
    const f = v.alg === "sha1" ? sha1 : sha256;
    assertEquals(toHex(f(message(v))), v.digest, v.source);
  }
});

Deno.test("SM3 matches GB/T 32905 Annex A and the GmSSL Z-value vector", async () => {
  for (const v of await load("sm3.json")) {
    assertEquals(toHex(sm3(message(v))), v.digest, v.source);
    for (const s of v.intermediate ?? []) {
      assertEquals(toHex(sm3Intermediate(message(v), s.blocks)), s.state, v.source);
    }
  }
});

Deno.test("SM3 intermediate: zero blocks is the IV, all blocks is the digest", () => {
  const m = new TextEncoder().encode("abcd".repeat(16));
  assertEquals(
    toHex(sm3Intermediate(m, 0)),
    "7380166F4914B2B9172442D7DA8A0600A96F30BC163138AAE38DEE4DB0FB0E4E",
  );
  assertEquals(toHex(sm3Intermediate(m, 2)), toHex(sm3(m)));
});

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

function randomMessages(count: number, maxLen: number, seed: number): Uint8Array[] {
  const r = lcg(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    // Every length 0..maxLen is covered (all padding boundaries), then random lengths.
    const len = i <= maxLen ? i : r() % (maxLen + 1);
    const m = new Uint8Array(len);
    for (let k = 0; k < len; k++) m[k] = r() & 0xff;
    out.push(m);
  }
  return out;
}

for (
  const [alg, one, batch, nodeName] of [
    ["sha1", sha1, sha1Batch, "sha1"],
    ["sha256", sha256, sha256Batch, "sha256"],
    ["sm3", sm3, sm3Batch, "sm3"],
  ] as const
) {
  Deno.test(`${alg}: 3000 random messages agree with node:crypto, one by one and batched`, () => {
    const msgs = randomMessages(3000, 300, alg.length * 7919);
    const dlen = one(new Uint8Array(0)).length;
    const all = batch(msgs);
    assertEquals(all.length, msgs.length * dlen);
    for (let i = 0; i < msgs.length; i++) {
      const want = createHash(nodeName).update(msgs[i]).digest("hex").toUpperCase();
      assertEquals(toHex(one(msgs[i])), want, `${alg} length ${msgs[i].length}`);
      assertEquals(toHex(all.subarray(i * dlen, (i + 1) * dlen)), want, `${alg} batch ${i}`);
    }
  });
}

Deno.test("hash batch writes into a caller buffer and splits large batches", () => {
  const big = new Uint8Array(3 * 1024 * 1024).fill(0x61);
  const msgs = Array.from({ length: 12 }, (_, i) => big.subarray(0, big.length - i));
  const out = new Uint8Array(12 * 32 + 5);
  hashBatch("sha256", msgs, out);
  for (let i = 0; i < 12; i++) {
    const want = createHash("sha256").update(msgs[i]).digest("hex").toUpperCase();
    assertEquals(toHex(out.subarray(i * 32, i * 32 + 32)), want);
  }
  assertEquals(sm3Batch([]).length, 0);
});

Deno.test("hash functions refuse bad arguments with stable codes", () => {
  const e = assertThrows(() => sha1("abc" as unknown as Uint8Array), SymError) as SymError;
  assertEquals(e.code, "SYM_ARGUMENT");
  const e2 = assertThrows(
    () => hashBatch("md5" as "sha1", [new Uint8Array(1)]),
    SymError,
  ) as SymError;
  assertEquals(e2.code, "SYM_ALGORITHM");
  const e3 = assertThrows(
    () => sha1Batch([new Uint8Array(2)], new Uint8Array(19)),
    SymError,
  ) as SymError;
  assertEquals(e3.code, "SYM_ARGUMENT");
});

Deno.test("pooled small results stay independent across pool refills", () => {
  // 3,000 digests of 32 bytes span several 8 KiB pool buffers; each must keep its own bytes.
  const inputs = Array.from({ length: 3000 }, (_, i) => new TextEncoder().encode(`m${i}`));
  const kept = inputs.map((m) => sha256(m));
  kept[0].fill(0xAA); // writing one result must not touch its neighbours
  for (let i = 1; i < inputs.length; i++) {
    assertEquals(
      toHex(kept[i]),
      createHash("sha256").update(inputs[i]).digest("hex").toUpperCase(),
    );
    assertEquals(kept[i].byteLength, 32);
  }
  assertEquals(kept[1].byteOffset - kept[0].byteOffset >= 32 || kept[1].byteOffset === 0, true);
});
