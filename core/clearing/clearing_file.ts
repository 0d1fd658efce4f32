/**
 * The clearing file (docs/clearing.md, "Clearing file"): icfare's own format, since UnionPay's
 * exchange-file specification is not public. In clear it is UTF-8 JSON lines, LF-terminated:
 * a header, one detail line per cleared record (what an issuer needs to check the tap: PAN,
 * PSN, expiry, ATC, amount, date and time, terminal, cryptogram and the chip data as
 * received), and a trailer with the count, the sum and the SHA-256 of the detail lines.
 *
 * It holds PANs, so it only ever reaches the disk sealed: a one-line JSON preamble, then
 * segments of at most `segmentBytes` of the clear file, each AES-GCM under the clearing key:
 *
 * ```
 * preamble  {"format":"icfare-clearing-sealed/1","day":…,"keyId":…,"kcv":…,"segmentBytes":…}\n
 * segment   u32 BE n ‖ 12-byte nonce ‖ n bytes of ciphertext with its 16-byte tag
 * AAD       SHA-256(preamble line with its LF) ‖ u32 BE segment index ‖ u8 last (1 on the final one)
 * nonce     first 12 bytes of HMAC-SHA256(nonce key, "icfare-clearing-nonce/1" ‖ AAD ‖
 *           SHA-256(segment plaintext))
 * ```
 *
 * The nonce is derived from the segment's content, its position and the day, so clearing a day
 * again gives the same bytes; the same key never encrypts two different plaintexts under one
 * nonce, because a nonce repeats only for the same (preamble, index, plaintext) — up to a
 * 96-bit HMAC collision (docs/clearing.md, "Why the nonce is derived"). The AAD's index and
 * last flag make a reordered, dropped or truncated segment fail to open.
 */
import { createHash } from "node:crypto";
import type { ClearingKey } from "./clearing_key.ts";

export const CLEAR_FORMAT = "icfare-clearing/1";
export const SEALED_FORMAT = "icfare-clearing-sealed/1";
/** Clear bytes per sealed segment (the last may be shorter). */
export const SEGMENT_BYTES = 1 << 20;

const enc = new TextEncoder();
const NONCE_LABEL = enc.encode("icfare-clearing-nonce/1");

/** One detail line of the clear file, in its fixed key order. */
export interface DetailLine {
  /** 1-based position in the file. */
  n: number;
  /** `terminalId/batchNo/seq`: the record in icfare's store and archive. */
  ref: string;
  terminal: string;
  merchant: string;
  line: string;
  vehicle: string;
  tappedAt: string;
  pan: string;
  psn: string;
  /** 5F24, YYMMDD. */
  expiry: string;
  /** 9F36, 4 hex digits. */
  atc: string;
  /** Fen. */
  amount: number;
  currency: string;
  /** 9A, YYMMDD. */
  txnDate: string;
  aid: string;
  cryptogramType: string;
  /** 9F26. */
  cryptogram: string;
  model: string;
  /** The cryptogram was not verified by icfare (no issuer key, or no known profile). */
  issuerVerifies: boolean;
  /** The chip data as received (tag 57 blanked). */
  icc: string;
}

const DETAIL_KEYS: (keyof DetailLine)[] = [
  "n",
  "ref",
  "terminal",
  "merchant",
  "line",
  "vehicle",
  "tappedAt",
  "pan",
  "psn",
  "expiry",
  "atc",
  "amount",
  "currency",
  "txnDate",
  "aid",
  "cryptogramType",
  "cryptogram",
  "model",
  "issuerVerifies",
  "icc",
];

/** `{"type":"H",…}` — no time of writing, so a rerun gives the same bytes. */
export function headerLine(day: string): string {
  return JSON.stringify({ type: "H", format: CLEAR_FORMAT, day, currency: "156" }) + "\n";
}

/** A detail line with its keys in the documented order. */
export function detailLine(d: DetailLine): string {
  const o: Record<string, unknown> = { type: "D" };
  for (const k of DETAIL_KEYS) o[k] = d[k];
  return JSON.stringify(o) + "\n";
}

/** `{"type":"T","count","amount","sha256"}`: sha256 over the detail lines' bytes, LFs included. */
export function trailerLine(count: number, amount: number, sha256: string): string {
  return JSON.stringify({ type: "T", count, amount, sha256 }) + "\n";
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(b).digest());
}

/** The preamble line of a sealed file. */
export function preambleLine(day: string, key: ClearingKey, segmentBytes = SEGMENT_BYTES): string {
  return JSON.stringify({
    format: SEALED_FORMAT,
    day,
    keyId: key.id,
    kcv: key.kcv,
    cipher: "AES-GCM",
    segmentBytes,
  }) + "\n";
}

async function sealSegment(
  key: ClearingKey,
  preHash: Uint8Array,
  index: number,
  last: boolean,
  plain: Uint8Array,
): Promise<Uint8Array> {
  const aad = concat(preHash, u32(index), Uint8Array.of(last ? 1 : 0));
  const mac = await crypto.subtle.sign(
    "HMAC",
    key.nonce,
    concat(NONCE_LABEL, aad, sha256(plain)) as BufferSource,
  );
  const iv = new Uint8Array(mac).slice(0, 12);
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: aad as BufferSource },
      key.aes,
      plain as BufferSource,
    ),
  );
  return concat(u32(ct.length), iv, ct);
}

