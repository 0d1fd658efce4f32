/**
 * Field 48, usage "PA": the transit data an ODA bus terminal sends with its deferred debit
 * (docs/iso8583.md, "Field 48 PA"): `PA` ‖ product code (4) ‖ region (4) ‖ regional add-on
 * (4) ‖ tag-length-value items ‖ `#`. The items are not BER-TLV (their tags start with FF,
 * which BER treats as padding): 2-byte tag, 1-byte length or `81` ‖ length, value. FF56 holds
 * a copy of the chip data (what field 55 would hold), which is checked as BER-TLV.
 * Sources: AFC `qpboc_8583.c:1295-1434` and CL `TERMAPP_record.c:2329-2515`.
 */
import { fieldError } from "./errors.ts";
import { checkBerTlv } from "./chip.ts";

/** The PA items icfare knows; any other item is kept in `extra`. */
export interface PaData {
  /** Product code, class and subclass (4 digits, default `5709`). */
  readonly productCode?: string;
  /** Region (4 digits, default `0000`). */
  readonly region?: string;
  /** Regional add-on (4 digits, default `0001`). */
  readonly regionAddOn?: string;
  /** 1F51, meaning not stated by the sources (default `24`). */
  readonly mark?: string;
  /** 1F52: `01` ODA, `02` QR, `03` online qPBOC/POS. */
  readonly channel?: string;
  /** FF56: the chip data (BER-TLV) with the ARQC. */
  readonly iccData?: Uint8Array;
  /** FF57: station id. */
  readonly station?: string;
  /** FF58: transaction time `YYYYMMDDhhmmss`. */
  readonly txnTime?: string;
  /** FF61: company. */
  readonly company?: string;
  /** FF62: line number. */
  readonly line?: string;
  /** FF63: vehicle / plate. */
  readonly vehicle?: string;
  /** FF64: driver number. */
  readonly driver?: string;
  /** FF43: ODA institution code (8 characters, e.g. `0000FSGJ`). */
  readonly institution?: string;
  /** FF65 `1` + FF66: the 6-digit trace of an earlier timed-out transaction. */
  readonly earlierTrace?: string;
  /** Other items, tag (4 hex digits) and value, in order. */
  readonly extra?: readonly (readonly [string, Uint8Array])[];
}

type TextKey = Exclude<
  keyof PaData,
  "iccData" | "extra" | "productCode" | "region" | "regionAddOn"
>;

/** Text items in the order AFC writes them, with their tag and length rule. */
const TEXT_ITEMS: readonly { tag: string; key: TextKey; re: RegExp }[] = [
  { tag: "1F51", key: "mark", re: /^[0-9]{2}$/ },
  { tag: "1F52", key: "channel", re: /^0[1-3]$/ },
  { tag: "FF57", key: "station", re: /^[\x20-\x7e]{1,32}$/ },
  { tag: "FF58", key: "txnTime", re: /^[0-9]{14}$/ },
  { tag: "FF61", key: "company", re: /^[\x20-\x7e]{1,32}$/ },
  { tag: "FF62", key: "line", re: /^[\x20-\x7e]{1,16}$/ },
  { tag: "FF63", key: "vehicle", re: /^[\x20-\x7e]{1,16}$/ },
  { tag: "FF64", key: "driver", re: /^[\x20-\x7e]{1,16}$/ },
  { tag: "FF43", key: "institution", re: /^[\x20-\x7e]{8}$/ },
];
const TAG_OF_KEY = new Map(TEXT_ITEMS.map((i) => [i.key, i]));
const ITEM_OF_TAG = new Map(TEXT_ITEMS.map((i) => [i.tag, i]));
const HEAD_RE = /^PA[0-9]{12}$/;
const enc = new TextEncoder();
const dec = new TextDecoder("latin1");

function item(tag: string, value: Uint8Array, longForm = false): Uint8Array {
  const t = Number.parseInt(tag, 16);
  const long = longForm || value.length > 0x7f;
  const head = long ? [t >> 8, t & 0xff, 0x81, value.length] : [t >> 8, t & 0xff, value.length];
  const out = new Uint8Array(head.length + value.length);
  out.set(head, 0);
  out.set(value, head.length);
  return out;
}

function textItem(key: TextKey, value: string, field: number): Uint8Array {
  const spec = TAG_OF_KEY.get(key)!;
  if (!spec.re.test(value)) throw fieldError("ISO8583_FIELD_CONTENT", `${field} ${spec.tag}`, key);
  return item(spec.tag, enc.encode(value));
}

function headOf(pa: PaData, field: number): string {
  const head = `PA${pa.productCode ?? "5709"}${pa.region ?? "0000"}${pa.regionAddOn ?? "0001"}`;
  if (!HEAD_RE.test(head)) {
    throw fieldError("ISO8583_FIELD_CONTENT", field, "PA product, region and add-on are 4 digits");
  }
  return head;
}

