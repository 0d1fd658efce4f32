import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import { sm2 as smCrypto } from "sm-crypto";
import { fromHex, toHex } from "../core/hex.ts";
import {
  bigIntToBytes,
  bytesToBigInt,
  SM2_CURVE,
  sm2DigestReference,
  sm2PublicKey,
  sm2Sign,
  sm2SignDigest,
  sm2ZReference,
} from "../sim/sign.ts";
import {
  PkError,
  sm2Digest,
  sm2IsOnCurve,
  sm2MulAdd,
  sm2Verify,
  sm2VerifyBatch,
  sm2VerifyDigest,
  sm2VerifyDigestBatch,
  sm2VerifyDigestStatus,
  sm2VerifyStatus,
  sm2Z,
} from "./pk.ts";
import { Status } from "./status.ts";
import { xorshiftBytes as rng } from "../tests/support/rng.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const V = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/vectors/sm2.json", import.meta.url)),
);
const C = SM2_CURVE;
/** Independent implementation: @noble/curves configured with the SM2 parameters. */
const Point = weierstrass<bigint>({ p: C.p, n: C.n, h: 1n, a: C.a, b: C.b, Gx: C.Gx, Gy: C.Gy });
const G = Point.BASE;

function scalar(rand: (n: number) => Uint8Array): bigint {
  return (bytesToBigInt(rand(40)) % (C.n - 1n)) + 1n;
}

