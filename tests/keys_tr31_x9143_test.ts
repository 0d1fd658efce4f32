/**
 * ANSI X9.143 optional blocks with extended length (issue 13 item 8). The worked examples of
 * ANSI X9.143:2021 §8.5 and §8.6 (as reproduced in openemv/tr31 test/tr31_decrypt_test.c,
 * tests 17 and 18; `fixtures/vectors/x9143.json`) carry certificates in optional block CT,
 * whose length is `00`, then the length of the length in characters (`04`), then 4 hex
 * digits. Before this change the parser read the length of the length as bytes and refused
 * both blocks (TR31_MALFORMED). Checks that stand outside icfare: each unwrapped private key
 * matches the public key of the certificate the block carries (node:crypto), the chain in
 * §8.6 verifies, and optional block KP equals the KBPK's 5-byte CMAC KCV the standard prints.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@icfare/assert";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { fromHex, toHex } from "../core/hex.ts";
import { kcv } from "../core/keys/kcv.ts";
import { KeyStore } from "../core/keys/mod.ts";
import { parseBlock, Tr31Error, unwrap, wrap } from "../core/keys/tr31.ts";

interface Vector {
  name: string;
  kbpk: string;
  block: string;
  key?: string;
  kcv5?: string;
  keyBytes?: number;
  kbpkKcv5?: string;
  timestamp?: string;
  ctFormat?: string;
  ctLength?: number;
}

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/vectors/x9143.json", import.meta.url)),
) as { vectors: Vector[] };
const [v81, v85, v86] = fixture.vectors;

function opt(blocks: { id: string; data: string }[], id: string): string {
  const b = blocks.find((x) => x.id === id);
  assert(b, `optional block ${id} present`);
  return b.data;
}

/** A symmetric key wrapped with the given optional blocks (`wrap` writes symmetric keys only). */
function wrapWith(kbpk: Uint8Array, blocks: { id: string; data: string }[], key: Uint8Array) {
  return wrap(kbpk, {
    version: "D",
    usage: "K0",
    algorithm: "A",
    modeOfUse: "B",
    keyVersion: "00",
    exportability: "N",
    optionalBlocks: blocks,
  }, key);
}

function spki(k: ReturnType<typeof createPublicKey>): string {
  return toHex(new Uint8Array(k.export({ type: "spki", format: "der" })));
}

/** The certificates of a CT block: format 00 is one X.509 certificate (base64 DER), 02 a chain. */
function certificates(ct: string): X509Certificate[] {
  if (ct.startsWith("00")) return [new X509Certificate(Buffer.from(ct.slice(2), "base64"))];
  assertEquals(ct.slice(0, 2), "02");
  const out: X509Certificate[] = [];
  for (let i = 2; i < ct.length;) {
    assertEquals(ct.slice(i, i + 2), "00", "each certificate of the chain is X.509");
    const n = parseInt(ct.slice(i + 2, i + 6), 16);
    out.push(new X509Certificate(Buffer.from(ct.slice(i + 6, i + 6 + n), "base64")));
    i += 6 + n;
  }
  return out;
}

Deno.test("X9.143 §8.1: 5-byte KCV of the wrapped key is the standard's 08793E25AB", () => {
  const r = unwrap(fromHex(v81.kbpk), v81.block);
  assertEquals(toHex(r.key), v81.key);
  assertEquals(kcv("aes", r.key, 5), v81.kcv5);
});

Deno.test("X9.143 §8.5: CT with extended length; the RSA key matches its certificate", () => {
  const kbpk = fromHex(v85.kbpk);
  const r = unwrap(kbpk, v85.block);
  assertEquals([r.header.usage, r.header.algorithm, r.header.modeOfUse], ["S0", "R", "S"]);
  assertEquals(r.header.optionalBlocks.map((b) => b.id), ["CT", "KP", "TS"]);
  const ct = opt(r.header.optionalBlocks, "CT");
  assertEquals(ct.length + 10, v85.ctLength, "CT counts its 10 header characters");
  assertEquals(ct.slice(0, 2), v85.ctFormat);
  assertEquals(opt(r.header.optionalBlocks, "KP"), "01" + v85.kbpkKcv5);
  assertEquals(kcv("aes", kbpk, 5), v85.kbpkKcv5);
  assertEquals(opt(r.header.optionalBlocks, "TS"), v85.timestamp);
  assertEquals(r.key.length, v85.keyBytes);
  const priv = createPrivateKey({ key: Buffer.from(r.key), format: "der", type: "pkcs1" });
  const [cert] = certificates(ct);
  assertEquals(spki(createPublicKey(priv)), spki(cert.publicKey));
  assertEquals(cert.subject.includes("CN=1234567890"), true);
});

