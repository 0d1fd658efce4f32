/**
 * The sealed archive of one closed settlement day, `icfare-archive/1` (docs/archive.md, "The
 * format byte by byte"): UTF-8 JSON lines, each line ending in one LF, every line an object
 * whose first key `t` names its kind. Pure: no Deno API, so the browser audit shares it.
 *
 * ```
 * segment 0        A header · K keys · N deny list · S seal
 * segments 1..m    R record × up to segmentRecords · S seal
 * segment m+1      L later ledger entries · Z day summary · S seal
 * head             H (signed)
 * ```
 *
 * A seal `S` lists one index entry per line of its segment (the line's SHA-256, and for a
 * record its field digests), names the previous seal's hash (`prev`) and ends with its own
 * `hash` = SHA-256 of the seal line's bytes before `,"hash":` followed by `}`. The head names
 * the last seal's hash and is signed the same way (`,"sig":`); the head hash — SHA-256 of the
 * signed bytes — is what the next day's archive chains to.
 */
import { sha256, sha256Batch } from "../../kernel-as/sym.ts";
import { KERNEL_WASM_BASE64 } from "../../kernel-as/kernel_wasm.ts";
import { decodeBase64 } from "../../kernel-as/base64.ts";

export const ARCHIVE_FORMAT = "icfare-archive/1";
/** The icfare release an archive states (bump with releases). */
export const ICFARE_VERSION = "0.17.0";
/** Records per record segment (the last may hold fewer). */
export const SEGMENT_RECORDS = 1000;
/** `prev` of segment 0, and of a first day's `previous`. */
export const ZERO_HASH = "0".repeat(64);
/** Bytes of a field digest in an index entry (names the field; the line digest protects it). */
export const FIELD_DIGEST_BYTES = 4;

/** A public signing key as the archive names it (docs/keys.md, "Signing keys"). */
export interface SignerInfo {
  readonly keyId: string;
  readonly algorithm: "sm2" | "ecdsa-p256";
  /** `04 ‖ x ‖ y`, upper-case hex. */
  readonly publicKey: string;
  /** SHA-256 of the public key, leftmost 3 bytes, upper-case hex. */
  readonly kcv: string;
}

/** One auditor the evidence is sealed to (docs/archive.md, "PANs and tag 57"). */
export interface Recipient {
  /** The auditor's P-256 public key `04 ‖ x ‖ y`, upper-case hex. */
  readonly publicKey: string;
  readonly kcv: string;
  /** The ephemeral public key of the key agreement, upper-case hex. */
  readonly ephemeral: string;
  /** The day's evidence key wrapped for this auditor (AES-256-GCM, zero IV), hex. */
  readonly wrapped: string;
}

export interface HeaderLine {
  readonly t: "A";
  readonly format: string;
  readonly day: string;
  readonly icfare: string;
  /** SHA-256 of the WASM kernel that verified (and will re-verify), lower-case hex. */
  readonly kernel: string;
  readonly settings: {
    readonly cutoff: string;
    readonly presentmentDays: number;
    readonly fareMode: string;
    readonly feeBp: { readonly EC: number; readonly ODA: number };
  };
  readonly segmentRecords: number;
  readonly signer: SignerInfo;
  readonly evidence: {
    readonly cipher: "AES-256-GCM";
    /** The card-data key the evidence key was derived from: its id and KCV, never the key. */
    readonly dataKey: { readonly id: string; readonly kcv: string };
    readonly recipients: readonly Recipient[];
  };
  /** The previous archived day and its head hash; null for the first archived day. */
  readonly previous: { readonly day: string; readonly head: string } | null;
}

/** A CA public key as archived (upper-case hex). */
export interface ArchivedCapk {
  readonly rid: string;
  readonly index: string;
  readonly algorithm: "rsa" | "sm2";
  readonly modulus?: string;
  readonly exponent?: string;
  readonly publicKey?: string;
  readonly expiry: string;
  readonly checksum: string;
  readonly state: string;
}

export interface KeysLine {
  readonly t: "K";
  readonly capks: readonly ArchivedCapk[];
  readonly revoked: readonly { rid: string; index: string; serial: string }[];
  /** Distinct issuer public key certificates of the day's evidence (no PAN in them). */
  readonly issuerCerts: readonly {
    capk: string;
    cert: string;
    exponent: string | null;
    remainder: string | null;
  }[];
  /** Issuer keys the day's verdicts name: identity and KCV only. */
  readonly issuerKeys: readonly {
    id: string;
    usage: string;
    algorithm: string;
    issuer: string | null;
    dki: string | null;
    kcv: string;
    state: string;
  }[];
}

/**
 * A change of the deny list: card hash, list version, listed after it (1/0), reason, and when
 * (a tap is judged against the list as it stood when it was verified).
 */
export type DenyEventRow = readonly [string, number, number, string, string];

