/**
 * Symmetric primitives and hashes: the kernel against native OpenSSL (`openssl speed`, run in
 * this same process through Deno.Command), node:crypto called per block or message, and the
 * best pure-JS library (node-forge for 3DES, sm-crypto for SM4/SM3, @noble/hashes for SHA).
 *
 * Run: `deno task bench` (or `deno run -A bench/sym_bench.ts` for the table alone). The table
 * printed first is the comparison, in ns per unit and as ratios (> 1 means the kernel is faster;
 * "vs OpenSSL" is OpenSSL's ns divided by the kernel's). Kernel and JS figures: after a ≥ 400 ms
 * warm-up (WASM code must tier up from Liftoff to TurboFan), the fastest of 40 wall-clock
 * repetitions of ≥ 5 ms — the least disturbed window on a shared, loaded machine. OpenSSL: the best
 * of three 1-second `openssl speed` runs without `-elapsed`, i.e. CPU-time rates.
 * (CPU time for the JS side would count V8's GC and compiler threads, flattering the kernel.)
 * `SYM_BENCH_QUICK=1` shortens everything for a smoke run.
 */
import { createCipheriv, createDecipheriv, createHash } from "node:crypto";
import forge from "node-forge";
import smCrypto from "sm-crypto";
import { sha1 as nobleSha1 } from "@noble/hashes/legacy.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import {
  desEncryptEcb,
  macIso9797Alg3,
  macIso9797Alg3Batch,
  sha1,
  sha1Batch,
  sha256,
  sha256Batch,
  sm3,
  sm3Batch,
  sm4CbcMac,
  sm4CbcMacBatch,
  sm4EncryptEcb,
} from "../kernel-as/sym.ts";

const QUICK = Deno.env.get("SYM_BENCH_QUICK") === "1";
const REP_MS = 5;
const REPS = QUICK ? 10 : 40;
const WARM_MS = QUICK ? 100 : 400;

/** Fastest wall-clock ns per unit of `f` over REPS short repetitions (`units` per call). */
function measure(f: () => unknown, units: number): number {
  let t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < WARM_MS) (f(), calls++);
  const perCallMs = (performance.now() - t0) / calls;
  const n = Math.max(1, Math.ceil(REP_MS / perCallMs));
  let best = Infinity;
  for (let r = 0; r < REPS; r++) {
    t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    best = Math.min(best, ((performance.now() - t0) * 1e6) / (n * units));
  }
  return best;
}

/**
 * CPU ns per operation of `openssl speed -evp ALG -bytes N` (single process, `-mr` output):
 * the best of three 1-second runs, like the kernel's best window.
 */
function opensslSpeed(alg: string, bytes: number, legacy = false): number {
  const args = [
    "speed",
    ...(legacy ? ["-provider", "legacy", "-provider", "default"] : []),
    "-evp",
    alg,
    "-bytes",
    String(bytes),
    "-seconds",
    "1",
    "-mr",
  ];
  let best = Infinity;
  for (let run = 0; run < (QUICK ? 1 : 3); run++) {
    const out = new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
      .outputSync();
    const text = new TextDecoder().decode(out.stdout);
    const line = text.split("\n").find((l) => l.startsWith("+F:"));
    if (!out.success || !line) throw new Error(`openssl speed ${alg} failed`);
    best = Math.min(best, (bytes / Number(line.split(":")[3])) * 1e9);
  }
  return best;
}

function fill(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 17 + 7) & 0xff;
  return b;
}

const KEY16 = fill(16, 1);
const KEY24 = fill(24, 2);
const BLOCKS = 4096;
const DATA = fill(BLOCKS * 8, 3);
const MSGS = Array.from({ length: 1024 }, (_, i) => fill(64, i));
const MAC_ITEMS = Array.from({ length: 1024 }, (_, i) => ({ key: fill(16, i), data: fill(40, i) }));
const bin = (b: Uint8Array) => String.fromCharCode(...b);

