/**
 * Differential tests of the kernel's symmetric family against independent implementations on
 * thousands of random inputs: node:crypto (Deno's own: 3DES CBC, SHA-1/256, SM3), the OpenSSL
 * CLI (DES, SM4, SM3), node-forge (DES, 3DES) and sm-crypto (SM4). Inputs come from a seeded
 * generator so a failure names a reproducible case.
 */
import { assertEquals } from "@icfare/assert";
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import forge from "node-forge";
import smCrypto from "sm-crypto";
import { toHex } from "../core/hex.ts";
import {
  desDecryptCbc,
  desDecryptEcb,
  desEncryptCbc,
  desEncryptEcb,
  macIso9797Alg1,
  macIso9797Alg3,
  macIso9797Alg3Batch,
  type MacPadding,
  sm3,
  sm3Batch,
  sm4CbcMac,
  sm4CbcMacBatch,
  sm4DecryptCbc,
  sm4DecryptEcb,
  sm4EncryptCbc,
  sm4EncryptEcb,
} from "../kernel-as/sym.ts";
import { xorshiftBytes as rng } from "./support/rng.ts";

const bin = (b: Uint8Array) => String.fromCharCode(...b);
const unbin = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function forgeDes(
  alg: "DES-ECB" | "3DES-ECB" | "DES-CBC",
  key: Uint8Array,
  data: Uint8Array,
  dec = false,
  iv?: Uint8Array,
) {
  const c = dec
    ? forge.cipher.createDecipher(alg, forge.util.createBuffer(bin(key)))
    : forge.cipher.createCipher(alg, forge.util.createBuffer(bin(key)));
  c.start(iv ? { iv: forge.util.createBuffer(bin(iv)) } : {});
  c.update(forge.util.createBuffer(bin(data)));
  c.finish(() => true); // no padding
  return unbin(c.output.getBytes());
}

function nodeTdesCbc(key: Uint8Array, data: Uint8Array, iv: Uint8Array, dec = false) {
  const k24 = key.length === 16 ? Uint8Array.from([...key, ...key.subarray(0, 8)]) : key;
  const c = dec
    ? createDecipheriv("des-ede3-cbc", k24, iv)
    : createCipheriv("des-ede3-cbc", k24, iv);
  c.setAutoPadding(false);
  return new Uint8Array([...c.update(data), ...c.final()]);
}

