/**
 * Taps verified per second per core, the verification engine against the same work done
 * natively (OpenSSL 3.0 libcrypto, bench/engine_native.c, compiled and run in the same run)
 * and through `node:crypto` calls:
 *   (a) PBOC 3DES cryptogram only: ICC MK + session key + AC
 *   (b) (a) + RSA fDDA 01, issuer key cached, ICC certificate recovered per tap (distinct cards)
 *   (c) (a) + the uncached chain at EMV sizes (CA 1984, issuer 1408, ICC 1152 bits)
 *   (d) SM4 cryptogram + SM2 fDDA (issuer key cached: ICC cert + dynamic signature per tap)
 *
 * `deno bench -A bench/engine_bench.ts` runs the JS-side cases as Deno.bench groups (kernel vs
 * node:crypto); `deno run -A bench/engine_bench.ts --report [seconds]` prints the full table with the
 * native figures and the ratios, measured in one run (the README table comes from it);
 * `--profile-d` only runs case (d) for 8 s, for `deno run --cpu-prof`.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  publicEncrypt,
} from "node:crypto";
import process from "node:process";
import { fromHex, toHex } from "../core/hex.ts";
import { encodePrimitives } from "../core/tlv/encode.ts";
import { computeAc, deriveIccMk } from "../core/emv/ac.ts";
import { PROFILES } from "../core/emv/profiles.ts";
import { optionABlock } from "../core/emv/keys.ts";
import { type BatchRecordBytes, verifyBatchBytes } from "../core/emv/batch.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import { concat } from "../core/emv/primitives.ts";
import { engineCacheClear, engineVerify } from "../kernel-as/engine.ts";
import {
  rsaCard,
  rsaKey,
  sm2Card,
  sm2Key,
  sm2KeyFromScalar,
  TEST_IMK,
  testCapkFile,
  testKeyFile,
} from "../tests/support/emv_signing.ts";

const CARDS = 120;
const keys = parseKeyFile(testKeyFile());
const capks = parseCapkFile(testCapkFile());
const engineKeys = keys.listImkAc().map((k) => ({ ...k }));

const CHIP = [
  "9F26",
  "9F27",
  "9F10",
  "9F37",
  "9F36",
  "95",
  "9A",
  "9C",
  "9F02",
  "5F2A",
  "82",
  "9F1A",
  "9F03",
  "5A",
  "5F34",
  "4F",
  "9F69",
  "9F4B",
];
const ODA = ["8F", "90", "92", "9F32", "9F46", "9F47", "9F48", "9F4A"];

/** A tap as bytes from a card's tags, with AC for `sm4` or 3DES. */
function record(
  seq: number,
  tags: Map<string, Uint8Array>,
  sm4: boolean,
  withOda: boolean,
  sd?: Uint8Array,
): BatchRecordBytes {
  const t = new Map(tags);
  t.set("9F10", fromHex(`07010103900000${sm4 ? "04" : "01"}0A01000000000000000000`));
  t.set("9F36", Uint8Array.of(seq >> 8, seq & 0xff));
  t.set("95", new Uint8Array(5));
  t.set("9C", new Uint8Array(1));
  t.set("9F1A", fromHex("0156"));
  t.set("9F03", new Uint8Array(6));
  t.set("5F34", fromHex("01"));
  t.set("9F27", fromHex("40"));
  const pan = toHex(t.get("5A")!).replace(/F+$/, "");
  const p = PROFILES[sm4 ? "pboc-cvn01-sm4" : "pboc-cvn01-3des"];
  t.set("9F26", computeAc(p, deriveIccMk(p, TEST_IMK, pan, "01"), t).ac);
  const icc = encodePrimitives(
    CHIP.filter((k) => t.has(k) && (withOda || (k !== "9F4B" && k !== "9F69"))).map((k) =>
      [k, t.get(k)!] as const
    ),
  );
  const oda = withOda
    ? encodePrimitives(ODA.filter((k) => t.has(k)).map((k) => [k, t.get(k)!] as const))
    : undefined;
  return { seq, icc, oda, staticData: withOda ? sd : undefined, fare: 200 };
}

function panFor(i: number): string {
  return "62123456" + String(10000000 + i).slice(-8);
}