export interface DenyLine {
  readonly t: "N";
  /** Lowest and highest list version the day's batches reported. */
  readonly reported: readonly [number, number];
  /** Events are every change of the day's cards up to this version. */
  readonly upTo: number;
  readonly events: readonly DenyEventRow[];
}

/** A clearing line as archived (docs/clearing.md). */
export interface ArchivedClearing {
  readonly outcome: string;
  readonly reason: string;
  readonly rule: string;
  readonly model: string;
  readonly issuerVerifies: boolean;
  readonly fare: number;
  readonly fee: number;
  readonly feeBp: number;
  readonly bin: string | null;
  readonly denyReason: string | null;
  readonly denyVersion: number | null;
}

/** One record of the day (docs/archive.md, "R: a record"). */
export interface RecordLine {
  readonly t: "R";
  readonly n: number;
  /** The store's record id (a duplicate's original is the lowest id). */
  readonly id: number;
  /** `terminal/batchNo/seq`. */
  readonly ref: string;
  readonly merchant: string;
  readonly receivedAt: string;
  readonly denyListVersion: number;
  readonly tappedAt: string;
  readonly tapDay: string | null;
  readonly line: string;
  readonly vehicle: string;
  readonly stop: string | null;
  readonly fare: number;
  readonly model: string;
  /** Masked PAN (first 6, last 4). */
  readonly pan: string | null;
  readonly psn: string | null;
  readonly atc: number | null;
  /** The store's keyed hash of PAN and PSN, upper-case hex. */
  readonly cardHash: string | null;
  /** `RID/index` of the CA key the ODA evidence names. */
  readonly capk: string | null;
  readonly state: "verified" | "rejected";
  /** When icfare verified it (null for a record rejected at upload). */
  readonly verifiedAt: string | null;
  /** The stored verdict `{status, detail}`, or the upload rejection `{rejected}`. */
  readonly verdict: Record<string, unknown>;
  readonly clearing: ArchivedClearing | null;
  readonly entry: { readonly id: number; readonly kind: string } | null;
  /** Postings of the entry, `[account, fen]`, in the order written. */
  readonly postings: readonly (readonly [string, number])[];
  /** base64(IV ‖ AES-GCM ciphertext ‖ tag) of the raw record and its clearing-file line. */
  readonly evidence: string;
}

/** The fields of a record line in the order written (index field digests follow it). */
export const RECORD_FIELDS = [
  "n",
  "id",
  "ref",
  "merchant",
  "receivedAt",
  "denyListVersion",
  "tappedAt",
  "tapDay",
  "line",
  "vehicle",
  "stop",
  "fare",
  "model",
  "pan",
  "psn",
  "atc",
  "cardHash",
  "capk",
  "state",
  "verifiedAt",
  "verdict",
  "clearing",
  "entry",
  "postings",
  "evidence",
] as const;

/** A ledger entry of the day for a record of an earlier day (a debt's end). */
export interface LaterEntry {
  readonly id: number;
  readonly kind: string;
  readonly recordId: number;
  readonly debtId: number | null;
  readonly postings: readonly (readonly [string, number])[];
}

export interface LaterLine {
  readonly t: "L";
  readonly entries: readonly LaterEntry[];
}

export interface Tally {
  count: number;
  amount: number;
}

/** What the store said of the day when it was archived; the audit re-derives every figure. */
export interface SummaryLine {
  readonly t: "Z";
  readonly records: number;
  readonly states: { readonly verified: number; readonly rejected: number };
  readonly outcomes: Readonly<Record<string, Tally>>;
  readonly exceptions: Readonly<Record<string, Tally>>;
  readonly issuerVerifies: Tally;
  readonly fees: number;
  readonly debts: Tally;
  readonly ledger: {
    readonly entries: number;
    readonly postings: number;
    readonly total: number;
    readonly accounts: readonly (readonly [string, number])[];
  };
  readonly clearingFile: {
    readonly name: string;
    /** SHA-256 of the sealed file as written for the acquirer. */
    readonly sha256: string;
    readonly count: number;
    readonly amount: number;
    /** The trailer's SHA-256 of the detail lines. */
    readonly trailer: string;
  };
}

export interface SealLine {
  readonly t: "S";
  readonly seg: number;
  /** n of the first record of a record segment, else 0. */
  readonly first: number;
  readonly prev: string;
  readonly lines: number;
  /** Per line: its SHA-256 (64 hex), followed for a record by its field digests. */
  readonly index: readonly string[];
  readonly hash: string;
}

export interface HeadLine {
  readonly t: "H";
  readonly format: string;
  readonly day: string;
  readonly segments: number;
  readonly records: number;
  readonly lines: number;
  readonly last: string;
  readonly previous: { readonly day: string; readonly head: string } | null;
  readonly signer: { readonly keyId: string; readonly algorithm: string; readonly kcv: string };
  readonly sig: string;
}

const enc = new TextEncoder();
const HEXL = "0123456789abcdef";

