/**
 * CA public keys as operators receive them (docs/keys.md, "CAPKs"), read into one shape
 * before any check (capk.ts checks them):
 *
 * - `json`: icfare's own file, `{"source"?, "capks": [{rid, index, algorithm, modulus|publicKey,
 *   exponent, expiry, checksum}]}` (docs/cli.md, "Key import files");
 * - `tlv`: terminal parameter TLV as POS terminals load it, one record per line (or a JSON
 *   `{"source", "tlv": ["9F06…", …]}`): 9F06 RID, 9F22 index, DF05 expiry, DF06 hash
 *   algorithm, DF07 key algorithm, DF02 modulus, DF04 exponent, DF03 checksum;
 * - `unionpay-sm2`: UnionPay's SM2 CA key record: 9F06, 9F22, DF37 expiry (MMYY), DF07 hash
 *   algorithm (04 = SM3), DF38 key algorithm (11 = SM2), DF02 the point x‖y, DF39 the root
 *   CA's signature, DF28 storage slot — and no SHA-1 checksum;
 * - `list`: a plain list, one key a line: `RID INDEX YYMMDD rsa|sm2 EXPONENT KEY sha1 CHECKSUM`
 *   (colons between bytes allowed), as public terminal tools keep them.
 *
 * Text files carry their provenance as a line `# source: …` (or the caller's `--source`).
 * What real lists do — expiries as 8 ASCII digits, 4 BCD bytes or zeros, exponents with
 * leading zero bytes — is read, and said per key in `notes`.
 */
import { z } from "zod";
import { fromHex, toHex } from "../hex.ts";
import { parseTlv } from "../tlv/tree.ts";
import { KeyStoreError } from "./errors.ts";
import type { CapkKey } from "./records.ts";

/** The form a CA key came in. */
export type CapkForm = "json" | "tlv" | "unionpay-sm2" | "list";

/** One CA key as read, before any check. */
export interface CapkCandidate extends CapkKey {
  /** Where in the input: `capks[2]`, `line 7`, `tlv[3]`. */
  where: string;
  form: CapkForm;
  /** YYYY-MM-DD; `OPEN_EXPIRY` when the input gives none. */
  expiry: string;
  /** The checksum as given (any length; absent in the UnionPay SM2 form). */
  givenChecksum?: string;
  /** UnionPay SM2 form: the root CA's signature over the key (DF39). */
  rootSignature?: string;
  /** What was odd about this key in the input. */
  notes: string[];
}

/** What an input holds. */
export interface CapkInput {
  source?: string;
  candidates: CapkCandidate[];
}

/** The expiry stored for a key whose list gives none (DF05 zeros). */
export const OPEN_EXPIRY = "9999-12-31";

const Hex = (what: string) => z.string().regex(/^[0-9A-Fa-f]+$/, `${what}: hex`);

const JsonEntry = z.object({
  rid: z.string().regex(/^[0-9A-Fa-f]{10}$/, "rid: 10 hex digits"),
  index: z.string().regex(/^[0-9A-Fa-f]{2}$/, "index: 2 hex digits"),
  algorithm: z.enum(["rsa", "sm2"]),
  modulus: Hex("modulus").optional(),
  exponent: Hex("exponent").optional(),
  publicKey: Hex("publicKey").optional(),
  expiry: z.string().regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, "expiry: YYYY-MM-DD"),
  checksum: z.string().regex(/^[0-9A-Fa-f]{40}$/, "checksum: 20 bytes of hex (SHA-1)"),
}).strict();

const JsonFile = z.union([
  z.object({ source: z.string().optional(), capks: z.array(JsonEntry).min(1).max(1000) })
    .strict(),
  z.object({ source: z.string().optional(), tlv: z.array(z.string()).min(1).max(1000) }).strict(),
]);

function bad(message: string): KeyStoreError {
  return new KeyStoreError("BAD_INPUT", message);
}

