/**
 * The ISO 8583 message codec, driven by a field table (`fields.ts`): MTI, primary and
 * secondary bitmaps (ISO 8583:1987 §4.2), fixed, LLVAR and LLLVAR fields in BCD, ASCII or
 * binary. Every field is checked on encode and on decode — length, characters, pad nibbles,
 * BER-TLV (field 55, through the kernel's TLV decoder) and the field-48 "PA" usage — and a
 * refusal is an `Iso8583Error` naming the field. Decoding is total: any byte string gives a
 * message or a coded error (tests/iso8583_fuzz_test.ts).
 */
import { fieldError, Iso8583Error } from "./errors.ts";
import {
  bcdBytes,
  packAscii,
  packBcd,
  packHexText,
  textAllowed,
  unpackAscii,
  unpackBcd,
  unpackHexText,
} from "./bcd.ts";
import type { Dialect, FieldSpec, PackagerSpec } from "./fields.ts";
import { checkBerTlv } from "./chip.ts";
import { checkPa } from "./pa.ts";

/** A field's value: text for `n`/`z`/`an`/`ans`, bytes for `b`. */
export type FieldValue = string | Uint8Array;

/** A message: its type and its fields by number (field 1, the secondary bitmap, is implied). */
export interface IsoMessage {
  readonly mti: string;
  readonly fields: ReadonlyMap<number, FieldValue>;
}

/** Builds a message from a plain record of fields. */
export function isoMessage(mti: string, fields: Record<number, FieldValue>): IsoMessage {
  return {
    mti,
    fields: new Map(Object.entries(fields).map(([k, v]) => [Number(k), v] as const)),
  };
}

const MTI_RE = /^[0-9]{4}$/;
const MAX_FIELD = 128;

function tableError(spec: PackagerSpec, what: string): Iso8583Error {
  return new Iso8583Error("ISO8583_TABLE", `packager ${spec.name}: ${what}`);
}

function checkFieldSpec(p: PackagerSpec, s: FieldSpec): void {
  const where = `field ${s.field}`;
  if (!Number.isInteger(s.field) || s.field < 2 || s.field > MAX_FIELD || s.field === 65) {
    throw tableError(p, `${where}: number must be 2..128, not 65 (tertiary bitmap)`);
  }
  if (!["n", "z", "an", "ans", "b"].includes(s.kind)) throw tableError(p, `${where}: kind`);
  if (s.prefix !== 0 && s.prefix !== 2 && s.prefix !== 3) throw tableError(p, `${where}: prefix`);
  const max = s.prefix === 2 ? 99 : 999;
  if (!Number.isInteger(s.length) || s.length < 1 || s.length > max) {
    throw tableError(p, `${where}: length must be 1..${max}`);
  }
  if (s.pad !== undefined && s.kind !== "n" && s.kind !== "z") {
    throw tableError(p, `${where}: pad applies to n and z only`);
  }
  if (s.content !== undefined && s.kind !== "b") {
    throw tableError(p, `${where}: content rules apply to binary fields`);
  }
}

function indexFields(p: PackagerSpec, list: readonly FieldSpec[], into: (FieldSpec | undefined)[]) {
  const seen = new Set<number>();
  for (const s of list) {
    checkFieldSpec(p, s);
    if (seen.has(s.field)) throw tableError(p, `field ${s.field} defined twice`);
    seen.add(s.field);
    into[s.field] = s;
  }
}

function checkDialect(p: PackagerSpec, d: Dialect): void {
  const ok = (d.mti === "bcd" || d.mti === "ascii") &&
    (d.bitmap === "binary" || d.bitmap === "hex") &&
    (d.prefix === "bcd" || d.prefix === "ascii") &&
    (d.numeric === "bcd" || d.numeric === "ascii") && (d.binary === "raw" || d.binary === "hex");
  if (!ok) throw tableError(p, "dialect has an unknown encoding");
}

/** Encodes and decodes messages by one packager spec (checked once, here). */
export class Packager {
  readonly spec: PackagerSpec;
  readonly #base: (FieldSpec | undefined)[] = new Array(MAX_FIELD + 1);
  readonly #byMti = new Map<string, (FieldSpec | undefined)[]>();

