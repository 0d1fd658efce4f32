/**
 * Signing keys in the key store (docs/keys.md, "Signing keys"): SM2 and ECDSA P-256 private
 * keys generated, sealed, listed by public key and KCV; signatures checked by verifiers that
 * share nothing with icfare's signer (sm-crypto and the kernel for SM2, WebCrypto for ECDSA).
 */
import { assert, assertEquals, assertThrows } from "@icfare/assert";
import { createHash } from "node:crypto";
import { sm2 as smCrypto } from "sm-crypto";
import { fromHex, toHex } from "../core/hex.ts";
import { KeyStore, keyStorePaths } from "../core/keys/store.ts";
import { publicKeyOf, signMessage } from "../core/keys/ec.ts";
import { openSigner, publicKeyInfo, signerFromPrivateKey } from "../core/keys/signing.ts";
import { kcv } from "../core/keys/kcv.ts";
import { sm2Verify } from "../kernel-as/pk.ts";
import { scanFiles } from "./support/key_scan.ts";

const V = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/vectors/sm2.json", import.meta.url)),
).annexA;

const sha256Kcv = (pub: Uint8Array) =>
  createHash("sha256").update(pub).digest("hex").slice(0, 6).toUpperCase();

async function webcryptoVerify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) {
  const k = await crypto.subtle.importKey(
    "raw",
    pub as BufferSource,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  return crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    k,
    sig as BufferSource,
    msg as BufferSource,
  );
}

Deno.test("SM2: the public key of GB/T 32918.5 Annex A, and signatures sm-crypto and the kernel accept", () => {
  const d = fromHex(V.privateKey);
  const pub = publicKeyOf("sm2", d);
  assertEquals(toHex(pub), "04" + V.publicKey);
  const msg = new TextEncoder().encode("icfare deny list v1");
  for (let i = 0; i < 8; i++) {
    const sig = signMessage("sm2", d, msg);
    assert(smCrypto.doVerifySignature(Array.from(msg), toHex(sig), toHex(pub), { hash: true }));
    assert(sm2Verify(pub.subarray(1), msg, sig));
    // sm-crypto refuses the same signature over another message, and another user ID
    assert(!smCrypto.doVerifySignature("other", toHex(sig), toHex(pub), { hash: true }));
    assert(!sm2Verify(pub.subarray(1), msg, sig, V.failsWithUserId));
  }
  assertEquals(kcv("sm2", d), sha256Kcv(pub));
});

Deno.test("ECDSA P-256: signatures WebCrypto verifies; a changed byte does not", async () => {
  const s = signerFromPrivateKey(
    "t",
    "ecdsa-p256",
    fromHex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721"),
  );
  // RFC 6979 A.2.5: the public key of this private key
  assertEquals(
    s.info.publicKey,
    "0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB67903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299",
  );
  assertEquals(s.info.kcv, sha256Kcv(fromHex(s.info.publicKey)));
  const msg = new TextEncoder().encode("sample");
  const sig = s.sign(msg);
  assert(await webcryptoVerify(fromHex(s.info.publicKey), msg, sig));
  sig[10] ^= 1;
  assert(!await webcryptoVerify(fromHex(s.info.publicKey), msg, sig));
  s.close();
  assertThrows(() => s.sign(msg));
});

Deno.test("invalid private keys are refused: zero, n and above, wrong length", () => {
  const n = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";
  for (const bad of ["00".repeat(32), n, "FF".repeat(32), "01".repeat(31)]) {
    assertThrows(() => publicKeyOf("sm2", fromHex(bad)), RangeError);
  }
  assertThrows(() => publicKeyOf("ecdsa-p256", new Uint8Array(32)), RangeError);
});

Deno.test("key store: signing keys generated, sealed, listed by public key and KCV; signers work", async () => {
  const home = await Deno.makeTempDir({ prefix: "icfare-sign-" });
  const master = crypto.getRandomValues(new Uint8Array(32));
  const store = await KeyStore.init(home, master, "tester");
  try {
    await store.generate({ id: "deny-1", usage: "denylist-sign", algorithm: "sm2" });
    await store.generate({ id: "arch-1", usage: "archive-sign", algorithm: "ecdsa-p256" });
    // an HMAC deny-list key of an older store is passed over (legacy), an HMAC archive key refused
    await store.generate({ id: "deny-old", usage: "denylist-sign", algorithm: "hmac-sha256" });
    let refused = "";
    await store.generate({ id: "a2", usage: "archive-sign", algorithm: "hmac-sha256" })
      .catch((e) => refused = e.code);
    assertEquals(refused, "USAGE_MISMATCH");
    const listed = store.list().keys.find((k) => k.id === "deny-1")!;
    assertEquals(listed.kcvMethod, "public");
    assertEquals(listed.kcv, sha256Kcv(fromHex(listed.publicKey!)));
    assertEquals(publicKeyInfo(store, "denylist-sign").kcv, listed.kcv);

    const secrets: Uint8Array[] = [];
    for (const usage of ["denylist-sign", "archive-sign"] as const) {
      const s = openSigner(store, usage);
      const msg = new TextEncoder().encode(`a message for ${usage}`);
      const sig = s.sign(msg);
      const pub = fromHex(s.info.publicKey);
      assert(
        s.info.algorithm === "sm2"
          ? smCrypto.doVerifySignature(Array.from(msg), toHex(sig), toHex(pub), { hash: true })
          : await webcryptoVerify(pub, msg, sig),
      );
      secrets.push(store.withKey(s.info.keyId, (k) => k.slice()));
      s.close();
    }
    assertEquals((await store.checkKcv("deny-1")).kcv, listed.kcv);
    assert((await store.verifyAudit()).ok);
    // S3: neither private key is in the key store directory, in any form
    const scan = await scanFiles([keyStorePaths(home).dir], secrets);
    assert(scan.files >= 2);
    assertEquals(scan.hits, []);
    secrets.forEach((s) => s.fill(0));

    // a public key edited in the store file breaks the file's MAC
    const p = keyStorePaths(home).store;
    const text = await Deno.readTextFile(p);
    await Deno.writeTextFile(p, text.replace(listed.publicKey!, "04" + "11".repeat(64)));
    let code = "";
    await KeyStore.open(home, master).catch((e) => code = e.code);
    assertEquals(code, "KEYSTORE_TAMPERED");
  } finally {
    store.close();
    await Deno.remove(home, { recursive: true });
  }
});
