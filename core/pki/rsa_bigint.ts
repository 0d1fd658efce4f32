/**
 * The raw RSA public operation on V8 BigInt, with the same contract and error codes as the
 * kernel's `rsaPublic` (big-endian bytes in and out, input of the modulus length and below
 * it). Byte conversion goes 8 bytes at a time through DataView (no hex strings). Kept as the
 * measured alternative to the kernel (README "Public-key primitives") and as an independent
 * reference in tests; the verification path is `rsaRecover`.
 */
import { PkError, RSA_MAX_BYTES, RSA_MIN_BYTES, rsaPublic } from "../../kernel-as/pk.ts";
import { Status } from "../../kernel-as/status.ts";

/** Big-endian bytes to BigInt, 64 bits at a time. */
export function bytesToBigIntFast(bytes: Uint8Array): bigint {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let x = 0n;
  let i = 0;
  const head = bytes.length % 8;
  for (; i < head; i++) x = (x << 8n) | BigInt(bytes[i]);
  for (; i < bytes.length; i += 8) x = (x << 64n) | dv.getBigUint64(i);
  return x;
}

/** BigInt (below 2^(8·length)) to `length` big-endian bytes, 64 bits at a time. */
export function bigIntToBytesFast(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const dv = new DataView(out.buffer);
  let x = value;
  let i = length;
  for (; i >= 8; i -= 8) {
    dv.setBigUint64(i - 8, BigInt.asUintN(64, x));
    x >>= 64n;
  }
  for (; i > 0; i--) {
    out[i - 1] = Number(x & 0xFFn);
    x >>= 8n;
  }
  return out;
}

/** Raw public operation `input^exponent mod modulus` on BigInt; codes as the kernel's. */
export function rsaPublicBigInt(
  modulus: Uint8Array,
  exponent: Uint8Array,
  input: Uint8Array,
): Uint8Array {
  if (!(modulus instanceof Uint8Array)) throw new TypeError("modulus must be a Uint8Array");
  if (!(exponent instanceof Uint8Array)) throw new TypeError("exponent must be a Uint8Array");
  if (!(input instanceof Uint8Array)) throw new TypeError("input must be a Uint8Array");
  const len = modulus.length;
  if (len < RSA_MIN_BYTES || len > RSA_MAX_BYTES) {
    throw new PkError(Status.PK_MODULUS_LENGTH, `rsaPublicBigInt: modulus of ${len} bytes`);
  }
  if (modulus[0] === 0 || (modulus[len - 1] & 1) === 0) {
    throw new PkError(Status.PK_MODULUS_INVALID, "rsaPublicBigInt");
  }
  if (input.length !== len) throw new PkError(Status.PK_INPUT_LENGTH, "rsaPublicBigInt");
  const n = bytesToBigIntFast(modulus);
  const x = bytesToBigIntFast(input);
  const e = exponent.length <= len ? bytesToBigIntFast(exponent) : 0n;
  if (e === 0n) throw new PkError(Status.PK_EXPONENT_INVALID, "rsaPublicBigInt");
  if (x >= n) throw new PkError(Status.PK_INPUT_RANGE, "rsaPublicBigInt");
  // Left-to-right square-and-multiply: e = 3 costs one squaring and one multiplication.
  let r = x;
  for (let bit = e.toString(2).length - 2; bit >= 0; bit--) {
    r = (r * r) % n;
    if ((e >> BigInt(bit)) & 1n) r = (r * x) % n;
  }
  return bigIntToBytesFast(r, len);
}

/**
 * The RSA public operation for the verification path: the kernel for every key. Recurring
 * moduli (CA and issuer keys) get a cached Montgomery context; a modulus seen for the first time
 * with e = 3 (an EMV ICC key, used once per card) takes the kernel's set-up-free path. Both
 * measured faster than {@link rsaPublicBigInt} end to end, bytes in and out, in the same run
 * (README "Public-key primitives", bench/pk_bench.ts). Same contract and error codes as
 * `rsaPublic`.
 */
export function rsaRecover(
  modulus: Uint8Array,
  exponent: Uint8Array,
  input: Uint8Array,
): Uint8Array {
  return rsaPublic(modulus, exponent, input);
}
