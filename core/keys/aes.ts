/**
 * AES primitives for the key store: single-block encryption, CBC without padding and AES-CMAC
 * (NIST SP 800-38B / RFC 4493), built on node:crypto's AES-ECB (Deno's node:crypto has
 * aes-128/192/256-ecb). CBC and CMAC are written here so that every key length works the same
 * way and nothing pads behind our back.
 *
 * Risks: these run in the JS heap; keys and intermediate blocks are zeroed where this module
 * owns them, but node:crypto's internal copies and the garbage collector are beyond our reach
 * (see README "Key management": what a software key store cannot do).
 */
import { createCipheriv, createDecipheriv } from "node:crypto";

/** The AES block size in bytes. */
export const AES_BLOCK = 16;

function ecbName(key: Uint8Array, what: string): string {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError(`${what}: AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  }
  return `aes-${key.length * 8}-ecb`;
}

/** AES-ECB encryption of whole blocks (no padding). */
export function aesEcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length % AES_BLOCK !== 0) {
    throw new RangeError(`data: length must be a multiple of 16, got ${data.length}`);
  }
  const c = createCipheriv(ecbName(key, "key"), key, null);
  c.setAutoPadding(false);
  const out = new Uint8Array(c.update(data));
  c.final();
  return out;
}

/** AES-ECB decryption of whole blocks (no padding). */
export function aesEcbDecrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length % AES_BLOCK !== 0) {
    throw new RangeError(`data: length must be a multiple of 16, got ${data.length}`);
  }
  const d = createDecipheriv(ecbName(key, "key"), key, null);
  d.setAutoPadding(false);
  const out = new Uint8Array(d.update(data));
  d.final();
  return out;
}

/** AES-CBC encryption, no padding; `iv` is 16 bytes. */
export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (iv.length !== AES_BLOCK) throw new RangeError(`iv: must be 16 bytes, got ${iv.length}`);
  if (data.length % AES_BLOCK !== 0) {
    throw new RangeError(`data: length must be a multiple of 16, got ${data.length}`);
  }
  const out = new Uint8Array(data.length);
  const block = new Uint8Array(AES_BLOCK);
  let prev = iv;
  for (let o = 0; o < data.length; o += AES_BLOCK) {
    for (let i = 0; i < AES_BLOCK; i++) block[i] = data[o + i] ^ prev[i];
    const enc = aesEcbEncrypt(key, block);
    out.set(enc, o);
    prev = out.subarray(o, o + AES_BLOCK);
  }
  block.fill(0);
  return out;
}

/** AES-CBC decryption, no padding; `iv` is 16 bytes. */
export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (iv.length !== AES_BLOCK) throw new RangeError(`iv: must be 16 bytes, got ${iv.length}`);
  if (data.length % AES_BLOCK !== 0) {
    throw new RangeError(`data: length must be a multiple of 16, got ${data.length}`);
  }
  const plain = aesEcbDecrypt(key, data);
  for (let o = 0; o < data.length; o += AES_BLOCK) {
    for (let i = 0; i < AES_BLOCK; i++) {
      plain[o + i] ^= o === 0 ? iv[i] : data[o - AES_BLOCK + i];
    }
  }
  return plain;
}

/**
 * Generic CMAC (NIST SP 800-38B) over a block cipher given as a one-block encryption
 * function; `rb` is 0x87 for 128-bit blocks and 0x1B for 64-bit blocks.
 */
export function cmacWith(
  encryptBlock: (block: Uint8Array) => Uint8Array,
  blockSize: number,
  rb: number,
  message: Uint8Array,
): Uint8Array {
  const l = encryptBlock(new Uint8Array(blockSize));
  const k1 = shiftLeft(l, rb);
  const k2 = shiftLeft(k1, rb);
  l.fill(0);
  const n = Math.max(1, Math.ceil(message.length / blockSize));
  const complete = message.length > 0 && message.length % blockSize === 0;
  let x: Uint8Array = new Uint8Array(blockSize);
  const y = new Uint8Array(blockSize);
  for (let b = 0; b < n; b++) {
    const off = b * blockSize;
    for (let i = 0; i < blockSize; i++) {
      let m: number;
      if (b < n - 1) m = message[off + i];
      else if (complete) m = message[off + i] ^ k1[i];
      else {
        const j = off + i;
        m = (j < message.length ? message[j] : j === message.length ? 0x80 : 0) ^ k2[i];
      }
      y[i] = x[i] ^ m;
    }
    const next = encryptBlock(y);
    x.fill(0);
    x = next;
  }
  k1.fill(0);
  k2.fill(0);
  y.fill(0);
  return x;
}

function shiftLeft(b: Uint8Array, rb: number): Uint8Array {
  const out = new Uint8Array(b.length);
  let carry = 0;
  for (let i = b.length - 1; i >= 0; i--) {
    out[i] = ((b[i] << 1) | carry) & 0xff;
    carry = b[i] >> 7;
  }
  if (carry) out[b.length - 1] ^= rb;
  return out;
}

/** AES-CMAC (RFC 4493 for AES-128; same construction for AES-192/256), full 16 bytes. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  ecbName(key, "key");
  return cmacWith((blk) => aesEcbEncrypt(key, blk), AES_BLOCK, 0x87, message);
}
