/**
 * Chip data as the acquirer messages carry it: BER-TLV checks through icfare's TLV code
 * (EMV 4.4 Book 3 Annex B), and the track-2 equivalent (tag 57) turned into field 35.
 * Track-2 data is sensitive authentication data: these functions only transform it in
 * memory and never put it into an error message.
 */
import { fieldError } from "./errors.ts";
import { flattenValues, parseTlv } from "../tlv/tree.ts";
import { toHex } from "../hex.ts";

/** Refuses bytes that are not a well-formed BER-TLV list; `where` names the field or tag. */
export function checkBerTlv(v: Uint8Array, where: string): void {
  const t = parseTlv(v);
  if (!t.ok) {
    throw fieldError("ISO8583_FIELD_TLV", where, `BER-TLV ${t.code} at offset ${t.offset}`);
  }
}

/** Primitive values of a chip-data list by tag (first occurrence), after checking it. */
export function chipValues(v: Uint8Array, where: string): Map<string, Uint8Array> {
  const t = parseTlv(v);
  if (!t.ok) {
    throw fieldError("ISO8583_FIELD_TLV", where, `BER-TLV ${t.code} at offset ${t.offset}`);
  }
  return flattenValues(t.nodes);
}

const TRACK2_RE = /^[0-9]{12,19}D[0-9]{4}[0-9]{0,16}$/;

/**
 * Field 35 from the value of tag 57 (EMV 4.4 Book 3 Annex A: PAN, separator `D`, expiry
 * YYMM, service code, discretionary data, padded with `F`): the nibbles with the `F` pad
 * removed (AFC `qpboc_8583.c:868-957`).
 */
export function track2FromTag57(tag57: Uint8Array): string {
  const hex = toHex(tag57);
  const s = hex.endsWith("F") ? hex.slice(0, -1) : hex;
  if (s.length > 37 || !TRACK2_RE.test(s)) {
    throw fieldError("ISO8583_FIELD_CONTENT", 35, "tag 57 is not track-2 equivalent data");
  }
  return s;
}

/** PAN and expiry (YYMM) of a field-35 value; refuses anything not shaped like track 2. */
export function track2Parts(track2: string): { pan: string; expiry: string } {
  const t = track2.replace("=", "D");
  if (t.length > 37 || !TRACK2_RE.test(t)) {
    throw fieldError("ISO8583_FIELD_CONTENT", 35, "not track-2 equivalent data");
  }
  const d = t.indexOf("D");
  return { pan: t.slice(0, d), expiry: t.slice(d + 1, d + 5) };
}
