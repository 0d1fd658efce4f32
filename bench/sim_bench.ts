/**
 * Simulator speed. Group "sim day": generating a day of 1,000 taps (qPBOC TCs/ARQCs with fDDA
 * 01 signatures, certificates made per card) against verifying the same records through the
 * engine's kernel path, in the same run — the ratio says how much dearer making a tap is than
 * checking it. Group "signing": the simulator's fast signing paths against the readable
 * references in sim/sign.ts.
 *
 * 100,000 taps (the figure the README reports): `ICFARE_SLOW=1 deno bench -A bench/sim_bench.ts`
 * runs one timed generation of 100,000 taps over 20,000 cards and 60 terminals.
 */
import { World } from "../sim/world.ts";
import { type BatchOut, generateDay } from "../sim/day.ts";
import { DEFAULT_FAULTS } from "../sim/faults.ts";
import { capkFile, keysFile, revocationsFile } from "../sim/simulate.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import { verifyRecordsKernel } from "../core/emv/batch.ts";
import type { TapRecord } from "../core/emv/verify.ts";
import { rsaPrivate, rsaPrivateCrt, sm2Sign, sm2SignWith } from "../sim/sign.ts";
import { bigToBytes, sm2BaseMul } from "../sim/keygen.ts";
import { sm2BaseMulFast } from "../sim/pki.ts";

const base = new World({ seed: "bench", cards: 400, terminals: 6, date: "2026-06-24" });
const cache = base.exportKeyCache();

function day(taps: number, cards: number, terminals: number): BatchOut[] {
  const w = new World({ seed: "bench", cards, terminals, date: "2026-06-24", keyCache: cache });
  const gen = generateDay(w, { taps, faults: DEFAULT_FAULTS });
  const out: BatchOut[] = [];
  for (let s = gen.next(); !s.done; s = gen.next()) out.push(s.value);
  return out;
}

const records: TapRecord[] = day(1000, 400, 6).flatMap((b) => b.body.records);
const keys = parseKeyFile(keysFile(base));
const capks = parseCapkFile({ ...capkFile(base), ...revocationsFile(base) });

Deno.bench({
  name: "generate a day of 1,000 taps (400 cards, fresh certificates)",
  group: "sim day",
  baseline: true,
  n: 5,
  warmup: 1,
  fn: () => {
    day(1000, 400, 6);
  },
});

Deno.bench({
  name: "verify the same 1,000 records (engine, kernel path)",
  group: "sim day",
  n: 5,
  warmup: 1,
  fn: () => {
    verifyRecordsKernel(records, { keys, capks });
  },
});

const rsa = base.issuers[0].iccRsaPool[0];
const block = new Uint8Array(rsa.bits / 8);
block[0] = 0x6a;
const nBytes = bigToBytes(rsa.n, rsa.bits / 8);
const dBytes = bigToBytes(rsa.d, rsa.bits / 8);

Deno.bench({
  name: `RSA-${rsa.bits} private op, CRT + window (simulator)`,
  group: "signing rsa",
  baseline: true,
  fn: () => {
    rsaPrivateCrt(rsa, block);
  },
});

Deno.bench({
  name: `RSA-${rsa.bits} private op, readable reference rsaPrivate`,
  group: "signing rsa",
  fn: () => {
    rsaPrivate(nBytes, dBytes, block);
  },
});

const sm2 = base.issuers[3].iccSm2Pool[0];
const msg = new Uint8Array(40);

Deno.bench({
  name: "SM2 sign, kernel point arithmetic (simulator)",
  group: "signing sm2",
  baseline: true,
  fn: () => {
    sm2SignWith(sm2BaseMulFast, sm2.privateKey, sm2.publicKey, msg);
  },
});

Deno.bench({
  name: "SM2 sign, noble point arithmetic",
  group: "signing sm2",
  fn: () => {
    sm2SignWith(sm2BaseMul, sm2.privateKey, sm2.publicKey, msg);
  },
});

Deno.bench({
  name: "SM2 sign, readable affine reference sm2Sign",
  group: "signing sm2",
  n: 5,
  warmup: 1,
  fn: () => {
    sm2Sign(sm2.privateKey, msg);
  },
});

Deno.bench({
  name: "generate 100,000 taps (20,000 cards, 60 terminals), one run",
  group: "sim 100k",
  ignore: Deno.env.get("ICFARE_SLOW") !== "1",
  n: 1,
  warmup: 0,
  fn: () => {
    day(100_000, 20_000, 60);
  },
});