function pointBytes(P: InstanceType<typeof Point>): Uint8Array {
  const a = P.toAffine();
  const out = new Uint8Array(64);
  out.set(bigIntToBytes(a.x, 32));
  out.set(bigIntToBytes(a.y, 32), 32);
  return out;
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** SM2 verification equation evaluated with noble's point arithmetic. */
function nobleVerify(pub: Uint8Array, e: Uint8Array, sig: Uint8Array): boolean {
  const r = bytesToBigInt(sig.subarray(0, 32));
  const s = bytesToBigInt(sig.subarray(32));
  if (r < 1n || r >= C.n || s < 1n || s >= C.n) return false;
  let P;
  try {
    P = Point.fromAffine({
      x: bytesToBigInt(pub.subarray(0, 32)),
      y: bytesToBigInt(pub.subarray(32)),
    });
    P.assertValidity();
  } catch {
    return false;
  }
  const t = (r + s) % C.n;
  if (t === 0n) return false;
  const Q = G.multiplyUnsafe(s).add(P.multiplyUnsafe(t));
  if (Q.is0()) return false;
  return (bytesToBigInt(e) + Q.toAffine().x) % C.n === r;
}

/** Signs a digest with noble's point arithmetic (fast enough for thousands of keys). */
function nobleSign(d: bigint, e: bigint, rand: (n: number) => Uint8Array): Uint8Array {
  for (;;) {
    const k = scalar(rand);
    const r = mod(e + G.multiply(k).toAffine().x, C.n);
    if (r === 0n || r + k === C.n) continue;
    const inv = modInv(1n + d, C.n);
    const s = mod(inv * (k - r * d), C.n);
    if (s === 0n) continue;
    const out = new Uint8Array(64);
    out.set(bigIntToBytes(r, 32));
    out.set(bigIntToBytes(s, 32), 32);
    return out;
  }
}

function modInv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

Deno.test("SM2: GM/T 0003.5 Annex A vector (docs/emv-pboc.md, Published test vectors): Z, e, signature, verification", () => {
  const a = V.annexA;
  const pub = fromHex(a.publicKey);
  assertEquals(toHex(sm2PublicKey(fromHex(a.privateKey))), a.publicKey);
  assertEquals(toHex(sm2ZReference(pub, a.userId)), a.z);
  const msg = fromHex(a.message);
  const e = sm2DigestReference(pub, msg, a.userId);
  assertEquals(toHex(e), a.e);
  // The test-only signer reproduces r‖s with the published k.
  assertEquals(toHex(sm2Sign(fromHex(a.privateKey), msg, a.userId, fromHex(a.k))), a.signature);
  const sig = fromHex(a.signature);
  assert(sm2IsOnCurve(pub));
  assert(sm2VerifyDigest(pub, e, sig));
  assert(nobleVerify(pub, e, sig));
  assert(!sm2VerifyDigest(pub, sm2DigestReference(pub, msg, a.failsWithUserId), sig));
  assert(!sm2VerifyDigest(pub, sm2DigestReference(pub, fromHex(a.failsWithMessage)), sig));
});

Deno.test("SM2: PBOC ICC certificate sample verifies with the issuer key (docs/emv-pboc.md, Published test vectors)", () => {
  const c = V.pbocCertificate;
  const issuer = fromHex(c.issuerCertificate);
  const icc = fromHex(c.iccCertificate);
  const issuerKey = issuer.subarray(14, 78);
  assert(sm2IsOnCurve(issuerKey));
  const signed = new Uint8Array([...icc.subarray(0, 84), ...fromHex(c.staticData)]);
  const sig = icc.subarray(84, 148);
  assert(sm2VerifyDigest(issuerKey, sm2DigestReference(issuerKey, signed), sig));
  assert(nobleVerify(issuerKey, sm2DigestReference(issuerKey, signed), sig));
  // Fails with an empty ID and without the trailing AIP.
  assert(!sm2VerifyDigest(issuerKey, sm2DigestReference(issuerKey, signed, ""), sig));
  const noAip = signed.subarray(0, signed.length - 2);
  assert(!sm2VerifyDigest(issuerKey, sm2DigestReference(issuerKey, noAip), sig));
  // The ICC public key inside the certificate is on the curve as well.
  assert(sm2IsOnCurve(icc.subarray(20, 84)));
});

Deno.test("SM2: PBOC dynamic-signature sample (docs/emv-pboc.md, Published test vectors)", () => {
  const d = V.pbocDynamic;
  const pub = fromHex(d.publicKey);
  const msg = fromHex(d.message);
  const sig = fromHex(d.signature);
  assert(sm2VerifyDigest(pub, sm2DigestReference(pub, msg), sig));
  const tampered = msg.slice();
  tampered[10] ^= 0x01;
  assert(!sm2VerifyDigest(pub, sm2DigestReference(pub, tampered), sig));
});

Deno.test("SM2: point arithmetic s·G + t·P agrees with @noble/curves on random keys", () => {
  const rand = rng(0xC0FFEE);
  const rounds = SLOW ? 20_000 : 2_000;
  for (let i = 0; i < rounds; i++) {
    const d = scalar(rand);
    const P = G.multiply(d);
    const pub = pointBytes(P);
    // mix in boundary scalars: 0, 1, n-1, small values
    const pick = (k: number) =>
      k === 0 ? 0n : k === 1 ? 1n : k === 2 ? C.n - 1n : k === 3 ? BigInt(i) : scalar(rand);
    const s = pick(i % 7);
    const t = pick((i >> 3) % 7);
    const want = G.multiplyUnsafe(s).add(P.multiplyUnsafe(t));
    const got = sm2MulAdd(bigIntToBytes(s, 32), bigIntToBytes(t, 32), pub);
    if (want.is0()) assertEquals(got, null, `s ${s} t ${t}`);
    else assertEquals(toHex(got!), toHex(pointBytes(want)), `key ${toHex(pub)} s ${s} t ${t}`);
  }
  // s·G + t·P = O when P = G and s = n - t
  const pubG = pointBytes(G);
  assertEquals(sm2MulAdd(bigIntToBytes(C.n - 5n, 32), bigIntToBytes(5n, 32), pubG), null);
  // P + P through the doubling branch of the addition: s·G + t·G with s = t
  const two = pointBytes(G.multiply(14n));
  assertEquals(toHex(sm2MulAdd(bigIntToBytes(7n, 32), bigIntToBytes(7n, 32), pubG)!), toHex(two));
});

Deno.test("SM2: verification agrees with the noble-based verifier on random keys and messages", () => {
  const rand = rng(0xBADD1E);
  const rounds = SLOW ? 20_000 : 2_000;
  const items = [];
  const expected: boolean[] = [];
  for (let i = 0; i < rounds; i++) {
    const d = scalar(rand);
    const pub = pointBytes(G.multiply(d));
    const e = rand(32);
    const sig = nobleSign(d, bytesToBigInt(e), rand);
    const variant = i % 4;
    let e2 = e, sig2 = sig;
    if (variant === 1) {
      sig2 = sig.slice();
      sig2[rand(1)[0] % 64] ^= 1 << (rand(1)[0] % 8);
    } else if (variant === 2) {
      e2 = e.slice();
      e2[rand(1)[0] % 32] ^= 0x80;
    } else if (variant === 3) {
      sig2 = rand(64);
    }
    const want = nobleVerify(pub, e2, sig2);
    if (variant === 0) assert(want, "noble must accept a fresh signature");
    assertEquals(sm2VerifyDigest(pub, e2, sig2), want, `case ${i} variant ${variant}`);
    items.push({ publicKey: pub, e: e2, signature: sig2 });
    expected.push(want);
  }
  // The batch form gives the same verdicts in one call.
  const statuses = sm2VerifyDigestBatch(items);
  assertEquals(statuses.map((s) => s === Status.OK), expected);
});

Deno.test("SM2: signatures from the test-only signer verify in sm-crypto and the kernel", () => {
  const rand = rng(31337);
  for (let i = 0; i < 12; i++) {
    const priv = bigIntToBytes(scalar(rand) % (C.n - 2n) + 1n, 32);
    const pub = sm2PublicKey(priv);
    const msg = rand(1 + (i * 37) % 200);
    const sig = sm2Sign(priv, msg);
    assert(sm2VerifyDigest(pub, sm2DigestReference(pub, msg), sig));
    assert(
      smCrypto.doVerifySignature(Array.from(msg), toHex(sig), "04" + toHex(pub), { hash: true }),
      "sm-crypto accepts",
    );
    const bad = sig.slice();
    bad[63] ^= 1;
    assert(!sm2VerifyDigest(pub, sm2DigestReference(pub, msg), bad));
  }
});

Deno.test("SM2: digests e >= n and e = 0 verify (boundary of the mod-n reduction)", () => {
  const rand = rng(5);
  for (const ev of [0n, 1n, C.n - 1n, C.n, C.n + 1n, (1n << 256n) - 1n]) {
    const d = scalar(rand);
    const pub = pointBytes(G.multiply(d));
    const e = bigIntToBytes(ev, 32);
    const sig = sm2SignDigest(d, ev);
    assert(nobleVerify(pub, e, sig), `noble e=${ev}`);
    assert(sm2VerifyDigest(pub, e, sig), `kernel e=${ev}`);
  }
});

Deno.test("SM2: off-curve keys, out-of-range r/s and r + s = n are refused with stable statuses", () => {
  const a = V.annexA;
  const pub = fromHex(a.publicKey);
  const sig = fromHex(a.signature);
  const e = fromHex(a.e);
  const st = (p: Uint8Array, x: Uint8Array, s: Uint8Array) => sm2VerifyDigestStatus(p, x, s);
  const offCurve = pub.slice();
  offCurve[63] ^= 1;
  assertEquals(st(offCurve, e, sig), Status.SM2_POINT_NOT_ON_CURVE);
  assert(!sm2IsOnCurve(offCurve));
  assert(!sm2IsOnCurve(new Uint8Array(64)));
  const xTooBig = new Uint8Array(64);
  xTooBig.set(bigIntToBytes(C.p, 32));
  assert(!sm2IsOnCurve(xTooBig));
  // (x, y + p) would be "on the curve" mod p but the coordinate is not below p.
  const yPlusP = pub.slice();
  const y = bytesToBigInt(pub.subarray(32));
  if (y + C.p < 1n << 256n) {
    yPlusP.set(bigIntToBytes(y + C.p, 32), 32);
    assert(!sm2IsOnCurve(yPlusP));
  }
  const n = bigIntToBytes(C.n, 32);
  const zero = new Uint8Array(32);
  const r = sig.subarray(0, 32);
  const s = sig.subarray(32);
  const join = (x: Uint8Array, y: Uint8Array) => new Uint8Array([...x, ...y]);
  assertEquals(st(pub, e, join(zero, s)), Status.SM2_SCALAR_RANGE);
  assertEquals(st(pub, e, join(r, zero)), Status.SM2_SCALAR_RANGE);
  assertEquals(st(pub, e, join(n, s)), Status.SM2_SCALAR_RANGE);
  assertEquals(st(pub, e, join(r, n)), Status.SM2_SCALAR_RANGE);
  assertEquals(st(pub, e, new Uint8Array(64).fill(0xFF)), Status.SM2_SCALAR_RANGE);
  const nm1 = bigIntToBytes(C.n - 1n, 32);
  assertEquals(st(pub, e, join(nm1, nm1)), Status.SM2_BAD_SIGNATURE);
  // r + s = n gives t = 0: refused before any point arithmetic.
  const rv = bytesToBigInt(r);
  assertEquals(st(pub, e, join(r, bigIntToBytes(C.n - rv, 32))), Status.SM2_BAD_SIGNATURE);
  assertEquals(st(pub, e, sig), Status.OK);
  assertThrows(() => sm2VerifyDigest(pub.subarray(1), e, sig), RangeError);
  assertThrows(() => sm2VerifyDigest(pub, e.subarray(1), sig), RangeError);
  assertThrows(() => sm2VerifyDigest(pub, e, sig.subarray(1)), RangeError);
});

Deno.test("SM2: kernel scratch (RSA slots, SM2 tables, Z/M buffers) stays inside the PK region", async () => {
  const { kernel } = await import("./kernel.ts");
  const { INDEX_BASE, PK_BASE } = await import("./layout.ts");
  const end = (kernel.SM2_SCRATCH_END as WebAssembly.Global).value as number;
  const rsaEnd = (kernel.RSA_SCRATCH_END as WebAssembly.Global).value as number;
  assert(rsaEnd > PK_BASE && rsaEnd <= end, `RSA scratch end ${rsaEnd}`);
  assert(end <= INDEX_BASE, `SM2 scratch ends at ${end.toString(16)}`);
});

Deno.test("SM2: the committed unrolled field multiplication equals its generator's output", async () => {
  const { generate } = await import("./gen_sm2_field.ts");
  const committed = Deno.readTextFileSync(
    new URL("./assembly/sm2_field_mul.ts", import.meta.url),
  );
  assertEquals(committed, generate());
});

Deno.test("SM2 with the kernel's SM3: Z and e of Annex A, full verification, wrong ID/message", () => {
  const a = V.annexA;
  const pub = fromHex(a.publicKey);
  const msg = fromHex(a.message);
  const sig = fromHex(a.signature);
  assertEquals(toHex(sm2Z(pub)), a.z);
  assertEquals(toHex(sm2Z(pub, a.userId)), a.z);
  assertEquals(toHex(sm2Digest(pub, msg)), a.e);
  assert(sm2Verify(pub, msg, sig));
  assert(sm2Verify(pub, msg, sig, new TextEncoder().encode(a.userId)));
  assert(!sm2Verify(pub, msg, sig, a.failsWithUserId));
  assert(!sm2Verify(pub, fromHex(a.failsWithMessage), sig));
  assertEquals(sm2VerifyStatus(pub, msg, new Uint8Array(64)), Status.SM2_SCALAR_RANGE);
});

Deno.test("SM2 with the kernel's SM3: PBOC certificate and dynamic-signature samples", () => {
  const c = V.pbocCertificate;
  const issuerKey = fromHex(c.issuerCertificate).subarray(14, 78);
  const icc = fromHex(c.iccCertificate);
  const signed = new Uint8Array([...icc.subarray(0, 84), ...fromHex(c.staticData)]);
  assert(sm2Verify(issuerKey, signed, icc.subarray(84, 148)));
  assert(!sm2Verify(issuerKey, signed, icc.subarray(84, 148), ""));
  const d = V.pbocDynamic;
  assert(sm2Verify(fromHex(d.publicKey), fromHex(d.message), fromHex(d.signature)));
  // Both through the batch form, with one bad item in between.
  const statuses = sm2VerifyBatch([
    { publicKey: issuerKey, message: signed, signature: icc.subarray(84, 148) },
    { publicKey: issuerKey, message: signed.subarray(1), signature: icc.subarray(84, 148) },
    {
      publicKey: fromHex(d.publicKey),
      message: fromHex(d.message),
      signature: fromHex(d.signature),
    },
    {
      publicKey: fromHex(V.annexA.publicKey),
      message: fromHex(V.annexA.message),
      signature: fromHex(V.annexA.signature),
      userId: V.annexA.userId,
    },
  ]);
  assertEquals(statuses, [Status.OK, Status.SM2_BAD_SIGNATURE, Status.OK, Status.OK]);
});

Deno.test("SM2 with the kernel's SM3: Z and e agree with node:crypto SM3 for random IDs and lengths", () => {
  const rand = rng(2718);
  for (let i = 0; i < 300; i++) {
    const pub = rand(64);
    const id = rand(i % 3 === 0 ? 0 : (i * 7) % 300);
    const msg = rand((i * 13) % 400); // crosses SM3 block boundaries with Z in front
    assertEquals(toHex(sm2Z(pub, id)), toHex(sm2ZReference(pub, id)));
    assertEquals(toHex(sm2Digest(pub, msg, id)), toHex(sm2DigestReference(pub, msg, id)));
  }
  const longId = new Uint8Array(8191).fill(0x41);
  const pubL = rand(64);
  assertEquals(toHex(sm2Z(pubL, longId)), toHex(sm2ZReference(pubL, longId)));
  let code = "";
  try {
    sm2Z(rand(64), new Uint8Array(8192));
  } catch (e) {
    code = e instanceof PkError ? e.code : String(e);
  }
  assertEquals(code, "SM2_USER_ID_TOO_LONG");
});

Deno.test("SM2 with the kernel's SM3: random keys and messages, full path vs noble + node:crypto SM3", () => {
  const rand = rng(1618);
  const items = [];
  const expected: number[] = [];
  for (let i = 0; i < 300; i++) {
    const d = scalar(rand);
    const pub = pointBytes(G.multiply(d));
    const msg = rand((i * 31) % 250);
    const e = sm2DigestReference(pub, msg);
    const sig = nobleSign(d, bytesToBigInt(e), rand);
    const bad = i % 2 === 1;
    const m2 = bad ? new Uint8Array([...msg, 0]) : msg;
    const want = nobleVerify(pub, sm2DigestReference(pub, m2), sig);
    assertEquals(want, !bad);
    assertEquals(sm2Verify(pub, m2, sig), want);
    items.push({ publicKey: pub, message: m2, signature: sig });
    expected.push(want ? Status.OK : Status.SM2_BAD_SIGNATURE);
  }
  assertEquals(sm2VerifyBatch(items), expected);
});

Deno.test("SM2 field: product, square, add, sub, small multiple agree with BigInt on edge and random values", async () => {
  const { fn, mem } = await import("./kernel.ts");
  const { PARAM_BASE } = await import("./layout.ts");
  const op = fn<(op: number, a: number, b: number, out: number) => number>("sm2FieldOp");
  const p = C.p;
  const rInv = (() => {
    // 2^-256 mod p by Fermat
    let r = 1n, b = (1n << 256n) % p, e = p - 2n;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % p;
      b = (b * b) % p;
      e >>= 1n;
    }
    return r;
  })();
  const put = (v: bigint, at: number) => mem.set(bigIntToBytes(v, 32).reverse(), at);
  const get = (at: number) => bytesToBigInt(mem.slice(at, at + 32).reverse());
  const A = PARAM_BASE + 4096, B = A + 32, O = A + 64;
  const edges = [
    0n,
    1n,
    2n,
    p - 1n,
    p - 2n,
    p >> 1n,
    (p + 1n) >> 1n,
    1n << 255n,
    (1n << 224n) - 1n,
    0xFFFFFFFFn,
    1n << 32n,
    p - (1n << 32n),
    (1n << 192n) + 5n,
    // k·a crosses a multiple of 2^256 or of p (the folds and the final subtraction in k·a)
    ...[3n, 5n, 6n, 7n].flatMap((k) => [(1n << 256n) / k, (1n << 256n) / k + 1n, p / k + 1n]),
    p - (1n << 224n),
  ];
  const rand = rng(99);
  const values = [...edges];
  for (let i = 0; i < 3000; i++) values.push(bytesToBigInt(rand(32)) % p);
  for (let i = 0; i < values.length; i++) {
    const a = values[i];
    const bs = i < edges.length
      ? edges
      : [values[(i * 7919) % values.length], bytesToBigInt(rand(32)) % p];
    for (const b of bs) {
      put(a, A);
      put(b, B);
      assertEquals(op(0, A, B, O), 0);
      assertEquals(get(O), (a * b * rInv) % p, `mul ${a} ${b}`);
      assertEquals(op(1, A, B, O), 0);
      assertEquals(get(O), (a * a * rInv) % p, `sqr ${a}`);
      assertEquals(op(2, A, B, O), 0);
      assertEquals(get(O), (a + b) % p, `add ${a} ${b}`);
      assertEquals(op(3, A, B, O), 0);
      assertEquals(get(O), mod(a - b, p), `sub ${a} ${b}`);
    }
    for (let k = 2n; k <= 8n; k++) {
      put(k, B);
      assertEquals(op(4, A, B, O), 0);
      assertEquals(get(O), (k * a) % p, `${k}·${a}`);
    }
    if (i === 0) {
      // k outside 2..8 is refused, not computed
      for (const k of [0n, 1n, 9n]) {
        put(k, B);
        assertEquals(op(4, A, B, O), Status.BAD_ARGUMENT, `k = ${k}`);
      }
    }
  }
});