// ---- peers
const forge3des = forge.cipher.createCipher("3DES-ECB", forge.util.createBuffer(bin(KEY24)));
const block8 = bin(DATA.subarray(0, 8));
function forgeBlock(): string {
  forge3des.start({});
  forge3des.update(forge.util.createBuffer(block8));
  forge3des.finish(() => true);
  return forge3des.output.getBytes();
}
// Deno's node:crypto offers no des-ede3-ecb: a reused des-ede3-cbc cipher, one update per block.
const node3des = createCipheriv("des-ede3-cbc", KEY24, new Uint8Array(8)).setAutoPadding(false);
const KEY16HEX = Array.from(KEY16, (b) => b.toString(16).padStart(2, "0")).join("");
const sm4Block = Array.from(DATA.subarray(0, 16));
const m64 = MSGS[0];
const m64arr = Array.from(m64);

function forgeAlg3(key: Uint8Array, data: Uint8Array): string {
  const padded = new Uint8Array((data.length >> 3) * 8 + 8);
  padded.set(data);
  padded[data.length] = 0x80;
  const kl = forge.util.createBuffer(bin(key.subarray(0, 8)));
  const c = forge.cipher.createCipher("DES-CBC", kl);
  c.start({ iv: forge.util.createBuffer("\0".repeat(8)) });
  c.update(forge.util.createBuffer(bin(padded)));
  c.finish(() => true);
  const last = c.output.getBytes().slice(-8);
  const d = forge.cipher.createDecipher("DES-ECB", forge.util.createBuffer(bin(key.subarray(8))));
  d.start({});
  d.update(forge.util.createBuffer(last));
  d.finish(() => true);
  const e = forge.cipher.createCipher("DES-ECB", forge.util.createBuffer(bin(key.subarray(0, 8))));
  e.start({});
  e.update(d.output);
  e.finish(() => true);
  return e.output.getBytes();
}
function nodeAlg3(key: Uint8Array, data: Uint8Array): Uint8Array {
  const padded = new Uint8Array((data.length >> 3) * 8 + 8);
  padded.set(data);
  padded[data.length] = 0x80;
  const kl = key.subarray(0, 8), kr = key.subarray(8);
  const kl3 = new Uint8Array([...kl, ...kl, ...kl]), kr3 = new Uint8Array([...kr, ...kr, ...kr]);
  const zero = new Uint8Array(8);
  const c = createCipheriv("des-ede3-cbc", kl3, zero).setAutoPadding(false).update(padded);
  const d = createDecipheriv("des-ede3-cbc", kr3, zero).setAutoPadding(false)
    .update(c.subarray(c.length - 8));
  return createCipheriv("des-ede3-cbc", kl3, zero).setAutoPadding(false).update(d);
}

// Same answers before timing (a benchmark of a wrong implementation is worthless).
{
  const k = desEncryptEcb(KEY24, DATA.subarray(0, 8));
  if (bin(k) !== forgeBlock()) throw new Error("3DES kernel and node-forge disagree");
  const it = MAC_ITEMS[0];
  if (bin(macIso9797Alg3(it.key, it.data, 2)) !== forgeAlg3(it.key, it.data)) {
    throw new Error("alg 3 kernel and node-forge disagree");
  }
  if (bin(macIso9797Alg3(it.key, it.data, 2)) !== bin(nodeAlg3(it.key, it.data))) {
    throw new Error("alg 3 kernel and node:crypto disagree");
  }
  const s = smCrypto.sm4.encrypt(sm4Block, KEY16HEX, { padding: "none", output: "array" });
  if (bin(Uint8Array.from(s as number[])) !== bin(sm4EncryptEcb(KEY16, DATA.subarray(0, 16)))) {
    throw new Error("SM4 kernel and sm-crypto disagree");
  }
}

