/**
 * Verification of tap records (the readable TypeScript reference path; the kernel batch
 * engine in `kernel-as/engine.ts` must agree with it, which a differential test checks).
 *
 * One record → one precedence-ordered status plus the detail flags of docs/cli.md:
 * `cryptogram` ok | mismatch | no-key | unsupported, `oda` ok | failed | absent | no-capk.
 * Duplicates and replays are found across the records of one call by (PAN, PSN, ATC)
 * (docs/verification.md, duplicates and replays).
 */
import type { z } from "zod";
import {
  type CRYPTOGRAM_FLAGS,
  type ODA_VERDICTS,
  RECORD_STATUSES as STATUS_ROWS,
  STATUS_OK,
} from "../../kernel-as/contract.ts";
import { UploadBatchSchema } from "../upload/schema.ts";
import { fromHex, toHex } from "../hex.ts";
import { maskPan } from "../mask.ts";
import { flattenValues, parseTlv } from "../tlv/tree.ts";
import { cryptogramType } from "../tlv/decoders.ts";
import { CARD_DATE_FINDINGS, cardDate, cidNote } from "./card_checks.ts";
import { checkIddMac, decodeIdd } from "./idd.ts";
import { AcInputError, computeAc, deriveIccMk, type TagValues } from "./ac.ts";
import { CapkRegistry, type CapkSource } from "./capk.ts";
import type { IssuerKeySource } from "./issuer_keys.ts";
import {
  authenticateRecord,
  ODA_CHECK_STATUS,
  type OdaCheck,
  OdaKeyCache,
  type OdaOutcome,
} from "./oda.ts";
import { type CryptogramProfile, selectProfile } from "./profiles.ts";
import { equalBytes, wipeKeyScratch } from "./primitives.ts";
import { acAmountKey, cardKey, DuplicateFinder, duplicateNote } from "./duplicates.ts";

/** A record status (stable codes: part of the CLI/JSON contract). */
export type RecordStatus = typeof STATUS_ROWS[number]["name"] | typeof STATUS_OK.name;

/** Record statuses in precedence order (first = wins when several apply), OK last. */
export const RECORD_STATUSES: readonly RecordStatus[] = [
  ...STATUS_ROWS.map((s) => s.name),
  STATUS_OK.name,
];

export const STATUS_MESSAGES: Readonly<Record<RecordStatus, string>> = Object.fromEntries(
  [...STATUS_ROWS, STATUS_OK].map((s) => [s.name, s.message]),
) as Record<RecordStatus, string>;

export type CryptogramFlag = typeof CRYPTOGRAM_FLAGS[number];
export type OdaFlag = typeof ODA_VERDICTS[number];

/** One tap as uploaded (docs/upload-api.md). */
export interface TapRecord {
  readonly seq: number;
  readonly tappedAt?: string;
  readonly line?: string;
  readonly vehicle?: string;
  readonly fare?: number;
  /** Chip data hex. */
  readonly icc: string;
  readonly oda?: { readonly tlv: string; readonly staticData?: string };
}

/** Verification result of one record (docs/cli.md JSON shape plus details). */
export interface RecordResult {
  seq: number;
  status: RecordStatus;
  cryptogram: CryptogramFlag;
  oda: OdaFlag;
  cryptogramType?: string;
  cryptogramTypeSource?: "9F27" | "CVR";
  profile?: string;
  profileReason?: string;
  keyId?: string;
  odaMethod?: string;
  odaCheck?: OdaCheck;
  message: string;
  pan?: string;
  atc?: string;
  /** Index of the earlier record this one duplicates or conflicts with. */
  duplicateOf?: number;
  /** Information for the operator that is not a status (e.g. 9F27 disagreeing with the CVR). */
  notes?: string[];
  /** Format byte of the signed data ODA verified, hex ("03", "05", "95", "13", "15"). */
  odaFormat?: string;
  /** PBOC issuer discretionary data: type, EC balance after the tap (fen), MAC verdict. */
  idd?: RecordIdd;
}

/** The IDD of a verdict (docs/verification.md). */
export interface RecordIdd {
  /** IDD type 1-5 (contract IDD_TYPES). */
  type: number;
  /** The electronic-cash balance after the tap, fen (types 01 and 03). */
  ecBalance?: number;
  /** ok | mismatch | no-key (no IMK-MAC held); absent when there was nothing to check. */
  mac?: "ok" | "mismatch" | "no-key";
}

