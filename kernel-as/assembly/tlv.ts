// BER-TLV decoding for EMV data (EMV 4.4 Book 3 Annex B; ISO/IEC 8825-1; ISO/IEC 7816-4 Annex D).
//
// Zero-copy: the decoder never copies values. It writes one 24-byte index entry per data
// object into a caller-chosen region, all offsets relative to the start of the input:
//
//   +0  u32 tag        tag bytes big-endian (1-4 bytes: 0x9F02, 0xDF9A03)
//   +4  u32 header     offset of the first tag byte
//   +8  u32 value      offset of the first value byte
//   +12 u32 length     value length in bytes
//   +16 u8  depth      0 for top-level objects
//   +17 u8  constructed 1 when the tag's b6 is set (value is itself TLV, recursed)
//   +18 u8  tagBytes   1-4
//   +19 u8  lenBytes   1-4 (1 short form, 2-4 long form 81/82/83)
//   +20 u32 parent     index of the enclosing constructed object, 0xFFFFFFFF at top level
//
// Rules: `00` and `FF` where a tag is expected are padding and skipped (Book 3 Annex B,
// 7816-4 Annex D); the indefinite length `80` and long forms of more than 3 length bytes are
// refused; a length that runs past its parent (or the buffer) is refused; nesting depth and
// object count are bounded. Every failure is a status plus the byte offset where it was found.

import { INDEX_BASE, INDEX_SIZE, inBounds } from "./memory";
import { ST_BAD_ARGUMENT, ST_OK } from "./status";

export const TLV_ENTRY_BYTES: i32 = 24;
export const TLV_MAX_DEPTH_LIMIT: i32 = 32;

export const ST_TLV_TRUNCATED_TAG: i32 = 100;
export const ST_TLV_TAG_TOO_LONG: i32 = 101;
export const ST_TLV_TRUNCATED_LENGTH: i32 = 102;
export const ST_TLV_INDEFINITE_LENGTH: i32 = 103;
export const ST_TLV_LENGTH_FORM: i32 = 104;
export const ST_TLV_VALUE_OVERRUN: i32 = 105;
export const ST_TLV_DEPTH_EXCEEDED: i32 = 106;
export const ST_TLV_TOO_MANY_OBJECTS: i32 = 107;

// Nesting stack: end offset and entry index of each open constructed object.
const STACK_END: usize = memory.data(4 * TLV_MAX_DEPTH_LIMIT);
const STACK_IDX: usize = memory.data(4 * TLV_MAX_DEPTH_LIMIT);

let resultCount: u32 = 0;
let resultErrorOffset: u32 = 0;

/** Number of entries written by the last decode (also on failure: entries before the error). */
export function tlvCount(): u32 {
  return resultCount;
}

/** Offset (relative to the input) where the last decode failed; 0 after success. */
export function tlvErrorOffset(): u32 {
  return resultErrorOffset;
}

/** The `n` (1-3) big-endian bytes at `p` as a number (a long-form length's value). */
// @ts-ignore: decorator
@inline function bigEndianLength(p: usize, n: u32): u32 {
  let vlen: u32 = 0;
  for (let i: u32 = 0; i < n; i++) vlen = (vlen << 8) | <u32>load<u8>(p + i);
  return vlen;
}

/** Opens a constructed object: its value ends at `end`, its entry is `idx`. */
// @ts-ignore: decorator
@inline function pushOpen(depth: i32, end: u32, idx: u32): void {
  store<u32>(STACK_END + (<usize>depth << 2), end);
  store<u32>(STACK_IDX + (<usize>depth << 2), idx);
}

/** Writes one 24-byte index entry (layout at the top of this file). */
// @ts-ignore: decorator
@inline function storeEntry(
  e: usize,
  tag: u32,
  header: u32,
  value: u32,
  vlen: u32,
  flags: u32,
  parent: u32,
): void {
  store<u32>(e, tag);
  store<u32>(e, header, 4);
  store<u32>(e, value, 8);
  store<u32>(e, vlen, 12);
  store<u32>(e, flags, 16);
  store<u32>(e, parent, 20);
}

/**
 * Decodes `len` bytes at `src` into index entries at `index` (room for `capacity` entries).
 * Used by the exported entry points and by other kernel families (the verification engine).
 */