async function openssl(args: string[], input: Uint8Array): Promise<Uint8Array> {
  const p = new Deno.Command("openssl", { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const w = p.stdin.getWriter();
  await w.write(input);
  await w.close();
  const { code, stdout, stderr } = await p.output();
  if (code !== 0) throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  return stdout;
}
const LEGACY = ["-provider", "legacy", "-provider", "default"];

/** The OpenSSL CLI comparisons need `openssl` on PATH (installed here and in CI images). */
const HAVE_OPENSSL = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
if (!HAVE_OPENSSL) console.warn("openssl CLI not found: its differential tests are skipped");

Deno.test("3DES CBC (2- and 3-key) agrees with node:crypto on 2000 random keys and messages", () => {
  const r = rng(3);
  for (let i = 0; i < 2000; i++) {
    const key = r(i % 2 === 0 ? 16 : 24);
    const iv = r(8);
    const data = r(8 * (1 + (i % 16)));
    const want = nodeTdesCbc(key, data, iv);
    assertEquals(toHex(desEncryptCbc(key, data, iv)), toHex(want), `case ${i}`);
    assertEquals(toHex(desDecryptCbc(key, want, iv)), toHex(data), `case ${i}`);
    assertEquals(toHex(desDecryptCbc(key, data, iv)), toHex(nodeTdesCbc(key, data, iv, true)));
    // ISO 9797-1 algorithm 1 under 3DES, padding 0, is the last CBC block with IV 0.
    const zero = new Uint8Array(8);
    assertEquals(
      toHex(macIso9797Alg1(key, data, 0)),
      toHex(nodeTdesCbc(key, data, zero).subarray(data.length - 8)),
    );
  }
});

Deno.test("DES and 3-key 3DES ECB agree with node-forge on 2000 random keys", () => {
  const r = rng(5);
  for (let i = 0; i < 2000; i++) {
    const key = r(i % 2 === 0 ? 8 : 24);
    const data = r(8 * (1 + (i % 8)));
    const alg = key.length === 8 ? "DES-ECB" : "3DES-ECB";
    const want = forgeDes(alg, key, data);
    assertEquals(toHex(desEncryptEcb(key, data)), toHex(want), `case ${i}`);
    assertEquals(toHex(desDecryptEcb(key, data)), toHex(forgeDes(alg, key, data, true)));
  }
});

Deno.test("ISO 9797-1 algorithm 3 (single and batch) agrees with a node-forge composition", () => {
  const r = rng(7);
  const items = [];
  const want: string[] = [];
  const paddings: MacPadding[] = [1, 2];
  for (const padding of paddings) {
    for (let i = 0; i < 1500; i++) {
      const key = r(16);
      const data = r(i % 70);
      // Reference: pad, DES-CBC under K, then D_K' and E_K on the last block.
      const padded = [...data];
      if (padding === 2) padded.push(0x80);
      while (padded.length % 8 !== 0 || padded.length === 0) padded.push(0);
      const cbc = forgeDes(
        "DES-CBC",
        key.subarray(0, 8),
        Uint8Array.from(padded),
        false,
        new Uint8Array(8),
      );
      const last = cbc.subarray(cbc.length - 8);
      const g = forgeDes(
        "DES-ECB",
        key.subarray(0, 8),
        forgeDes("DES-ECB", key.subarray(8), last, true),
      );
      assertEquals(
        toHex(macIso9797Alg3(key, data, padding)),
        toHex(g),
        `pad ${padding} len ${data.length}`,
      );
      items.push({ key, data });
      want.push(toHex(g));
    }
    const batch = macIso9797Alg3Batch(items, padding);
    for (let i = 0; i < items.length; i++) {
      assertEquals(toHex(batch.subarray(8 * i, 8 * i + 8)), want[i], `batch ${i}`);
    }
    items.length = 0;
    want.length = 0;
  }
});

Deno.test("SM4 ECB/CBC and CBC-MAC agree with sm-crypto on 2000 random keys", () => {
  const r = rng(11);
  const items = [];
  const want: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const key = r(16);
    const iv = r(16);
    const data = r(16 * (1 + (i % 6)));
    const ecb = smCrypto.sm4.encrypt(Array.from(data), toHex(key), {
      padding: "none",
      output: "array",
    }) as number[];
    assertEquals(toHex(sm4EncryptEcb(key, data)), toHex(Uint8Array.from(ecb)), `case ${i}`);
    assertEquals(toHex(sm4DecryptEcb(key, Uint8Array.from(ecb))), toHex(data));
    const cbc = smCrypto.sm4.encrypt(Array.from(data), toHex(key), {
      padding: "none",
      mode: "cbc",
      iv: toHex(iv),
      output: "array",
    }) as number[];
    assertEquals(toHex(sm4EncryptCbc(key, data, iv)), toHex(Uint8Array.from(cbc)), `cbc ${i}`);
    assertEquals(toHex(sm4DecryptCbc(key, Uint8Array.from(cbc), iv)), toHex(data));
    const zeroCbc = smCrypto.sm4.encrypt(Array.from(data), toHex(key), {
      padding: "none",
      mode: "cbc",
      iv: "00".repeat(16),
      output: "array",
    }) as number[];
    const mac = toHex(Uint8Array.from(zeroCbc.slice(-16)));
    assertEquals(toHex(sm4CbcMac(key, data, 1)), mac);
    items.push({ key, data });
    want.push(mac);
  }
  const batch = sm4CbcMacBatch(items, 0);
  for (let i = 0; i < items.length; i++) {
    assertEquals(toHex(batch.subarray(16 * i, 16 * i + 16)), want[i], `batch ${i}`);
  }
});

Deno.test({
  name: "DES and SM4 ECB agree with the OpenSSL CLI (48 keys × 64 blocks each)",
  ignore: !HAVE_OPENSSL,
}, async () => {
  const r = rng(13);
  for (let i = 0; i < 24; i++) {
    const key = r(8);
    const data = r(8 * 64);
    const want = await openssl(["enc", "-des-ecb", "-K", toHex(key), "-nopad", ...LEGACY], data);
    assertEquals(toHex(desEncryptEcb(key, data)), toHex(want), `des key ${toHex(key)}`);
    const k4 = r(16);
    const d4 = r(16 * 64);
    const w4 = await openssl(["enc", "-sm4-ecb", "-K", toHex(k4), "-nopad"], d4);
    assertEquals(toHex(sm4EncryptEcb(k4, d4)), toHex(w4), `sm4 key ${toHex(k4)}`);
  }
});

Deno.test({
  name: "SM3 agrees with the OpenSSL CLI and node:crypto on random messages",
  ignore: !HAVE_OPENSSL,
}, async () => {
  const r = rng(17);
  const msgs = Array.from({ length: 3000 }, (_, i) => r(i % 200));
  const all = sm3Batch(msgs);
  for (let i = 0; i < msgs.length; i++) {
    assertEquals(
      toHex(all.subarray(32 * i, 32 * i + 32)),
      createHash("sm3").update(msgs[i]).digest("hex").toUpperCase(),
    );
  }
  for (let i = 0; i < 16; i++) {
    const m = r(i * 37);
    const out = new TextDecoder().decode(await openssl(["dgst", "-sm3", "-r"], m));
    assertEquals(toHex(sm3(m)), out.slice(0, 64).toUpperCase(), `length ${m.length}`);
  }
});
