/**
 * One crafted certificate or signature per remaining ODA check (header, format, algorithm
 * bytes, key lengths, SM2 key validity, …), each signed correctly so that exactly the named
 * check fails — on the TypeScript reference and on the kernel engine alike.
 */
import { assertEquals } from "@icfare/assert";
import { fromHex, toHex } from "../core/hex.ts";
import { encodePrimitives } from "../core/tlv/encode.ts";
import {
  authenticateRecord,
  iccCertPlain,
  issuerCertPlain,
  type OdaCheck,
  sm2IccCertBody,
  sm2IssuerCertBody,
  ssadPlain,
} from "../core/emv/oda.ts";
import { CapkRegistry } from "../core/emv/capk.ts";
import { concat, sha1 } from "../core/emv/primitives.ts";
import { verifyRecordsKernel } from "../core/emv/batch.ts";
import {
  rsaCard,
  rsaKey,
  rsaSign,
  sm2Card,
  sm2Key,
  sm2Sign,
  testCapk,
} from "./support/emv_signing.ts";

const reg = new CapkRegistry()
  .add(testCapk("A000000333", "08", rsaKey("ca1984")))
  .add(testCapk("A000000333", "18", sm2Key("ca")));

/** The check both paths report for these tags. */
function both(
  tags: Map<string, Uint8Array>,
  staticData: Uint8Array,
): [string | undefined, string | undefined] {
  const ts = authenticateRecord(tags, reg, { staticData }).check;
  const icc = encodePrimitives([...tags].filter(([k]) => k !== "9F26"));
  const [k] = verifyRecordsKernel([{
    seq: 1,
    icc: toHex(icc),
    oda: { tlv: "", staticData: toHex(staticData) },
  }], {
    capks: reg,
  });
  return [ts, k.odaCheck];
}

function expectCheck(
  tags: Map<string, Uint8Array>,
  staticData: Uint8Array,
  check: OdaCheck,
  what: string,
) {
  assertEquals(both(tags, staticData), [check, check], what);
}

Deno.test("RSA ICC certificate: header, format, algorithm bytes, key length, remainder length", () => {
  const card = rsaCard();
  const iss = rsaKey("issuer1408");
  const icc = rsaKey("icc1152");
  const sd = concat(card.staticData, card.tags.get("82")!);
  const cert = (mutate: (x: Uint8Array) => void, rehash: boolean, keepRemainder = true) => {
    const { plain, remainder } = iccCertPlain(iss.modulus.length, {
      pan: "6212345678901234",
      expiry: "1229",
      serial: "000001",
      modulus: icc.modulus,
      exponent: icc.exponent,
      staticData: sd,
    });
    mutate(plain);
    const n = plain.length;
    const rem = keepRemainder ? remainder : new Uint8Array(0);
    if (rehash) plain.set(sha1(concat(plain.subarray(1, n - 21), rem, icc.exponent, sd)), n - 21);
    return new Map(card.tags).set("9F46", rsaSign(iss, plain));
  };
  expectCheck(cert(() => {}, false), card.staticData, undefined as never, "unchanged");
  expectCheck(cert((x) => (x[0] = 0x6b), false), card.staticData, "ICC_CERT_HEADER", "header");
  expectCheck(cert((x) => (x[1] = 0x05), false), card.staticData, "ICC_CERT_FORMAT", "format");
  expectCheck(
    cert((x) => (x[17] = 0x02), false),
    card.staticData,
    "ICC_CERT_HASH_ALGORITHM",
    "hash alg",
  );
  expectCheck(cert((x) => (x[18] = 0x02), true), card.staticData, "ICC_PK_ALGORITHM", "pk alg");
  expectCheck(
    cert((x) => (x[19] = 0x30), true, false),
    card.staticData,
    "ICC_KEY_INVALID",
    "N_IC < 64",
  );
  const short = new Map(card.tags).set("9F48", card.tags.get("9F48")!.subarray(1));
  expectCheck(short, card.staticData, "ICC_REMAINDER_LENGTH", "9F48 one byte short");
  expectCheck(
    new Map(card.tags).set("8F", fromHex("18")),
    card.staticData,
    "ISSUER_CERT_FORMAT",
    "RSA cert, SM2 CA key",
  );
});

