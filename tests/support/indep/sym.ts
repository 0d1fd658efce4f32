/**
 * Symmetric primitives of the independent tap builder: DES and two-key triple DES on
 * node:crypto, SM4 on sm-crypto, SM3 on sm-crypto, SHA-1/SHA-256 on node:crypto, and the MACs
 * built on them — ISO/IEC 9797-1 MAC algorithm 1 and 3 with padding methods 1 and 2
 * (ISO/IEC 9797-1 §6.1.1-§6.1.2, §7.3; EMV 4.4 Book 2 Annex A1.2) and SM4 CBC-MAC.
 *
 * Nothing here comes from icfare's own code.
 */
import crypto from "node:crypto";
import smCrypto from "sm-crypto";
import { cat, hex, unhex, xor } from "./bytes.ts";

function ede3(key24: Uint8Array, data: Uint8Array, decrypt: boolean): Uint8Array {
  const iv = new Uint8Array(8);
  const c = decrypt
    ? crypto.createDecipheriv("des-ede3-cbc", key24, iv)
    : crypto.createCipheriv("des-ede3-cbc", key24, iv);
  c.setAutoPadding(false);
  const out = cat(new Uint8Array(c.update(data)), new Uint8Array(c.final()));
  return out;
}

/** Single DES on one 8-byte block (EDE with K1 = K2 = K3 is DES). */
export function des(key8: Uint8Array, block: Uint8Array, decrypt = false): Uint8Array {
  if (key8.length !== 8 || block.length !== 8) throw new RangeError("des: 8-byte key and block");
  return ede3(cat(key8, key8, key8), block, decrypt);
}

/** Triple DES ECB (EDE) on whole 8-byte blocks; 16-byte keys use K3 = K1, 24-byte keys as given. */
export function tdesEcb(key: Uint8Array, data: Uint8Array, decrypt = false): Uint8Array {
  if (key.length !== 16 && key.length !== 24) throw new RangeError("tdesEcb: 16 or 24-byte key");
  if (data.length % 8) throw new RangeError("tdesEcb: whole 8-byte blocks");
  const k = key.length === 16 ? cat(key, key.subarray(0, 8)) : key;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 8) {
    out.set(ede3(k, data.subarray(i, i + 8), decrypt), i);
  }
  return out;
}

/** DES / 3DES CBC with an IV (for the FIPS 81 CBC example). */
export function desCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  let prev = iv;
  for (let i = 0; i < data.length; i += 8) {
    const x = xor(data.subarray(i, i + 8), prev);
    prev = key.length === 8 ? des(key, x) : tdesEcb(key, x);
    out.set(prev, i);
  }
  return out;
}

/** SM4 ECB (GB/T 32907) on whole 16-byte blocks. */
export function sm4Ecb(key: Uint8Array, data: Uint8Array, decrypt = false): Uint8Array {
  if (key.length !== 16 || data.length % 16) {
    throw new RangeError("sm4Ecb: 16-byte key, whole 16-byte blocks");
  }
  const opts = { padding: "none", output: "array" } as const;
  const out = decrypt
    ? smCrypto.sm4.decrypt(Array.from(data), hex(key), opts)
    : smCrypto.sm4.encrypt(Array.from(data), hex(key), opts);
  return Uint8Array.from(out as unknown as number[]);
}

/** SM3 digest (GB/T 32905). */
export function sm3(data: Uint8Array): Uint8Array {
  return unhex(smCrypto.sm3(Array.from(data)));
}

/** SHA-1 (FIPS 180-4). */
export function sha1(data: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.createHash("sha1").update(data).digest());
}

/** SHA-256 (FIPS 180-4). */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.createHash("sha256").update(data).digest());
}

/**
 * ISO/IEC 9797-1 padding: method 1 appends zeros up to a block multiple (nothing when already
 * a multiple, except that empty data becomes one zero block); method 2 appends 80 then zeros
 * (always at least one byte).
 */
export function pad(data: Uint8Array, method: 1 | 2, block: number): Uint8Array {
  if (method === 2) {
    const n = data.length + 1;
    const out = new Uint8Array(Math.ceil(n / block) * block);
    out.set(data);
    out[data.length] = 0x80;
    return out;
  }
  const len = data.length === 0 ? block : Math.ceil(data.length / block) * block;
  const out = new Uint8Array(len);
  out.set(data);
  return out;
}

/** CBC-MAC chain of DES under K (8 bytes) over padded data: the last ciphertext block. */
function desChain(k: Uint8Array, padded: Uint8Array): Uint8Array {
  let h: Uint8Array = new Uint8Array(8);
  for (let i = 0; i < padded.length; i += 8) h = des(k, xor(h, padded.subarray(i, i + 8)));
  return h;
}

/**
 * ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC; 8-byte key = DES, 16/24 = triple DES per block) and
 * algorithm 3 (DES CBC under K, then D(K') and E(K) on the last block; 16-byte key K ‖ K').
 */
export function isoMac(alg: 1 | 3, key: Uint8Array, data: Uint8Array, method: 1 | 2): Uint8Array {
  const p = pad(data, method, 8);
  if (alg === 1) {
    if (key.length === 8) return desChain(key, p);
    let h: Uint8Array = new Uint8Array(8);
    for (let i = 0; i < p.length; i += 8) h = tdesEcb(key, xor(h, p.subarray(i, i + 8)));
    return h;
  }
  if (key.length !== 16) throw new RangeError("isoMac alg 3: 16-byte key");
  const k = key.subarray(0, 8), k2 = key.subarray(8, 16);
  return des(k, des(k2, desChain(k, p), true));
}

/** SM4 CBC-MAC with zero IV over data padded by `method` to 16-byte blocks: the last block. */
export function sm4CbcMac(key: Uint8Array, data: Uint8Array, method: 1 | 2): Uint8Array {
  const p = pad(data, method, 16);
  let h: Uint8Array = new Uint8Array(16);
  for (let i = 0; i < p.length; i += 16) h = sm4Ecb(key, xor(h, p.subarray(i, i + 16)));
  return h;
}

/** Odd DES parity on every byte (EMV Book 2 A1.4: the derived keys carry odd parity). */
export function oddParity(key: Uint8Array): Uint8Array {
  return key.map((b) => {
    let ones = 0;
    for (let v = b >> 1; v; v >>= 1) ones += v & 1;
    return (b & 0xfe) | (ones % 2 === 0 ? 1 : 0);
  });
}

/** Key check value: the cipher of a zero block, leftmost `n` bytes (3DES 8-byte, SM4 16-byte). */
export function kcv(algorithm: "3des" | "sm4" | "des", key: Uint8Array, n = 3): Uint8Array {
  const block = algorithm === "sm4"
    ? sm4Ecb(key, new Uint8Array(16))
    : algorithm === "des"
    ? des(key, new Uint8Array(8))
    : tdesEcb(key, new Uint8Array(8));
  return block.slice(0, n);
}
