/**
 * The ingest rules of the upload API: everything between an authenticated raw body and a
 * durable receipt (docs/upload-api.md). The server only authenticates, bounds the body and maps
 * `ApiError`s to answers; every rule lives here.
 *
 * Order: JSON depth bound → JSON.parse → zod → terminal match → totals → idempotency
 * pre-check → per-record structure (one kernel call for all chip data, one for all ODA
 * evidence) → card data protected (keyed hash, mask; the raw body sealed with tag-57 values
 * blanked; each record's tag-57 objects sealed apart, which the store keeps for ODA-model
 * records only: docs/clearing.md, "The two models") → one store transaction → receipt.
 */
import { checkTlvBatch, decodeTlv, type TlvEntry } from "../../kernel-as/mod.ts";
import { tagHex } from "../tlv/tree.ts";
import { fromHex, toHex } from "../hex.ts";
import { cnDigits } from "../mask.ts";
import type { PanProtector } from "../store/pan.ts";
import {
  batchAad,
  type NewRecord,
  type Store,
  StoreUnavailableError,
  track2Aad,
} from "../store/store.ts";
import { ApiError, RECORD_CODES } from "./errors.ts";
import { formatPath, LIMITS, type UploadBatch, UploadBatchSchema } from "./schema.ts";

/** Tags every accepted record's chip data must carry (docs/upload-api.md; 9F27 optional in qPBOC). */
export const REQUIRED_TAGS = [
  "9F26",
  "9F10",
  "9F36",
  "9F37",
  "9F02",
  "9F03",
  "9F1A",
  "95",
  "5F2A",
  "9A",
  "9C",
  "82",
  "5A",
  "5F34",
  "5F24",
] as const;

const utf8 = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

/** True when JSON text nests arrays/objects deeper than `max` (strings are skipped). */
export function jsonDepthExceeds(raw: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Parses and validates an upload body; throws `ApiError` (400) with the failing path. */
export function parseUpload(raw: Uint8Array): UploadBatch {
  if (jsonDepthExceeds(raw, LIMITS.jsonDepthMax)) throw new ApiError("JSON_TOO_DEEP");
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(raw));
  } catch {
    throw new ApiError("INVALID_JSON");
  }
  const r = UploadBatchSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = formatPath(issue.path);
    const numeric = (issue.code === "too_big" || issue.code === "too_small") &&
      (issue.origin === "number" || issue.origin === "int");
    const what = numeric ? "number out of range" : issue.message;
    throw new ApiError(
      "VALIDATION_FAILED",
      `${path || "body"}: ${what}`.slice(0, 300),
      path || undefined,
    );
  }
  return r.data;
}

/** Where the totals of a batch do not add up ({path, message}), or null when they do. */
export function totalsProblem(
  b: Pick<UploadBatch, "totals" | "records">,
): { path: "totals.count" | "totals.amount"; message: string } | null {
  if (b.totals.count !== b.records.length) {
    return {
      path: "totals.count",
      message: `totals.count is ${b.totals.count} but the batch has ${b.records.length} records`,
    };
  }
  let sum = 0;
  for (const r of b.records) sum += r.fare;
  if (b.totals.amount !== sum) {
    return {
      path: "totals.amount",
      message: `totals.amount is ${b.totals.amount} but the fares add up to ${sum}`,
    };
  }
  return null;
}

/** Throws 422 TOTALS_MISMATCH unless totals.count and totals.amount match the records. */
export function checkTotals(b: UploadBatch): void {
  const p = totalsProblem(b);
  if (p) throw new ApiError("TOTALS_MISMATCH", p.message, p.path);
}

/** Value of an n12 amount (6 BCD bytes), or null when not decimal. */
export function n12Amount(v: Uint8Array): number | null {
  if (v.length !== 6) return null;
  let n = 0;
  for (const b of v) {
    const hi = b >> 4, lo = b & 15;
    if (hi > 9 || lo > 9) return null;
    n = n * 100 + hi * 10 + lo;
  }
  return n;
}