const SM2_SETS = 10;
console.error(`engine_bench: building ${CARDS} RSA and ${CARDS * SM2_SETS} SM2 cards…`);
/** The ATC of the tap at position i of a batch (record seq i + 1): fDDA signs 02 ‖ ATC. */
const atcFor = (i: number) => (i + 1).toString(16).toUpperCase().padStart(4, "0");
const rsaCards = Array.from(
  { length: CARDS },
  (_, i) => rsaCard({ pan: panFor(i), atc: atcFor(i) }),
);
// Each SM2 card has its own ICC key pair, as real cards do, and (d)/(d1) take their batches in
// turn from SM2_SETS sets of CARDS cards: an ICC key comes back once every SM2_SETS batches, so
// no ICC key reaches the kernel's per-key table threshold (64 sightings) during a run, while
// the issuer key, seen on every tap, has its table as in a real day.
const sm2Cards = Array.from(
  { length: CARDS * SM2_SETS },
  (_, i) =>
    sm2Card({
      pan: panFor(i),
      atc: atcFor(i % CARDS),
      sm2Icc: sm2KeyFromScalar(0x1CC0_0000n + BigInt(i) * 7919n),
    }),
);
const setA = rsaCards.map((c, i) => record(i + 1, c.tags, false, false));
const setB = rsaCards.map((c, i) => record(i + 1, c.tags, false, true, c.staticData));
const setsD = Array.from(
  { length: SM2_SETS },
  (_, s) =>
    sm2Cards.slice(s * CARDS, (s + 1) * CARDS).map((c, i) =>
      record(i + 1, c.tags, true, true, c.staticData)
    ),
);
let nextD = 0;

// Every set verifies before timing.
const checked: [string, BatchRecordBytes[]][] = [
  ["a", setA],
  ["b", setB],
  ...setsD.map((s, i): [string, BatchRecordBytes[]] => [`d${i}`, s]),
];
for (const [name, set] of checked) {
  const r = verifyBatchBytes(set, { keys, capks });
  const bad = r.filter((x) => x.status !== "OK" || x.cryptogram !== "ok");
  if (bad.length) {
    throw new Error(`set ${name}: ${bad.length} records fail, e.g. ${JSON.stringify(bad[0])}`);
  }
  if (name !== "a" && r.some((x) => x.oda !== "ok")) throw new Error(`set ${name}: ODA not ok`);
}

// ---- the kernel engine cases ----
const engineRecords = setA.map((r) => ({ icc: r.icc, fare: r.fare }));
verifyBatchBytes(setB, { keys, capks });
for (const set of setsD) verifyBatchBytes(set, { keys, capks });

const cases: Record<string, () => void> = {
  "a-engine": () => {
    engineVerify(engineRecords, engineKeys);
  },
  "a": () => {
    verifyBatchBytes(setA, { keys });
  },
  // ODA runs in the kernel; its recovered-key caches are emptied as each case demands.
  "b": () => {
    engineCacheClear(2); // ICC keys recovered per tap, issuer key cached
    verifyBatchBytes(setB, { keys, capks });
  },
  "c": () => {
    engineCacheClear(3); // nothing cached: issuer and ICC keys recovered per tap
    verifyBatchBytes(setB, { keys, capks });
  },
  "d": () => {
    engineCacheClear(2);
    verifyBatchBytes(setsD[nextD++ % SM2_SETS], { keys, capks });
  },
  "d1": () => {
    // ICC keys cached (a card seen before): one SM2 verify per tap, the dynamic signature
    verifyBatchBytes(setsD[nextD++ % SM2_SETS], { keys, capks });
  },
};

// ---- node:crypto: the same crypto work, one call per primitive ----
const imk24 = concat(TEST_IMK, TEST_IMK.subarray(0, 8));
const ZIV = new Uint8Array(8);
function ede3(key24: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv("des-ede3-cbc", key24, ZIV);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(data));
}
function ecbBlocks(key24: Uint8Array, data: Uint8Array): Uint8Array {
  // ECB as one CBC call per block (Deno's node:crypto offers no des-ede3-ecb)
  const out = new Uint8Array(data.length);
  for (let o = 0; o < data.length; o += 8) out.set(ede3(key24, data.subarray(o, o + 8)), o);
  return out;
}
function parity(k: Uint8Array): Uint8Array {
  return k.map((b) => {
    const x = b & 0xfe;
    let n = 0;
    for (let v = x; v; v >>= 1) n += v & 1;
    return x | ((n & 1) ^ 1);
  });
}
const data37 = fromHex(
  "00000000020000000000000001560000000000015625010100123456787C00000103900000",
);
const padded40 = concat(data37, fromHex("800000"));
const blockD = optionABlock("6212345678901234", "01");
const AC = "CB085879F1505FE2";
function nodeAc(): string {
  const mk = parity(ecbBlocks(imk24, concat(blockD, blockD.map((b) => ~b & 0xff))));
  const atc = fromHex("0000000000000001000000000000FFFE");
  const sk = parity(ecbBlocks(concat(mk, mk.subarray(0, 8)), atc));
  const k1 = concat(sk.subarray(0, 8), sk.subarray(0, 8), sk.subarray(0, 8));
  const k2 = concat(sk.subarray(8), sk.subarray(8), sk.subarray(8));
  const h = ede3(k1, padded40).subarray(32, 40);
  const d = createDecipheriv("des-ede3-cbc", k2, ZIV);
  d.setAutoPadding(false);
  const t = new Uint8Array(d.update(h));
  return toHex(ede3(k1, t));
}
if (nodeAc() !== AC) throw new Error(`node:crypto AC path gives ${nodeAc()}, expected ${AC}`);