Deno.test("RSA issuer key length and SDA header, format, hash algorithm", () => {
  const card = rsaCard();
  const ca = rsaKey("ca1984");
  const iss = rsaKey("issuer1408");
  // An issuer certificate claiming N_I = 48 bytes, correctly hashed and signed.
  const { plain, remainder } = issuerCertPlain(ca.modulus.length, {
    issuerId: "621234",
    expiry: "1230",
    serial: "0000A1",
    modulus: iss.modulus,
    exponent: iss.exponent,
  });
  plain[13] = 0x30;
  const n = plain.length;
  plain.set(sha1(concat(plain.subarray(1, n - 21), remainder, iss.exponent)), n - 21);
  expectCheck(
    new Map(card.tags).set("90", rsaSign(ca, plain)),
    card.staticData,
    "ISSUER_KEY_INVALID",
    "N_I < 64",
  );
  // SDA: signed static data with a bad header / format / hash algorithm
  const sd = concat(card.staticData, card.tags.get("82")!);
  const sda = (mutate: (x: Uint8Array) => void) => {
    const p = ssadPlain(iss.modulus.length, fromHex("3132"), sd);
    mutate(p);
    const t = new Map(card.tags);
    for (const k of ["9F4B", "9F46", "9F47", "9F48"]) t.delete(k);
    t.set("93", rsaSign(iss, p));
    return t;
  };
  expectCheck(sda(() => {}), card.staticData, undefined as never, "SDA unchanged");
  expectCheck(sda((x) => (x[0] = 0x6b)), card.staticData, "SSAD_HEADER", "SSAD header");
  expectCheck(sda((x) => (x[1] = 0x05)), card.staticData, "SSAD_FORMAT", "SSAD format");
  expectCheck(sda((x) => (x[2] = 0x02)), card.staticData, "SSAD_HASH_ALGORITHM", "SSAD hash alg");
});

Deno.test("SM2: algorithm bytes, keys not on the curve, dynamic data length", () => {
  const card = sm2Card();
  const ca = sm2Key("ca");
  const iss = sm2Key("issuer");
  const sd = concat(card.staticData, card.tags.get("82")!);
  const offCurve = fromHex("11".repeat(64));
  const issuerCert = (mutate: (b: Uint8Array) => void, pub = iss.publicKey) => {
    const b = sm2IssuerCertBody({
      issuerId: "62123456",
      expiry: "1230",
      serial: "001258",
      publicKey: pub,
    });
    mutate(b);
    return new Map(card.tags).set("90", concat(b, sm2Sign(ca, b)));
  };
  expectCheck(issuerCert(() => {}), card.staticData, undefined as never, "unchanged");
  expectCheck(
    issuerCert((b) => (b[10] = 0x03)),
    card.staticData,
    "ISSUER_PK_ALGORITHM",
    "issuer alg",
  );
  expectCheck(
    issuerCert(() => {}, offCurve),
    card.staticData,
    "ISSUER_KEY_INVALID",
    "issuer key off the curve",
  );
  const iccCert = (mutate: (b: Uint8Array) => void, pub = sm2Key("icc").publicKey) => {
    const b = sm2IccCertBody({
      pan: "6212345678901234",
      expiry: "1229",
      serial: "007EB0",
      publicKey: pub,
    });
    mutate(b);
    return new Map(card.tags).set("9F46", concat(b, sm2Sign(iss, concat(b, sd))));
  };
  expectCheck(iccCert(() => {}), card.staticData, undefined as never, "unchanged");
  expectCheck(iccCert((b) => (b[16] = 0x03)), card.staticData, "ICC_PK_ALGORITHM", "ICC alg");
  expectCheck(
    iccCert(() => {}, offCurve),
    card.staticData,
    "ICC_KEY_INVALID",
    "ICC key off the curve",
  );
  const sdad = card.tags.get("9F4B")!.slice();
  sdad[1] ^= 1;
  expectCheck(new Map(card.tags).set("9F4B", sdad), card.staticData, "SDAD_DYNAMIC_LENGTH", "L_DD");
  expectCheck(
    new Map(card.tags).set("9F46", card.tags.get("9F46")!.subarray(0, 100)),
    card.staticData,
    "ICC_CERT_LENGTH",
    "short 9F46",
  );
});
