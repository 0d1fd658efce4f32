/**
 * TR-31 / ANSI X9.143 key blocks, versions D (AES key block protection key, CMAC key
 * derivation binding) and B (TDES KBPK, CMAC key derivation binding, for older HSMs).
 *
 * A key block is `header ‖ hex(E(payload)) ‖ hex(MAC)`:
 * - header: version, 4-digit total length, key usage, algorithm, mode of use, key version,
 *   exportability, number of optional blocks, 2 reserved characters; then optional blocks
 *   (ID, 2 hex length digits counting the whole block, data), padded with a "PB" block so
 *   the header is a whole number of cipher blocks;
 * - payload: 2-byte key length in bits ‖ key ‖ random padding to hide the length;
 * - KBEK and KBMK derived from the KBPK with CMAC in counter mode (NIST SP 800-108),
 *   derivation data `counter ‖ usage (0000 enc / 0001 MAC) ‖ 00 ‖ algorithm ‖ bit length`;
 * - MAC = CMAC(KBMK, header ‖ clear payload) (16 bytes for D, 8 for B);
 * - payload encrypted in CBC mode under KBEK with the MAC as IV.
 *
 * Versions A and C (XOR variant binding) are refused: they are deprecated and their binding
 * is weak. Facts from TR-31:2018 and its examples as reproduced in openemv/tr31 and psec;
 * the code is icfare's own.
 */
import { IcfareError } from "../errors.ts";
import { aesCbcDecrypt, aesCbcEncrypt, aesCmac, cmacWith } from "./aes.ts";
import { tdesCbcDecrypt, tdesCbcEncrypt, tdesEcbEncrypt } from "./legacy_cipher.ts";
import { fromHex, toHex } from "../hex.ts";

/** Stable error codes of the TR-31 layer. */
export type Tr31Code =
  | "TR31_MALFORMED"
  | "TR31_LENGTH_MISMATCH"
  | "TR31_VERSION_UNSUPPORTED"
  | "TR31_KBPK_INVALID"
  | "TR31_MAC_MISMATCH"
  | "TR31_PAYLOAD_INVALID"
  | "TR31_HEADER_INVALID";

/** A refused key block: `code` is stable, `message` names what was wrong. */
export class Tr31Error extends IcfareError {
  declare readonly code: Tr31Code;
  constructor(code: Tr31Code, message: string) {
    super(code, message);
    this.name = "Tr31Error";
  }
}

/** One optional block: a 2-character ID and printable ASCII data. */
export interface OptionalBlock {
  id: string;
  data: string;
}

/** The attributes a key block binds to its key. */
export interface Tr31Header {
  version: "B" | "D";
  /** Key usage, 2 characters (E0 EMV application cryptogram MK, K0 KEK, M7 HMAC, …). */
  usage: string;
  /** Algorithm, 1 character (A AES, T TDES, D DES, H HMAC, …; icfare uses 4 for SM4). */
  algorithm: string;
  /** Mode of use, 1 character (B, C, D, E, G, N, S, T, V, X, Y). */
  modeOfUse: string;
  /** Key version number, 2 characters ("00" when unused). */
  keyVersion: string;
  /** Exportability: E (under a trusted key), N (never), S (sensitive). */
  exportability: string;
  /** Optional blocks, excluding the "PB" padding block (added and removed here). */
  optionalBlocks: OptionalBlock[];
}

/** Known key usages (TR-31:2018 table 6, the subset a fare back office meets). */
export const KEY_USAGES: Record<string, string> = {
  B0: "BDK base derivation key",
  B1: "initial DUKPT key",
  C0: "card verification key",
  D0: "symmetric data encryption",
  E0: "EMV/chip issuer master key: application cryptograms",
  E1: "EMV/chip issuer master key: secure messaging for confidentiality",
  E2: "EMV/chip issuer master key: secure messaging for integrity",
  E3: "EMV/chip issuer master key: data authentication code",
  E4: "EMV/chip issuer master key: dynamic numbers",
  E5: "EMV/chip issuer master key: card personalization",
  E6: "EMV/chip issuer master key: other",
  I0: "initialization vector",
  K0: "key encryption or wrapping",
  K1: "TR-31 key block protection key",
  M0: "ISO 16609 MAC algorithm 1 (TDEA)",
  M1: "ISO 9797-1 MAC algorithm 1",
  M3: "ISO 9797-1 MAC algorithm 3",
  M6: "ISO 9797-1:2011 MAC algorithm 5 (CMAC)",
  M7: "HMAC",
  P0: "PIN encryption",
  S0: "asymmetric key pair for digital signature",
};