const card0 = rsaCards[0];
const jwk = (k: { modulus: Uint8Array; exponent: Uint8Array }) =>
  createPublicKey({
    key: {
      kty: "RSA",
      n: btoa(String.fromCharCode(...k.modulus)).replace(/\+/g, "-").replace(/\//g, "_").replace(
        /=+$/,
        "",
      ),
      e: btoa(String.fromCharCode(...k.exponent)).replace(/\+/g, "-").replace(/\//g, "_").replace(
        /=+$/,
        "",
      ),
    },
    format: "jwk",
  });
const kCa = jwk(rsaKey("ca1984"));
const kIss = jwk(rsaKey("issuer1408"));
const kIcc = jwk(rsaKey("icc1152"));
const t0 = card0.tags;
const terminal = concat(t0.get("9F37")!, t0.get("9F02")!, t0.get("5F2A")!, t0.get("9F69")!);
const iccExtra = concat(
  t0.get("9F48") ?? new Uint8Array(0),
  t0.get("9F47")!,
  card0.staticData,
  t0.get("82")!,
);
const issExtra = concat(t0.get("92") ?? new Uint8Array(0), t0.get("9F32")!);
function nodeRecover(
  key: ReturnType<typeof createPublicKey>,
  c: Uint8Array,
  extra: Uint8Array,
): boolean {
  const x = new Uint8Array(publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, c));
  const n = x.length;
  const md = createHash("sha1").update(x.subarray(1, n - 21)).update(extra).digest();
  return x[0] === 0x6a && x[n - 1] === 0xbc &&
    toHex(new Uint8Array(md)) === toHex(x.subarray(n - 21, n - 1));
}
const nodeCases = {
  "a": () => nodeAc() === AC,
  "b": () =>
    (nodeAc() === AC) && nodeRecover(kIss, t0.get("9F46")!, iccExtra) &&
    nodeRecover(kIcc, t0.get("9F4B")!, terminal),
  "c": () =>
    (nodeAc() === AC) && nodeRecover(kCa, t0.get("90")!, issExtra) &&
    nodeRecover(kIss, t0.get("9F46")!, iccExtra) &&
    nodeRecover(kIcc, t0.get("9F4B")!, terminal),
};
for (const [k, f] of Object.entries(nodeCases)) {
  if (!f()) throw new Error(`node:crypto case ${k} check failed`);
}

// ---- native inputs ----
function nativeInput(): string {
  const s = sm2Cards[0].tags;
  const sd = sm2Cards[0].staticData;
  const sm2Cert = s.get("9F46")!;
  const sm2Dyn = s.get("9F4B")!;
  const term = concat(s.get("9F37")!, s.get("9F02")!, s.get("5F2A")!, s.get("9F69")!);
  const lines: [string, Uint8Array][] = [
    ["data", data37],
    ["ac", fromHex(AC)],
    ["acSm4", fromHex("60B254E174AC2970")],
    ["blockD", blockD],
    ["imk", TEST_IMK],
    ["caModulus", rsaKey("ca1984").modulus],
    ["issuerModulus", rsaKey("issuer1408").modulus],
    ["iccModulus", rsaKey("icc1152").modulus],
    ["cert90", t0.get("90")!],
    ["cert9F46", t0.get("9F46")!],
    ["sdad9F4B", t0.get("9F4B")!],
    ["issuerHashExtra", issExtra],
    ["iccHashExtra", iccExtra],
    ["terminalData", terminal],
    ["sm2IssuerKey", sm2Key("issuer").publicKey],
    ["sm2IccKey", sm2Cards[0].icc.publicKey],
    ["sm2CertMessage", concat(sm2Cert.subarray(0, 84), sd, s.get("82")!)],
    ["sm2CertSig", sm2Cert.subarray(84)],
    ["sm2DynMessage", concat(sm2Dyn.subarray(0, sm2Dyn.length - 64), term)],
    ["sm2DynSig", sm2Dyn.subarray(sm2Dyn.length - 64)],
  ];
  return lines.map(([n, v]) => `${n} ${toHex(v)}`).join("\n") + "\n";
}

