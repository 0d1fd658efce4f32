/**
 * Production verification: whole batches through the kernel engine (`kernel-as/engine.ts`) —
 * TLV, cryptogram, offline data authentication in one kernel call — then duplicate / replay
 * detection within the batch, combined by the same precedence as the readable reference
 * `verifyRecords`. A differential test checks that both paths give the same status and flags
 * for every record.
 *
 * There is no slow path: key and CA key sources must be able to list what they hold (the
 * kernel loads it all), and a configuration the kernel cannot take is a coded error.
 */
import { fromHex } from "../hex.ts";
import { maskPan } from "../mask.ts";
import { IcfareError } from "../errors.ts";
import {
  CARD_DATES,
  CRYPTOGRAM_FLAGS,
  CRYPTOGRAM_TYPE_SOURCES,
  CRYPTOGRAM_TYPES,
  ENGINE_SLOTS,
  IDD_FIELD_BYTES,
  IDD_MAC_VERDICTS,
  IDD_TYPES,
  LIMITS,
  ODA_CHECKS,
  ODA_METHODS,
  ODA_VERDICTS,
  RES,
} from "../../kernel-as/contract.ts";
import {
  ENGINE_PROFILES,
  type EngineConfig,
  type EngineKey,
  type EngineOdaInputs,
  type EngineResults,
  engineVerify,
  RESULT_WORDS,
} from "../../kernel-as/engine.ts";
import type { IssuerKey } from "./issuer_keys.ts";
import { type IssuerConfig, reasonText } from "./profiles.ts";
import type { CapkSource } from "./capk.ts";
import { ODA_CHECK_STATUS } from "./oda_checks.ts";
import {
  RECORD_STATUSES,
  type RecordResult,
  type RecordStatus,
  STATUS_MESSAGES,
  type TapRecord,
  type VerifyContext,
} from "./verify.ts";
import { acAmountKey, cardKey, DuplicateFinder, duplicateNote } from "./duplicates.ts";
import { CARD_DATE_FINDINGS, cidNote } from "./card_checks.ts";

/** A key source that can list its keys and issuer configurations (the kernel loads them all). */
export interface EnumerableKeySource {
  listImkAc(): readonly IssuerKey[];
  /** IMK-MAC keys for the IDD MAC (none when the source holds none). */
  listImkMac?(): readonly IssuerKey[];
  listConfigs(): readonly (readonly [string, IssuerConfig])[];
}

/** One record as bytes (hex already decoded). */
export interface BatchRecordBytes {
  readonly seq: number;
  readonly icc: Uint8Array;
  readonly oda?: Uint8Array;
  readonly staticData?: Uint8Array;
  readonly fare?: number;
}

/** Thrown when verification cannot load its keys into the kernel (a setup error, not a verdict). */
export class EngineInputError extends IcfareError {
  constructor(message: string) {
    super("ENGINE_INPUT_INVALID", message);
    this.name = "EngineInputError";
  }
}

function engineInputs(keys: EnumerableKeySource | undefined): {
  ek: EngineKey[];
  ids: string[];
  cfg: EngineConfig[];
} {
  if (keys && (typeof keys.listImkAc !== "function" || typeof keys.listConfigs !== "function")) {
    throw new EngineInputError("the issuer key source cannot list its keys for the kernel");
  }
  const list = [...keys?.listImkAc() ?? [], ...keys?.listImkMac?.() ?? []];
  const cfg = (keys?.listConfigs() ?? []).map(([issuer, c]) => {
    if (Object.keys(c.cvnProfiles ?? {}).length > LIMITS.cvnMappingsMax) {
      throw new EngineInputError(
        `issuer ${issuer}: at most ${LIMITS.cvnMappingsMax} CVN mappings per issuer`,
      );
    }
    return { issuer, profile: c.profile, cvnProfiles: c.cvnProfiles, scheme: c.scheme };
  });
  return {
    ek: list.map((k) => ({
      algorithm: k.algorithm,
      issuer: k.issuer,
      dki: k.dki,
      value: k.value,
      usage: k.usage ?? "imk-ac",
    })),
    ids: list.map((k) => k.id),
    cfg,
  };
}

function odaInputs(capks: CapkSource | undefined): EngineOdaInputs {
  if (!capks) return { capks: [] };
  if (typeof capks.list !== "function" || typeof capks.revokedList !== "function") {
    throw new EngineInputError("the CA key source cannot list its keys for the kernel");
  }
  return { capks: capks.list(), revoked: capks.revokedList() };
}

const NONE = 0xffffffff;
const HEX = "0123456789ABCDEF";

