/**
 * A sample of what the simulator makes also verifies through a path that shares no code with
 * the engine: 3DES (Option A ICC MK, PBOC session key, ISO 9797-1 MAC algorithm 3) on
 * node:crypto's des-ede3-cbc, the RSA public operation and SHA-1 on node:crypto, SM2 on
 * @noble/curves point arithmetic with sm-crypto's SM3, and a tiny TLV reader written here.
 */
import crypto from "node:crypto";
import { assert, assertEquals } from "@icfare/assert";
import { weierstrass } from "@noble/curves/abstract/weierstrass.js";
import smCrypto from "sm-crypto";
import { World } from "../sim/world.ts";
import { type BatchOut, generateDay } from "../sim/day.ts";
import { NO_FAULTS } from "../sim/faults.ts";
import { capkFile, keysFile } from "../sim/simulate.ts";
import { luhnValid } from "../sim/luhn.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").toUpperCase();
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const cat = (...p: Uint8Array[]) => new Uint8Array(Buffer.concat(p));

/** Flat primitive TLV reader (chip data here has no templates). */
function tlv(b: Uint8Array): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>();
  let p = 0;
  while (p < b.length) {
    let t = 1;
    if ((b[p] & 0x1f) === 0x1f) { while (b[p + t++] & 0x80); }
    const tag = hex(b.subarray(p, p + t));
    p += t;
    let len = b[p++];
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[p++];
    }
    if (p + len > b.length) throw new Error(`TLV overrun at ${tag}`);
    m.set(tag, b.slice(p, p + len));
    p += len;
  }
  return m;
}

function des3(key16: Uint8Array, block: Uint8Array): Uint8Array {
  const k = cat(key16, key16.subarray(0, 8));
  const c = crypto.createCipheriv("des-ede3-cbc", k, Buffer.alloc(8));
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}
function des1(key8: Uint8Array, block: Uint8Array, decrypt = false): Uint8Array {
  const k = cat(key8, key8, key8);
  const c = decrypt
    ? crypto.createDecipheriv("des-ede3-cbc", k, Buffer.alloc(8))
    : crypto.createCipheriv("des-ede3-cbc", k, Buffer.alloc(8));
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}
function oddParity(k: Uint8Array): Uint8Array {
  return k.map((b) => {
    const v = b & 0xfe;
    let ones = 0;
    for (let x = v; x; x >>= 1) ones += x & 1;
    return v | (ones % 2 === 0 ? 1 : 0);
  });
}
function retailMac(key: Uint8Array, data: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.floor(data.length / 8) * 8 + 8);
  padded.set(data);
  padded[data.length] = 0x80;
  let h: Uint8Array = new Uint8Array(8);
  for (let o = 0; o < padded.length; o += 8) {
    h = des1(key.subarray(0, 8), h.map((x, i) => x ^ padded[o + i]));
  }
  return des1(key.subarray(0, 8), des1(key.subarray(8), h, true));
}

function big(b: Uint8Array): bigint {
  return b.length ? BigInt("0x" + hex(b)) : 0n;
}
function rsaRecover(modulus: Uint8Array, sig: Uint8Array): Uint8Array {
  const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");
  const key = crypto.createPublicKey({
    key: { kty: "RSA", n: b64u(modulus), e: b64u(Uint8Array.of(3)) },
    format: "jwk",
  });
  return new Uint8Array(
    crypto.publicEncrypt({ key, padding: crypto.constants.RSA_NO_PADDING }, sig),
  );
}
const sha1 = (b: Uint8Array) => new Uint8Array(crypto.createHash("sha1").update(b).digest());

const Sm2 = weierstrass({
  p: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFFn,
  a: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFCn,
  b: 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93n,
  Gx: 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7n,
  Gy: 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0n,
  n: 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123n,
  h: 1n,
});
const sm3 = (b: Uint8Array) =>
  unhex((smCrypto.sm3 as unknown as (x: number[]) => string)(Array.from(b)));
function sm2Verify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  const id = new TextEncoder().encode("1234567812345678");
  const c = Sm2.CURVE();
  const f = (x: bigint) => unhex(x.toString(16).padStart(64, "0"));
  const z = sm3(cat(Uint8Array.of(0, 128), id, f(c.a), f(c.b), f(c.Gx), f(c.Gy), pub));
  const e = big(sm3(cat(z, msg)));
  const r = big(sig.subarray(0, 32)), s = big(sig.subarray(32));
  const n = c.n;
  const P = Sm2.fromAffine({ x: big(pub.subarray(0, 32)), y: big(pub.subarray(32)) });
  const x1 = Sm2.BASE.multiply(s).add(P.multiply((r + s) % n)).toAffine().x;
  return (e + x1) % n === r;
}

type Tags = Map<string, Uint8Array>;
const none = new Uint8Array(0);

/** The 3DES cryptogram recomputed from the IMK: Option A ICC master key, session key, MAC. */
function check3desAc(v: Tags, imk: Record<string, string>, pan: string, seq: number) {
  const imkB = unhex(imk.value);
  assertEquals(hex(des3(imkB, new Uint8Array(8)).subarray(0, 3)), imk.kcv, "KCV");
  const d = unhex((pan + hex(v.get("5F34")!)).slice(-16));
  const mk = oddParity(cat(des3(imkB, d), des3(imkB, d.map((x) => x ^ 0xff))));
  const atc = v.get("9F36")!;
  const sk = oddParity(cat(
    des3(mk, cat(new Uint8Array(6), atc)),
    des3(mk, cat(new Uint8Array(6), atc.map((x) => x ^ 0xff))),
  ));
  const data = cat(
    ...["9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82", "9F36"].map((t) =>
      v.get(t)!
    ),
    v.get("9F10")!.subarray(3, 7),
  );
  assertEquals(hex(retailMac(sk, data)), hex(v.get("9F26")!), `AC of ${seq}`);
}