/** Per-record outcome of the structural checks, before protection. */
interface Checked {
  readonly reject: { code: string; message: string; path: string } | null;
  /** Each tag-57 object: its hex text as uploaded and where it starts in the icc text. */
  readonly track2: Track2Object[];
  readonly pan: string | null;
  readonly psn: string | null;
  readonly atc: number | null;
  /** 9F26 ‖ 9F02 as captured, kept so verification tells duplicate from replay set-wise. */
  readonly acKey?: Uint8Array | null;
}

type Reject = NonNullable<Checked["reject"]>;

/** The kernel's TLV finding for a record's chip data or ODA evidence, or null when well formed. */
function tlvReject(
  c: { status: number; code: string; offset: number },
  what: string,
  path: string,
): Reject | null {
  return c.status === 0
    ? null
    : { code: c.code, message: `Cannot decode ${what} at offset ${c.offset}`, path };
}

/** A tag-57 object (track 2 equivalent) of a record's chip data, as hex text of the upload. */
interface Track2Object {
  readonly hex: string;
  /** Offset of `hex` in the record's icc text. */
  readonly at: number;
}

/** Tag 57 objects of chip data, to blank before sealing. */
function track2Objects(icc: string, entries: readonly TlvEntry[]): Track2Object[] {
  // Tag 57 is sensitive authentication data: drop it after parsing.
  return entries.filter((e) => e.tag === 0x57 && e.tagBytes === 1).map((e) => ({
    hex: icc.slice(2 * e.header, 2 * (e.value + e.length)),
    at: 2 * e.header,
  }));
}

/** Required tags, fare = 9F02 and the card's identity (PAN, PSN, ATC) of well-formed chip data. */
function checkChipData(r: UploadBatch["records"][number], i: number, bytes: Uint8Array): Checked {
  const d = decodeTlv(bytes);
  if (!d.ok) throw new Error("kernel batch check and single decode disagree"); // a bug: stop
  const track2 = track2Objects(r.icc, d.entries);
  // Primitive values by tag, first occurrence wins (as flattenValues, without building a tree).
  const v = new Map<string, Uint8Array>();
  for (const e of d.entries) {
    if (e.constructed) continue;
    const t = tagHex(e.tag, e.tagBytes);
    if (!v.has(t)) v.set(t, bytes.subarray(e.value, e.value + e.length));
  }
  const fail = (code: keyof typeof RECORD_CODES, message: string, path = `records[${i}].icc`) => ({
    track2,
    pan: null,
    psn: null,
    atc: null,
    reject: { code, message, path },
  });
  const missing = REQUIRED_TAGS.filter((t) => !v.has(t));
  if (!v.has("84") && !v.has("4F")) missing.push("84/4F" as never);
  if (missing.length > 0) return fail("MISSING_TAG", `icc lacks ${missing.join(", ")}`);
  const amount = n12Amount(v.get("9F02")!);
  if (amount === null) return fail("AMOUNT_INVALID", RECORD_CODES.AMOUNT_INVALID);
  if (amount !== r.fare) {
    return fail(
      "FARE_MISMATCH",
      `fare ${r.fare} differs from 9F02 ${amount}`,
      `records[${i}].fare`,
    );
  }
  const pan = cnDigits(v.get("5A")!);
  if (!/^[0-9]{12,19}$/.test(pan)) return fail("PAN_INVALID", RECORD_CODES.PAN_INVALID);
  const psnV = v.get("5F34")!;
  const psn = psnV.length === 1 ? toHex(psnV) : "";
  if (!/^[0-9]{2}$/.test(psn)) return fail("PSN_INVALID", RECORD_CODES.PSN_INVALID);
  const atcV = v.get("9F36")!;
  if (atcV.length !== 2) return fail("ATC_INVALID", RECORD_CODES.ATC_INVALID);
  const ac = v.get("9F26")!, amountV = v.get("9F02")!;
  const acKey = new Uint8Array(ac.length + amountV.length);
  acKey.set(ac);
  acKey.set(amountV, ac.length);
  return { track2, pan, psn, atc: (atcV[0] << 8) | atcV[1], acKey, reject: null };
}

