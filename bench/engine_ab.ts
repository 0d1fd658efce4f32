/**
 * Before/after throughput of the verification engine in ONE process: the cases of
 * `engine_bench.ts` ((a) cryptogram only, engine call and batch path; (b) RSA fDDA with the
 * issuer key cached; (c) the uncached RSA chain; (d) SM4 + SM2 fDDA; (d1) the same with ICC keys
 * cached), built and run on two checkouts — this tree and an older one (`OLD_ROOT`, e.g. a copy
 * of main) — each with its own kernel instance, timed in alternating short rounds so that the
 * load of a shared machine falls on both alike. Prints, per case, the median over rounds of
 * (this tree's taps/s) / (the old tree's taps/s) in the same round.
 *
 * `deno run -A bench/engine_ab.ts OLD_ROOT [rounds] [seconds-per-round]`
 */
import process from "node:process";

type Rec = {
  seq: number;
  icc: Uint8Array;
  oda?: Uint8Array;
  staticData?: Uint8Array;
  fare: number;
};

const CARDS = 120;
const SM2_SETS = 10;

/** The cases of one tree, built with that tree's own modules. */
async function casesOf(root: URL): Promise<Record<string, () => void>> {
  const t = await treeModules(root);
  const keys = t.parseKeyFile(t.s.testKeyFile());
  const capks = t.parseCapkFile(t.s.testCapkFile());
  const { setA, setB, setsD } = testSets(t);
  assertSetsVerify(root, t, { setA, setB, setsD }, keys, capks);
  const engineKeys = keys.listImkAc().map((k: object) => ({ ...k }));
  const engineRecords = setA.map((r: Rec) => ({ icc: r.icc, fare: r.fare }));
  const { engineCacheClear, engineVerify, verifyBatchBytes } = t;
  let nextD = 0;
  return {
    "a-engine": () => engineVerify(engineRecords, engineKeys),
    "a": () => verifyBatchBytes(setA, { keys }),
    "b": () => (engineCacheClear(2), verifyBatchBytes(setB, { keys, capks })),
    "c": () => (engineCacheClear(3), verifyBatchBytes(setB, { keys, capks })),
    "d": () => (engineCacheClear(2), verifyBatchBytes(setsD[nextD++ % SM2_SETS], { keys, capks })),
    "d1": () => verifyBatchBytes(setsD[nextD++ % SM2_SETS], { keys, capks }),
  };
}

/** The modules the cases use, imported from the tree at `root` (each tree its own kernel). */
async function treeModules(root: URL) {
  const m = (p: string) => import(new URL(p, root).href);
  const { fromHex, toHex } = await m("core/hex.ts");
  const { encodePrimitives } = await m("core/tlv/encode.ts");
  const { computeAc, deriveIccMk } = await m("core/emv/ac.ts");
  const { PROFILES } = await m("core/emv/profiles.ts");
  const { verifyBatchBytes } = await m("core/emv/batch.ts");
  const { parseKeyFile } = await m("core/emv/issuer_keys.ts");
  const { parseCapkFile } = await m("core/emv/capk.ts");
  const { engineCacheClear, engineVerify } = await m("kernel-as/engine.ts");
  const s = await m("tests/support/emv_signing.ts");
  return {
    fromHex,
    toHex,
    encodePrimitives,
    computeAc,
    deriveIccMk,
    PROFILES,
    verifyBatchBytes,
    parseKeyFile,
    parseCapkFile,
    engineCacheClear,
    engineVerify,
    s,
  };
}

type Tree = Awaited<ReturnType<typeof treeModules>>;

const CHIP = ["9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82"]
  .concat(["9F1A", "9F03", "5A", "5F34", "4F", "9F69", "9F4B"]);
const ODA = ["8F", "90", "92", "9F32", "9F46", "9F47", "9F48", "9F4A"];

/** An upload record of a signed test card, its AC computed by the tree's own engine formulas. */
function recordMaker(tree: Tree) {
  const { fromHex, toHex, encodePrimitives, computeAc, deriveIccMk, PROFILES, s } = tree;
  const sm4Id = PROFILES["pboc-cvn01-sm4"] ? "pboc-cvn01-sm4" : "pboc-sm4";
  return (
    seq: number,
    tags: Map<string, Uint8Array>,
    sm4: boolean,
    oda: boolean,
    sd?: Uint8Array,
  ): Rec => {
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
    const p = PROFILES[sm4 ? sm4Id : "pboc-cvn01-3des"];
    t.set("9F26", computeAc(p, deriveIccMk(p, s.TEST_IMK, pan, "01"), t).ac);
    const pick = (l: string[]) => l.filter((k) => t.has(k)).map((k) => [k, t.get(k)!] as const);
    const icc = encodePrimitives(pick(CHIP.filter((k) => oda || (k !== "9F4B" && k !== "9F69"))));
    return {
      seq,
      icc,
      oda: oda ? encodePrimitives(pick(ODA)) : undefined,
      staticData: oda ? sd : undefined,
      fare: 200,
    };
  };
}