/**
 * The upload file (docs/upload-api.md) read by `verify --file`: the upload contract's own schema,
 * so a file verifies exactly when the server would accept its shape.
 */
export const BatchSchema = UploadBatchSchema;
export type Batch = z.infer<typeof BatchSchema>;

/** What verification needs besides the records. */
export interface VerifyContext {
  readonly keys?: IssuerKeySource;
  readonly capks?: CapkSource;
  /** Recovered-key cache kept across batches (keys are public; cleared on request). */
  readonly odaCache?: OdaKeyCache;
}

/** Decoded values of a record: chip data then ODA evidence (chip data wins on a clash). */
export type DecodedRecord =
  | { ok: true; values: Map<string, Uint8Array>; staticData?: Uint8Array }
  | { ok: false; where: "icc" | "oda"; message: string };

/** Parses a record's hex into one tag → value map. */
export function decodeRecord(r: TapRecord): DecodedRecord {
  let icc: Uint8Array, odaTlv: Uint8Array | undefined, staticData: Uint8Array | undefined;
  try {
    icc = fromHex(r.icc, "icc");
  } catch (e) {
    return { ok: false, where: "icc", message: (e as Error).message };
  }
  try {
    if (r.oda) {
      odaTlv = fromHex(r.oda.tlv, "oda.tlv");
      if (r.oda.staticData !== undefined) staticData = fromHex(r.oda.staticData, "oda.staticData");
    }
  } catch (e) {
    return { ok: false, where: "oda", message: (e as Error).message };
  }
  const p = parseTlv(icc);
  if (!p.ok) return { ok: false, where: "icc", message: `icc: ${p.message}` };
  const values = flattenValues(p.nodes);
  // Values are views into `icc`, which the kernel does not own: safe to keep.
  if (odaTlv) {
    const q = parseTlv(odaTlv);
    if (!q.ok) return { ok: false, where: "oda", message: `oda.tlv: ${q.message}` };
    for (const [k, v] of flattenValues(q.nodes)) if (!values.has(k)) values.set(k, v);
  }
  return { ok: true, values, staticData };
}

function panOf(values: TagValues): string | undefined {
  const v = values.get("5A");
  if (!v) return undefined;
  const s = toHex(v);
  const f = s.indexOf("F");
  const d = f < 0 ? s : s.slice(0, f);
  return /^[0-9]{8,19}$/.test(d) ? d : undefined;
}

function psnOf(values: TagValues): string | undefined {
  const v = values.get("5F34");
  if (!v || v.length !== 1) return undefined;
  const s = toHex(v);
  return /^[0-9]{2}$/.test(s) ? s : undefined;
}

/** The DKI of a profile's 9F10 (byte 2 for PBOC/Visa, byte 1 for MasterCard). */
export function dkiOf(profile: CryptogramProfile, iad: Uint8Array | undefined): string | undefined {
  if (!iad) return undefined;
  const at = profile.dkiAt;
  return iad.length > at ? toHex(iad.subarray(at, at + 1)) : undefined;
}

/** Cryptogram check of one decoded record. */
export interface CryptogramOutcome {
  flag: CryptogramFlag;
  profile?: CryptogramProfile;
  /** Why the profile was (not) chosen; undefined when there is no PAN to choose by. */
  reason?: string;
  keyId?: string;
  missing?: string;
}

/** Verifies the application cryptogram of one decoded record. */
export function checkCryptogram(
  values: TagValues,
  keys: IssuerKeySource | undefined,
): CryptogramOutcome {
  const pan = panOf(values);
  if (!pan) return { flag: "unsupported", missing: "5A" };
  const aid = values.get("4F") ?? values.get("84");
  const rid = aid && aid.length >= 5 ? toHex(aid.subarray(0, 5)) : undefined;
  const choice = selectProfile(values.get("9F10"), keys?.issuerConfig(pan) ?? {}, rid);
  if (!choice.ok) return { flag: "unsupported", reason: choice.reason };
  const profile = choice.profile;
  const key = keys?.imkAc(pan, dkiOf(profile, values.get("9F10")), profile.algorithm);
  if (!key) return { flag: "no-key", profile, reason: choice.reason };
  const ac = values.get("9F26");
  if (!ac || ac.length !== 8) {
    return { flag: "unsupported", profile, reason: choice.reason, keyId: key.id, missing: "9F26" };
  }
  let mk: Uint8Array | undefined, sk: Uint8Array | undefined;
  try {
    mk = deriveIccMk(profile, key.value, pan, psnOf(values));
    const r = computeAc(profile, mk, values);
    sk = r.sessionKey;
    return {
      flag: equalBytes(r.ac, ac) ? "ok" : "mismatch",
      profile,
      reason: choice.reason,
      keyId: key.id,
    };
  } catch (e) {
    if (e instanceof AcInputError) {
      return { flag: "unsupported", profile, reason: choice.reason, keyId: key.id, missing: e.tag };
    }
    throw e;
  } finally {
    mk?.fill(0);
    sk?.fill(0);
  }
}