/** Structural checks of every record: TLV (kernel), required tags, fare = 9F02, card identity. */
export function checkRecords(b: UploadBatch): Checked[] {
  const iccs = b.records.map((r) => fromHex(r.icc, "icc"));
  const iccChecks = checkTlvBatch(iccs);
  const odaIdx: number[] = [];
  const odas: Uint8Array[] = [];
  b.records.forEach((r, i) => {
    if (r.oda) (odaIdx.push(i), odas.push(fromHex(r.oda.tlv, "oda.tlv")));
  });
  const odaChecks = checkTlvBatch(odas);
  const odaStatus = new Map<number, (typeof odaChecks)[number]>();
  odaIdx.forEach((rec, k) => odaStatus.set(rec, odaChecks[k]));
  const none = { track2: [], pan: null, psn: null, atc: null };
  return b.records.map((r, i): Checked => {
    const iccReject = tlvReject(iccChecks[i], "TLV", `records[${i}].icc`);
    if (iccReject) return { ...none, reject: iccReject };
    const oc = odaStatus.get(i);
    const odaReject = oc && tlvReject(oc, "ODA TLV", `records[${i}].oda.tlv`);
    if (odaReject) return { ...none, reject: odaReject };
    return checkChipData(r, i, iccs[i]);
  });
}

/** What ingest needs from outside. */
export interface IngestDeps {
  readonly store: Store;
  readonly pan: PanProtector;
  readonly now?: () => Date;
}

/** The answer to an upload that got past authentication. */
export interface IngestAnswer {
  /** The receipt exactly as sent (JSON text). */
  readonly body: string;
  readonly replayed: boolean;
  readonly accepted: number;
  readonly rejected: number;
}

/** Receipt JSON with a fixed key order, `replayed` last (the store relies on it). */
export function receiptJson(
  batchId: string,
  digest: string,
  received: number,
  accepted: number,
  rejected: readonly { seq: number; code: string; message: string; path: string }[],
): string {
  return JSON.stringify({ batchId, digest, received, accepted, rejected, replayed: false });
}

/** The batch id of a (terminalId, batchNo): stable, so every replay names the same batch. */
export function batchIdOf(terminalId: string, batchNo: number): string {
  return `${terminalId}-${String(batchNo).padStart(6, "0")}`;
}

/**
 * Runs the ingest rules on an authenticated body and stores it. Throws `ApiError` for every
 * answer other than 200 (400, 403, 409, 422, 503).
 */
export async function ingestUpload(
  deps: IngestDeps,
  raw: Uint8Array,
  digest: string,
  credential: string,
): Promise<IngestAnswer> {
  const b = parseUpload(raw);
  if (b.terminalId !== credential) {
    throw new ApiError(
      "AUTH_TERMINAL_MISMATCH",
      "terminalId in the body differs from the credential",
      "terminalId",
    );
  }
  checkTotals(b);
  const replay = await storeCall(() => replayOrConflict(deps.store, b, digest));
  if (replay) return replay;

  const checked = checkRecords(b);
  const redacted = redactTrack2(raw, b.records, checked);
  const bodySealed = deps.pan.seal(redacted, batchAad(b.terminalId, b.batchNo, digest));
  // every card of the batch hashed in one call (docs/performance.md, "Upload server load")
  const cards = checked.flatMap((c, i) =>
    c.pan !== null && c.psn !== null ? [{ i, pan: c.pan, psn: c.psn }] : []
  );
  const cardHashes: (Uint8Array | null)[] = checked.map(() => null);
  (await deps.pan.hashCards(cards)).forEach((h, k) => cardHashes[cards[k].i] = h);
  const records: Promise<NewRecord>[] = b.records.map(async (r, i): Promise<NewRecord> => {
    const c = checked[i];
    const cardHash = cardHashes[i];
    const track2Sealed = c.reject || c.track2.length === 0 ? null : await deps.pan.seal(
      fromHex(c.track2.map((o) => o.hex).join(""), "tag 57"),
      track2Aad(b.terminalId, b.batchNo, r.seq),
    );
    return {
      seq: r.seq,
      tappedAt: r.tappedAt,
      line: r.line,
      vehicle: r.vehicle,
      stop: r.stop ?? null,
      fare: r.fare,
      cardHash,
      panMasked: c.pan === null ? null : deps.pan.mask(c.pan),
      psn: c.psn,
      atc: c.atc,
      status: c.reject ? "rejected" : "pending",
      reject: c.reject,
      index: i,
      acKey: c.reject ? null : c.acKey ?? null,
      track2Sealed,
    };
  });
  const rejected = b.records.flatMap((r, i) =>
    checked[i].reject ? [{ seq: r.seq, ...checked[i].reject! }] : []
  );
  const accepted = b.records.length - rejected.length;
  const receipt = receiptJson(
    batchIdOf(b.terminalId, b.batchNo),
    digest,
    b.records.length,
    accepted,
    rejected,
  );
  const result = await storeCall(async () =>
    deps.store.ingest({
      terminalId: b.terminalId,
      batchNo: b.batchNo,
      merchantId: b.merchantId,
      denyListVersion: b.denyListVersion,
      digest,
      body: await bodySealed,
      bodyBytes: raw.length,
      amount: b.totals.amount,
      receivedAt: (deps.now?.() ?? new Date()).toISOString(),
      records: await Promise.all(records),
      receipt,
    })
  );
  if (result.kind === "conflict") throw new ApiError("BATCH_CONFLICT", undefined, "batchNo");
  const replayed = result.kind === "replayed";
  return { body: result.receipt, replayed, accepted, rejected: rejected.length };
}

