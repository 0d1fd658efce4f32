/**
 * BER-TLV encoding with minimal (canonical) lengths, EMV Book 3 Annex B.
 * Never emits `00`/`FF` padding.
 */
import { fromHex } from "../hex.ts";

/** What the encoder takes: a primitive value or a template of children. */
export type TlvInput =
  | { readonly tag: string; readonly value: Uint8Array }
  | { readonly tag: string; readonly children: readonly TlvInput[] };

/** Validates and converts a hex tag ("9F02") to bytes, checking BER tag structure. */
export function tagBytes(tag: string): Uint8Array {
  const t = fromHex(tag, `tag "${tag}"`);
  if (t.length < 1 || t.length > 4) throw new RangeError(`tag "${tag}": must be 1 to 4 bytes`);
  if (t[0] === 0x00 || t[0] === 0xff) throw new RangeError(`tag "${tag}": 00 and FF are padding`);
  const multi = (t[0] & 0x1f) === 0x1f;
  if (!multi && t.length !== 1) throw new RangeError(`tag "${tag}": first byte ends the tag`);
  for (let i = 1; i < t.length; i++) {
    const last = i === t.length - 1;
    if (((t[i] & 0x80) !== 0) === last) {
      throw new RangeError(`tag "${tag}": byte ${i + 1} continuation bit is wrong`);
    }
  }
  if (multi && t.length === 1) throw new RangeError(`tag "${tag}": needs subsequent bytes`);
  return t;
}

/** True when the tag's first byte marks a constructed object (b6). */
export function isConstructed(tag: string): boolean {
  return (parseInt(tag.slice(0, 2), 16) & 0x20) !== 0;
}

/** Minimal length field: short form up to 127, then 81/82/83. */
export function encodeLength(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`length must be a non-negative integer`);
  if (n < 0x80) return Uint8Array.of(n);
  if (n <= 0xff) return Uint8Array.of(0x81, n);
  if (n <= 0xffff) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  if (n <= 0xffffff) return Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
  throw new RangeError(`length ${n} exceeds the 3-byte long form`);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

function encodeOne(item: TlvInput): Uint8Array {
  const t = tagBytes(item.tag);
  const constructed = (t[0] & 0x20) !== 0;
  let value: Uint8Array;
  if ("children" in item) {
    if (!constructed) throw new TypeError(`tag ${item.tag} is primitive but has children`);
    value = encodeTlv(item.children);
  } else {
    value = item.value;
  }
  return concat([t, encodeLength(value.length), value]);
}

/** Encodes a sequence of data objects. */
export function encodeTlv(items: readonly TlvInput[]): Uint8Array {
  return concat(items.map(encodeOne));
}

// Checked tag bytes by tag text: tags recur in every record, so each is validated once.
// Never handed out (callers of tagBytes get their own copy), only copied into outputs.
const checkedTags = new Map<string, Uint8Array>();

function checkedTag(tag: string): Uint8Array {
  let t = checkedTags.get(tag);
  if (!t) {
    t = tagBytes(tag);
    if (checkedTags.size < 4096) checkedTags.set(tag, t);
  }
  return t;
}

/**
 * Encodes primitive objects from (tag, value) pairs in order: the same bytes as `encodeTlv`,
 * in one output allocation, each tag checked once per process (the simulator encodes
 * millions of records).
 */
export function encodePrimitives(pairs: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  const tags: Uint8Array[] = new Array(pairs.length);
  let total = 0;
  for (let i = 0; i < pairs.length; i++) {
    const [tag, value] = pairs[i];
    tags[i] = checkedTag(tag);
    total += tags[i].length + lengthBytes(value.length) + value.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (let i = 0; i < pairs.length; i++) {
    const value = pairs[i][1];
    out.set(tags[i], o);
    o += tags[i].length;
    o = writeLength(out, o, value.length);
    out.set(value, o);
    o += value.length;
  }
  return out;
}

function lengthBytes(n: number): number {
  return n < 0x80 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : encodeLength(n).length;
}

function writeLength(out: Uint8Array, o: number, n: number): number {
  if (n < 0x80) {
    out[o] = n;
    return o + 1;
  }
  const l = encodeLength(n);
  out.set(l, o);
  return o + l.length;
}
