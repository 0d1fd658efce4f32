/**
 * The character and digit encodings of ISO 8583 fields (ISO 8583:1987 §4.1 field formats;
 * the UnionPay terminal conventions in docs/iso8583.md, "Field table"): packed BCD with the
 * pad nibble on either side, ASCII text classes, and hex text for binary fields of ASCII
 * dialects. Every function checks its input and names the field when it refuses.
 */
import { fieldError } from "./errors.ts";

/** Field kinds: numeric, track (digits and a separator), alphanumeric (+ space), printable, binary. */
export type FieldKind = "n" | "z" | "an" | "ans" | "b";

/** Bytes that `digits` BCD digits occupy. */
export function bcdBytes(digits: number): number {
  return (digits + 1) >> 1;
}

/** The nibble of one character of an `n` or `z` value, or -1 when the kind forbids it. */
function nibbleOf(c: number, kind: FieldKind): number {
  if (c >= 48 && c <= 57) return c - 48;
  // Track data: the field separator is `D` in BCD (written `=` on magnetic track 2).
  if (kind === "z" && (c === 68 || c === 61)) return 0xd;
  return -1;
}

/** True when every character of `value` is allowed in a field of `kind` (b is never text). */
export function textAllowed(value: string, kind: FieldKind): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    switch (kind) {
      case "n":
        if (c < 48 || c > 57) return false;
        break;
      case "z":
        if (nibbleOf(c, "z") < 0) return false;
        break;
      case "an":
        // Alphanumeric; space is allowed as the pad of fixed fields (ISO 8583 "anp").
        if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 32)) {
          return false;
        }
        break;
      case "ans":
        if (c < 0x20 || c > 0x7e) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * Packs `value` (digits, `D`/`=` for `z`) as BCD into `out` at `at`. With an odd digit count
 * the pad nibble 0 goes left (`padLeft`, right-aligned value) or right (left-aligned value).
 * Returns the offset after the written bytes.
 */
export function packBcd(
  out: Uint8Array,
  at: number,
  value: string,
  padLeft: boolean,
  kind: FieldKind,
  field: number,
): number {
  const n = value.length;
  const pad = n & 1;
  let nib = padLeft ? pad : 0; // index of the next nibble to write
  const total = n + pad;
  out.fill(0, at, at + (total >> 1));
  for (let i = 0; i < n; i++, nib++) {
    const v = nibbleOf(value.charCodeAt(i), kind);
    if (v < 0) throw fieldError("ISO8583_FIELD_FORMAT", field, `character ${i + 1} is not ${kind}`);
    const o = at + (nib >> 1);
    out[o] |= nib & 1 ? v : v << 4;
  }
  return at + (total >> 1);
}

/**
 * Reads `digits` BCD digits from `src` at `at`. The pad nibble (odd counts) must be 0, or F
 * for track data; digits must be 0-9 (and D for `z`).
 */
export function unpackBcd(
  src: Uint8Array,
  at: number,
  digits: number,
  padLeft: boolean,
  kind: FieldKind,
  field: number,
): string {
  const pad = digits & 1;
  const first = padLeft ? pad : 0;
  let s = "";
  for (let k = 0; k < digits; k++) {
    const nib = first + k;
    const b = src[at + (nib >> 1)];
    const v = nib & 1 ? b & 0x0f : b >> 4;
    if (v <= 9) s += String.fromCharCode(48 + v);
    else if (v === 0xd && kind === "z") s += "D";
    else throw fieldError("ISO8583_FIELD_FORMAT", field, `nibble ${k + 1} is not a ${kind} digit`);
  }
  if (pad) {
    const b = src[at + (padLeft ? 0 : (digits >> 1))];
    const p = padLeft ? b >> 4 : b & 0x0f;
    if (!(p === 0 || (kind === "z" && p === 0xf))) {
      throw fieldError("ISO8583_FIELD_FORMAT", field, `pad nibble is not 0`);
    }
  }
  return s;
}

/** Writes `value` as one byte per character (the caller checked the character class). */
export function packAscii(out: Uint8Array, at: number, value: string): number {
  for (let i = 0; i < value.length; i++) out[at + i] = value.charCodeAt(i);
  return at + value.length;
}

/** Reads `n` bytes as text of `kind`, refusing bytes outside the class. */
export function unpackAscii(
  src: Uint8Array,
  at: number,
  n: number,
  kind: FieldKind,
  field: number,
): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(src[at + i]);
  if (!textAllowed(s, kind)) {
    throw fieldError("ISO8583_FIELD_FORMAT", field, `a byte is outside the ${kind} characters`);
  }
  return s;
}

const HEX_DIGITS = "0123456789ABCDEF";

/** Writes bytes as upper-case hex text (binary fields of ASCII dialects). */
export function packHexText(out: Uint8Array, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    out[at + 2 * i] = HEX_DIGITS.charCodeAt(bytes[i] >> 4);
    out[at + 2 * i + 1] = HEX_DIGITS.charCodeAt(bytes[i] & 15);
  }
  return at + 2 * bytes.length;
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Reads `n` bytes written as 2n hex characters. */
export function unpackHexText(src: Uint8Array, at: number, n: number, field: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const hi = hexNibble(src[at + 2 * i]);
    const lo = hexNibble(src[at + 2 * i + 1]);
    if (hi < 0 || lo < 0) throw fieldError("ISO8583_FIELD_FORMAT", field, `not hex text`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}