/** Recovers an RSA certificate and checks its header, trailer and hash; returns it. */
function recoverChecked(
  mod: Uint8Array,
  cert: Uint8Array,
  format: number,
  hashed: Uint8Array[],
  what: string,
) {
  const x = rsaRecover(mod, cert);
  const n = x.length;
  assertEquals([x[0], x[1], x[n - 1]], [0x6a, format, 0xbc]);
  assertEquals(
    hex(sha1(cat(x.subarray(1, n - 21), ...hashed))),
    hex(x.subarray(n - 21, n - 1)),
    what,
  );
  return x;
}

/** RSA: issuer certificate, ICC certificate and the fDDA signature, each recovered and hashed. */
function checkRsaChain(
  caModulus: Uint8Array,
  oda: Tags,
  v: Tags,
  staticData: Uint8Array,
  terminalData: Uint8Array,
  pan: string,
) {
  const x = recoverChecked(caModulus, oda.get("90")!, 0x02, [
    oda.get("92") ?? none,
    oda.get("9F32")!,
  ], "issuer certificate hash");
  const nCa = x.length, nI = x[13];
  const issuerMod = cat(x.subarray(15, 15 + Math.min(nI, nCa - 36)), oda.get("92") ?? none);
  const y = recoverChecked(issuerMod, oda.get("9F46")!, 0x04, [
    oda.get("9F48") ?? none,
    oda.get("9F47")!,
    staticData,
    v.get("82")!,
  ], "ICC certificate hash");
  assertEquals(hex(y.subarray(2, 12)).replace(/F+$/, ""), pan);
  const nIc = y[19];
  const iccMod = cat(y.subarray(21, 21 + Math.min(nIc, nI - 42)), oda.get("9F48") ?? none);
  const z = recoverChecked(iccMod, v.get("9F4B")!, 0x05, [terminalData], "fDDA hash");
  // ICC dynamic data as PBOC cards make it: L_DD = 3, then 02 ‖ ATC (the tap's 9F36).
  assertEquals(hex(z.subarray(3, 7)), "0302" + hex(v.get("9F36")!), "fDDA dynamic data");
}

/** SM2: issuer certificate, ICC certificate and the fDDA signature; a changed UN breaks it. */
function checkSm2Chain(
  caPublicKey: Uint8Array,
  oda: Tags,
  v: Tags,
  staticData: Uint8Array,
  terminalData: Uint8Array,
) {
  const c90 = oda.get("90")!;
  assert(sm2Verify(caPublicKey, c90.subarray(0, 78), c90.subarray(78)), "SM2 issuer cert");
  const ipk = c90.subarray(14, 78);
  const c46 = oda.get("9F46")!;
  assert(
    sm2Verify(ipk, cat(c46.subarray(0, 84), staticData, v.get("82")!), c46.subarray(84)),
    "SM2 ICC cert",
  );
  const sd = v.get("9F4B")!;
  const l = sd[1];
  assertEquals(hex(sd.subarray(1, 2 + l)), "0302" + hex(v.get("9F36")!), "SM2 dynamic data");
  const signed = () => cat(sd.subarray(0, 2 + l), terminalData);
  assert(sm2Verify(c46.subarray(20, 84), signed(), sd.subarray(2 + l)), "SM2 fDDA");
  terminalData[0] ^= 1;
  assert(!sm2Verify(c46.subarray(20, 84), signed(), sd.subarray(2 + l)));
}

Deno.test("independent path: cryptograms, certificates and fDDA of a sample of records", () => {
  const world = new World({ seed: "independent", cards: 60, terminals: 3, date: "2026-06-24" });
  const gen = generateDay(world, { taps: 120, faults: NO_FAULTS });
  const batches: BatchOut[] = [];
  for (let s = gen.next(); !s.done; s = gen.next()) batches.push(s.value);
  const keys = keysFile(world).keys;
  const capks = capkFile(world).capks;
  let ac3des = 0, rsa = 0, sm2 = 0;
  for (const r of batches.flatMap((b) => b.body.records).slice(0, 60)) {
    const v = tlv(unhex(r.icc));
    const oda = tlv(unhex(r.oda.tlv));
    const pan = hex(v.get("5A")!).replace(/F+$/, "");
    assert(luhnValid(pan), "PAN passes Luhn");
    assertEquals(Number(hex(v.get("9F02")!)), r.fare);
    const issuer = world.issuers.find((i) => pan.startsWith(i.bin))!;
    // Cryptogram (3DES issuers whose keys are in keys.json).
    const imk = keys.find((k) => k.usage === "imk-ac" && k.issuer === issuer.bin);
    if (imk && imk.algorithm === "3des") (check3desAc(v, imk, pan, r.seq), ac3des++);
    // Certificates and fDDA.
    const ca = capks.find((c) => c.index === hex(oda.get("8F")!))!;
    const staticData = unhex(r.oda.staticData);
    const terminalData = cat(v.get("9F37")!, v.get("9F02")!, v.get("5F2A")!, v.get("9F69")!);
    if (ca.algorithm === "rsa") {
      checkRsaChain(unhex(ca.modulus!), oda, v, staticData, terminalData, pan);
      rsa++;
    } else {
      checkSm2Chain(unhex(ca.publicKey!), oda, v, staticData, terminalData);
      sm2++;
    }
  }
  assert(
    ac3des >= 10 && rsa >= 10 && sm2 >= 5,
    `sample covers all paths (${ac3des}, ${rsa}, ${sm2})`,
  );
});