function amountFen(v: Uint8Array | undefined): number | undefined {
  if (!v || v.length !== 6) return undefined;
  const s = toHex(v);
  return /^[0-9]{12}$/.test(s) ? Number(s) : undefined;
}

/** The record status of a failed ODA check (from the contract). */
export function odaStatus(check: OdaCheck): RecordStatus {
  return ODA_CHECK_STATUS[check];
}

/** Status of a record from its findings, by the precedence of `RECORD_STATUSES`. */
export function precedence(found: readonly RecordStatus[]): RecordStatus {
  let best = RECORD_STATUSES.length - 1;
  for (const s of found) best = Math.min(best, RECORD_STATUSES.indexOf(s));
  return RECORD_STATUSES[best];
}

/**
 * Verifies the records of one upload (or any list of taps): TLV, cryptogram, ODA, fare, and
 * duplicates/replays within the list. Never throws for data.
 */
export function verifyRecords(
  records: readonly TapRecord[],
  ctx: VerifyContext = {},
): RecordResult[] {
  try {
    const dups = new DuplicateFinder();
    const cache = ctx.odaCache ?? new OdaKeyCache();
    return records.map((r, index) => verifyOne(r, index, records, ctx, dups, cache));
  } finally {
    wipeKeyScratch();
  }
}

/** Findings so far: statuses and the notes that explain them. */
interface Findings {
  readonly found: RecordStatus[];
  readonly notes: string[];
}

/** The cryptogram type (9F27, else the CVR) and missing PAN/ATC/AC, fare vs 9F02. */
function dataFindings(r: TapRecord, v: TagValues, res: RecordResult, f: Findings): void {
  const type = cryptogramType(v.get("9F27"), v.get("9F10"));
  if (type) {
    res.cryptogramType = type.type;
    res.cryptogramTypeSource = type.source;
    if (type.type === "AAC") f.found.push("CARD_DECLINED");
    const note = cidNote(type);
    if (note) (res.notes ??= []).push(note);
  }
  const date = CARD_DATE_FINDINGS[cardDate(v.get("9A"), v.get("5F24"), v.get("5F25"))];
  if (date) {
    f.found.push(date.status);
    f.notes.push(date.note);
  }
  const pan = panOf(v);
  const atc = v.get("9F36");
  if (!pan || !atc || atc.length !== 2 || !v.get("9F26")) {
    f.found.push("MISSING_DATA");
    f.notes.push(`needs ${!pan ? "5A" : !atc || atc.length !== 2 ? "9F36" : "9F26"}`);
  }
  const amount = amountFen(v.get("9F02"));
  if (r.fare !== undefined && amount !== undefined && amount !== r.fare) {
    f.found.push("FARE_MISMATCH");
    f.notes.push(`fare ${r.fare} ≠ 9F02 ${amount}`);
  }
}

const NO_CAPKS = new CapkRegistry();

/** ODA findings (the CA keys of the context, none when it has none). */
function odaFindings(
  v: TagValues,
  staticData: Uint8Array | undefined,
  ctx: VerifyContext,
  cache: OdaKeyCache,
  res: RecordResult,
  f: Findings,
): void {
  const oda: OdaOutcome = authenticateRecord(v, ctx.capks ?? NO_CAPKS, { staticData, cache });
  res.oda = oda.verdict;
  if (oda.method !== "none") res.odaMethod = oda.method;
  if (oda.format !== undefined) res.odaFormat = toHex(Uint8Array.of(oda.format));
  if (oda.check) {
    res.odaCheck = oda.check;
    f.found.push(odaStatus(oda.check));
    f.notes.push(`ODA ${oda.check}`);
  }
}