/** Lower-case hex (the archive's digests and signatures). */
export function hexl(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEXL[b[i] >> 4] + HEXL[b[i] & 15];
  return s;
}

/** SHA-256 of bytes or UTF-8 text, lower-case hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return hexl(sha256(typeof data === "string" ? enc.encode(data) : data));
}

/** SHA-256 of many byte strings in one kernel call, lower-case hex each. */
export function sha256HexBatch(items: readonly Uint8Array[]): string[] {
  if (items.length === 0) return [];
  const out = sha256Batch(items);
  const r: string[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) r[i] = hexl(out.subarray(32 * i, 32 * i + 32));
  return r;
}

/** The field digests of a record (`RECORD_FIELDS` order): 4 bytes of SHA-256 of each value. */
export function fieldDigests(records: readonly Record<string, unknown>[]): string[] {
  const parts: Uint8Array[] = [];
  for (const r of records) {
    for (const f of RECORD_FIELDS) parts.push(enc.encode(JSON.stringify(r[f] ?? null)));
  }
  const all = parts.length ? sha256Batch(parts) : new Uint8Array(0);
  const w = RECORD_FIELDS.length;
  return records.map((_, i) => {
    let s = "";
    for (let f = 0; f < w; f++) {
      const at = 32 * (i * w + f);
      s += hexl(all.subarray(at, at + FIELD_DIGEST_BYTES));
    }
    return s;
  });
}

/** Index entries of lines (their UTF-8 bytes without LF); records get field digests too. */
export function indexOf(lines: readonly Uint8Array[], records?: readonly RecordLine[]): string[] {
  const d = sha256HexBatch(lines);
  if (!records) return d;
  const f = fieldDigests(records as unknown as Record<string, unknown>[]);
  return d.map((x, i) => x + f[i]);
}

/**
 * A line closed by a digest of itself: `body` is the JSON of the line without its last key;
 * the line is `body` with `,"<key>":"<value>"` inserted before its final `}`.
 */
export function closeLine(body: string, key: "hash" | "sig", value: string): string {
  return `${body.slice(0, -1)},"${key}":"${value}"}`;
}

/** A seal line: its hash over the seal's bytes without the hash. */
export function sealLine(s: Omit<SealLine, "t" | "hash">): { text: string; hash: string } {
  const body = JSON.stringify({
    t: "S",
    seg: s.seg,
    first: s.first,
    prev: s.prev,
    lines: s.lines,
    index: s.index,
  });
  const hash = sha256Hex(body);
  return { text: closeLine(body, "hash", hash), hash };
}

/** The signed bytes of a head (everything but the signature) and the head hash over them. */
export function headBody(h: Omit<HeadLine, "t" | "sig">): { body: string; hash: string } {
  const body = JSON.stringify({
    t: "H",
    format: h.format,
    day: h.day,
    segments: h.segments,
    records: h.records,
    lines: h.lines,
    last: h.last,
    previous: h.previous,
    signer: { keyId: h.signer.keyId, algorithm: h.signer.algorithm, kcv: h.signer.kcv },
  });
  return { body, hash: sha256Hex(body) };
}

const CLOSED = {
  hash: /^(.*),"hash":"([0-9a-f]{64})"\}$/s,
  sig: /^(.*),"sig":"([0-9a-f]{128})"\}$/s,
};

/**
 * Splits a closed line into the bytes its digest covers (`body`, with its `}`) and the value;
 * null when the line is not in the closed form (the value must be lower-case hex, exactly).
 */
export function openLine(
  text: string,
  key: "hash" | "sig",
): { body: string; value: string } | null {
  const m = CLOSED[key].exec(text);
  return m ? { body: m[1] + "}", value: m[2] } : null;
}

/** `terminal/batchNo/seq` of a record. */
export function refOf(terminal: string, batchNo: number, seq: number): string {
  return `${terminal}/${batchNo}/${seq}`;
}

/** The parts of a ref; null when it is not one. */
export function parseRef(ref: string): { terminal: string; batchNo: number; seq: number } | null {
  const m = /^([0-9A-Za-z]{8})\/(\d{1,9})\/(\d{1,10})$/.exec(ref);
  return m ? { terminal: m[1], batchNo: Number(m[2]), seq: Number(m[3]) } : null;
}

/** The archive's record order: terminal, then batch number, then seq (what clearing uses). */
export function compareRefs(a: string, b: string): number {
  const x = parseRef(a), y = parseRef(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x.terminal !== y.terminal) return x.terminal < y.terminal ? -1 : 1;
  return x.batchNo - y.batchNo || x.seq - y.seq;
}

let kernelDigest: string | undefined;

/** SHA-256 of the WASM kernel in use (lower-case hex). */
export function kernelHash(): string {
  return kernelDigest ??= sha256Hex(decodeBase64(KERNEL_WASM_BASE64));
}

/** The archive file name of a day. */
export function archiveName(day: string): string {
  return `icfare-archive-${day}.jsonl`;
}
