/**
 * Data Object Lists (PDOL 9F38, CDOL1 8C, CDOL2 8D, DDOL 9F49): parsing and building the
 * related data (EMV 4.4 Book 3 §5.4; docs/emv-pboc.md "BER-TLV"). Each value is fitted to its
 * DOL length by the format the dictionary gives its tag: every n and cn tag of EMV 4.4 Book 3
 * Annex A and of PBOC is listed there (9F19, 9F20, 9F25, 42, 9F0C, 9F3B …), and a tag the
 * dictionary does not know is treated as b.
 */
import { type TagFormat, tagInfo } from "./dictionary.ts";
import { tagHex } from "./tree.ts";

export interface DolEntry {
  readonly tag: string;
  readonly length: number;
}

/** Parses a DOL (tag, length pairs; lengths are one byte). Throws naming the offset. */
export function parseDol(dol: Uint8Array): DolEntry[] {
  const out: DolEntry[] = [];
  let i = 0;
  while (i < dol.length) {
    const start = i;
    let tag = dol[i++];
    let n = 1;
    if ((tag & 0x1f) === 0x1f) {
      let more = true;
      while (more) {
        if (i >= dol.length) {
          throw new RangeError(`Cannot parse DOL at offset ${start}: tag truncated`);
        }
        const b = dol[i++];
        tag = tag * 256 + b;
        n++;
        if (n > 4) throw new RangeError(`Cannot parse DOL at offset ${start}: tag too long`);
        more = (b & 0x80) !== 0;
      }
    }
    if (i >= dol.length) {
      throw new RangeError(`Cannot parse DOL at offset ${start}: length missing`);
    }
    out.push({ tag: tagHex(tag, n), length: dol[i++] });
  }
  return out;
}

/** How a tag's value is fitted to a DOL length: by its dictionary format, b when unknown. */
export function dolFormat(tag: string): TagFormat {
  return tagInfo(tag)?.format ?? "b";
}

/**
 * Fits one value to its DOL length (EMV 4.4 Book 3 §5.4): missing → zeros; longer → n keeps
 * the rightmost bytes (the leading digits go), every other format the leftmost; shorter → n is
 * right-aligned behind leading 00 bytes, cn left-aligned before trailing FF bytes, every other
 * format left-aligned before trailing 00 bytes.
 */
export function fitDolValue(
  value: Uint8Array | undefined,
  length: number,
  format: TagFormat,
): Uint8Array {
  const out = new Uint8Array(length);
  if (!value) return out;
  if (value.length >= length) {
    out.set(format === "n" ? value.subarray(value.length - length) : value.subarray(0, length));
    return out;
  }
  if (format === "n") out.set(value, length - value.length);
  else {
    out.set(value, 0);
    if (format === "cn") out.fill(0xff, value.length);
  }
  return out;
}

/** Builds the DOL-related data from values by tag (formats from the dictionary, default b). */
export function buildDolData(
  dol: Uint8Array | readonly DolEntry[],
  values: ReadonlyMap<string, Uint8Array>,
): Uint8Array {
  const entries = dol instanceof Uint8Array ? parseDol(dol) : dol;
  const parts = entries.map((e) => fitDolValue(values.get(e.tag), e.length, dolFormat(e.tag)));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}