/** Encodes field 48 in the PA usage (items in AFC's order, then `extra`). */
export function encodePa(pa: PaData, field = 48): Uint8Array {
  const parts: Uint8Array[] = [enc.encode(headOf(pa, field))];
  const text = (key: TextKey) => {
    const v = pa[key];
    if (v !== undefined) parts.push(textItem(key, v, field));
  };
  text("mark");
  text("channel");
  if (pa.iccData !== undefined) {
    if (pa.iccData.length > 0xff) {
      throw fieldError("ISO8583_FIELD_CONTENT", `${field} FF56`, "chip data over 255 bytes");
    }
    checkBerTlv(pa.iccData, `${field} FF56`);
    parts.push(item("FF56", pa.iccData, true));
  }
  for (const k of ["station", "txnTime", "company", "line", "vehicle", "driver"] as const) text(k);
  text("institution");
  if (pa.earlierTrace !== undefined) {
    if (!/^[0-9]{6}$/.test(pa.earlierTrace)) {
      throw fieldError("ISO8583_FIELD_CONTENT", `${field} FF66`, "earlier trace is 6 digits");
    }
    parts.push(item("FF65", enc.encode("1")), item("FF66", enc.encode(pa.earlierTrace)));
  }
  for (const [tag, v] of pa.extra ?? []) {
    if (
      !/^[0-9A-F]{4}$/.test(tag) || ITEM_OF_TAG.has(tag) || ["FF56", "FF65", "FF66"].includes(tag)
    ) {
      throw fieldError("ISO8583_FIELD_CONTENT", field, `extra item tag ${tag}`);
    }
    if (v.length > 0xff) {
      throw fieldError("ISO8583_FIELD_CONTENT", `${field} ${tag}`, "over 255 bytes");
    }
    parts.push(item(tag, v));
  }
  parts.push(enc.encode("#"));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

/** Reads the items after the 14-character head up to the closing `#`. */
function readItems(v: Uint8Array, field: number): [string, Uint8Array][] {
  const items: [string, Uint8Array][] = [];
  let o = 14;
  while (true) {
    if (o === v.length - 1 && v[o] === 0x23) return items;
    if (o + 3 > v.length) throw fieldError("ISO8583_FIELD_CONTENT", field, "PA ends without #");
    const tag = ((v[o] << 8) | v[o + 1]).toString(16).toUpperCase().padStart(4, "0");
    let len = v[o + 2];
    o += 3;
    if (len === 0x81) {
      if (o >= v.length) throw fieldError("ISO8583_FIELD_CONTENT", `${field} ${tag}`, "length cut");
      len = v[o++];
    } else if (len > 0x7f) {
      throw fieldError("ISO8583_FIELD_CONTENT", `${field} ${tag}`, "length form not 1 byte or 81");
    }
    if (o + len > v.length) {
      throw fieldError("ISO8583_FIELD_CONTENT", `${field} ${tag}`, "value runs past the field");
    }
    if (items.some(([t]) => t === tag)) {
      throw fieldError("ISO8583_FIELD_CONTENT", `${field} ${tag}`, "item appears twice");
    }
    items.push([tag, v.slice(o, o + len)]);
    o += len;
  }
}

/** Decodes field 48 in the PA usage, checking every item it knows (FF56 as BER-TLV). */
export function decodePa(v: Uint8Array, field = 48): PaData {
  const head = dec.decode(v.subarray(0, 14));
  if (v.length < 15 || !HEAD_RE.test(head)) {
    throw fieldError("ISO8583_FIELD_CONTENT", field, "not the PA usage (PA + 12 digits)");
  }
  const out: Record<string, unknown> = {
    productCode: head.slice(2, 6),
    region: head.slice(6, 10),
    regionAddOn: head.slice(10, 14),
  };
  const extra: [string, Uint8Array][] = [];
  let flag65: string | undefined;
  for (const [tag, value] of readItems(v, field)) {
    const spec = ITEM_OF_TAG.get(tag);
    if (spec) {
      const text = dec.decode(value);
      if (!spec.re.test(text)) {
        throw fieldError("ISO8583_FIELD_CONTENT", `${field} ${tag}`, spec.key);
      }
      out[spec.key] = text;
    } else if (tag === "FF56") {
      checkBerTlv(value, `${field} FF56`);
      out.iccData = value;
    } else if (tag === "FF65") {
      flag65 = dec.decode(value);
    } else if (tag === "FF66") {
      const t = dec.decode(value);
      if (!/^[0-9]{6}$/.test(t)) {
        throw fieldError("ISO8583_FIELD_CONTENT", `${field} FF66`, "trace");
      }
      out.earlierTrace = t;
    } else extra.push([tag, value]);
  }
  if ((flag65 === "1") !== (out.earlierTrace !== undefined)) {
    throw fieldError("ISO8583_FIELD_CONTENT", `${field} FF65`, "FF65 `1` and FF66 go together");
  }
  if (extra.length) out.extra = extra;
  return out as PaData;
}

/** The codec's content rule for field 48. */
export function checkPa(v: Uint8Array, field: number): void {
  decodePa(v, field);
}