async function replayOrConflict(
  store: Store,
  b: UploadBatch,
  digest: string,
): Promise<IngestAnswer | null> {
  const stored = await store.batchDigest(b.terminalId, b.batchNo);
  if (stored === null) return null;
  if (stored !== digest) throw new ApiError("BATCH_CONFLICT", undefined, "batchNo");
  const receipt = await store.receipt(b.terminalId, b.batchNo);
  if (receipt === null) return null;
  const parsed = JSON.parse(receipt) as { accepted: number; rejected: unknown[] };
  return {
    body: receipt,
    replayed: true,
    accepted: parsed.accepted,
    rejected: parsed.rejected.length,
  };
}

async function storeCall<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof StoreUnavailableError) throw new ApiError("STORAGE_UNAVAILABLE");
    throw e;
  }
}

/**
 * The raw body with each tag-57 object's hex blanked to '0's of the same length, so the
 * stored body keeps its shape but never the track 2 equivalent data. Each record's chip data
 * is blanked at its own objects' offsets and replaced as a whole (its text holds the record's
 * cryptogram: it recurs only where the same chip data does); then copies of a long object
 * elsewhere (ODA evidence read from the card's records) are blanked too. A short object (an
 * empty tag 57 is the text "5700") is never searched for: it would match unrelated hex.
 */
function redactTrack2(
  raw: Uint8Array,
  records: UploadBatch["records"],
  checked: readonly Checked[],
): Uint8Array {
  if (!checked.some((c) => c.track2.length > 0)) return raw;
  let text = utf8.decode(raw);
  const long = new Set<string>(), done = new Set<string>();
  checked.forEach((c, i) => {
    const icc = records[i].icc;
    // once each: a tap uploaded twice in a batch brings the same chip data twice
    if (c.track2.length === 0 || done.has(icc)) return;
    done.add(icc);
    let blanked = icc;
    for (const o of c.track2) {
      blanked = blanked.slice(0, o.at) + "0".repeat(o.hex.length) +
        blanked.slice(o.at + o.hex.length);
      if (o.hex.length >= TRACK2_SEARCH_MIN) long.add(o.hex);
    }
    if (!text.includes(icc)) {
      throw new ApiError(
        "VALIDATION_FAILED",
        "icc carrying tag 57 must be plain hex text (no JSON escapes)",
      );
    }
    text = text.split(icc).join(blanked);
  });
  for (const h of long) text = text.split(h).join("0".repeat(h.length));
  return enc.encode(text);
}

/**
 * Hex length from which a tag-57 object is also blanked wherever it recurs: tag, length and 8
 * value bytes, fewer than any track 2 with a PAN (ISO/IEC 7813: PAN of 12 or more digits, a
 * separator, expiry and service code).
 */
const TRACK2_SEARCH_MIN = 2 * (2 + 8);
