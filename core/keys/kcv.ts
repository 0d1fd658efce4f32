/**
 * Key check values (docs/keys.md, "Key check values"): a KCV names a key without revealing it.
 *
 * - DES/3DES/SM4: encrypt one zero block (8 bytes for DES, 16 for SM4), leftmost 3 bytes
 *   ("legacy" KCV, ANSI X9.24-1).
 * - AES: AES-CMAC over 16 zero bytes, leftmost 3 bytes ("cmac" KCV, X9.24-1 / TR-31; the
 *   method is recorded beside the value because ECB and CMAC differ for the same key).
 * - HMAC-SHA256 keys: leftmost 3 bytes of HMAC-SHA256(key, 32 zero bytes) (icfare convention).
 * - Signing keys (SM2, ECDSA P-256): leftmost 3 bytes of SHA-256 of the uncompressed public
 *   point `04 ‖ x ‖ y` ("public" KCV, icfare convention; `ec.ts`), so a party holding only the
 *   public key computes the same value.
 */
import { createHash, createHmac } from "node:crypto";
import { aesCmac } from "./aes.ts";
import { desEcbEncrypt, sm4EcbEncrypt, tdesEcbEncrypt } from "./legacy_cipher.ts";
import { toHex } from "../hex.ts";
import { isPrivateKey, isSigningAlgorithm, publicKeyOf, type SigningAlgorithm } from "./ec.ts";

/** Algorithms a stored secret key can have. */
export type KeyAlgorithm = "des" | "3des" | "sm4" | "aes" | "hmac-sha256" | SigningAlgorithm;

/** The KCV methods, recorded with every KCV. */
export type KcvMethod = "legacy" | "cmac" | "hmac" | "public";

/** Every algorithm name accepted at the boundaries. */
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = [
  "des",
  "3des",
  "sm4",
  "aes",
  "hmac-sha256",
  "sm2",
  "ecdsa-p256",
];

/** Checks that `key` has a legal length for `algorithm`; throws naming `what`. */
export function checkKeyLength(algorithm: KeyAlgorithm, key: Uint8Array, what = "key"): void {
  if (isSigningAlgorithm(algorithm)) {
    if (!isPrivateKey(algorithm, key)) {
      throw new RangeError(`${what}: not a ${algorithm} private key (32 bytes, 1 <= d < n)`);
    }
    return;
  }
  const n = key.length;
  const ok = algorithm === "des"
    ? n === 8
    : algorithm === "3des"
    ? n === 16 || n === 24
    : algorithm === "sm4"
    ? n === 16
    : algorithm === "aes"
    ? n === 16 || n === 24 || n === 32
    : algorithm === "hmac-sha256"
    ? n >= 16 && n <= 64
    : false;
  if (!ok) {
    const want = {
      "des": "8",
      "3des": "16 or 24",
      "sm4": "16",
      "aes": "16, 24 or 32",
      "hmac-sha256": "16 to 64",
    }[algorithm] ?? "?";
    throw new RangeError(`${what}: a ${algorithm} key is ${want} bytes, got ${n}`);
  }
}

/** The KCV method used for `algorithm`. */
export function kcvMethod(algorithm: KeyAlgorithm): KcvMethod {
  if (isSigningAlgorithm(algorithm)) return "public";
  return algorithm === "aes" ? "cmac" : algorithm === "hmac-sha256" ? "hmac" : "legacy";
}

/** Full check block (before truncation) for `key` of `algorithm`. */
export function checkBlock(algorithm: KeyAlgorithm, key: Uint8Array): Uint8Array {
  checkKeyLength(algorithm, key);
  switch (algorithm) {
    case "des":
      return desEcbEncrypt(key, new Uint8Array(8));
    case "3des":
      return tdesEcbEncrypt(key, new Uint8Array(8));
    case "sm4":
      return sm4EcbEncrypt(key, new Uint8Array(16));
    case "aes":
      return aesCmac(key, new Uint8Array(16));
    case "hmac-sha256":
      return new Uint8Array(createHmac("sha256", key).update(new Uint8Array(32)).digest());
    case "sm2":
    case "ecdsa-p256":
      return new Uint8Array(createHash("sha256").update(publicKeyOf(algorithm, key)).digest());
  }
}

/** The KCV of `key` as upper-case hex, `bytes` long (default 3). */
export function kcv(algorithm: KeyAlgorithm, key: Uint8Array, bytes = 3): string {
  if (!Number.isInteger(bytes) || bytes < 2 || bytes > 8) {
    throw new RangeError(`bytes: a KCV is 2 to 8 bytes, got ${bytes}`);
  }
  const block = checkBlock(algorithm, key);
  const out = toHex(block.subarray(0, bytes));
  block.fill(0);
  return out;
}

/**
 * Compares a KCV given by a person (2–8 bytes of hex, any case) with the key's own KCV of
 * the same length; true when they agree.
 */
export function matchKcv(algorithm: KeyAlgorithm, key: Uint8Array, given: string): boolean {
  const g = given.replace(/\s+/g, "").toUpperCase();
  if (!/^[0-9A-F]{4,16}$/.test(g) || g.length % 2 !== 0) {
    throw new SyntaxError(`kcv: expected 2 to 8 bytes of hex, got "${given}"`);
  }
  return kcv(algorithm, key, g.length / 2) === g;
}