function verifyOne(
  r: TapRecord,
  index: number,
  records: readonly TapRecord[],
  ctx: VerifyContext,
  dups: DuplicateFinder,
  cache: OdaKeyCache,
): RecordResult {
  const d = decodeRecord(r);
  if (!d.ok) {
    return {
      seq: r.seq,
      status: "MALFORMED_TLV",
      cryptogram: "unsupported",
      oda: r.oda ? "failed" : "absent",
      message: d.message,
    };
  }
  const v = d.values;
  const f: Findings = { found: [], notes: [] };
  const pan = panOf(v);
  const atc = v.get("9F36");
  const res: RecordResult = {
    seq: r.seq,
    status: "OK",
    cryptogram: "unsupported",
    oda: "absent",
    message: "",
    pan: pan ? maskPan(pan) : undefined,
    atc: atc ? toHex(atc) : undefined,
  };
  dataFindings(r, v, res, f);
  if (pan && atc) {
    const dup = dups.see(
      index,
      cardKey(pan, psnOf(v), toHex(atc)),
      acAmountKey(v.get("9F26"), v.get("9F02")),
    );
    if (dup) {
      res.duplicateOf = records[dup.of].seq;
      f.found.push(dup.status);
      f.notes.push(duplicateNote(records[dup.of].seq));
    }
  }
  const c = checkCryptogram(v, ctx.keys);
  res.cryptogram = c.flag;
  if (c.profile) res.profile = c.profile.id;
  if (c.reason) res.profileReason = c.reason;
  if (c.keyId) res.keyId = c.keyId;
  if (c.flag === "mismatch") f.found.push("AC_MISMATCH");
  if (c.profile) {
    const idd = iddFinding(v, c.profile, ctx.keys, pan!);
    if (idd) {
      res.idd = idd;
      if (idd.mac === "mismatch") f.found.push("IDD_MAC_MISMATCH");
    }
  }
  if (c.missing && c.missing !== "5A") {
    f.found.push("MISSING_DATA");
    f.notes.push(`cryptogram needs ${c.missing}`);
  }
  odaFindings(v, d.staticData, ctx, cache, res, f);
  res.status = precedence(f.found);
  res.message = [STATUS_MESSAGES[res.status], ...f.notes].join("; ");
  return res;
}

/**
 * The PBOC issuer discretionary data of a record (docs/emv-pboc.md, issuer application data):
 * decoded for PBOC profiles, its MAC checked where the IMK-MAC is held.
 */
function iddFinding(
  v: TagValues,
  profile: CryptogramProfile,
  keys: IssuerKeySource | undefined,
  pan: string,
): RecordIdd | undefined {
  if (!profile.idd) return undefined;
  const idd = decodeIdd(v.get("9F10"));
  if (!idd) return undefined;
  const out: RecordIdd = { type: idd.type };
  if (idd.amounts.ecBalance !== undefined) out.ecBalance = idd.amounts.ecBalance;
  const atc = v.get("9F36");
  if (!atc || atc.length !== 2) return out;
  const key = keys?.imkMac?.(pan, dkiOf(profile, v.get("9F10")), profile.algorithm);
  if (!key) return { ...out, mac: "no-key" };
  const r = checkIddMac(profile, key.value, v, pan, psnOf(v), idd);
  return { ...out, mac: r.ok ? "ok" : "mismatch" };
}

/** Counts of a verification run by status and flag. */
export function summarise(results: readonly RecordResult[]) {
  const by = <K extends keyof RecordResult>(k: K) => {
    const m: Record<string, number> = {};
    for (const r of results) m[String(r[k])] = (m[String(r[k])] ?? 0) + 1;
    return m;
  };
  const cryptogram = by("cryptogram");
  return {
    records: results.length,
    status: by("status"),
    cryptogram,
    oda: by("oda"),
    ...cryptogramCounts(cryptogram),
  };
}

/**
 * Cryptograms icfare checked (ok, mismatch) apart from those left to the issuer (no-key,
 * unsupported), so an operator never reads one for the other.
 */
export function cryptogramCounts(
  byFlag: Readonly<Record<string, number>>,
): { cryptogramChecked: number; leftToIssuer: number } {
  const n = (k: CryptogramFlag) => byFlag[k] ?? 0;
  return {
    cryptogramChecked: n("ok") + n("mismatch"),
    leftToIssuer: n("no-key") + n("unsupported"),
  };
}