/** Known algorithm characters. */
export const ALGORITHMS: Record<string, string> = {
  A: "AES",
  D: "DES",
  E: "elliptic curve",
  H: "HMAC",
  R: "RSA",
  S: "DSA",
  T: "TDES",
  "4": "SM4 (icfare proprietary code)",
};

const MODES = "BCDEGNSTVXY";
const EXPORTS = "ENS";
const PRINTABLE = /^[\x20-\x7e]*$/;

interface VersionParams {
  blockSize: number;
  macLength: number;
}

const VERSIONS: Record<"B" | "D", VersionParams> = {
  B: { blockSize: 8, macLength: 8 },
  D: { blockSize: 16, macLength: 16 },
};

/** Derives (KBEK, KBMK) from the KBPK for version B or D. */
function deriveKeys(version: "B" | "D", kbpk: Uint8Array): [Uint8Array, Uint8Array] {
  let algo: number, bits: number, blocks: number;
  let cmac: (m: Uint8Array) => Uint8Array;
  if (version === "D") {
    if (kbpk.length !== 16 && kbpk.length !== 24 && kbpk.length !== 32) {
      throw new Tr31Error(
        "TR31_KBPK_INVALID",
        `kbpk: version D needs an AES key of 16, 24 or 32 bytes, got ${kbpk.length}`,
      );
    }
    algo = kbpk.length === 16 ? 2 : kbpk.length === 24 ? 3 : 4;
    bits = kbpk.length * 8;
    blocks = Math.ceil(kbpk.length / 16);
    cmac = (m) => aesCmac(kbpk, m);
  } else {
    if (kbpk.length !== 16 && kbpk.length !== 24) {
      throw new Tr31Error(
        "TR31_KBPK_INVALID",
        `kbpk: version B needs a TDES key of 16 or 24 bytes, got ${kbpk.length}`,
      );
    }
    algo = kbpk.length === 16 ? 0 : 1;
    bits = kbpk.length * 8;
    blocks = kbpk.length / 8;
    cmac = (m) => cmacWith((b) => tdesEcbEncrypt(kbpk, b), 8, 0x1b, m);
  }
  const out: Uint8Array[] = [];
  for (const usage of [0, 1]) {
    const key = new Uint8Array(kbpk.length);
    let off = 0;
    for (let counter = 1; counter <= blocks; counter++) {
      const d = Uint8Array.of(counter, 0, usage, 0, 0, algo, bits >> 8, bits & 0xff);
      const part = cmac(d);
      key.set(part.subarray(0, Math.min(part.length, key.length - off)), off);
      off += part.length;
      part.fill(0);
    }
    out.push(key);
  }
  return [out[0], out[1]];
}

function macOf(version: "B" | "D", kbmk: Uint8Array, data: Uint8Array): Uint8Array {
  return version === "D"
    ? aesCmac(kbmk, data)
    : cmacWith((b) => tdesEcbEncrypt(kbmk, b), 8, 0x1b, data);
}

function checkField(value: string, re: RegExp, what: string) {
  if (!re.test(value)) throw new Tr31Error("TR31_HEADER_INVALID", `${what}: invalid "${value}"`);
}

/** Builds the header text (with optional blocks and PB padding) for a total `length`. */
function headerText(h: Tr31Header, length: number): string {
  const blocks = [...h.optionalBlocks];
  let opt = blocks.map((b) => optionalBlockText(b)).join("");
  const bs = VERSIONS[h.version].blockSize;
  let count = blocks.length;
  if (count > 0 && (16 + opt.length) % bs !== 0) {
    let pad = bs - ((16 + opt.length + 4) % bs);
    if (pad === bs) pad = 0;
    opt += optionalBlockText({ id: "PB", data: "0".repeat(pad) });
    count++;
  }
  return h.version + String(length).padStart(4, "0") + h.usage + h.algorithm + h.modeOfUse +
    h.keyVersion + h.exportability + String(count).padStart(2, "0") + "00" + opt;
}