/** True when `s` is a calendar date YYYY-MM-DD. */
export function validDate(s: string): boolean {
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** The last day of month `mm` of year `yyyy`, as YYYY-MM-DD. */
function endOfMonth(yyyy: number, mm: number): string {
  const d = new Date(Date.UTC(yyyy, mm, 0));
  return d.toISOString().slice(0, 10);
}

/** DF05 (or a list's YYMMDD): 8 ASCII digits, 4 BCD bytes, 3 BCD bytes, or zeros (none). */
function readExpiry(v: Uint8Array | undefined, where: string, notes: string[]): string {
  if (!v) {
    notes.push("no expiry given: kept without one");
    return OPEN_EXPIRY;
  }
  let digits = "";
  if (v.length === 8 && v.every((b) => b >= 0x30 && b <= 0x39)) {
    digits = new TextDecoder().decode(v);
  } else if (v.length === 4 || v.length === 3) {
    digits = toHex(v);
    if (v.length === 3) digits = "20" + digits;
  }
  if (/^0+$/.test(digits)) {
    notes.push(`expiry given as zeros: kept without one`);
    return OPEN_EXPIRY;
  }
  const iso = `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;
  if (!/^[0-9]{8}$/.test(digits) || !validDate(iso)) {
    throw bad(`${where}: expiry ${toHex(v)} is neither 8 ASCII digits nor a BCD date`);
  }
  return iso;
}

/** DF37 of the UnionPay SM2 form: MMYY (BCD); valid through the last day of that month. */
function readMmyy(v: Uint8Array, where: string): string {
  const s = toHex(v);
  const mm = Number(s.slice(0, 2)), yy = Number(s.slice(2, 4));
  if (!/^[0-9]{4}$/.test(s) || mm < 1 || mm > 12) {
    throw bad(`${where}: DF37 expiry ${s} is not MMYY`);
  }
  return endOfMonth(2000 + yy, mm);
}

/** An exponent without leading zero bytes (a list that writes `000003` means 03). */
function readExponent(v: Uint8Array, notes: string[]): string {
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  if (i > 0) {
    notes.push(`exponent ${toHex(v)} has leading zero bytes: read as ${toHex(v.subarray(i))}`);
  }
  return toHex(v.subarray(i));
}

/** Values of one TLV record by tag (each tag once). */
function tlvValues(hex: string, where: string): Map<string, Uint8Array> {
  const clean = hex.replace(/\s+/g, "");
  if (!/^([0-9A-Fa-f]{2})+$/.test(clean)) throw bad(`${where}: not hex`);
  const r = parseTlv(fromHex(clean, where));
  if (!r.ok) throw bad(`${where}: not TLV (${r.message} at byte ${r.offset})`);
  const m = new Map<string, Uint8Array>();
  for (const n of r.nodes) {
    if (m.has(n.tag)) throw bad(`${where}: tag ${n.tag} twice in one record`);
    m.set(n.tag, n.value);
  }
  return m;
}

function required(m: Map<string, Uint8Array>, tag: string, where: string): Uint8Array {
  const v = m.get(tag);
  if (!v) throw bad(`${where}: tag ${tag} missing`);
  return v;
}

/** One terminal-parameter TLV record (RSA form or UnionPay's SM2 form). */
export function fromTlvRecord(hex: string, where: string): CapkCandidate {
  const m = tlvValues(hex, where);
  const notes: string[] = [];
  const rid = toHex(required(m, "9F06", where));
  const index = toHex(required(m, "9F22", where));
  if (rid.length !== 10 || index.length !== 2) throw bad(`${where}: 9F06/9F22 lengths`);
  const key = toHex(required(m, "DF02", where));
  if (m.has("DF38") || m.has("DF39") || m.has("DF37")) {
    const alg = m.get("DF38");
    if (alg && toHex(alg) !== "11") {
      throw bad(`${where}: DF38 key algorithm ${toHex(alg)} is not SM2 (11)`);
    }
    const sig = m.get("DF39");
    if (sig && sig.every((b) => b === 0)) notes.push("root CA signature DF39 is zeros (default)");
    return {
      where,
      form: "unionpay-sm2",
      rid,
      index,
      algorithm: "sm2",
      publicKey: key,
      expiry: m.has("DF37")
        ? readMmyy(m.get("DF37")!, where)
        : readExpiry(m.get("DF05"), where, notes),
      rootSignature: sig ? toHex(sig) : undefined,
      notes,
    };
  }
  const candidate: CapkCandidate = {
    where,
    form: "tlv",
    rid,
    index,
    algorithm: "rsa",
    modulus: key,
    exponent: readExponent(required(m, "DF04", where), notes),
    expiry: readExpiry(m.get("DF05"), where, notes),
    givenChecksum: m.has("DF03") ? toHex(m.get("DF03")!) : undefined,
    notes,
  };
  const pk = m.get("DF07");
  if (pk && toHex(pk) !== "01") notes.push(`DF07 key algorithm ${toHex(pk)} (01 is RSA)`);
  return candidate;
}

/** One line of a plain list: `RID INDEX YYMMDD rsa|sm2 EXPONENT KEY sha1 CHECKSUM`. */
export function fromListLine(line: string, where: string): CapkCandidate {
  const f = line.trim().split(/\s+/).map((x) => x.replace(/:/g, ""));
  if (f.length !== 8 || !/^(rsa|sm2)$/i.test(f[3]) || !/^sha1$/i.test(f[6])) {
    throw bad(`${where}: expected RID INDEX YYMMDD rsa|sm2 EXPONENT KEY sha1 CHECKSUM`);
  }
  for (const [i, what] of [[0, "RID"], [1, "index"], [2, "expiry"], [4, "exponent"], [5, "key"]]) {
    if (!/^([0-9A-Fa-f]{2})+$/.test(f[i as number])) throw bad(`${where}: ${what} is not hex`);
  }
  const notes: string[] = [];
  const sm2 = f[3].toLowerCase() === "sm2";
  return {
    where,
    form: "list",
    rid: f[0].toUpperCase(),
    index: f[1].toUpperCase(),
    algorithm: sm2 ? "sm2" : "rsa",
    modulus: sm2 ? undefined : f[5].toUpperCase(),
    exponent: sm2 ? undefined : readExponent(fromHex(f[4]), notes),
    publicKey: sm2 ? f[5].toUpperCase() : undefined,
    expiry: readExpiry(fromHex(f[2]), where, notes),
    givenChecksum: f[7].toUpperCase(),
    notes,
  };
}

function fromJson(j: z.infer<typeof JsonFile>): CapkInput {
  if ("tlv" in j) {
    return { source: j.source, candidates: j.tlv.map((h, i) => fromTlvRecord(h, `tlv[${i}]`)) };
  }
  return {
    source: j.source,
    candidates: j.capks.map((e, i) => ({
      where: `capks[${i}]`,
      form: "json" as const,
      rid: e.rid.toUpperCase(),
      index: e.index.toUpperCase(),
      algorithm: e.algorithm,
      modulus: e.modulus?.toUpperCase(),
      exponent: e.exponent?.toUpperCase(),
      publicKey: e.publicKey?.toUpperCase().replace(/^04(?=[0-9A-F]{128}$)/, ""),
      expiry: e.expiry,
      givenChecksum: e.checksum.toUpperCase(),
      notes: [],
    })),
  };
}

/** Reads a JSON object in one of icfare's JSON forms. */
export function parseCapkJson(json: unknown): CapkInput {
  const p = JsonFile.safeParse(json);
  if (!p.success) {
    const i = p.error.issues[0];
    throw bad(`CAPK file: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return fromJson(p.data);
}

/**
 * Reads a CA key file in any of its forms (see the module comment). `source` (the caller's
 * note) stands when the file has none.
 */
export function parseCapkInput(text: string, source?: string, name = "CAPK file"): CapkInput {
  if (text.trimStart().startsWith("{")) {
    let j: unknown;
    try {
      j = JSON.parse(text);
    } catch {
      throw bad(`${name}: not JSON`);
    }
    const input = parseCapkJson(j);
    return { ...input, source: input.source ?? source };
  }
  const candidates: CapkCandidate[] = [];
  let note: string | undefined;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    const m = /^#?\s*source\s*:\s*(.+)$/i.exec(line);
    if (m) {
      note = m[1].trim();
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    const where = `line ${i + 1}`;
    candidates.push(
      /^[0-9A-Fa-f]{2}:/.test(line) || /\s(rsa|sm2)\s/i.test(line)
        ? fromListLine(line, where)
        : fromTlvRecord(line, where),
    );
  }
  if (candidates.length === 0) throw bad(`${name}: no CA key in it`);
  return { source: note ?? source, candidates };
}