/**
 * Streams the clear file into sealed segments: `write` each piece of clear text, then
 * `finish`. A segment is held back until the next byte arrives, so the final one can be
 * marked last. `out` receives the sealed bytes in order.
 */
export class SealedWriter {
  readonly #preHash: Uint8Array;
  #buf: Uint8Array[] = [];
  #bufBytes = 0;
  #held: Uint8Array | null = null;
  #index = 0;

  constructor(
    readonly day: string,
    readonly key: ClearingKey,
    readonly out: (b: Uint8Array) => Promise<void>,
    readonly segmentBytes = SEGMENT_BYTES,
  ) {
    this.#preHash = sha256(enc.encode(preambleLine(day, key, segmentBytes)));
  }

  /** Writes the preamble; call once before any text. */
  start(): Promise<void> {
    return this.out(enc.encode(preambleLine(this.day, this.key, this.segmentBytes)));
  }

  async write(text: string): Promise<void> {
    const b = enc.encode(text);
    this.#buf.push(b);
    this.#bufBytes += b.length;
    while (this.#bufBytes > this.segmentBytes) {
      const all = concat(...this.#buf);
      await this.#emit(all.subarray(0, this.segmentBytes));
      const rest = all.slice(this.segmentBytes);
      this.#buf = [rest];
      this.#bufBytes = rest.length;
    }
  }

  async #emit(segment: Uint8Array): Promise<void> {
    if (this.#held) await this.out(await this.#seal(this.#held, false));
    this.#held = segment.slice();
  }

  #seal(plain: Uint8Array, last: boolean): Promise<Uint8Array> {
    return sealSegment(this.key, this.#preHash, this.#index++, last, plain);
  }

  /** Seals what is left as the final segment. */
  async finish(): Promise<void> {
    if (this.#bufBytes > 0) await this.#emit(concat(...this.#buf));
    this.#buf = [];
    this.#bufBytes = 0;
    if (!this.#held) throw new Error("a clearing file is never empty (header and trailer)");
    await this.out(await this.#seal(this.#held, true));
    this.#held = null;
  }
}

/** A sealed file that does not open: wrong key, altered, reordered or truncated. */
export class SealedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealedFileError";
  }
}

/** Opens a sealed clearing file with the clearing key; returns the preamble and the clear text. */
export async function openSealed(
  file: Uint8Array,
  key: ClearingKey,
): Promise<{ preamble: Record<string, unknown>; text: string }> {
  const lf = file.indexOf(0x0a);
  if (lf < 0 || lf > 4096) throw new SealedFileError("no preamble line");
  const preLine = file.subarray(0, lf + 1);
  const preamble = JSON.parse(new TextDecoder().decode(preLine)) as Record<string, unknown>;
  if (preamble.format !== SEALED_FORMAT) throw new SealedFileError("not a sealed clearing file");
  const preHash = sha256(preLine);
  const parts: Uint8Array[] = [];
  let o = lf + 1, index = 0;
  while (o < file.length) {
    if (o + 16 > file.length) throw new SealedFileError(`segment ${index} truncated`);
    const n = new DataView(file.buffer, file.byteOffset + o).getUint32(0);
    const end = o + 16 + n;
    if (end > file.length) throw new SealedFileError(`segment ${index} truncated`);
    const last = end === file.length;
    const aad = concat(preHash, u32(index), Uint8Array.of(last ? 1 : 0));
    try {
      parts.push(
        new Uint8Array(
          await crypto.subtle.decrypt(
            {
              name: "AES-GCM",
              iv: file.slice(o + 4, o + 16) as BufferSource,
              additionalData: aad as BufferSource,
            },
            key.aes,
            file.slice(o + 16, end) as BufferSource,
          ),
        ),
      );
    } catch {
      throw new SealedFileError(`segment ${index} does not open (key, order, end or content)`);
    }
    o = end;
    index++;
  }
  if (index === 0) throw new SealedFileError("no segment");
  return { preamble, text: new TextDecoder().decode(concat(...parts)) };
}

/** Checks a clear file's trailer against its detail lines; returns the trailer's figures. */
export function checkTrailer(text: string): { count: number; amount: number; sha256: string } {
  const lines = text.split("\n");
  if (lines.pop() !== "") throw new SealedFileError("the file does not end with LF");
  const head = JSON.parse(lines[0]);
  const trail = JSON.parse(lines[lines.length - 1]);
  if (head.type !== "H" || trail.type !== "T") throw new SealedFileError("no header or trailer");
  const details = lines.slice(1, -1);
  const h = createHash("sha256");
  let amount = 0;
  for (const l of details) {
    h.update(l + "\n");
    amount += JSON.parse(l).amount;
  }
  const sha = h.digest("hex");
  if (trail.count !== details.length || trail.amount !== amount || trail.sha256 !== sha) {
    throw new SealedFileError("the trailer does not match the detail lines");
  }
  return { count: trail.count, amount: trail.amount, sha256: trail.sha256 };
}