/**
 * One optional block as text: ID, length, data. A block longer than 255 characters uses the
 * extended length of ANSI X9.143 §6.3.6: length `00`, then the length of the length (`04`,
 * counted in characters), then the block's whole length in 4 hex digits.
 */
function optionalBlockText(b: OptionalBlock): string {
  checkField(b.id, /^[0-9A-Z]{2}$/, "optional block id");
  if (!PRINTABLE.test(b.data)) {
    throw new Tr31Error("TR31_HEADER_INVALID", `optional block ${b.id}: data must be printable`);
  }
  const n = b.data.length + 4;
  if (n <= 255) return b.id + n.toString(16).toUpperCase().padStart(2, "0") + b.data;
  const ext = b.data.length + 10;
  if (ext > 0xffff) {
    throw new Tr31Error("TR31_HEADER_INVALID", `optional block ${b.id}: data too long (${ext})`);
  }
  return b.id + "0004" + ext.toString(16).toUpperCase().padStart(4, "0") + b.data;
}

/** Options for `wrap`. */
export interface WrapOptions {
  /** Pad the payload as if the key were this many bytes long (hides the key length). */
  maskedKeyLength?: number;
  /** Padding bytes to use (tests reproducing published vectors); random otherwise. */
  padding?: Uint8Array;
}

/**
 * Wraps `key` under `kbpk` into a key block with header `h` (strict: every header field
 * must be a known value; the version decides the KBPK type).
 */
export function wrap(
  kbpk: Uint8Array,
  h: Tr31Header,
  key: Uint8Array,
  opts: WrapOptions = {},
): string {
  if (h.version !== "B" && h.version !== "D") {
    throw new Tr31Error("TR31_VERSION_UNSUPPORTED", `version: only B and D are written`);
  }
  checkField(h.usage, /^[0-9A-Z]{2}$/, "usage");
  if (!(h.usage in KEY_USAGES)) {
    throw new Tr31Error("TR31_HEADER_INVALID", `usage: unknown key usage "${h.usage}"`);
  }
  if (!(h.algorithm in ALGORITHMS)) {
    throw new Tr31Error("TR31_HEADER_INVALID", `algorithm: unknown "${h.algorithm}"`);
  }
  checkField(h.modeOfUse, new RegExp(`^[${MODES}]$`), "mode of use");
  checkField(h.keyVersion, /^[0-9A-Za-z]{2}$/, "key version");
  checkField(h.exportability, new RegExp(`^[${EXPORTS}]$`), "exportability");
  if (key.length === 0 || key.length > 64) {
    throw new RangeError(`key: 1 to 64 bytes, got ${key.length}`);
  }
  if (h.optionalBlocks.some((b) => b.id === "PB")) {
    throw new Tr31Error("TR31_HEADER_INVALID", "optional blocks: PB is added by wrap");
  }
  const { blockSize, macLength } = VERSIONS[h.version];
  const masked = Math.max(key.length, opts.maskedKeyLength ?? 0);
  const payloadLength = Math.ceil((2 + masked) / blockSize) * blockSize;
  const padLength = payloadLength - 2 - key.length;
  const padding = opts.padding ?? crypto.getRandomValues(new Uint8Array(padLength));
  if (padding.length !== padLength) {
    throw new RangeError(`padding: need ${padLength} bytes, got ${padding.length}`);
  }
  const headerLength = headerText(h, 0).length;
  const total = headerLength + 2 * payloadLength + 2 * macLength;
  if (total > 9999) throw new Tr31Error("TR31_HEADER_INVALID", `key block too long (${total})`);
  const header = headerText(h, total);

  const payload = new Uint8Array(payloadLength);
  payload[0] = (key.length * 8) >> 8;
  payload[1] = (key.length * 8) & 0xff;
  payload.set(key, 2);
  payload.set(padding, 2 + key.length);

  const [kbek, kbmk] = deriveKeys(h.version, kbpk);
  try {
    const headerBytes = new TextEncoder().encode(header);
    const macInput = new Uint8Array(headerBytes.length + payloadLength);
    macInput.set(headerBytes);
    macInput.set(payload, headerBytes.length);
    const mac = macOf(h.version, kbmk, macInput).subarray(0, macLength);
    macInput.fill(0);
    const enc = h.version === "D"
      ? aesCbcEncrypt(kbek, mac, payload)
      : tdesCbcEncrypt(kbek, mac, payload);
    return header + toHex(enc) + toHex(mac);
  } finally {
    payload.fill(0);
    kbek.fill(0);
    kbmk.fill(0);
  }
}