Deno.test("X9.143 §8.6: a certificate chain in CT; the ECC key matches the leaf, the CA signed it", () => {
  const kbpk = fromHex(v86.kbpk);
  const r = unwrap(kbpk, v86.block);
  assertEquals([r.header.usage, r.header.algorithm], ["S0", "E"]);
  const ct = opt(r.header.optionalBlocks, "CT");
  assertEquals(ct.length + 10, v86.ctLength);
  assertEquals(opt(r.header.optionalBlocks, "KP"), "01" + v86.kbpkKcv5);
  assertEquals(kcv("aes", kbpk, 5), v86.kbpkKcv5);
  const [leaf, ca] = certificates(ct);
  const priv = createPrivateKey({ key: Buffer.from(r.key), format: "der", type: "sec1" });
  assertEquals(spki(createPublicKey(priv)), spki(leaf.publicKey));
  assert(leaf.verify(ca.publicKey), "the chain's CA certificate signed the leaf");
  assert(!ca.verify(leaf.publicKey));
});

Deno.test("extended length is written as X9.143 writes it: §8.6's optional blocks byte for byte", () => {
  const p86 = parseBlock(v86.block);
  const kbpk = fromHex(v86.kbpk);
  // Same optional blocks around a symmetric key.
  const block = wrapWith(
    kbpk,
    p86.header.optionalBlocks,
    crypto.getRandomValues(new Uint8Array(32)),
  );
  const ours = parseBlock(block);
  assertEquals(ours.headerText.slice(16), p86.headerText.slice(16));
  assertEquals(ours.headerText.slice(12, 14), "04", "CT, KP, TS and the PB padding block");
  assertEquals(unwrap(kbpk, block).header.optionalBlocks, p86.header.optionalBlocks);
});

Deno.test("bad extended lengths are malformed, not misread", () => {
  const kbpk = fromHex(v85.kbpk);
  for (
    const bad of [
      v85.block.replace("CT0004050000", "CT0008050000"), // length of length past the digits
      v85.block.replace("CT0004050000", "CT00000500"), // no length of length
      v85.block.replace("CT0004050000", "CT0004FFFF00"), // past the end of the block
      v85.block.replace("CT0004050000", "CT00040G0000"), // not hex
    ]
  ) {
    const e = assertThrows(() => unwrap(kbpk, bad), Tr31Error) as Tr31Error;
    assert(["TR31_MALFORMED", "TR31_LENGTH_MISMATCH"].includes(e.code), e.code);
  }
});

Deno.test("key store: a CT block is authenticated, then an RSA key is refused with its own code", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-x9143-" });
  try {
    const store = await KeyStore.init(home, crypto.getRandomValues(new Uint8Array(32)), "t");
    await store.importDev({
      keys: [{
        id: "kek-x9143",
        usage: "kek",
        algorithm: "aes",
        value: v85.kbpk,
        kcv: kcv("aes", fromHex(v85.kbpk)),
      }],
    });
    const e = await assertRejects(() =>
      store.importBlock(v85.block, "kek-x9143", { id: "rsa", usage: "kek" })
    );
    assertEquals((e as Tr31Error).code, "ALGORITHM_UNSUPPORTED");
    // A symmetric key in a block with a long CT block goes in like any other.
    const key = fromHex("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF");
    const block = wrapWith(fromHex(v85.kbpk), parseBlock(v85.block).header.optionalBlocks, key);
    const k = await store.importBlock(block, "kek-x9143", { id: "kek-from-ct", usage: "kek" });
    assertEquals(k.kcv, kcv("aes", key));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
