import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { constants, createHash, createPublicKey, publicEncrypt } from "node:crypto";
import { fromHex, toHex } from "../core/hex.ts";
import { bigIntToBytes, bytesToBigInt, modPow, rsaPrivate } from "../sim/sign.ts";
import { PkError, rsaCacheClear, rsaPublic, rsaPublicBatch } from "./pk.ts";
import { Status } from "./status.ts";
import { xorshiftBytes as rng } from "../tests/support/rng.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const vectorsDir = new URL("../fixtures/vectors/", import.meta.url);
const sda = JSON.parse(Deno.readTextFileSync(new URL("rsa_sda_pm3.json", vectorsDir)));
const capk = JSON.parse(Deno.readTextFileSync(new URL("capk.json", vectorsDir)));

function sha1(...parts: Uint8Array[]): string {
  const h = createHash("sha1");
  for (const p of parts) h.update(p);
  return toHex(new Uint8Array(h.digest()));
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PkError) return e.code;
    throw e;
  }
  return "no error";
}

function randomModulus(rand: (n: number) => Uint8Array, len: number): Uint8Array {
  const n = rand(len);
  n[0] |= n[0] === 0 ? 1 : 0;
  n[len - 1] |= 1;
  return n;
}

function randomBelow(rand: (n: number) => Uint8Array, n: Uint8Array): Uint8Array {
  const x = rand(n.length);
  x[0] = n[0] === 1 ? 0 : x[0] % n[0];
  return x;
}

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

Deno.test("RSA: Proxmark3 SDA chain (docs/emv-pboc.md, Published test vectors) — issuer certificate and SSAD", () => {
  const nCa = fromHex(sda.ca.modulus);
  assertEquals(
    sha1(fromHex(sda.ca.rid), fromHex(sda.ca.index), nCa, fromHex(sda.ca.exponent)),
    sda.ca.checksum.toUpperCase(),
  );
  const X = rsaPublic(nCa, fromHex(sda.ca.exponent), fromHex(sda.issuerCertificate));
  assertEquals(X.length, nCa.length);
  assertEquals(toHex(X.subarray(0, 15)), sda.expected.issuerCertPrefix.replace(/\s/g, ""));
  assertEquals(X[X.length - 1], 0xBC);
  const NCA = nCa.length;
  const embedded = toHex(X.subarray(NCA - 21, NCA - 1));
  assertEquals(embedded, sda.expected.issuerCertHash);
  const remainder = fromHex(sda.issuerRemainder);
  const exponent = fromHex(sda.issuerExponent);
  assertEquals(sha1(X.subarray(1, NCA - 21), remainder, exponent), embedded);
  // Issuer modulus = leftmost N_CA-36 bytes from the certificate ‖ remainder (92).
  const nI = X[13];
  const issuerModulus = new Uint8Array(nI);
  issuerModulus.set(X.subarray(15, 15 + NCA - 36));
  issuerModulus.set(remainder, NCA - 36);
  const S = rsaPublic(issuerModulus, exponent, fromHex(sda.ssad));
  assertEquals(toHex(S.subarray(0, 5)), "6A03013132");
  assertEquals(toHex(S.subarray(3, 5)), sda.expected.dac);
  assertEquals(S[S.length - 1], 0xBC);
  for (let i = 5; i < S.length - 21; i++) assertEquals(S[i], 0xBB, `pad byte ${i}`);
  assertEquals(
    sha1(S.subarray(1, S.length - 21), fromHex(sda.staticData)),
    toHex(S.subarray(S.length - 21, S.length - 1)),
  );
  // A flipped certificate bit: the recovery is still exactly c^e mod N (BigInt), and it no
  // longer carries the embedded hash of its own content — the check ODA relies on fails.
  const bad = fromHex(sda.issuerCertificate);
  bad[50] ^= 1;
  const caE = fromHex(sda.ca.exponent);
  const Y = rsaPublic(nCa, caE, bad);
  assertEquals(
    bytesToBigInt(Y),
    modPow(bytesToBigInt(bad), bytesToBigInt(caE), bytesToBigInt(nCa)),
  );
  assert(
    Y[0] !== 0x6a || Y[NCA - 1] !== 0xbc ||
      sha1(Y.subarray(1, NCA - 21), remainder, exponent) !== toHex(Y.subarray(NCA - 21, NCA - 1)),
    "a changed certificate must not pass the Table 6 checks",
  );
});