/** A parsed header with the positions of the encrypted parts. */
export interface ParsedBlock {
  header: Tr31Header;
  /** The header text exactly as given (authenticated by the MAC). */
  headerText: string;
  /** Number of optional blocks as declared (PB included). */
  declaredOptionalBlocks: number;
  encrypted: Uint8Array;
  mac: Uint8Array;
}

/** A refusal of a block's structure: always "malformed key block: …". */
function malformed(what: string): Tr31Error {
  return new Tr31Error("TR31_MALFORMED", `malformed key block: ${what}`);
}

/**
 * The block as one line: surrounding whitespace goes, and so do line breaks (with the
 * indentation around them) of a block wrapped over lines; spaces inside a line are kept
 * (optional block data may hold them) unless the declared length says they are not part of
 * the block.
 */
function oneLine(text: string): string {
  const s = text.trim().replace(/[ \t]*[\r\n]+[ \t]*/g, "");
  if (!/\s/.test(s) || Number(s.slice(1, 5)) === s.length) return s;
  const bare = s.replace(/\s+/g, "");
  return Number(bare.slice(1, 5)) === bare.length ? bare : s;
}

/**
 * Parses a key block's structure without any key (lenient: unknown usages, algorithms and
 * optional block IDs are kept; hex may be either case; whitespace around the block and line
 * breaks inside it are ignored; optional blocks may use the extended length of ANSI X9.143).
 */
export function parseBlock(text: string): ParsedBlock {
  const s = oneLine(text);
  if (s.length < 16) throw malformed("shorter than a header (16 characters)");
  if (!PRINTABLE.test(s)) throw malformed("not printable ASCII");
  const version = s[0];
  if (version === "A" || version === "C" || version === "0") {
    throw new Tr31Error(
      "TR31_VERSION_UNSUPPORTED",
      `version ${version}: variant binding is deprecated and refused; use D (or B)`,
    );
  }
  if (version === "E") {
    throw new Tr31Error("TR31_VERSION_UNSUPPORTED", `version E (ISO 20038) is not supported`);
  }
  if (version !== "B" && version !== "D") {
    throw malformed(`it does not begin with a key block version (A-E), but "${version}"`);
  }
  const lenText = s.slice(1, 5);
  if (!/^[0-9]{4}$/.test(lenText)) {
    throw malformed(`length "${lenText}" is not 4 digits`);
  }
  if (Number(lenText) !== s.length) {
    throw new Tr31Error(
      "TR31_LENGTH_MISMATCH",
      `malformed key block: the header says ${
        Number(lenText)
      } characters, the block has ${s.length}`,
    );
  }
  const nText = s.slice(12, 14);
  if (!/^[0-9]{2}$/.test(nText)) {
    throw malformed(`optional block count "${nText}" is not 2 digits`);
  }
  const n = Number(nText);
  let off = 16;
  const blocks: OptionalBlock[] = [];
  for (let i = 0; i < n; i++) {
    const b = optionalBlockAt(s, off, i);
    if (b.id !== "PB") blocks.push({ id: b.id, data: b.data });
    off += b.total;
  }
  const v = version as "B" | "D";
  const { macLength } = VERSIONS[v];
  const rest = s.slice(off);
  if (!/^[0-9A-Fa-f]*$/.test(rest) || rest.length % 2 !== 0) {
    throw malformed("the encrypted part is not hex");
  }
  const bytes = fromHex(rest, "key block");
  if (bytes.length <= macLength) {
    throw malformed("no encrypted payload");
  }
  return {
    header: {
      version: v,
      usage: s.slice(5, 7),
      algorithm: s[7],
      modeOfUse: s[8],
      keyVersion: s.slice(9, 11),
      exportability: s[11],
      optionalBlocks: blocks,
    },
    headerText: s.slice(0, off),
    declaredOptionalBlocks: n,
    encrypted: bytes.subarray(0, bytes.length - macLength),
    mac: bytes.subarray(bytes.length - macLength),
  };
}

