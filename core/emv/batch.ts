/**
 * Batch verification through the kernel engine (`kernel-as/engine.ts`): the whole cryptogram
 * path of many records in one kernel call, then offline data authentication and duplicate /
 * replay detection here, combined by the same precedence as the reference `verifyRecords`.
 * A differential test checks that both paths give the same status and flags for every record.
 *
 * ODA runs in TypeScript (`authenticateRecord`, issuer and ICC keys cached by certificate hash
 * across batches) until the kernel's public-key family (issue 4) is on main.
 */
import { fromHex } from "../hex.ts";
import { maskPan } from "../mask.ts";
import {
  ENGINE_PROFILES,
  ENGINE_SLOT_TAGS,
  type EngineConfig,
  type EngineKey,
  engineVerify,
} from "../../kernel-as/engine.ts";
import { flattenValues, parseTlv } from "../tlv/tree.ts";
import type { IssuerKey } from "./issuer_keys.ts";
import type { IssuerConfig } from "./profiles.ts";
import { authenticateRecord, ODA_CHECKS, OdaKeyCache, type OdaOutcome } from "./oda.ts";
import {
  type CryptogramFlag,
  RECORD_STATUSES,
  type RecordResult,
  type RecordStatus,
  STATUS_MESSAGES,
  type TapRecord,
  type VerifyContext,
  verifyRecords,
} from "./verify.ts";
import type { CapkSource } from "./capk.ts";