  constructor(spec: PackagerSpec) {
    this.spec = spec;
    checkDialect(spec, spec.dialect);
    indexFields(spec, spec.fields, this.#base);
    for (const [mti, list] of Object.entries(spec.byMti ?? {})) {
      if (!MTI_RE.test(mti)) throw tableError(spec, `byMti key "${mti}" is not an MTI`);
      const t = this.#base.slice();
      indexFields(spec, list, t);
      this.#byMti.set(mti, t);
    }
  }

  /** The definition of `field` for messages of type `mti`. */
  fieldSpec(field: number, mti: string): FieldSpec | undefined {
    return (this.#byMti.get(mti) ?? this.#base)[field];
  }

  /** Encodes a message; refuses any field its table does not allow. */
  pack(msg: IsoMessage): Uint8Array {
    const d = this.spec.dialect;
    if (typeof msg.mti !== "string" || !MTI_RE.test(msg.mti)) {
      throw new Iso8583Error("ISO8583_MTI", "MTI: must be 4 digits");
    }
    const table = this.#byMti.get(msg.mti) ?? this.#base;
    const numbers = [...msg.fields.keys()].sort((a, b) => a - b);
    const bitmap = new Uint8Array(16);
    const parts: Uint8Array[] = [];
    for (const n of numbers) {
      if (!Number.isInteger(n) || n < 2 || n > MAX_FIELD) {
        throw fieldError("ISO8583_FIELD_UNKNOWN", n, "not a data field (2..128)");
      }
      const s = table[n];
      if (!s) throw fieldError("ISO8583_FIELD_UNKNOWN", n, "not in the field table");
      parts.push(encodeField(s, msg.fields.get(n)!, d));
      bitmap[(n - 1) >> 3] |= 0x80 >> ((n - 1) & 7);
    }
    const secondary = numbers.length > 0 && numbers[numbers.length - 1] > 64;
    if (secondary) bitmap[0] |= 0x80;
    const head = encodeHead(msg.mti, secondary ? bitmap : bitmap.subarray(0, 8), d);
    let total = head.length;
    for (const p of parts) total += p.length;
    const out = new Uint8Array(total);
    out.set(head, 0);
    let o = head.length;
    for (const p of parts) (out.set(p, o), o += p.length);
    return out;
  }

  /** Decodes one message (no framing, TPDU or header); the bytes must end with its last field. */
  unpack(bytes: Uint8Array): IsoMessage {
    const d = this.spec.dialect;
    const r = new Reader(bytes);
    const mti = readMti(r, d);
    const table = this.#byMti.get(mti) ?? this.#base;
    const bitmap = readBitmap(r, d);
    const fields = new Map<number, FieldValue>();
    const top = bitmap.length * 8;
    for (let n = 2; n <= top; n++) {
      if (!(bitmap[(n - 1) >> 3] & (0x80 >> ((n - 1) & 7)))) continue;
      const s = table[n];
      if (!s) throw fieldError("ISO8583_FIELD_UNKNOWN", n, "present but not in the field table");
      fields.set(n, decodeField(s, r, d));
    }
    if (r.at !== bytes.length) {
      throw new Iso8583Error(
        "ISO8583_TRAILING",
        `${bytes.length - r.at} bytes after the last field`,
      );
    }
    return { mti, fields };
  }
}

// ------------------------------------------------------------------------------- encoding

function encodeHead(mti: string, bitmap: Uint8Array, d: Dialect): Uint8Array {
  const mtiLen = d.mti === "bcd" ? 2 : 4;
  const bmLen = d.bitmap === "binary" ? bitmap.length : 2 * bitmap.length;
  const out = new Uint8Array(mtiLen + bmLen);
  if (d.mti === "bcd") packBcd(out, 0, mti, true, "n", 0);
  else packAscii(out, 0, mti);
  if (d.bitmap === "binary") out.set(bitmap, mtiLen);
  else packHexText(out, mtiLen, bitmap);
  return out;
}

function fixedText(s: FieldSpec, v: string): string {
  if (v.length > s.length) {
    throw fieldError("ISO8583_FIELD_LENGTH", s.field, `${v.length} exceeds the length ${s.length}`);
  }
  if (v.length === s.length) return v;
  // Numbers are right-aligned with zeros, text left-aligned with spaces (ISO 8583:1987 §4.1).
  return s.kind === "n" || s.kind === "z" ? v.padStart(s.length, "0") : v.padEnd(s.length, " ");
}

function checkValue(s: FieldSpec, value: FieldValue): FieldValue {
  if (s.kind === "b") {
    if (!(value instanceof Uint8Array)) {
      throw fieldError("ISO8583_FIELD_TYPE", s.field, "binary field needs a Uint8Array");
    }
    if (s.prefix === 0 && value.length !== s.length) {
      throw fieldError(
        "ISO8583_FIELD_LENGTH",
        s.field,
        `${value.length} bytes, must be ${s.length}`,
      );
    }
  } else {
    if (typeof value !== "string") {
      throw fieldError("ISO8583_FIELD_TYPE", s.field, `${s.kind} field needs a string`);
    }
    if (!textAllowed(value, s.kind)) {
      throw fieldError("ISO8583_FIELD_FORMAT", s.field, `a character is not ${s.kind}`);
    }
    if (s.prefix === 0) value = fixedText(s, value);
  }
  if (s.prefix !== 0 && value.length > s.length) {
    throw fieldError(
      "ISO8583_FIELD_LENGTH",
      s.field,
      `${value.length} exceeds the maximum ${s.length}`,
    );
  }
  if (s.content && value instanceof Uint8Array) checkContent(s, value);
  return value;
}

function prefixBytes(s: FieldSpec, d: Dialect): number {
  if (s.prefix === 0) return 0;
  return d.prefix === "bcd" ? (s.prefix === 2 ? 1 : 2) : s.prefix;
}

function valueBytes(s: FieldSpec, units: number, d: Dialect): number {
  if (s.kind === "n" || s.kind === "z") return d.numeric === "bcd" ? bcdBytes(units) : units;
  if (s.kind === "b") return d.binary === "raw" ? units : 2 * units;
  return units;
}

function encodeField(s: FieldSpec, raw: FieldValue, d: Dialect): Uint8Array {
  const value = checkValue(s, raw);
  // What a length prefix counts: digits (n, z), characters (an, ans) or bytes (b).
  const units = value.length;
  const pl = prefixBytes(s, d);
  const out = new Uint8Array(pl + valueBytes(s, units, d));
  if (pl) {
    const digits = String(units).padStart(s.prefix === 2 ? 2 : d.prefix === "bcd" ? 4 : 3, "0");
    if (d.prefix === "bcd") packBcd(out, 0, digits, true, "n", s.field);
    else packAscii(out, 0, digits);
  }
  if (value instanceof Uint8Array) {
    if (d.binary === "raw") out.set(value, pl);
    else packHexText(out, pl, value);
  } else if ((s.kind === "n" || s.kind === "z") && d.numeric === "bcd") {
    const padLeft = (s.pad ?? (s.prefix === 0 ? "left" : "right")) === "left";
    packBcd(out, pl, value, padLeft, s.kind, s.field);
  } else {
    packAscii(out, pl, value);
  }
  return out;
}

// ------------------------------------------------------------------------------- decoding

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  need(n: number, what: string): number {
    if (this.bytes.length - this.at < n) {
      throw new Iso8583Error("ISO8583_TRUNCATED", `${what}: message ends after ${this.at} bytes`);
    }
    const start = this.at;
    this.at += n;
    return start;
  }
}

function readMti(r: Reader, d: Dialect): string {
  const at = r.need(d.mti === "bcd" ? 2 : 4, "MTI");
  try {
    return d.mti === "bcd"
      ? unpackBcd(r.bytes, at, 4, true, "n", 0)
      : unpackAscii(r.bytes, at, 4, "n", 0);
  } catch {
    throw new Iso8583Error("ISO8583_MTI", "MTI: not 4 digits");
  }
}

function readBitmapBlock(r: Reader, d: Dialect, what: string): Uint8Array {
  const at = r.need(d.bitmap === "binary" ? 8 : 16, what);
  if (d.bitmap === "binary") return r.bytes.slice(at, at + 8);
  try {
    return unpackHexText(r.bytes, at, 8, 1);
  } catch {
    throw new Iso8583Error("ISO8583_BITMAP", `${what}: not hex text`);
  }
}

function readBitmap(r: Reader, d: Dialect): Uint8Array {
  const primary = readBitmapBlock(r, d, "primary bitmap");
  if (!(primary[0] & 0x80)) return primary;
  const secondary = readBitmapBlock(r, d, "secondary bitmap");
  if (secondary[0] & 0x80) {
    throw new Iso8583Error("ISO8583_BITMAP", "field 65: tertiary bitmaps are not supported");
  }
  const all = new Uint8Array(16);
  all.set(primary, 0);
  all.set(secondary, 8);
  return all;
}

function readPrefix(s: FieldSpec, r: Reader, d: Dialect): number {
  if (s.prefix === 0) return s.length;
  const pl = prefixBytes(s, d);
  const at = r.need(pl, `field ${s.field} length`);
  let text: string;
  try {
    text = d.prefix === "bcd"
      ? unpackBcd(r.bytes, at, 2 * pl, true, "n", s.field)
      : unpackAscii(r.bytes, at, pl, "n", s.field);
  } catch {
    throw fieldError("ISO8583_FIELD_LENGTH", s.field, "length prefix is not decimal");
  }
  const units = Number(text);
  if (units > s.length) {
    throw fieldError(
      "ISO8583_FIELD_LENGTH",
      s.field,
      `length ${units} exceeds the maximum ${s.length}`,
    );
  }
  return units;
}

function decodeField(s: FieldSpec, r: Reader, d: Dialect): FieldValue {
  const units = readPrefix(s, r, d);
  const at = r.need(valueBytes(s, units, d), `field ${s.field}`);
  const b = r.bytes;
  if (s.kind === "b") {
    const v = d.binary === "raw" ? b.slice(at, at + units) : unpackHexText(b, at, units, s.field);
    if (s.content) checkContent(s, v);
    return v;
  }
  if ((s.kind === "n" || s.kind === "z") && d.numeric === "bcd") {
    const padLeft = (s.pad ?? (s.prefix === 0 ? "left" : "right")) === "left";
    return unpackBcd(b, at, units, padLeft, s.kind, s.field);
  }
  return unpackAscii(b, at, units, s.kind, s.field);
}

// ------------------------------------------------------------------------------- content

/** Checks BER-TLV (EMV 4.4 Book 3 Annex B) through the kernel decoder, or the "PA" usage. */
function checkContent(s: FieldSpec, v: Uint8Array): void {
  if (s.content === "ber-tlv") checkBerTlv(v, `${s.field}`);
  else if (s.content === "pa") checkPa(v, s.field);
}