interface TestSets {
  readonly setA: Rec[];
  readonly setB: Rec[];
  readonly setsD: Rec[][];
}

/**
 * Set A (cryptogram only) and B (RSA fDDA) over the same RSA cards; SM2_SETS sets D of SM4 +
 * SM2 fDDA cards, every card with its own SM2 ICC key.
 */
function testSets(t: Tree): TestSets {
  const { s } = t;
  const record = recordMaker(t);
  const atcHex = (i: number) => (i + 1).toString(16).toUpperCase().padStart(4, "0");
  const pan = (i: number) => "62123456" + String(10000000 + i).slice(-8);
  // The old signing helpers sign 02 00D1 whatever the ATC; the new ones 02 ‖ ATC.
  const rsa = Array.from({ length: CARDS }, (_, i) => s.rsaCard({ pan: pan(i), atc: atcHex(i) }));
  const sm2 = Array.from(
    { length: CARDS * SM2_SETS },
    (_, i) =>
      s.sm2Card({
        pan: pan(i),
        atc: atcHex(i % CARDS),
        sm2Icc: s.sm2KeyFromScalar(0x1CC0_0000n + BigInt(i) * 7919n),
      }),
  );
  const setA = rsa.map((c: { tags: Map<string, Uint8Array> }, i: number) =>
    record(i + 1, c.tags, false, false)
  );
  const setB = rsa.map((c: { tags: Map<string, Uint8Array>; staticData: Uint8Array }, i: number) =>
    record(i + 1, c.tags, false, true, c.staticData)
  );
  const setsD = Array.from(
    { length: SM2_SETS },
    (_, k) =>
      sm2.slice(k * CARDS, (k + 1) * CARDS).map((
        c: { tags: Map<string, Uint8Array>; staticData: Uint8Array },
        i: number,
      ) => record(i + 1, c.tags, true, true, c.staticData)),
  );
  return { setA, setB, setsD };
}

/** Fails unless every record verifies OK, with ODA ok in every set but a (it has no ODA data). */
function assertSetsVerify(
  root: URL,
  t: Tree,
  { setA, setB, setsD }: TestSets,
  keys: unknown,
  capks: unknown,
): void {
  const sets = [["a", setA], ["b", setB], ...setsD.map((x, i) => [`d${i}`, x])] as [
    string,
    Rec[],
  ][];
  for (const [name, set] of sets) {
    const r = t.verifyBatchBytes(set, { keys, capks }) as { status: string; oda: string }[];
    if (r.some((x) => x.status !== "OK" || (name !== "a" && x.oda !== "ok"))) {
      throw new Error(
        `${root.pathname}: set ${name} does not verify: ${
          JSON.stringify(r.find((x) => x.status !== "OK"))
        }`,
      );
    }
  }
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Taps per CPU second of `f` over `seconds`. */
function rate(f: () => unknown, seconds: number): number {
  let n = 0;
  const s = cpuMs();
  let e = s;
  while (e - s < seconds * 1000) {
    f();
    n++;
    e = cpuMs();
  }
  return (n * CARDS) / ((e - s) / 1000);
}

if (import.meta.main) {
  const oldRoot = Deno.args[0];
  if (!oldRoot) throw new Error("usage: engine_ab.ts OLD_ROOT [rounds] [seconds-per-round]");
  const rounds = Number(Deno.args[1] ?? "7");
  const seconds = Number(Deno.args[2] ?? "0.4");
  console.error("engine_ab: building both trees' cases…");
  const here = new URL("../", import.meta.url);
  const old = await casesOf(new URL(oldRoot.endsWith("/") ? oldRoot : oldRoot + "/", "file:///"));
  const now = await casesOf(here);
  for (const name of Object.keys(now)) {
    for (let w = 0; w < 3; w++) (old[name](), now[name]());
    const ratios: number[] = [];
    const rOld: number[] = [], rNew: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Alternate which tree goes first.
      const a = r % 2 ? rate(now[name], seconds) : 0;
      const o = rate(old[name], seconds);
      const b = r % 2 ? a : rate(now[name], seconds);
      rOld.push(o);
      rNew.push(b);
      ratios.push(b / o);
    }
    const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1];
    console.log(
      `| ${name} | ${Math.round(med(rOld)).toLocaleString("en-US")} | ${
        Math.round(med(rNew)).toLocaleString("en-US")
      } | ${med(ratios).toFixed(3)} | ${Math.min(...ratios).toFixed(2)}–${
        Math.max(...ratios).toFixed(2)
      } |`,
    );
  }
}
