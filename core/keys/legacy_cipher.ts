/**
 * Legacy block ciphers the key store needs: TDES (2- and 3-key, for TR-31 version B and
 * 3DES key check values) and SM4 (key check values of SM4 keys).
 *
 * TDES uses node:crypto `des-ede3-cbc` (Deno's node:crypto has no `des-ede3-ecb`): each block
 * is a one-block CBC with a zero IV, which is ECB. SM4 comes from the kernel's symmetric
 * family (`kernel-as/sym.ts`) once it is on main; until then `sm4EncryptBlock` reports that it
 * is unavailable rather than guess.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";

/** The DES block size in bytes. */
export const DES_BLOCK = 8;

/** Expands a 16-byte double-length key to K1‖K2‖K1; 24-byte keys are returned as a copy. */
function tdesKey(key: Uint8Array): Uint8Array {
  if (key.length === 24) return key.slice();
  if (key.length === 16) {
    const k = new Uint8Array(24);
    k.set(key);
    k.set(key.subarray(0, 8), 16);
    return k;
  }
  throw new RangeError(`key: TDES key must be 16 or 24 bytes, got ${key.length}`);
}

function checkBlocks(data: Uint8Array) {
  if (data.length % DES_BLOCK !== 0) {
    throw new RangeError(`data: length must be a multiple of 8, got ${data.length}`);
  }
}

/** TDES-ECB encryption of whole 8-byte blocks. */
export function tdesEcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkBlocks(data);
  const k = tdesKey(key);
  const out = new Uint8Array(data.length);
  const iv = new Uint8Array(DES_BLOCK);
  try {
    for (let o = 0; o < data.length; o += DES_BLOCK) {
      const c = createCipheriv("des-ede3-cbc", k, iv);
      c.setAutoPadding(false);
      out.set(c.update(data.subarray(o, o + DES_BLOCK)), o);
      c.final();
    }
  } finally {
    k.fill(0);
  }
  return out;
}

/** TDES-ECB decryption of whole 8-byte blocks. */
export function tdesEcbDecrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  checkBlocks(data);
  const k = tdesKey(key);
  const out = new Uint8Array(data.length);
  const iv = new Uint8Array(DES_BLOCK);
  try {
    for (let o = 0; o < data.length; o += DES_BLOCK) {
      const d = createDecipheriv("des-ede3-cbc", k, iv);
      d.setAutoPadding(false);
      out.set(d.update(data.subarray(o, o + DES_BLOCK)), o);
      d.final();
    }
  } finally {
    k.fill(0);
  }
  return out;
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

/** Single-DES ECB of one block with an 8-byte key (K‖K‖K is single DES). */
export function desEcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== 8) throw new RangeError(`key: DES key must be 8 bytes, got ${key.length}`);
  const k = new Uint8Array(24);
  k.set(key);
  k.set(key, 8);
  k.set(key, 16);
  try {
    return tdesEcbEncrypt(k, data);
  } finally {
    k.fill(0);
  }
}

type Sm4Ecb = (key: Uint8Array, data: Uint8Array) => Uint8Array;
let sm4Impl: Sm4Ecb | null = null;

/**
 * Installs the SM4-ECB implementation (the kernel's `sm4EncryptEcb`). Called by `mod.ts`
 * once the kernel's symmetric family is available.
 */
export function setSm4(impl: Sm4Ecb): void {
  sm4Impl = impl;
}

/** SM4-ECB encryption of whole 16-byte blocks; throws when no SM4 implementation is loaded. */
export function sm4EcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new RangeError(`key: SM4 key must be 16 bytes, got ${key.length}`);
  if (!sm4Impl) {
    throw new Error("SM4 is not available: the kernel's symmetric family is not loaded");
  }
  return sm4Impl(key, data);
}

/** True when an SM4 implementation is installed. */
export function sm4Available(): boolean {
  return sm4Impl !== null;
}