async function runNative(seconds: number): Promise<Record<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "icfare_engine_bench_" });
  const bin = `${dir}/engine_native`;
  const src = new URL("./engine_native.c", import.meta.url).pathname;
  const cc = await new Deno.Command("gcc", { args: ["-O2", "-o", bin, src, "-lcrypto"] }).output();
  if (cc.code !== 0) throw new Error(`gcc failed: ${new TextDecoder().decode(cc.stderr)}`);
  await Deno.writeTextFile(`${dir}/input.txt`, nativeInput());
  const out = await new Deno.Command(bin, { args: [`${dir}/input.txt`, String(seconds)] }).output();
  if (out.code !== 0) {
    throw new Error(`engine_native failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  await Deno.remove(dir, { recursive: true });
  return Object.fromEntries(
    new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => {
      const [k, v] = l.split(" ");
      return [k, Number(v)];
    }),
  );
}

/** Process CPU time in ms (user + system), as the native side measures its thread's. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Median of 3 repetitions of `seconds` CPU time each (after a warm-up) in taps per second. */
function rate(f: () => unknown, tapsPerCall: number, seconds: number): number {
  const w = cpuMs();
  while (cpuMs() - w < 200) f();
  const r: number[] = [];
  for (let k = 0; k < 3; k++) {
    let n = 0;
    const s = cpuMs();
    let e = s;
    while (e - s < seconds * 1000) {
      f();
      n++;
      e = cpuMs();
    }
    r.push((n * tapsPerCall) / ((e - s) / 1000));
  }
  return r.sort((a, b) => a - b)[1];
}

if (Deno.args.includes("--profile-d")) {
  const t0 = performance.now();
  while (performance.now() - t0 < 8000) cases.d();
  Deno.exit(0);
}

if (Deno.args.includes("--report")) {
  const seconds = Number(Deno.args.find((a) => /^[0-9.]+$/.test(a)) ?? "0.5");
  const native = await runNative(seconds);
  const n = CARDS;
  const k = {
    aEngine: rate(cases["a-engine"], n, seconds),
    a: rate(cases.a, n, seconds),
    b: rate(cases.b, n, seconds),
    c: rate(cases.c, n, seconds),
    d: rate(cases.d, n, Math.max(seconds, 1)),
    d1: rate(cases.d1, n, Math.max(seconds, 1)),
  };
  const nc = {
    a: rate(nodeCases.a, 1, seconds),
    b: rate(nodeCases.b, 1, seconds),
    c: rate(nodeCases.c, 1, seconds),
  };
  const f = (x: number) => Math.round(x).toLocaleString("en-US");
  const r = (x: number, y: number) => (x / y).toFixed(2) + "×";
  const rows = [
    ["(a) 3DES cryptogram, engine call only", k.aEngine, native.a, nc.a],
    ["(a) 3DES cryptogram, whole batch path", k.a, native.a, nc.a],
    ["(b) (a) + RSA fDDA, issuer cached, ICC cert per tap", k.b, native.b, nc.b],
    ["(c) (a) + uncached RSA chain 1984/1408/1152", k.c, native.c, nc.c],
    ["(d) SM4 cryptogram + SM2 fDDA (ICC cert + signature)", k.d, native.d, NaN],
    ["(d1) SM4 cryptogram + SM2 fDDA, ICC key cached", k.d1, native.d1, NaN],
  ] as const;
  console.log(
    `taps/s per core, one run (${new Date().toISOString()}), batches of ${n} distinct cards`,
  );
  console.log(
    "| case | icfare | native OpenSSL | node:crypto | icfare/native | icfare/node:crypto |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, ours, nat, node] of rows) {
    console.log(
      `| ${name} | ${f(ours)} | ${f(nat)} | ${Number.isNaN(node) ? "n/a" : f(node)} | ${
        r(ours, nat)
      } | ${Number.isNaN(node) ? "n/a" : r(ours, node)} |`,
    );
  }
} else {
  Deno.bench({
    name: "(a) engine call, 3DES cryptogram",
    group: "a",
    baseline: true,
    n: 200,
    fn: cases["a-engine"],
  });
  Deno.bench({ name: "(a) batch path, 3DES cryptogram", group: "a", n: 200, fn: cases.a });
  Deno.bench({
    name: `(a) node:crypto ×${CARDS}`,
    group: "a",
    n: 50,
    fn: () => {
      for (let i = 0; i < CARDS; i++) nodeCases.a();
    },
  });
  Deno.bench({
    name: "(b) batch path, issuer cached",
    group: "b",
    baseline: true,
    n: 20,
    fn: cases.b,
  });
  Deno.bench({
    name: `(b) node:crypto ×${CARDS}`,
    group: "b",
    n: 10,
    fn: () => {
      for (let i = 0; i < CARDS; i++) nodeCases.b();
    },
  });
  Deno.bench({ name: "(c) batch path, uncached", group: "c", baseline: true, n: 10, fn: cases.c });
  Deno.bench({
    name: `(c) node:crypto ×${CARDS}`,
    group: "c",
    n: 10,
    fn: () => {
      for (let i = 0; i < CARDS; i++) nodeCases.c();
    },
  });
  Deno.bench({ name: "(d) batch path, SM4 + SM2", group: "d", n: 3, fn: cases.d });
}