function hexAt(b: Uint8Array, off: number, len: number): string {
  let s = "";
  for (let i = off; i < off + len; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

/** PAN digits of 5A at (off, len): digits up to the first F, 8..19 of them; else undefined. */
function panDigitsAt(b: Uint8Array, off: number, len: number): string | undefined {
  if (off === NONE) return undefined;
  let s = "";
  for (let i = 0; i < len * 2; i++) {
    const d = i & 1 ? b[off + (i >> 1)] & 15 : b[off + (i >> 1)] >> 4;
    if (d === 15) break;
    if (d > 9) return undefined;
    s += HEX[d];
  }
  return s.length >= 8 && s.length <= 19 ? s : undefined;
}

/** Reads one record's result from the kernel's words. */
class ResultReader {
  readonly #w: Uint32Array;
  #base = 0;
  constructor(raw: EngineResults) {
    this.#w = raw.words;
  }
  at(i: number): this {
    this.#base = i * RESULT_WORDS;
    return this;
  }
  word(at: number): number {
    return this.#w[this.#base + at / 4];
  }
  byte(at: number): number {
    return (this.#w[this.#base + (at >>> 2)] >>> ((at & 3) * 8)) & 0xff;
  }
  /** The hex of a result span inside `icc`, or undefined when absent. */
  spanHex(icc: Uint8Array, which: number): string | undefined {
    const off = this.word(RES.spans + 8 * which);
    return off === NONE ? undefined : hexAt(icc, off, this.word(RES.spans + 8 * which + 4));
  }
}

// Result spans by position in the contract's RESULT_SPANS.
const SPAN_PSN = 1, SPAN_ATC = 2, SPAN_AC = 3, SPAN_AMOUNT = 4, SPAN_IAD = 5;

/** The findings bit of a record status. */
const bit = (st: RecordStatus) => 1 << RECORD_STATUSES.indexOf(st);

/** The IDD of a result: type and MAC verdict from the kernel, amounts from the 9F10 bytes. */
function iddOf(icc: Uint8Array, q: ResultReader): RecordResult["idd"] {
  const type = q.byte(RES.iddType);
  if (!type) return undefined;
  const out: NonNullable<RecordResult["idd"]> = { type };
  // The EC balance field of this IDD type, read from the 9F10 bytes in place (9F10 byte 11 on).
  const field = EC_FIELD.get(type);
  const at = q.word(RES.spans + 8 * SPAN_IAD);
  if (field !== undefined && at !== NONE) {
    const ec = bcdNumber(icc, at + 10 + field * IDD_FIELD_BYTES, IDD_FIELD_BYTES);
    if (ec >= 0) out.ecBalance = ec;
  }
  const mac = IDD_MAC_VERDICTS[q.byte(RES.iddMac)];
  if (mac !== "none") out.mac = mac;
  return out;
}

/** IDD type → index of its ecBalance field, for the types that carry one. */
const EC_FIELD: ReadonlyMap<number, number> = new Map(
  IDD_TYPES.filter((t) => (t.fields as readonly string[]).includes("ecBalance")).map((t) => [
    t.type,
    (t.fields as readonly string[]).indexOf("ecBalance"),
  ]),
);

/** The value of `n` BCD bytes at `off`, or -1 when not decimal. */
function bcdNumber(b: Uint8Array, off: number, n: number): number {
  let v = 0;
  for (let i = off; i < off + n; i++) {
    const hi = b[i] >> 4, lo = b[i] & 15;
    if (hi > 9 || lo > 9) return -1;
    v = v * 100 + hi * 10 + lo;
  }
  return v;
}

/** The record result of kernel result `index` (duplicates not yet applied). */
function recordOf(r: BatchRecordBytes, q: ResultReader, ids: readonly string[]): {
  res: RecordResult;
  findings: number;
  notes: string;
  pan?: string;
} {
  const icc = r.icc;
  const pan = panDigitsAt(icc, q.word(RES.spans), q.word(RES.spans + 4));
  const res: RecordResult = {
    seq: r.seq,
    status: "OK",
    cryptogram: CRYPTOGRAM_FLAGS[q.byte(RES.cryptogram)],
    oda: ODA_VERDICTS[q.byte(RES.oda)],
    message: "",
    pan: pan ? maskPan(pan) : undefined,
    atc: q.spanHex(icc, SPAN_ATC),
  };
  const type = q.byte(RES.type);
  if (type !== 255) {
    const t = CRYPTOGRAM_TYPES[type];
    const source = CRYPTOGRAM_TYPE_SOURCES[q.byte(RES.typeSource) - 1];
    res.cryptogramType = t;
    res.cryptogramTypeSource = source;
    if (q.byte(RES.notes) & 1) { // RECORD_NOTES[0], CID_DISAGREES
      const note = cidNote({ type: t, source, cid: CRYPTOGRAM_TYPES[q.byte(RES.cidType)] });
      if (note) res.notes = [note];
    }
  }
  const profile = q.byte(RES.profile), reason = q.byte(RES.reason);
  if (profile) res.profile = ENGINE_PROFILES[profile - 1];
  if (reason) res.profileReason = reasonText(reason);
  const key = q.word(RES.keyIndex);
  if (key !== NONE) res.keyId = ids[key];
  let findings = q.word(RES.findings);
  let notes = "";
  const date = CARD_DATE_FINDINGS[CARD_DATES[q.byte(RES.cardDate)]];
  if (date) notes += `; ${date.note}`;
  const idd = iddOf(icc, q);
  if (idd) res.idd = idd;
  const missing = q.byte(RES.missingSlot);
  if (missing !== 255) notes += `; cryptogram needs ${ENGINE_SLOTS[missing]}`;
  const method = q.byte(RES.odaMethod);
  if (ODA_METHODS[method] && method !== 0) res.odaMethod = ODA_METHODS[method];
  const format = q.byte(RES.odaFormat);
  if (format) res.odaFormat = HEX[format >> 4] + HEX[format & 15];
  const check = q.word(RES.odaCheck);
  if (check) {
    const name = ODA_CHECKS[check - 1].name;
    res.odaCheck = name;
    findings |= bit(ODA_CHECK_STATUS[name]);
    notes += `; ODA ${name}`;
  }
  return { res, findings, notes, pan };
}

/**
 * Verifies records given as bytes through the kernel engine; same results (status, flags,
 * type, profile, key, ODA check) as `verifyRecords` on the same records.
 */
export function verifyBatchBytes(
  records: readonly BatchRecordBytes[],
  ctx: { keys?: EnumerableKeySource; capks?: CapkSource } = {},
): RecordResult[] {
  const { ek, ids, cfg } = engineInputs(ctx.keys);
  const raw = engineVerify(records, ek, cfg, odaInputs(ctx.capks));
  const q = new ResultReader(raw);
  const dups = new DuplicateFinder();
  const results: RecordResult[] = new Array(records.length);
  for (let index = 0; index < records.length; index++) {
    const r = records[index];
    q.at(index);
    if (q.word(RES.findings) & bit("MALFORMED_TLV")) {
      results[index] = {
        seq: r.seq,
        status: "MALFORMED_TLV",
        cryptogram: "unsupported",
        oda: r.oda ? "failed" : "absent",
        message: STATUS_MESSAGES.MALFORMED_TLV,
      };
      continue;
    }
    const o = recordOf(r, q, ids);
    const atc = o.res.atc;
    if (o.pan && atc !== undefined) {
      const psnHex = q.word(RES.spans + 8 * SPAN_PSN + 4) === 1
        ? q.spanHex(r.icc, SPAN_PSN)
        : undefined;
      const dup = dups.see(
        index,
        cardKey(o.pan, psnHex, atc),
        acAmountKey(q.spanHex(r.icc, SPAN_AC), q.spanHex(r.icc, SPAN_AMOUNT)),
      );
      if (dup) {
        o.res.duplicateOf = records[dup.of].seq;
        o.findings |= bit(dup.status);
        o.notes += `; ${duplicateNote(records[dup.of].seq)}`;
      }
    }
    // Precedence: the lowest set bit wins (RECORD_STATUSES order).
    const f = o.findings;
    o.res.status = f ? RECORD_STATUSES[31 - Math.clz32(f & -f)] : "OK";
    o.res.message = STATUS_MESSAGES[o.res.status] + o.notes;
    results[index] = o.res;
  }
  return results;
}

/** `verifyRecords` through the kernel: hex records, a context whose keys can be listed. */
export function verifyRecordsKernel(
  records: readonly TapRecord[],
  ctx: VerifyContext = {},
): RecordResult[] {
  const keys = ctx.keys as unknown as EnumerableKeySource | undefined;
  const bytes: BatchRecordBytes[] = records.map((r) => {
    try {
      return {
        seq: r.seq,
        icc: fromHex(r.icc, "icc"),
        oda: r.oda ? fromHex(r.oda.tlv, "oda.tlv") : undefined,
        staticData: r.oda?.staticData !== undefined
          ? fromHex(r.oda.staticData, "oda.staticData")
          : undefined,
        fare: r.fare,
      };
    } catch {
      // Not hex: a record the kernel reports as malformed.
      return { seq: r.seq, icc: Uint8Array.of(0x9f), oda: r.oda ? new Uint8Array(0) : undefined };
    }
  });
  return verifyBatchBytes(bytes, { keys, capks: ctx.capks });
}
