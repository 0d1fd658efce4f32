/** The engine's batch entry: key wiping, argument checks, chunking and result layout. */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { engineVerify } from "../kernel-as/engine.ts";
import { fn, mem } from "../kernel-as/kernel.ts";
import { ENGINE_BASE, IN_SIZE } from "../kernel-as/layout.ts";
import { tap, TEST_IMK } from "./support/emv_signing.ts";
import { fromHex } from "../core/hex.ts";

const key = { algorithm: "3des" as const, issuer: "621234", dki: "01", value: TEST_IMK };
const icc = fromHex(tap({ oda: "none" }).icc);

const wipedEnd = fn<() => number>("engineWipedEnd")();

function engineKeyBytesZero(): boolean {
  // Key table, issuer configurations, CA keys and per-record scratch (memory.ts sub-map).
  for (let i = ENGINE_BASE; i < wipedEnd; i++) if (mem[i] !== 0) return false;
  return true;
}

Deno.test("issuer keys are wiped from kernel memory when a batch ends", () => {
  const r = engineVerify([{ icc, fare: 200 }], [key]);
  assertEquals([r.status(0), r.cryptogram(0)], [0, 0]);
  assert(engineKeyBytesZero(), "ENGINE region must be zero after the batch");
  // Also after a batch that fails on bad input.
  assertThrows(() => engineVerify([{ icc }], [{ ...key, issuer: "12x" }]), RangeError);
  assert(engineKeyBytesZero());
});

Deno.test("results: spans point into the record, missing slot and no-key", () => {
  const r = engineVerify([{ icc, fare: 200 }, { icc, fare: 200 }], []);
  assertEquals(r.cryptogram(0), 2, "no key → no-key");
  const pan = r.span(0, "5A")!;
  assertEquals(
    Array.from(icc.subarray(pan[0], pan[0] + pan[1])),
    Array.from(fromHex("6212345678901234")),
  );
  const at = r.at(1);
  // Profile 1 (pboc-cvn01-3des), type TC taken from the CVR (source 2) although 9F27 is there.
  assertEquals([at.profile, at.type, at.typeSource, at.keyIndex], [1, 1, 2, -1]);
});

Deno.test("argument checks name what is wrong", () => {
  assertThrows(() => engineVerify([{ icc }], Array(257).fill(key)), RangeError, "at most 256");
  assertThrows(
    () => engineVerify([{ icc }], [{ ...key, value: new Uint8Array(8) }]),
    RangeError,
    "16 bytes",
  );
  assertThrows(
    () => engineVerify([{ icc: new Uint8Array(IN_SIZE + 1) }], []),
    RangeError,
    "input region",
  );
});

/** The good tap, and the same tap with one cryptogram bit flipped (an AC mismatch). */
function goodAndBad(): [Uint8Array, Uint8Array] {
  const bad = icc.slice();
  bad[3] ^= 0x01; // 9F26 08 <AC...>: the first AC byte
  return [icc, bad];
}

Deno.test("the chunk loop: records split over several kernel calls keep their own results", () => {
  const [good, bad] = goodAndBad();
  const records = Array.from(
    { length: 23 },
    (_, i) => ({ icc: i % 3 === 0 ? bad : good, fare: 200 }),
  );
  const whole = engineVerify(records, [key]);
  const chunked = engineVerify(records, [key], [], undefined, { chunkRecords: 5 });
  for (let i = 0; i < records.length; i++) {
    // 406 = AC_MISMATCH (contract), cryptogram 1 = mismatch, 0 = ok.
    assertEquals(
      [chunked.status(i), chunked.cryptogram(i)],
      i % 3 === 0 ? [406, 1] : [0, 0],
      `record ${i}`,
    );
    assertEquals(chunked.at(i), whole.at(i), `record ${i}`);
  }
});

Deno.test("the chunk loop: the input region's size splits a large batch", () => {
  // 10,000 records carrying 3,000 bytes of static data each (no ODA evidence, so it is not
  // read) need more than IN_SIZE: the wrapper must cut the batch where the region is full.
  const [good, bad] = goodAndBad();
  const sd = new Uint8Array(3000);
  const n = 10_000;
  const records = Array.from({ length: n }, (_, i) => ({
    icc: i % 7 === 0 ? bad : good,
    staticData: sd,
    fare: 200,
  }));
  const bytes = records.reduce((s, r) => s + r.icc.length + r.staticData.length, 0);
  assert(bytes > IN_SIZE, "the batch must not fit the input region at once");
  const r = engineVerify(records, [key]);
  // Every record keeps its own verdict (a shifted result would break the 1-in-7 pattern) and
  // its PAN span points into its own chip data (all records share one layout).
  const pan = r.span(0, "5A");
  const wrong: number[] = [];
  let mismatches = 0;
  for (let i = 0; i < n; i++) {
    const want = i % 7 === 0 ? 1 : 0;
    const s = r.span(i, "5A");
    if (r.cryptogram(i) !== want || s?.[0] !== pan?.[0] || s?.[1] !== pan?.[1]) wrong.push(i);
    mismatches += r.cryptogram(i);
  }
  assertEquals(wrong, []);
  assertEquals(mismatches, Math.ceil(n / 7));
});
