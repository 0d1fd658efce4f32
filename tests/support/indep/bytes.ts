/**
 * Byte helpers of the independent tap builder. Written for the builder alone: nothing here is
 * shared with `core/`, `kernel-as/` or `sim/`, so a mistake in their helpers cannot hide in
 * both the taps and the verdicts.
 */

/** Upper-case hex of bytes. */
export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s.toUpperCase();
}

/** Bytes of a hex string; spaces are ignored. Throws on odd length or a non-hex digit. */
export function unhex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  if (t.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(t)) {
    throw new SyntaxError(`unhex: "${t.slice(0, 16)}…" is not hex of whole bytes`);
  }
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Concatenation. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte-wise XOR of two equal-length arrays. */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new RangeError("xor: lengths differ");
  return a.map((x, i) => x ^ b[i]);
}

/** Every byte inverted (`~X`). */
export function invert(a: Uint8Array): Uint8Array {
  return a.map((x) => x ^ 0xff);
}

/** A digit string as packed BCD (two digits a byte); the string must have even length. */
export function bcd(digits: string): Uint8Array {
  if (!/^[0-9]*$/.test(digits) || digits.length % 2) {
    throw new RangeError(`bcd: "${digits}" is not an even number of digits`);
  }
  return unhex(digits);
}

/** A non-negative integer as n-format BCD of `bytes` bytes (right-aligned, leading zeros). */
export function numeric(value: number | bigint, bytes: number): Uint8Array {
  const s = BigInt(value).toString();
  if (s.startsWith("-") || s.length > bytes * 2) {
    throw new RangeError(`numeric: ${value} does not fit n${bytes * 2}`);
  }
  return bcd(s.padStart(bytes * 2, "0"));
}

/** Digits as cn format of `bytes` bytes (left-aligned, trailing F nibbles). */
export function compressedNumeric(digits: string, bytes: number): Uint8Array {
  if (!/^[0-9]*$/.test(digits) || digits.length > bytes * 2) {
    throw new RangeError(`compressedNumeric: "${digits}" does not fit cn${bytes * 2}`);
  }
  return unhex(digits.padEnd(bytes * 2, "F"));
}

/** A big-endian unsigned integer of `bytes` bytes. */
export function uint(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = value;
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
  if (v !== 0) throw new RangeError(`uint: ${value} does not fit ${bytes} bytes`);
  return out;
}

/** Bytes as a non-negative bigint (empty → 0). */
export function toBig(b: Uint8Array): bigint {
  return b.length ? BigInt("0x" + hex(b)) : 0n;
}

/** A non-negative bigint as exactly `bytes` big-endian bytes. */
export function fromBig(x: bigint, bytes: number): Uint8Array {
  const s = x.toString(16);
  if (s.length > bytes * 2) throw new RangeError(`fromBig: value needs more than ${bytes} bytes`);
  return unhex(s.padStart(bytes * 2, "0"));
}

/** ASCII text as bytes. */
export function ascii(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
