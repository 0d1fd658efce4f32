/**
 * Legacy block ciphers the key store needs: TDES (2- and 3-key, for TR-31 version B and
 * 3DES key check values), single DES and SM4 (key check values), from the kernel's symmetric
 * family (`kernel-as/sym.ts`). CBC is chained here over the kernel's ECB so that the IV and
 * every intermediate block stay in buffers this module zeroes.
 *
 * Risk: the kernel copies keys into its fixed WASM regions (never zeroed by the kernel);
 * see README "Key management".
 */
import { desDecryptEcb, desEncryptEcb, sm4EncryptEcb } from "../../kernel-as/sym.ts";

/** The DES block size in bytes. */
export const DES_BLOCK = 8;

function tdesKey(key: Uint8Array): Uint8Array {
  if (key.length !== 16 && key.length !== 24) {
    throw new RangeError(`key: TDES key must be 16 or 24 bytes, got ${key.length}`);
  }
  return key;
}

function checkBlocks(data: Uint8Array) {
  if (data.length % DES_BLOCK !== 0) {
    throw new RangeError(`data: length must be a multiple of 8, got ${data.length}`);
  }
}

/** TDES-ECB encryption of whole 8-byte blocks (16-byte keys are K1‖K2‖K1). */
export function tdesEcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkBlocks(data);
  return desEncryptEcb(tdesKey(key), data);
}

/** TDES-ECB decryption of whole 8-byte blocks. */
export function tdesEcbDecrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkBlocks(data);
  return desDecryptEcb(tdesKey(key), data);
}

/** TDES-CBC encryption, no padding. */
export function tdesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (iv.length !== DES_BLOCK) throw new RangeError(`iv: must be 8 bytes, got ${iv.length}`);
  checkBlocks(data);
  const out = new Uint8Array(data.length);
  const block = new Uint8Array(DES_BLOCK);
  let prev = iv;
  for (let o = 0; o < data.length; o += DES_BLOCK) {
    for (let i = 0; i < DES_BLOCK; i++) block[i] = data[o + i] ^ prev[i];
    out.set(tdesEcbEncrypt(key, block), o);
    prev = out.subarray(o, o + DES_BLOCK);
  }
  block.fill(0);
  return out;
}

/** TDES-CBC decryption, no padding. */
export function tdesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (iv.length !== DES_BLOCK) throw new RangeError(`iv: must be 8 bytes, got ${iv.length}`);
  checkBlocks(data);
  const plain = tdesEcbDecrypt(key, data);
  for (let o = 0; o < data.length; o += DES_BLOCK) {
    for (let i = 0; i < DES_BLOCK; i++) {
      plain[o + i] ^= o === 0 ? iv[i] : data[o - DES_BLOCK + i];
    }
  }
  return plain;
}

/** Single-DES ECB with an 8-byte key. */
export function desEcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== 8) throw new RangeError(`key: DES key must be 8 bytes, got ${key.length}`);
  checkBlocks(data);
  return desEncryptEcb(key, data);
}

/** SM4-ECB encryption of whole 16-byte blocks (GB/T 32907). */
export function sm4EcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new RangeError(`key: SM4 key must be 16 bytes, got ${key.length}`);
  if (data.length % 16 !== 0) {
    throw new RangeError(`data: length must be a multiple of 16, got ${data.length}`);
  }
  return sm4EncryptEcb(key, data);
}