interface Row {
  what: string;
  unit: string;
  kernelBatch: number;
  kernelCall: number;
  openssl: number;
  node: number | null;
  js: number;
  jsName: string;
  target?: number;
}

export function runComparison(): Row[] {
  const rows = [...blockCipherRows(), ...hashRows()];
  // The MAC rows' OpenSSL column is derived from the block ciphers' (see macRows).
  rows.push(...macRows(rows[0].openssl, rows[1].openssl));
  return rows;
}

/** 3DES and SM4 per block (rows 0 and 1, in that order: macRows uses their OpenSSL figures). */
function blockCipherRows(): Row[] {
  const sm4Data = DATA.subarray(0, BLOCKS * 8);
  return [
    {
      what: "3DES-ECB (3-key), 8-byte block",
      unit: "block",
      kernelBatch: measure(() => desEncryptEcb(KEY24, DATA), BLOCKS),
      kernelCall: measure(() => desEncryptEcb(KEY24, DATA.subarray(0, 8)), 1),
      openssl: opensslSpeed("des-ede3-ecb", 8),
      node: measure(() => node3des.update(DATA.subarray(0, 8)), 1),
      js: measure(forgeBlock, 1),
      jsName: "node-forge",
      target: 0.75,
    },
    {
      what: "SM4-ECB, 16-byte block",
      unit: "block",
      kernelBatch: measure(() => sm4EncryptEcb(KEY16, sm4Data), sm4Data.length / 16),
      kernelCall: measure(() => sm4EncryptEcb(KEY16, DATA.subarray(0, 16)), 1),
      openssl: opensslSpeed("sm4-ecb", 16),
      node: null,
      js: measure(
        () => smCrypto.sm4.encrypt(sm4Block, KEY16HEX, { padding: "none", output: "array" }),
        1,
      ),
      jsName: "sm-crypto",
      target: 0.85,
    },
  ];
}

/** SHA-1, SHA-256 and SM3 per 64-byte message. */
function hashRows(): Row[] {
  return [
    {
      what: "SHA-1, 64-byte message",
      unit: "message",
      kernelBatch: measure(() => sha1Batch(MSGS), MSGS.length),
      kernelCall: measure(() => sha1(m64), 1),
      openssl: opensslSpeed("sha1", 64),
      node: measure(() => createHash("sha1").update(m64).digest(), 1),
      js: measure(() => nobleSha1(m64), 1),
      jsName: "@noble/hashes",
      target: 0.4,
    },
    {
      what: "SHA-256, 64-byte message",
      unit: "message",
      kernelBatch: measure(() => sha256Batch(MSGS), MSGS.length),
      kernelCall: measure(() => sha256(m64), 1),
      openssl: opensslSpeed("sha256", 64),
      node: measure(() => createHash("sha256").update(m64).digest(), 1),
      js: measure(() => nobleSha256(m64), 1),
      jsName: "@noble/hashes",
    },
    {
      what: "SM3, 64-byte message",
      unit: "message",
      kernelBatch: measure(() => sm3Batch(MSGS), MSGS.length),
      kernelCall: measure(() => sm3(m64), 1),
      openssl: opensslSpeed("sm3", 64),
      node: measure(() => createHash("sm3").update(m64).digest(), 1),
      js: measure(() => smCrypto.sm3(m64arr), 1),
      jsName: "sm-crypto",
      target: 0.8,
    },
  ];
}

/**
 * MACs over a 40-byte EMV AC input (48 bytes padded: 6 blocks), per MAC; OpenSSL has no retail
 * MAC in `speed`, so its column is 6 blocks of its single-stream 3DES rate (3 of SM4's).
 */
