/** The engine's batch entry: key wiping, argument checks, chunking and result layout. */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { engineVerify } from "./engine.ts";
import { mem } from "./kernel.ts";
import { ENGINE_BASE, IN_SIZE } from "./layout.ts";
import { tap, TEST_IMK } from "../tests/support/emv_signing.ts";
import { fromHex } from "../core/hex.ts";

const key = { algorithm: "3des" as const, issuer: "621234", dki: "01", value: TEST_IMK };
const icc = fromHex(tap({ oda: "none" }).icc);

function engineKeyBytesZero(): boolean {
  // Key table, issuer configurations, CA keys and per-record scratch (0x60000 bytes).
  for (let i = ENGINE_BASE; i < ENGINE_BASE + 0x60000; i++) if (mem[i] !== 0) return false;
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
  const pan = r.span(0, 0)!;
  assertEquals(
    Array.from(icc.subarray(pan[0], pan[0] + pan[1])),
    Array.from(fromHex("6212345678901234")),
  );
  const at = r.at(1);
  assertEquals([at.profile, at.type, at.typeSource, at.keyIndex], [1, 1, 1, -1]);
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

Deno.test("batches larger than one chunk give the same results", () => {
  // 20,000 records of ~130 bytes: one chunk by size; verify every result anyway.
  const n = 20000;
  const r = engineVerify(Array.from({ length: n }, () => ({ icc, fare: 200 })), [key]);
  let ok = 0;
  for (let i = 0; i < n; i++) if (r.status(i) === 0 && r.cryptogram(i) === 0) ok++;
  assertEquals(ok, n);
});