Deno.test("SM2: per-key tables for recurring keys agree with noble (point arithmetic, verification, eviction)", async () => {
  const { fn, kernel } = await import("./kernel.ts");
  const clear = fn<() => void>("sm2KeyCacheClear");
  clear();
  const rand = rng(0x7AB1E);
  const after = (kernel.SM2_KEY_TABLE_AFTER as WebAssembly.Global).value as number;
  // 12 keys (more than the slots, so slots are contended), each used well past the sighting
  // count that earns a table.
  const keys = Array.from({ length: 12 }, () => {
    const d = scalar(rand);
    return { d, P: G.multiply(d), pub: pointBytes(G.multiply(d)) };
  });
  const pick = (i: number) =>
    i % 9 === 0 ? 0n : i % 9 === 1 ? 1n : i % 9 === 2 ? C.n - 1n : i % 9 === 3 ? 8n : scalar(rand);
  for (let round = 0; round < after + 12; round++) {
    for (const [ki, k] of keys.entries()) {
      const s = pick(round + ki);
      const t = pick(round * 7 + ki + 4);
      const want = G.multiplyUnsafe(s).add(k.P.multiplyUnsafe(t));
      const got = sm2MulAdd(bigIntToBytes(s, 32), bigIntToBytes(t, 32), k.pub);
      if (want.is0()) assertEquals(got, null, `round ${round} key ${ki}`);
      else assertEquals(toHex(got!), toHex(pointBytes(want)), `round ${round} key ${ki} t ${t}`);
      const e = rand(32);
      const sig = nobleSign(k.d, bytesToBigInt(e), rand);
      const bad = round % 3 === 0;
      if (bad) sig[5] ^= 0x10;
      assertEquals(sm2VerifyDigest(k.pub, e, sig), nobleVerify(k.pub, e, sig), `verify ${round}`);
      assertEquals(nobleVerify(k.pub, e, sig), !bad);
    }
  }
  // t·P = -s·G through the table path: s·G + t·P is the point at infinity.
  const k0 = keys[0];
  const t0 = 123456789n;
  const s0 = (C.n - ((t0 * k0.d) % C.n)) % C.n;
  assertEquals(sm2MulAdd(bigIntToBytes(s0, 32), bigIntToBytes(t0, 32), k0.pub), null);
  // A newcomer used more often than the table holders evicts the least-used one; every key
  // still verifies right, by table or by wNAF, before, during and after the eviction.
  const fresh = (() => {
    const d = scalar(rand);
    return { d, pub: pointBytes(G.multiply(d)) };
  })();
  for (let i = 0; i < 3 * after; i++) {
    const k = i % 4 === 3 ? keys[i % 12] : fresh;
    const e = rand(32);
    const sig = nobleSign(k.d, bytesToBigInt(e), rand);
    if (i % 5 === 0) sig[40] ^= 1;
    assertEquals(sm2VerifyDigest(k.pub, e, sig), i % 5 !== 0, `newcomer round ${i}`);
  }
  clear();
});
