/**
 * Batch verification through the kernel engine (`kernel-as/engine.ts`): the whole cryptogram
 * path of many records in one kernel call, then offline data authentication and duplicate /
 * replay detection here, combined by the same precedence as the reference `verifyRecords`.
 * A differential test checks that both paths give the same status and flags for every record.
 *
 * ODA runs in TypeScript (`authenticateRecord`, issuer and ICC keys cached by certificate hash
 * across batches) until the kernel's public-key family (issue 4) is on main.
 */
import { fromHex, toHex } from "../hex.ts";
import { maskPan } from "../mask.ts";
import {
  ENGINE_PROFILES,
  ENGINE_SLOT_TAGS,
  type EngineConfig,
  type EngineKey,
  engineVerify,
  type Span,
} from "../../kernel-as/engine.ts";
import { flattenValues, parseTlv } from "../tlv/tree.ts";
import type { IssuerKey } from "./issuer_keys.ts";
import type { IssuerConfig } from "./profiles.ts";
import { authenticateRecord, ODA_CHECKS, OdaKeyCache, type OdaOutcome } from "./oda.ts";
import {
  type CryptogramFlag,
  precedence,
  RECORD_STATUSES,
  type RecordResult,
  type RecordStatus,
  STATUS_MESSAGES,
  type TapRecord,
  type VerifyContext,
} from "./verify.ts";
import type { CapkRegistry, CapkSource } from "./capk.ts";

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

const sub = (b: Uint8Array, s: Span) => s ? b.subarray(s[0], s[0] + s[1]) : undefined;

function panDigits(v: Uint8Array | undefined): string | undefined {
  if (!v) return undefined;
  const s = toHex(v);
  const f = s.indexOf("F");
  const d = f < 0 ? s : s.slice(0, f);
  return /^[0-9]{8,19}$/.test(d) ? d : undefined;
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
  const reg = ctx.capks as CapkRegistry | undefined;
  const kernelOda = !ctx.capks || typeof reg?.list === "function";
  const raw = engineVerify(
    records,
    ek,
    cfg,
    kernelOda ? { capks: reg?.list() ?? [], revoked: reg?.revokedList() ?? [] } : undefined,
  );
  const W = raw.words;
  const cache = ctx.odaCache ?? new OdaKeyCache();
  const seen = new Map<string, { index: number; ac: string; amount: string }>();
  return records.map((r, index) => {
    const w = index * 16;
    const findings = W[w + 1];
    const found: RecordStatus[] = [];
    for (let i = 0; findings && i < RECORD_STATUSES.length; i++) {
      if (findings & (1 << i)) found.push(RECORD_STATUSES[i]);
    }
    if (findings & 1) {
      return {
        seq: r.seq,
        status: "MALFORMED_TLV",
        cryptogram: "unsupported",
        oda: r.oda ? "failed" : "absent",
        message: STATUS_MESSAGES.MALFORMED_TLV,
      };
    }
    const e = {
      type: (W[w + 2] >>> 16) & 0xff,
      typeSource: W[w + 2] >>> 24,
      profile: W[w + 3] & 0xff,
      reason: (W[w + 3] >>> 8) & 0xff,
      missingSlot: (W[w + 3] >>> 16) & 0xff,
      keyIndex: W[w + 4] === 0xffffffff ? -1 : W[w + 4],
    };
    const pan = panDigits(sub(r.icc, raw.span(index, 0)));
    const atc = sub(r.icc, raw.span(index, 2));
    const res: RecordResult = {
      seq: r.seq,
      status: "OK",
      cryptogram: CRYPTO[W[w + 2] & 0xff],
      oda: "absent",
      message: "",
      pan: pan ? maskPan(pan) : undefined,
      atc: atc ? toHex(atc) : undefined,
    };
    if (e.type !== 255) {
      res.cryptogramType = TYPES[e.type];
      res.cryptogramTypeSource = e.typeSource === 1 ? "9F27" : "CVR";
    }
    if (e.profile) res.profile = ENGINE_PROFILES[e.profile - 1];
    if (e.reason) res.profileReason = REASONS[e.reason] ?? `reason ${e.reason}`;
    if (e.keyIndex >= 0) res.keyId = ids[e.keyIndex];
    const notes: string[] = [];
    if (e.missingSlot !== 255) notes.push(`cryptogram needs ${ENGINE_SLOT_TAGS[e.missingSlot]}`);
    if (pan && atc) {
      const psnV = sub(r.icc, raw.span(index, 1));
      const psnHex = psnV && psnV.length === 1 ? toHex(psnV) : "";
      const psn = /^[0-9]{2}$/.test(psnHex) ? psnHex : "00";
      const id = `${pan}|${psn}|${toHex(atc)}`;
      const ac = toHex(sub(r.icc, raw.span(index, 3)) ?? new Uint8Array(0));
      const amt = toHex(sub(r.icc, raw.span(index, 4)) ?? new Uint8Array(0));
      const prev = seen.get(id);
      if (prev) {
        res.duplicateOf = records[prev.index].seq;
        found.push(prev.ac === ac && prev.amount === amt ? "DUPLICATE" : "REPLAY_SUSPECT");
        notes.push(`same card and ATC as seq ${records[prev.index].seq}`);
      } else seen.set(id, { index, ac, amount: amt });
    }
    const ko = raw.oda(index);
    const oda: OdaOutcome = kernelOda && ko !== 255
      ? kernelOdaOutcome(raw, index, ko)
      : odaOf(r, ctx.capks, cache);
    res.oda = oda.verdict;
    if (oda.method !== "none") res.odaMethod = oda.method;
    if (oda.check) {
      res.odaCheck = oda.check;
      found.push(ODA_STATUS[oda.check] ?? "ODA_FAILED");
      notes.push(`ODA ${oda.check}`);
    }
    res.status = precedence(found);
    res.message = [STATUS_MESSAGES[res.status], ...notes].join("; ");
    return res;
  });
}

/** `verifyRecords` through the kernel: hex records, a context whose keys can be listed. */
export function verifyRecordsKernel(
  records: readonly TapRecord[],
  ctx: VerifyContext = {},
): RecordResult[] {
  const keys = ctx.keys as unknown as EnumerableKeySource | undefined;
  if (keys && typeof keys.listImkAc !== "function") {
    throw new TypeError("ctx.keys must list its keys (listImkAc) for the kernel path");
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
