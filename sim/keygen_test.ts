import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { fromHex, toHex } from "../core/hex.ts";
import { rsaPrivate, rsaPrivateCrt, sm2Sign, sm2SignWith, sm2ZReference } from "./sign.ts";
import {
  bigToBytes,
  bytesToBig,
  generateRsaKeyPair,
  generateSm2KeyPair,
  isProbablePrime,
  modPow,
  sm2BaseMul,
  sm2PublicKey,
} from "./keygen.ts";
import { Rng } from "./prng.ts";
import crypto from "node:crypto";
import { sm2 } from "sm-crypto";

// GB/T 32918.5 Annex A / OpenSSL sm2_internal_test.c (docs/emv-pboc.md).
const A = {
  d: "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8",
  px: "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020",
  py: "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13",
  za: "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3",
  k: "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21",
  r: "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3",
  s: "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA",
};

Deno.test("SM2: public key, Z and the Annex A signature with the given k (fast path)", () => {
  const d = fromHex(A.d);
  const pub = sm2PublicKey(d);
  assertEquals(toHex(pub), A.px + A.py);
  assertEquals(toHex(sm2ZReference(pub, "1234567812345678")), A.za);
  const m = new TextEncoder().encode("message digest");
  const sig = sm2SignWith(sm2BaseMul, d, pub, m, undefined, fromHex(A.k));
  assertEquals(toHex(sig), A.r + A.s);
  // The fast path and the readable reference agree for another key and nonce.
  const kp = generateSm2KeyPair(new Rng("sign-test", "ref"));
  const k = new Rng("sign-test", "k").bytes(32);
  assertEquals(
    toHex(sm2SignWith(sm2BaseMul, kp.privateKey, kp.publicKey, m, undefined, k)),
    toHex(sm2Sign(kp.privateKey, m, undefined, k)),
  );
});

Deno.test("SM2: deterministic signatures verify with sm-crypto (independent path)", () => {
  const rng = new Rng("sign-test", "sm2");
  for (let i = 0; i < 4; i++) {
    const kp = generateSm2KeyPair(rng);
    const msg = rng.bytes(40 + i);
    const sig = sm2SignWith(sm2BaseMul, kp.privateKey, kp.publicKey, msg);
    assertEquals(toHex(sm2SignWith(sm2BaseMul, kp.privateKey, kp.publicKey, msg)), toHex(sig));
    const ok = sm2.doVerifySignature(
      Array.from(msg),
      toHex(sig).toLowerCase(),
      "04" + toHex(kp.publicKey).toLowerCase(),
      { hash: true, der: false },
    );
    assert(ok, "sm-crypto verifies");
    msg[0] ^= 1;
    assert(
      !sm2.doVerifySignature(
        Array.from(msg),
        toHex(sig).toLowerCase(),
        "04" + toHex(kp.publicKey).toLowerCase(),
        { hash: true, der: false },
      ),
    );
  }
});

Deno.test("RSA: seeded key generation is deterministic and e=3 keys work with node:crypto", () => {
  const a = generateRsaKeyPair(768, new Rng("sign-test", "rsa"));
  const b = generateRsaKeyPair(768, new Rng("sign-test", "rsa"));
  assertEquals(a.n, b.n);
  assertEquals(a.n.toString(2).length, 768);
  assert(isProbablePrime(a.p, new Rng("x")) && isProbablePrime(a.q, new Rng("y")));
  assertEquals(a.p % 3n, 2n);
  const n = bigToBytes(a.n, 96);
  const x = new Rng("sign-test", "x").bytes(96);
  x[0] = 0x6a;
  const s1 = rsaPrivate(n, bigToBytes(a.d, 96), x);
  const s2 = rsaPrivateCrt(a, x);
  assertEquals(toHex(s1), toHex(s2));
  assertEquals(toHex(bigToBytes(modPow(bytesToBig(s1), 3n, a.n), 96)), toHex(x));
  // independent: node:crypto public raw operation with the same key
  const pub = crypto.createPublicKey({
    key: { kty: "RSA", n: b64u(n), e: b64u(Uint8Array.of(3)) },
    format: "jwk",
  });
  const rec = crypto.publicEncrypt({ key: pub, padding: crypto.constants.RSA_NO_PADDING }, s1);
  assertEquals(toHex(new Uint8Array(rec)), toHex(x));
  assertThrows(() => rsaPrivateCrt(a, new Uint8Array(95)), RangeError);
});

function b64u(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