/**
 * The optional block at `off`: its ID, data and whole length. The length is 2 hex digits, or
 * (ANSI X9.143 §6.3.6, extended length) `00`, then 2 hex digits giving the number of
 * characters of the length, then the length in that many hex digits; either counts the whole
 * block in characters.
 */
function optionalBlockAt(
  s: string,
  off: number,
  i: number,
): { id: string; data: string; total: number } {
  if (off + 4 > s.length) throw malformed(`optional block ${i + 1} runs past the block`);
  const id = s.slice(off, off + 2);
  let lenHex = s.slice(off + 2, off + 4);
  let dataStart = off + 4;
  if (lenHex === "00") {
    const llText = s.slice(off + 4, off + 6);
    const ll = /^[0-9A-Fa-f]{2}$/.test(llText) ? parseInt(llText, 16) : 0;
    lenHex = s.slice(off + 6, off + 6 + ll);
    if (ll < 1 || ll > 8 || lenHex.length !== ll || !/^[0-9A-Fa-f]+$/.test(lenHex)) {
      throw malformed(`optional block ${id}: bad extended length "${llText}${lenHex}"`);
    }
    dataStart = off + 6 + ll;
  } else if (!/^[0-9A-Fa-f]{2}$/.test(lenHex)) {
    throw malformed(`optional block ${id}: bad length "${lenHex}"`);
  }
  const total = parseInt(lenHex, 16);
  if (total < dataStart - off || off + total > s.length) {
    throw malformed(`optional block ${id}: length ${total} out of range`);
  }
  return { id, data: s.slice(dataStart, off + total), total };
}

/** Result of `unwrap`: the header and the clear key (the caller zeroes it after use). */
export interface Unwrapped {
  header: Tr31Header;
  key: Uint8Array;
}

/**
 * Unwraps a key block under `kbpk`: checks the structure, verifies the MAC over header and
 * payload (constant-time compare), then returns the key. A tampered block fails with
 * `TR31_MAC_MISMATCH`.
 */
export function unwrap(kbpk: Uint8Array, text: string): Unwrapped {
  const p = parseBlock(text);
  const v = p.header.version;
  const { blockSize } = VERSIONS[v];
  if (p.encrypted.length % blockSize !== 0) {
    throw malformed(
      `the encrypted payload of ${p.encrypted.length} bytes is not whole cipher blocks`,
    );
  }
  const [kbek, kbmk] = deriveKeys(v, kbpk);
  let payload: Uint8Array | null = null;
  try {
    payload = v === "D"
      ? aesCbcDecrypt(kbek, p.mac, p.encrypted)
      : tdesCbcDecrypt(kbek, p.mac, p.encrypted);
    const headerBytes = new TextEncoder().encode(p.headerText);
    const macInput = new Uint8Array(headerBytes.length + payload.length);
    macInput.set(headerBytes);
    macInput.set(payload, headerBytes.length);
    const mac = macOf(v, kbmk, macInput).subarray(0, p.mac.length);
    macInput.fill(0);
    let diff = 0;
    for (let i = 0; i < mac.length; i++) diff |= mac[i] ^ p.mac[i];
    if (diff !== 0) {
      throw new Tr31Error(
        "TR31_MAC_MISMATCH",
        "key block MAC does not verify: the block was altered or the KBPK is wrong",
      );
    }
    const bits = (payload[0] << 8) | payload[1];
    if (bits === 0 || bits % 8 !== 0 || 2 + bits / 8 > payload.length) {
      throw new Tr31Error("TR31_PAYLOAD_INVALID", `key length field ${bits} bits is impossible`);
    }
    return { header: p.header, key: payload.slice(2, 2 + bits / 8) };
  } finally {
    payload?.fill(0);
    kbek.fill(0);
    kbmk.fill(0);
  }
}

/** Derived keys for tests that check the KDF step by step (never used outside tests). */
export function deriveKeysForTest(version: "B" | "D", kbpk: Uint8Array): [string, string] {
  const [e, m] = deriveKeys(version, kbpk);
  return [toHex(e), toHex(m)];
}