Deno.test("RSA: UnionPay CAPK 08 checksum (docs/emv-pboc.md, CA public keys) and a public op with it", () => {
  const k = capk.capks[0];
  const n = fromHex(k.modulus);
  assertEquals(n.length, 144);
  assertEquals(sha1(fromHex(k.rid), fromHex(k.index), n, fromHex(k.exponent)), k.checksum);
  const rand = rng(8);
  for (let i = 0; i < 20; i++) {
    const x = randomBelow(rand, n);
    const want = modPow(bytesToBigInt(x), 3n, bytesToBigInt(n));
    assertEquals(bytesToBigInt(rsaPublic(n, Uint8Array.of(3), x)), want);
  }
});

Deno.test("RSA: random odd moduli 512..2048 bits vs BigInt modPow (e=3, 65537, arbitrary)", () => {
  const rand = rng(0x5eed);
  const rounds = SLOW ? 20_000 : 1_500;
  for (let i = 0; i < rounds; i++) {
    const len = 64 + (rand(1)[0] * 193 >> 8); // 64..256 bytes
    const n = randomModulus(rand, len);
    const kind = i % 10;
    const e = kind < 5
      ? Uint8Array.of(3)
      : kind < 9
      ? Uint8Array.of(1, 0, 1)
      : rand(1 + (rand(1)[0] % 8)); // short arbitrary exponents (possibly with leading zeros)
    if (bytesToBigInt(e) === 0n) e[e.length - 1] = 2;
    const x = i % 97 === 0 ? new Uint8Array(len) : randomBelow(rand, n);
    const want = modPow(bytesToBigInt(x), bytesToBigInt(e), bytesToBigInt(n));
    const got = rsaPublic(n, e, x);
    assertEquals(got.length, len);
    assertEquals(bytesToBigInt(got), want, `modulus ${toHex(n)} e ${toHex(e)} x ${toHex(x)}`);
    if (kind < 5) {
      // e = 3: the first call took the set-up-free path; the second sets up a Montgomery
      // context, the third uses it. All three paths must agree with BigInt.
      for (let again = 0; again < 2; again++) {
        const y = randomBelow(rand, n);
        const w = modPow(bytesToBigInt(y), 3n, bytesToBigInt(n));
        assertEquals(bytesToBigInt(rsaPublic(n, e, y)), w, `again ${again} ${toHex(n)}`);
      }
    }
  }
});

Deno.test("RSA: long arbitrary exponents and x = n-1, 0, 1", () => {
  const rand = rng(77);
  for (const len of [64, 128, 144, 176, 248, 256]) {
    const n = randomModulus(rand, len);
    const N = bytesToBigInt(n);
    const e = rand(len);
    const cases = [N - 1n, 0n, 1n, 2n, bytesToBigInt(randomBelow(rand, n))];
    for (const xv of cases) {
      const x = bigIntToBytes(xv, len);
      assertEquals(bytesToBigInt(rsaPublic(n, e, x)), modPow(xv, bytesToBigInt(e), N));
      assertEquals(bytesToBigInt(rsaPublic(n, Uint8Array.of(1), x)), xv);
      assertEquals(bytesToBigInt(rsaPublic(n, Uint8Array.of(2), x)), (xv * xv) % N);
    }
  }
});

Deno.test("RSA: real keys vs node:crypto publicEncrypt (RSA_NO_PADDING) and rsaPrivate round trip", async () => {
  const { generateKeyPairSync } = await import("node:crypto");
  for (
    const [bits, e] of [[512, 3], [1024, 3], [1152, 3], [1408, 65537], [1984, 3], [2048, 65537]]
  ) {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", {
      modulusLength: bits,
      publicExponent: e,
    });
    const jwk = privateKey.export({ format: "jwk" }) as { n: string; d: string };
    const dec = (s: string) =>
      Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const n = dec(jwk.n);
    const d = dec(jwk.d);
    const eb = bigIntToBytes(BigInt(e), e === 3 ? 1 : 3);
    const rand = rng(bits + e);
    for (let i = 0; i < 10; i++) {
      const x = randomBelow(rand, n);
      const ref = new Uint8Array(
        publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, x),
      );
      assertEquals(toHex(rsaPublic(n, eb, x)), toHex(ref));
      // Sign with the test-only private op; verify with the kernel and node:crypto.
      const sig = rsaPrivate(n, d, x);
      assertEquals(toHex(rsaPublic(n, eb, sig)), toHex(x));
      const ref2 = new Uint8Array(
        publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, sig),
      );
      assertEquals(toHex(ref2), toHex(x));
    }
  }
});

