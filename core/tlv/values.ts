/**
 * Human renderings of data object values by their dictionary format: amounts in yuan, dates,
 * currencies, bit fields spelled out, sensitive values masked.
 */
import { toHex } from "../hex.ts";
import { cnDigits, maskPan } from "../mask.ts";
import { type TagInfo, tagInfo } from "./dictionary.ts";
import {
  type BitFlag,
  decodeAip,
  decodeCid,
  decodeCtq,
  decodePbocIad,
  decodeTtq,
  decodeTvr,
} from "./decoders.ts";

/** A rendered value: one summary line and optional detail lines (bit flags, sub-fields). */
export interface Rendered {
  readonly text: string;
  readonly details: string[];
  /** Structured form for --json output. */
  readonly json: unknown;
}

const CURRENCIES: Record<string, string> = {
  "0156": "CNY",
  "0344": "HKD",
  "0446": "MOP",
  "0840": "USD",
  "0978": "EUR",
  "0124": "CAD",
  "0826": "GBP",
  "0392": "JPY",
};
const COUNTRIES: Record<string, string> = {
  "0156": "China",
  "0344": "Hong Kong",
  "0446": "Macao",
  "0840": "United States",
  "0124": "Canada",
};
const TXN_TYPES: Record<string, string> = {
  "00": "purchase",
  "01": "cash",
  "09": "purchase with cashback",
  "20": "refund",
  "31": "balance inquiry",
  "60": "electronic cash load (PBOC)",
};

/** BCD digits of an n-format value ('?' for a non-decimal nibble). */
export function bcdDigits(v: Uint8Array): string {
  let s = "";
  for (const b of v) s += nib(b >> 4) + nib(b & 15);
  return s;
}

function nib(n: number): string {
  return n < 10 ? String(n) : "?";
}

/** Amount in yuan from an n12 value of fen: "2.00". Undefined when not decimal. */
export function amountYuan(v: Uint8Array): string | undefined {
  const d = bcdDigits(v);
  if (d.includes("?")) return undefined;
  const fen = BigInt(d);
  return `${fen / 100n}.${(fen % 100n).toString().padStart(2, "0")}`;
}

function ascii(v: Uint8Array): string {
  return Array.from(v, (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : ".")).join("");
}

function flagLines(flags: BitFlag[]): string[] {
  return flags.map((f) => `byte ${f.byte} b${f.bit}: ${f.name}`);
}

/** Renders a primitive value for people, by tag. */
export function renderValue(tag: string, v: Uint8Array): Rendered {
  const info = tagInfo(tag);
  const hex = toHex(v);
  const special = info?.render && RENDERERS[info.render];
  if (special) {
    try {
      return special(v, hex);
    } catch (e) {
      return bad(hex, (e as Error).message);
    }
  }
  return renderByFormat(info?.format, v, hex);
}

type Renderer = (v: Uint8Array, hex: string) => Rendered;

/** One renderer per dictionary `render` kind; a decoder that throws yields `bad`. */
const RENDERERS: Record<NonNullable<TagInfo["render"]>, Renderer> = {
  amount: renderAmount,
  date: renderDate,
  time: renderTime,
  currency: namedCode(CURRENCIES),
  country: namedCode(COUNTRIES),
  txnType: namedCode(TXN_TYPES),
  pan: renderPan,
  track2: renderTrack2,
  tvr: flagRenderer(decodeTvr),
  aip: flagRenderer(decodeAip),
  ttq: flagRenderer(decodeTtq),
  ctq: flagRenderer(decodeCtq),
  cid: renderCid,
  iad: renderIad,
};

function renderAmount(v: Uint8Array, hex: string): Rendered {
  const y = amountYuan(v);
  return y === undefined
    ? bad(hex, "not BCD")
    : { text: `${y} yuan`, details: [], json: { fen: Number(bcdDigits(v)), yuan: y } };
}

function renderDate(v: Uint8Array, hex: string): Rendered {
  const d = bcdDigits(v);
  if (v.length !== 3 || d.includes("?")) return bad(hex, "not a YYMMDD date");
  const iso = `20${d.slice(0, 2)}-${d.slice(2, 4)}-${d.slice(4, 6)}`;
  return { text: iso, details: [], json: iso };
}

function renderTime(v: Uint8Array, hex: string): Rendered {
  const d = bcdDigits(v);
  if (v.length !== 3 || d.includes("?")) return bad(hex, "not an HHMMSS time");
  const t = `${d.slice(0, 2)}:${d.slice(2, 4)}:${d.slice(4, 6)}`;
  return { text: t, details: [], json: t };
}

/** A BCD code with its name from `names` when known: "0156 (CNY)". */
function namedCode(names: Record<string, string>): Renderer {
  return (v) => {
    const d = bcdDigits(v);
    const name = names[d];
    return { text: name ? `${d} (${name})` : d, details: [], json: { code: d, name } };
  };
}

function renderPan(v: Uint8Array): Rendered {
  const masked = maskPan(cnDigits(v));
  return { text: masked, details: [], json: { masked } };
}

function renderTrack2(v: Uint8Array): Rendered {
  const digits = cnDigits(v).split("D")[0];
  const masked = maskPan(digits);
  return { text: `${masked} (track 2 masked)`, details: [], json: { masked } };
}

/** A bit-field value (TVR, AIP, TTQ, CTQ): the hex, then one detail line per set bit. */
function flagRenderer(decode: (v: Uint8Array) => BitFlag[]): Renderer {
  return (v, hex) => {
    const flags = decode(v);
    return {
      text: flags.length ? hex : `${hex} (no bits set)`,
      details: flagLines(flags),
      json: { hex, flags: flags.map((f) => f.name) },
    };
  };
}

function renderCid(v: Uint8Array, hex: string): Rendered {
  const c = decodeCid(v);
  return {
    text: `${hex} (${c.type}${c.adviceRequired ? ", advice required" : ""})`,
    details: c.reason === "no information given" ? [] : [`reason: ${c.reason}`],
    json: { hex, ...c },
  };
}

function renderIad(v: Uint8Array, hex: string): Rendered {
  const d = decodePbocIad(v);
  const details = [
    `DKI ${h2(d.dki)}, CVN ${h2(d.cvn)}, algorithm ${h2(d.algorithm)} (${d.algorithmName})`,
    `CVR ${toHex(d.cvrWithLength)}: first AC ${d.cvr.firstAc}, second AC ${d.cvr.secondAc}`,
    ...flagLines(d.cvr.flags).map((l) => `  CVR ${l}`),
  ];
  if (d.idd.length) details.push(`issuer discretionary data ${toHex(d.idd)}`);
  return {
    text: `${hex} (PBOC)`,
    details,
    json: {
      hex,
      dki: d.dki,
      cvn: d.cvn,
      cvr: toHex(d.cvrWithLength),
      cryptogramType: d.cvr.firstAc,
      algorithm: d.algorithmName,
      idd: toHex(d.idd),
    },
  };
}

/** Tags without a `render` kind (or unknown tags): text formats quoted, n as digits, else hex. */
function renderByFormat(
  format: TagInfo["format"] | undefined,
  v: Uint8Array,
  hex: string,
): Rendered {
  switch (format) {
    case "a":
    case "an":
    case "ans":
      return { text: `"${ascii(v)}"`, details: [], json: ascii(v) };
    case "n": {
      const d = bcdDigits(v);
      return { text: d, details: [], json: d };
    }
    default:
      return { text: hex, details: [], json: hex };
  }
}

function bad(hex: string, why: string): Rendered {
  return { text: `${hex} (cannot decode: ${why})`, details: [], json: { hex, error: why } };
}

function h2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}
