/**
 * Faults applied to a built tap after the card has signed it: the bytes a terminal, a network
 * or an attacker could change. Faults a card would sign differently (another ATC in the
 * signature, expired certificates, a bad IDD MAC…) are `TapSpec` fields instead.
 */
import { hex } from "./bytes.ts";
import type { BuiltTap, UploadRecord } from "./tap.ts";
import { encodeTlv, type TlvList, valueOf, without, withValue } from "./tlv.ts";

function withIcc(tap: BuiltTap, icc: TlvList): BuiltTap {
  return { ...tap, icc, record: { ...tap.record, icc: hex(encodeTlv(icc)) } };
}

function withOda(tap: BuiltTap, oda: TlvList): BuiltTap {
  const base = tap.record.oda ?? { tlv: "", staticData: hex(tap.staticRecords) };
  return { ...tap, oda, record: { ...tap.record, oda: { ...base, tlv: hex(encodeTlv(oda)) } } };
}

/** The chip data with a tag set to another value (hex). */
export function setIccTag(tap: BuiltTap, tag: string, value: Uint8Array): BuiltTap {
  return withIcc(tap, withValue(tap.icc, tag, value));
}

/** The chip data without a tag. */
export function dropIccTag(tap: BuiltTap, tag: string): BuiltTap {
  return withIcc(tap, without(tap.icc, tag));
}

/** The ODA evidence without a tag. */
export function dropOdaTag(tap: BuiltTap, tag: string): BuiltTap {
  return withOda(tap, without(tap.oda, tag));
}

/** One byte of a tag's value inverted, in the chip data or the ODA evidence. */
export function flipByte(tap: BuiltTap, tag: string, index = 0): BuiltTap {
  const inIcc = valueOf(tap.icc, tag) !== undefined;
  const v = valueOf(inIcc ? tap.icc : tap.oda, tag);
  if (!v) throw new RangeError(`flipByte: the tap has no ${tag}`);
  const w = v.slice();
  w[index < 0 ? w.length + index : index] ^= 0xff;
  return inIcc
    ? withIcc(tap, withValue(tap.icc, tag, w))
    : withOda(tap, withValue(tap.oda, tag, w));
}

/** The chip data hex cut short by `bytes` bytes (a truncated upload). */
export function truncateIcc(tap: BuiltTap, bytes: number): BuiltTap {
  return { ...tap, record: { ...tap.record, icc: tap.record.icc.slice(0, -2 * bytes) } };
}

/** The static data records with one byte inverted (records altered after personalisation). */
export function alterStaticData(tap: BuiltTap, index = 0): BuiltTap {
  if (!tap.record.oda) throw new RangeError("alterStaticData: the tap has no ODA evidence");
  const s = tap.staticRecords.slice();
  s[index] ^= 0xff;
  return {
    ...tap,
    staticRecords: s,
    record: { ...tap.record, oda: { ...tap.record.oda, staticData: hex(s) } },
  };
}

/** The record with another upload fare. */
export function withFare(tap: BuiltTap, fare: number): BuiltTap {
  return { ...tap, record: { ...tap.record, fare } };
}

/** The same record again under another terminal sequence number (an exact duplicate). */
export function resent(tap: BuiltTap, seq: number): BuiltTap {
  return { ...tap, record: { ...tap.record, seq } };
}

/** Records of several taps, in order. */
export function records(...taps: BuiltTap[]): UploadRecord[] {
  return taps.map((t) => t.record);
}