/** A key source that can list its keys and issuer configurations (the kernel loads them all). */
export interface EnumerableKeySource {
  listImkAc(): readonly IssuerKey[];
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

const CRYPTO: readonly CryptogramFlag[] = ["ok", "mismatch", "no-key", "unsupported"];
const TYPES = ["AAC", "TC", "ARQC", "RFU"];
const REASONS: Record<number, string> = {
  1: "pinned by issuer configuration",
  2: "PBOC CVN mapped by issuer configuration",
  3: "PBOC: 9F10 byte 8 algorithm 04 = SM4",
  4: "PBOC: 9F10 byte 3 CVN 01, byte 8 algorithm 01 = 3DES",
  5: "Visa: CVN 10 (0A)",
  6: "Visa: CVN 18 (12)",
  7: "MasterCard: CVN 16 (10)",
  20: "9F10 absent: cannot tell the CVN",
  21: "9F10 does not follow the PBOC layout 07|DKI|CVN|03 CVR|alg",
  22: "PBOC 9F10 algorithm identifier is not 01 or 04",
  23: "PBOC CVN data set not public (domain.md §4.1); map it in the issuer configuration",
  24: "Visa 9F10 shorter than 7 bytes",
  25: "Visa CVN is not supported",
  26: "MasterCard CVN is not supported",
  27: "9F10 layout matches no known scheme",
  28: "issuer configuration names an unknown profile",
};

const ODA_STATUS: Partial<Record<string, RecordStatus>> = {
  CAPK_UNKNOWN: "CAPK_UNKNOWN",
  CAPK_EXPIRED: "CERT_EXPIRED",
  ISSUER_CERT_EXPIRED: "CERT_EXPIRED",
  ICC_CERT_EXPIRED: "CERT_EXPIRED",
  ISSUER_CERT_REVOKED: "CERT_REVOKED",
  ODA_DATA_MISSING: "MISSING_DATA",
};

function engineInputs(keys: EnumerableKeySource | undefined): {
  ek: EngineKey[];
  ids: string[];
  cfg: EngineConfig[];
} {
  const list = keys?.listImkAc() ?? [];
  return {
    ek: list.map((k) => ({ algorithm: k.algorithm, issuer: k.issuer, dki: k.dki, value: k.value })),
    ids: list.map((k) => k.id),
    cfg: (keys?.listConfigs() ?? []).map(([issuer, c]) => ({
      issuer,
      profile: c.profile,
      cvnProfiles: c.cvnProfiles,
    })),
  };
}

function odaOf(r: BatchRecordBytes, capks: CapkSource | undefined, cache: OdaKeyCache): OdaOutcome {
  if (!r.oda) return { verdict: "absent", method: "none", steps: [] };
  const p = parseTlv(r.icc);
  const q = parseTlv(r.oda);
  if (!p.ok || !q.ok) return { verdict: "failed", method: "none", steps: [] };
  const values = flattenValues(p.nodes);
  for (const [k, v] of flattenValues(q.nodes)) if (!values.has(k)) values.set(k, v);
  if (capks) return authenticateRecord(values, capks, { staticData: r.staticData, cache });
  return values.has("90") && (values.has("9F4B") || values.has("93"))
    ? { verdict: "no-capk", method: "none", check: "CAPK_UNKNOWN", steps: [] }
    : { verdict: "absent", method: "none", steps: [] };
}

const ODA_VERDICTS = ["ok", "failed", "absent", "no-capk"] as const;
const ODA_METHODS = ["none", "SDA", "fDDA", "SM2-fDDA"] as const;

function kernelOdaOutcome(
  raw: ReturnType<typeof engineVerify>,
  i: number,
  verdict: number,
): OdaOutcome {
  const c = raw.odaCheck(i);
  return {
    verdict: ODA_VERDICTS[verdict],
    method: ODA_METHODS[raw.odaMethod(i)] ?? "none",
    ...(c ? { check: ODA_CHECKS[c - 1] } : {}),
    steps: [],
  };
}

/**
 * Verifies records given as bytes through the kernel engine; same results (status, flags,
 * type, profile, key, ODA check) as `verifyRecords` on the same records.
 */
export function verifyBatchBytes(
  records: readonly BatchRecordBytes[],
  ctx: { keys?: EnumerableKeySource; capks?: CapkSource; odaCache?: OdaKeyCache } = {},
): RecordResult[] {
  const { ek, ids, cfg } = engineInputs(ctx.keys);
  const reg = ctx.capks;
  const kernelOda = !reg ||
    (typeof reg.list === "function" && typeof reg.revokedList === "function");
  const raw = engineVerify(
    records,
    ek,
    cfg,
    kernelOda ? { capks: reg?.list?.() ?? [], revoked: reg?.revokedList?.() ?? [] } : undefined,
  );
  const W = raw.words;
  const cache = ctx.odaCache ?? new OdaKeyCache();
  const seen = new Map<string, { index: number; acAmount: string }>();
  const bit = (st: RecordStatus) => 1 << RECORD_STATUSES.indexOf(st);
  const B_DUP = bit("DUPLICATE"), B_REPLAY = bit("REPLAY_SUSPECT");
  const results: RecordResult[] = new Array(records.length);
  for (let index = 0; index < records.length; index++) {
    const r = records[index];
    const icc = r.icc;
    const w = index * 16;
    let findings = W[w + 1];
    if (findings & 1) {
      results[index] = {
        seq: r.seq,
        status: "MALFORMED_TLV",
        cryptogram: "unsupported",
        oda: r.oda ? "failed" : "absent",
        message: STATUS_MESSAGES.MALFORMED_TLV,
      };
      continue;
    }
    const b2 = W[w + 2], b3 = W[w + 3], key = W[w + 4];
    const pan = panDigitsAt(icc, W[w + 6], W[w + 7]);
    const atc = W[w + 10] === NONE ? undefined : hexAt(icc, W[w + 10], W[w + 11]);
    const res: RecordResult = {
      seq: r.seq,
      status: "OK",
      cryptogram: CRYPTO[b2 & 0xff],
      oda: "absent",
      message: "",
      pan: pan ? maskPan(pan) : undefined,
      atc,
    };
    const type = (b2 >>> 16) & 0xff;
    if (type !== 255) {
      res.cryptogramType = TYPES[type];
      res.cryptogramTypeSource = b2 >>> 24 === 1 ? "9F27" : "CVR";
    }
    const profile = b3 & 0xff, reason = (b3 >>> 8) & 0xff, missing = (b3 >>> 16) & 0xff;
    if (profile) res.profile = ENGINE_PROFILES[profile - 1];
    if (reason) res.profileReason = REASONS[reason] ?? `reason ${reason}`;
    if (key !== NONE) res.keyId = ids[key];
    let notes = "";
    if (missing !== 255) notes += `; cryptogram needs ${ENGINE_SLOT_TAGS[missing]}`;
    if (pan && atc !== undefined) {
      const psnOff = W[w + 8];
      const psnHex = psnOff !== NONE && W[w + 9] === 1 ? hexAt(icc, psnOff, 1) : "";
      const psn = psnHex.length === 2 && psnHex < "A" && psnHex[0] <= "9" && psnHex[1] <= "9"
        ? psnHex
        : "00";
      const id = `${pan}|${psn}|${atc}`;
      const acAmount = (W[w + 12] === NONE ? "" : hexAt(icc, W[w + 12], W[w + 13])) + "|" +
        (W[w + 14] === NONE ? "" : hexAt(icc, W[w + 14], W[w + 15]));
      const prev = seen.get(id);
      if (prev) {
        res.duplicateOf = records[prev.index].seq;
        findings |= prev.acAmount === acAmount ? B_DUP : B_REPLAY;
        notes += `; same card and ATC as seq ${records[prev.index].seq}`;
      } else seen.set(id, { index, acAmount });
    }
    const ko = raw.oda(index);
    const oda: OdaOutcome = kernelOda && ko !== 255
      ? kernelOdaOutcome(raw, index, ko)
      : odaOf(r, ctx.capks, cache);
    res.oda = oda.verdict;
    if (oda.method !== "none") res.odaMethod = oda.method;
    if (oda.check) {
      res.odaCheck = oda.check;
      findings |= bit(ODA_STATUS[oda.check] ?? "ODA_FAILED");
      notes += `; ODA ${oda.check}`;
    }
    // Precedence: the lowest set bit wins (RECORD_STATUSES order).
    res.status = findings ? RECORD_STATUSES[31 - Math.clz32(findings & -findings)] : "OK";
    res.message = STATUS_MESSAGES[res.status] + notes;
    results[index] = res;
  }
  return results;
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

/** `verifyRecords` through the kernel: hex records, a context whose keys can be listed. */
export function verifyRecordsKernel(
  records: readonly TapRecord[],
  ctx: VerifyContext = {},
): RecordResult[] {
  const keys = ctx.keys as unknown as EnumerableKeySource | undefined;
  // A key source that cannot list its keys cannot be loaded into the kernel: the readable
  // reference path gives the same results.
  if (keys && (typeof keys.listImkAc !== "function" || typeof keys.listConfigs !== "function")) {
    return verifyRecords(records, ctx);
  }
  // The kernel takes pinned profiles and up to 4 CVN mappings per issuer, not scheme hints.
  if (
    keys?.listConfigs().some(([, c]) =>
      c.scheme !== undefined || Object.keys(c.cvnProfiles ?? {}).length > 4
    )
  ) {
    return verifyRecords(records, ctx);
  }
  const bytes: BatchRecordBytes[] = [];
  const bad = new Set<number>();
  records.forEach((r, i) => {
    try {
      bytes.push({
        seq: r.seq,
        icc: fromHex(r.icc, "icc"),
        oda: r.oda ? fromHex(r.oda.tlv, "oda.tlv") : undefined,
        staticData: r.oda?.staticData !== undefined
          ? fromHex(r.oda.staticData, "oda.staticData")
          : undefined,
        fare: r.fare,
      });
    } catch {
      bad.add(i);
      bytes.push({
        seq: r.seq,
        icc: Uint8Array.of(0x9f),
        oda: r.oda ? new Uint8Array(0) : undefined,
      });
    }
  });
  return verifyBatchBytes(bytes, { keys, capks: ctx.capks, odaCache: ctx.odaCache });
}