Deno.test("RSA: random non-key moduli vs node:crypto via JWK import", () => {
  const rand = rng(4242);
  for (let i = 0; i < 60; i++) {
    const len = [64, 96, 128, 144, 176, 248, 256][i % 7];
    const n = randomModulus(rand, len);
    const e = i % 2 ? Uint8Array.of(3) : Uint8Array.of(1, 0, 1);
    const key = createPublicKey({ key: { kty: "RSA", n: b64url(n), e: b64url(e) }, format: "jwk" });
    const x = randomBelow(rand, n);
    const ref = new Uint8Array(publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, x));
    assertEquals(toHex(rsaPublic(n, e, x)), toHex(ref));
  }
});

Deno.test("RSA: refused inputs carry stable codes", () => {
  const n = randomModulus(rng(3), 128);
  const x = randomBelow(rng(4), n);
  const e = Uint8Array.of(3);
  assertEquals(code(() => rsaPublic(n.subarray(0, 63), e, x.subarray(0, 63))), "PK_MODULUS_LENGTH");
  assertEquals(
    code(() => rsaPublic(new Uint8Array(257).fill(0xFF), e, new Uint8Array(257))),
    "PK_MODULUS_LENGTH",
  );
  const even = n.slice();
  even[127] &= 0xFE;
  assertEquals(code(() => rsaPublic(even, e, x)), "PK_MODULUS_INVALID");
  const lead = n.slice();
  lead[0] = 0;
  assertEquals(code(() => rsaPublic(lead, e, x)), "PK_MODULUS_INVALID");
  assertEquals(code(() => rsaPublic(n, new Uint8Array(0), x)), "PK_EXPONENT_INVALID");
  assertEquals(code(() => rsaPublic(n, Uint8Array.of(0, 0), x)), "PK_EXPONENT_INVALID");
  assertEquals(code(() => rsaPublic(n, new Uint8Array(129).fill(1), x)), "PK_EXPONENT_INVALID");
  assertEquals(code(() => rsaPublic(n, e, x.subarray(1))), "PK_INPUT_LENGTH");
  assertEquals(code(() => rsaPublic(n, e, n)), "PK_INPUT_RANGE");
  assertEquals(code(() => rsaPublic(n, e, new Uint8Array(128).fill(0xFF))), "PK_INPUT_RANGE");
  const nMinus1 = n.slice();
  nMinus1[127] ^= 1; // n is odd: n-1
  assertEquals(code(() => rsaPublic(n, e, nMinus1)), "no error");
  assertThrows(() => rsaPublic("00" as unknown as Uint8Array, e, x), TypeError);
});

Deno.test("RSA: batch form agrees with single calls, statuses per item", () => {
  const rand = rng(99);
  const items = [];
  for (let i = 0; i < 300; i++) {
    const len = [128, 144, 176, 248][i % 4];
    const n = randomModulus(rand, len);
    items.push({ modulus: n, exponent: Uint8Array.of(3), input: randomBelow(rand, n) });
  }
  items[7] = { ...items[7], input: items[7].modulus };
  items[8] = { ...items[8], input: new Uint8Array(5) };
  items[9] = { ...items[9], modulus: new Uint8Array(10) };
  rsaCacheClear();
  const out = rsaPublicBatch(items);
  assertEquals(out.length, items.length);
  assertEquals(out[7].code, "PK_INPUT_RANGE");
  assertEquals(out[8].code, "PK_INPUT_LENGTH");
  assertEquals(out[9].code, "PK_MODULUS_LENGTH");
  for (let i = 0; i < items.length; i++) {
    if (i >= 7 && i <= 9) {
      assertEquals(out[i].output, undefined);
      continue;
    }
    assertEquals(out[i].code, "OK");
    const it = items[i];
    const want = modPow(bytesToBigInt(it.input), 3n, bytesToBigInt(it.modulus));
    assertEquals(bytesToBigInt(out[i].output!), want, `item ${i}`);
  }
  assertEquals(rsaPublicBatch([]), []);
});

