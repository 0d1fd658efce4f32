/**
 * A second, independent BER-TLV decoder in plain TypeScript: recursive where the kernel is
 * iterative, written from the same rules (EMV Book 3 Annex B, ISO 7816-4 Annex D padding).
 * It is the differential oracle for the kernel's fuzz tests and the pure-TS side of the TLV
 * benchmark. Returns the same flat pre-order entries and status codes as the kernel.
 */
export interface RefEntry {
  tag: number;
  header: number;
  value: number;
  length: number;
  depth: number;
  constructed: boolean;
  parent: number;
}

export type RefResult =
  | { ok: true; entries: RefEntry[] }
  | { ok: false; code: string; offset: number; entries: RefEntry[] };

class Stop {
  constructor(readonly code: string, readonly offset: number) {}
}

export function refDecode(buf: Uint8Array, maxDepth = 8, maxObjects = 1024): RefResult {
  const entries: RefEntry[] = [];
  const level = (from: number, to: number, depth: number, parent: number): void => {
    let p = from;
    while (p < to) {
      const first = buf[p];
      if (first === 0x00 || first === 0xff) {
        p++;
        continue;
      }
      const header = p;
      let tag = first;
      p++;
      if ((first & 0x1f) === 0x1f) {
        let n = 1;
        for (;;) {
          if (p >= to) throw new Stop("TLV_TRUNCATED_TAG", header);
          const b = buf[p++];
          if (++n > 4) throw new Stop("TLV_TAG_TOO_LONG", header);
          tag = tag * 256 + b;
          if ((b & 0x80) === 0) break;
        }
      }
      if (p >= to) throw new Stop("TLV_TRUNCATED_LENGTH", p);
      const lenAt = p;
      let len = buf[p++];
      if (len === 0x80) throw new Stop("TLV_INDEFINITE_LENGTH", lenAt);
      if (len > 0x80) {
        const k = len - 0x80;
        if (k > 3) throw new Stop("TLV_LENGTH_FORM", lenAt);
        if (k > to - p) throw new Stop("TLV_TRUNCATED_LENGTH", lenAt);
        len = 0;
        for (let i = 0; i < k; i++) len = len * 256 + buf[p++];
      }
      if (len > to - p) throw new Stop("TLV_VALUE_OVERRUN", lenAt);
      if (entries.length >= maxObjects) throw new Stop("TLV_TOO_MANY_OBJECTS", header);
      const constructed = (first & 0x20) !== 0;
      const index = entries.length;
      entries.push({ tag, header, value: p, length: len, depth, constructed, parent });
      if (constructed) {
        if (depth + 1 >= maxDepth) throw new Stop("TLV_DEPTH_EXCEEDED", header);
        level(p, p + len, depth + 1, index);
      }
      p += len;
    }
  };
  try {
    level(0, buf.length, 0, -1);
    return { ok: true, entries };
  } catch (e) {
    if (e instanceof Stop) {
      // The kernel reports entries fully written before the failing one; an entry that
      // failed on its own depth check is counted by neither.
      const keep = e.code === "TLV_DEPTH_EXCEEDED" ? entries.length - 1 : entries.length;
      return { ok: false, code: e.code, offset: e.offset, entries: entries.slice(0, keep) };
    }
    throw e;
  }
}