export function decodeInto(
  src: usize,
  len: u32,
  index: usize,
  capacity: u32,
  maxDepth: i32,
): i32 {
  resultCount = 0;
  resultErrorOffset = 0;
  let pos: u32 = 0;
  let depth: i32 = 0;
  let end: u32 = len; // end of the innermost open object (or of the buffer)
  let count: u32 = 0;
  let parent: u32 = 0xFFFFFFFF;
  while (true) {
    // Close every constructed object whose value has been fully read.
    while (depth > 0 && pos == end) {
      depth--;
      end = depth > 0 ? load<u32>(STACK_END + (<usize>(depth - 1) << 2)) : len;
      parent = depth > 0 ? load<u32>(STACK_IDX + (<usize>(depth - 1) << 2)) : 0xFFFFFFFF;
    }
    if (pos >= end) break;
    const first = <u32>load<u8>(src + pos);
    if (first == 0x00 || first == 0xFF) {
      pos++;
      continue;
    }
    const header = pos;
    let tag: u32 = first;
    let tagBytes: u32 = 1;
    pos++;
    if ((first & 0x1F) == 0x1F) {
      let more = true;
      while (more) {
        if (pos >= end) return fail(ST_TLV_TRUNCATED_TAG, header, count);
        const b = <u32>load<u8>(src + pos);
        pos++;
        tagBytes++;
        if (tagBytes > 4) return fail(ST_TLV_TAG_TOO_LONG, header, count);
        tag = (tag << 8) | b;
        more = (b & 0x80) != 0;
      }
    }
    if (pos >= end) return fail(ST_TLV_TRUNCATED_LENGTH, pos, count);
    const lenOffset = pos;
    const l0 = <u32>load<u8>(src + pos);
    pos++;
    let vlen: u32 = l0;
    let lenBytes: u32 = 1;
    if (l0 >= 0x80) {
      if (l0 == 0x80) return fail(ST_TLV_INDEFINITE_LENGTH, lenOffset, count);
      const n = l0 & 0x7F;
      if (n > 3) return fail(ST_TLV_LENGTH_FORM, lenOffset, count);
      if (n > end - pos) return fail(ST_TLV_TRUNCATED_LENGTH, lenOffset, count);
      vlen = bigEndianLength(src + pos, n);
      pos += n;
      lenBytes += n;
    }
    if (vlen > end - pos) return fail(ST_TLV_VALUE_OVERRUN, lenOffset, count);
    if (count >= capacity) return fail(ST_TLV_TOO_MANY_OBJECTS, header, count);
    const constructed: u32 = (first & 0x20) != 0 ? 1 : 0;
    const flags = <u32>depth | (constructed << 8) | (tagBytes << 16) | (lenBytes << 24);
    storeEntry(index + <usize>count * TLV_ENTRY_BYTES, tag, header, pos, vlen, flags, parent);
    if (constructed) {
      if (depth + 1 >= maxDepth) return fail(ST_TLV_DEPTH_EXCEEDED, header, count);
      pushOpen(depth, pos + vlen, count);
      parent = count;
      depth++;
      end = pos + vlen;
    } else {
      pos += vlen;
    }
    count++;
  }
  resultCount = count;
  return ST_OK;
}

// @ts-ignore: decorator
@inline
function fail(status: i32, offset: u32, count: u32): i32 {
  resultCount = count;
  resultErrorOffset = offset;
  return status;
}

function checkLimits(maxDepth: i32, maxObjects: u32): bool {
  return maxDepth >= 1 && maxDepth <= TLV_MAX_DEPTH_LIMIT && maxObjects >= 1 &&
    <usize>maxObjects <= INDEX_SIZE / TLV_ENTRY_BYTES;
}

/** Decodes one buffer into the INDEX region. Returns a status; see tlvCount/tlvErrorOffset. */
export function tlvDecode(src: usize, len: u32, maxDepth: i32, maxObjects: u32): i32 {
  resultCount = 0;
  resultErrorOffset = 0;
  if (!inBounds(src, len) || !checkLimits(maxDepth, maxObjects)) return ST_BAD_ARGUMENT;
  return decodeInto(src, len, INDEX_BASE, maxObjects, maxDepth);
}

/**
 * Structural check of many records in one call. `desc` holds `count` pairs of u32
 * (absolute pointer, length); `out` receives per record three u32: status, error offset,
 * object count. Index entries are scratch (overwritten record by record).
 * Returns ST_OK when the arguments were usable (per-record statuses are in `out`).
 */
export function tlvCheckBatch(
  desc: usize,
  count: u32,
  out: usize,
  maxDepth: i32,
  maxObjects: u32,
): i32 {
  if (!inBounds(desc, count << 3) || !inBounds(out, count * 12)) return ST_BAD_ARGUMENT;
  if (!checkLimits(maxDepth, maxObjects)) return ST_BAD_ARGUMENT;
  for (let i: u32 = 0; i < count; i++) {
    const ptr = <usize>load<u32>(desc + (<usize>i << 3));
    const len = load<u32>(desc + (<usize>i << 3), 4);
    const o = out + <usize>i * 12;
    let st = ST_BAD_ARGUMENT;
    if (inBounds(ptr, len)) st = decodeInto(ptr, len, INDEX_BASE, maxObjects, maxDepth);
    store<u32>(o, <u32>st);
    store<u32>(o, st == ST_BAD_ARGUMENT ? 0 : resultErrorOffset, 4);
    store<u32>(o, resultCount, 8);
  }
  return ST_OK;
}