Deno.test("RSA: explicit context slots (engine API): init, use, empty slot, bad slot", async () => {
  const { fn, mem } = await import("./kernel.ts");
  const { PARAM_BASE } = await import("./layout.ts");
  const init = fn<(slot: number, mod: number, len: number) => number>("rsaSlotInit");
  const pub = fn<(...a: number[]) => number>("rsaSlotPublic");
  const clear = fn<() => void>("rsaCacheClear");
  const rand = rng(1234);
  const n = randomModulus(rand, 176);
  const x = randomBelow(rand, n);
  const M = PARAM_BASE + 8192, E = M + 256, X = E + 8, O = X + 256;
  mem.set(n, M);
  mem[E] = 3;
  mem.set(x, X);
  clear();
  assertEquals(pub(100, E, 1, X, 176, O), Status.PK_SLOT_EMPTY);
  assertEquals(init(100, M, 176), Status.OK);
  assertEquals(pub(100, E, 1, X, 176, O), Status.OK);
  const want = modPow(bytesToBigInt(x), 3n, bytesToBigInt(n));
  assertEquals(bytesToBigInt(mem.slice(O, O + 176)), want);
  assertEquals(init(256, M, 176), Status.BAD_ARGUMENT);
  assertEquals(pub(256, E, 1, X, 176, O), Status.BAD_ARGUMENT);
  mem[M + 175] &= 0xFE; // even modulus: refused, and the slot is emptied
  assertEquals(init(100, M, 176), Status.PK_MODULUS_INVALID);
  assertEquals(pub(100, E, 1, X, 176, O), Status.PK_SLOT_EMPTY);
});

Deno.test("RSA: rsaPublicIfCached sets up a context only from a modulus's second sighting; rsaRecover always answers", async () => {
  const { rsaPublicIfCached } = await import("./pk.ts");
  const { rsaRecover, rsaPublicBigInt } = await import("../core/pki/rsa_bigint.ts");
  const rand = rng(606);
  rsaCacheClear();
  const n = randomModulus(rand, 144);
  const x = randomBelow(rand, n);
  const e = Uint8Array.of(3);
  const want = toHex(bigIntToBytes(modPow(bytesToBigInt(x), 3n, bytesToBigInt(n)), 144));
  assertEquals(rsaPublicIfCached(n, e, x), null); // first sighting with e = 3: nothing computed
  const f4 = Uint8Array.of(1, 0, 1);
  const n2 = randomModulus(rand, 144);
  const x2 = randomBelow(rand, n2);
  assertEquals( // other exponents are computed at once
    bytesToBigInt(rsaPublicIfCached(n2, f4, x2)!),
    modPow(bytesToBigInt(x2), 65537n, bytesToBigInt(n2)),
  );
  assertEquals(toHex(rsaPublicIfCached(n, e, x)!), want); // second: set up and computed
  assertEquals(toHex(rsaPublicIfCached(n, e, x)!), want); // cached
  const m = randomModulus(rand, 144);
  const y = randomBelow(rand, m);
  assertEquals(toHex(rsaRecover(m, e, y)), toHex(rsaPublicBigInt(m, e, y)));
  assertEquals(toHex(rsaRecover(m, e, y)), toHex(rsaPublic(m, e, y)));
  assertEquals(toHex(rsaRecover(n, e, x)), want);
  // Errors carry the same codes on both paths.
  for (const f of [rsaRecover, rsaPublicBigInt, rsaPublic]) {
    rsaCacheClear();
    assertEquals(code(() => f(n, e, n)), "PK_INPUT_RANGE");
    assertEquals(code(() => f(n, e, x.subarray(1))), "PK_INPUT_LENGTH");
    assertEquals(code(() => f(n, Uint8Array.of(0), x)), "PK_EXPONENT_INVALID");
    assertEquals(code(() => f(n.subarray(0, 40), e, x.subarray(0, 40))), "PK_MODULUS_LENGTH");
  }
});

Deno.test("RSA e=3: edge moduli and inputs through the set-up-free path, set-up and cache", () => {
  const rand = rng(31);
  for (let len = 64; len <= 256; len += 8) {
    const allOnes = new Uint8Array(len).fill(0xFF);
    const lowest = new Uint8Array(len);
    lowest[0] = 0x80;
    lowest[len - 1] = 1;
    const smallTop = randomModulus(rand, len);
    smallTop[0] = 0x01; // top limb of 1..few bits for many lengths
    const highTop = randomModulus(rand, len);
    highTop[0] = 0xFF;
    for (const n of [allOnes, lowest, smallTop, highTop]) {
      const N = bytesToBigInt(n);
      for (const xv of [N - 1n, N - 2n, 1n, 2n, N >> 1n, (1n << BigInt(8 * len - 9)) - 1n]) {
        if (xv >= N || xv < 0n) continue;
        const x = bigIntToBytes(xv, len);
        const want = modPow(xv, 3n, N);
        rsaCacheClear(); // first sighting: no set-up
        assertEquals(bytesToBigInt(rsaPublic(n, Uint8Array.of(3), x)), want, `plain ${len} ${xv}`);
        assertEquals(bytesToBigInt(rsaPublic(n, Uint8Array.of(0, 3), x)), want, `set-up ${len}`);
        assertEquals(bytesToBigInt(rsaPublic(n, Uint8Array.of(3), x)), want, `cached ${len}`);
      }
    }
  }
});