function macRows(des3Block: number, sm4Blk: number): Row[] {
  return [
    {
      what: "ISO 9797-1 alg 3 MAC, 40 B (EMV AC), new key each",
      unit: "MAC",
      kernelBatch: measure(() => macIso9797Alg3Batch(MAC_ITEMS, 2), MAC_ITEMS.length),
      kernelCall: measure(() => macIso9797Alg3(MAC_ITEMS[0].key, MAC_ITEMS[0].data, 2), 1),
      openssl: 6 * des3Block,
      node: measure(() => nodeAlg3(MAC_ITEMS[0].key, MAC_ITEMS[0].data), 1),
      js: measure(() => forgeAlg3(MAC_ITEMS[0].key, MAC_ITEMS[0].data), 1),
      jsName: "node-forge",
    },
    {
      what: "SM4 CBC-MAC, 40 B (3 blocks), new key each",
      unit: "MAC",
      kernelBatch: measure(() => sm4CbcMacBatch(MAC_ITEMS, 2), MAC_ITEMS.length),
      kernelCall: measure(() => sm4CbcMac(MAC_ITEMS[0].key, MAC_ITEMS[0].data, 2), 1),
      openssl: 3 * sm4Blk,
      node: null,
      js: measure(() =>
        smCrypto.sm4.encrypt(Array.from(MAC_ITEMS[0].data), KEY16HEX, {
          mode: "cbc",
          iv: "00".repeat(16),
          output: "array",
        }), 1),
      jsName: "sm-crypto (CBC, pkcs#7)",
    },
  ];
}

function ns(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(2)} µs` : `${x.toFixed(0)} ns`;
}

/** The comparison as a Markdown table. */
export function table(rows: Row[]): string {
  const lines = [
    "| primitive (per unit) | kernel, batch | kernel, one call | OpenSSL | vs OpenSSL | node:crypto per call | vs node | best pure JS | vs JS | target vs OpenSSL |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    const x = (a: number) => `${(a / r.kernelBatch).toFixed(2)}×`;
    lines.push(
      `| ${r.what} | ${ns(r.kernelBatch)} | ${ns(r.kernelCall)} | ${ns(r.openssl)} | ${
        x(r.openssl)
      } | ${r.node === null ? "not offered" : ns(r.node)} | ${
        r.node === null ? "—" : x(r.node)
      } | ${ns(r.js)} ${r.jsName} | ${x(r.js)} | ${r.target ? `≥ ${r.target}×` : "—"} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main || Deno.args.includes("--table")) {
  const t0 = performance.now();
  const rows = runComparison();
  console.log(table(rows));
  const cpu = (() => {
    try {
      return Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
    } catch {
      return "?";
    }
  })();
  console.log(
    `\n${cpu}, ${navigator.hardwareConcurrency} cores; Deno ${Deno.version.deno} (V8 ${Deno.version.v8}); ` +
      `${
        new TextDecoder().decode(
          new Deno.Command("openssl", { args: ["version"] }).outputSync().stdout,
        ).trim()
      }; ` +
      `load ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}; ${
        ((performance.now() - t0) / 1000).toFixed(0)
      } s`,
  );
}

// deno bench view of the kernel's batch forms (the comparison above is printed first).
Deno.bench({
  name: "kernel 3DES-ECB, 4096 blocks per call",
  group: "sym",
  fn: () => {
    desEncryptEcb(KEY24, DATA);
  },
});
Deno.bench({
  name: "kernel SM4-ECB, 2048 blocks per call",
  group: "sym",
  fn: () => {
    sm4EncryptEcb(KEY16, DATA);
  },
});
Deno.bench({
  name: "kernel SM3 batch, 1024 × 64 B",
  group: "sym",
  fn: () => {
    sm3Batch(MSGS);
  },
});
Deno.bench({
  name: "kernel SHA-1 batch, 1024 × 64 B",
  group: "sym",
  fn: () => {
    sha1Batch(MSGS);
  },
});
Deno.bench({
  name: "kernel alg 3 MAC batch, 1024 × 40 B",
  group: "sym",
  fn: () => {
    macIso9797Alg3Batch(MAC_ITEMS, 2);
  },
});
