/**
 * BER-TLV as the chip data of an upload carries it (EMV 4.4 Book 3 Annex B): a flat list of
 * primitive objects, tags of one to three bytes, definite lengths in short form (< 128) or long
 * form (81 xx, 82 xx xx). Encoder and a small reader, written for the builder alone.
 */
import { cat, hex, unhex } from "./bytes.ts";

/** An ordered list of (tag hex, value) pairs. */
export type TlvList = [string, Uint8Array][];

/** The length field of a value of `n` bytes. */
export function lengthField(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  throw new RangeError("lengthField: longer than 65535");
}

/** Checks a tag's hex: first byte not 00/FF, continuation bits per Annex B1. */
function tagBytes(tag: string): Uint8Array {
  const t = unhex(tag);
  if (t.length === 0 || t[0] === 0 || t[0] === 0xff) throw new RangeError(`bad tag ${tag}`);
  const multi = (t[0] & 0x1f) === 0x1f;
  if (!multi && t.length !== 1) throw new RangeError(`bad tag ${tag}: first byte ends it`);
  for (let i = 1; i < t.length; i++) {
    const last = i === t.length - 1;
    if (last === ((t[i] & 0x80) !== 0)) throw new RangeError(`bad tag ${tag}: continuation`);
  }
  return t;
}

/** Encodes a list of primitive objects in order. */
export function encodeTlv(list: TlvList): Uint8Array {
  return cat(...list.flatMap(([tag, v]) => [tagBytes(tag), lengthField(v.length), v]));
}

/** Reads a flat list of primitive objects; throws on a truncated object. */
export function readTlv(b: Uint8Array): TlvList {
  const out: TlvList = [];
  let p = 0;
  while (p < b.length) {
    const start = p;
    if ((b[p++] & 0x1f) === 0x1f) {
      while (p < b.length && b[p] & 0x80) p++;
      p++;
    }
    if (p >= b.length) throw new RangeError(`readTlv: truncated at ${start}`);
    const tag = hex(b.subarray(start, p));
    let len = b[p++];
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[p++];
    }
    if (p + len > b.length) throw new RangeError(`readTlv: value overruns at ${start}`);
    out.push([tag, b.slice(p, p + len)]);
    p += len;
  }
  return out;
}

/** The value of a tag in a list (first occurrence). */
export function valueOf(list: TlvList, tag: string): Uint8Array | undefined {
  return list.find(([t]) => t === tag)?.[1];
}

/** A copy of the list with a tag's value replaced (added at the end when absent). */
export function withValue(list: TlvList, tag: string, v: Uint8Array): TlvList {
  const out: TlvList = list.map(([t, x]) => [t, t === tag ? v : x]);
  if (!list.some(([t]) => t === tag)) out.push([tag, v]);
  return out;
}

/** A copy of the list without a tag. */
export function without(list: TlvList, tag: string): TlvList {
  return list.filter(([t]) => t !== tag);
}
