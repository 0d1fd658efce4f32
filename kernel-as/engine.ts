/**
 * The verification engine's batch entry (rules in `assembly/engine*.ts`, layouts and limits in
 * `contract.ts`). One kernel call verifies a whole batch of records: TLV, profile selection,
 * ICC MK and session key derivation, AC data block, MAC and compare, fare vs 9F02, cryptogram
 * type, offline data authentication. Issuer keys are copied into the ENGINE region for the
 * batch only and wiped when it ends (also on error).
 *
 * This wrapper knows bytes and codes, not the domain: `core/emv/batch.ts` maps results to
 * verification statuses and adds duplicate detection.
 */
import { fn, mem, mem32 } from "./kernel.ts";
import { IN_BASE, IN_SIZE, OUT_BASE, OUT_SIZE, PARAM_BASE } from "./layout.ts";
import { KernelError, Status } from "./status.ts";
import {
  CAPK_IN,
  CFG_IN,
  DESC,
  KEY_IN,
  KEY_USAGES,
  LIMITS,
  PROFILE_RENAMES,
  PROFILES,
  RES,
  RESULT_SPANS,
  REVOKED_IN,
  SCHEMES,
} from "./contract.ts";

/** One issuer master key as the engine takes it. */
export interface EngineKey {
  readonly algorithm: "3des" | "sm4";
  /** Leading PAN digits (1-19). */
  readonly issuer: string;
  /** DKI as two hex digits, or undefined for any. */
  readonly dki?: string;
  /** 16 bytes. */
  readonly value: Uint8Array;
  /** What the key verifies: the cryptogram (default) or the IDD MAC. */
  readonly usage?: typeof KEY_USAGES[number];
}

/** Profile ids of the engine, in order (profile number = 1 + index). */
export type EngineProfileId = typeof PROFILES[number]["id"];
export const ENGINE_PROFILES: readonly EngineProfileId[] = PROFILES.map((p) => p.id);
export type SchemeId = typeof SCHEMES[number]["id"];

/** Issuer configuration as the engine takes it: a pinned profile, CVN mappings, a scheme hint. */
export interface EngineConfig {
  readonly issuer: string;
  /** A profile id (old, renamed ids are taken too). */
  readonly profile?: string;
  readonly cvnProfiles?: Readonly<Record<string, string>>;
  readonly scheme?: SchemeId;
}

/** One CA public key as the engine takes it. */
export interface EngineCapk {
  /** Registered application provider identifier, 10 hex digits, e.g. "A000000333". */
  readonly rid: string;
  /** CA public key index (8F), 2 hex digits. */
  readonly index: string;
  readonly algorithm: "rsa" | "sm2";
  /** RSA modulus (N_CA bytes). */
  readonly modulus?: Uint8Array;
  /** RSA exponent (03 or 010001). */
  readonly exponent?: Uint8Array;
  /** SM2 public key x‖y (64 bytes, no 04 prefix). */
  readonly publicKey?: Uint8Array;
  /** Last day of validity, YYYY-MM-DD. */
  readonly expiry: string;
}

/** A revoked issuer certificate serial under (RID, CA index). */
export interface EngineRevoked {
  readonly rid: string;
  readonly index: string;
  /** 6 hex digits. */
  readonly serial: string;
}

/** ODA inputs of a batch: CA keys and the revocation list. */
export interface EngineOdaInputs {
  readonly capks: readonly EngineCapk[];
  readonly revoked?: readonly EngineRevoked[];
}

/** One record: chip data, optional ODA evidence TLV, optional static data, optional fare (fen). */
export interface EngineRecord {
  readonly icc: Uint8Array;
  readonly oda?: Uint8Array;
  readonly staticData?: Uint8Array;
  readonly fare?: number;
}

/** A (offset, length) of a value inside the record's chip data, or undefined when absent. */
export type Span = readonly [number, number] | undefined;

/** One record's result, as numbers (codes of `contract.ts`). */
export interface EngineResult {
  /** Kernel record status (0 OK, a `RECORD_STATUSES` code). */
  readonly status: number;
  /** Findings bitmask, bit i = `RECORD_STATUSES[i]`. */
  readonly findings: number;
  /** Index in `CRYPTOGRAM_FLAGS`. */
  readonly cryptogram: number;
  /** Index in `CRYPTOGRAM_TYPES`, 255 none. */
  readonly type: number;
  /** 1 + index in `CRYPTOGRAM_TYPE_SOURCES`, 0 none. */
  readonly typeSource: number;
  /** 0 none, else 1 + index in `PROFILES`. */
  readonly profile: number;
  /** A `PROFILE_REASONS` code, 0 none. */
  readonly reason: number;
  /** Slot number of a missing data object, 255 none. */
  readonly missingSlot: number;
  /** Index of the key used in the loaded key list, -1 none. */
  readonly keyIndex: number;
  readonly pan: Span;
  readonly psn: Span;
  readonly atc: Span;
  readonly ac: Span;
  readonly amount: Span;
  readonly iad: Span;
  /** IDD type (1-5), 0 none. */
  readonly iddType: number;
  /** Index in `IDD_MAC_VERDICTS`. */
  readonly iddMac: number;
  /** Bit i = `RECORD_NOTES[i]`. */
  readonly notes: number;
  /** Format byte of the signed data ODA verified, 0 none. */
  readonly odaFormat: number;
  /** Type 9F27 states (index in `CRYPTOGRAM_TYPES`), 255 none. */
  readonly cidType: number;
  /** Index in `CARD_DATES`. */
  readonly cardDate: number;
  /** Index of the IMK-MAC used for the IDD MAC in the loaded key list, -1 none. */
  readonly macKeyIndex: number;
}

/** Words of one result. */
export const RESULT_WORDS = RES.bytes / 4;

const kLoadKeys = fn<(src: number, count: number) => number>("engineLoadKeys");
const kLoadConfigs = fn<(src: number, count: number) => number>("engineLoadConfigs");
const kWipe = fn<() => void>("engineWipe");
const kVerify = fn<(desc: number, count: number, out: number) => number>("engineVerifyBatch");
const kLoadCapks = fn<(src: number, count: number) => number>("engineLoadCapks");
const kLoadRevoked = fn<(src: number, count: number) => number>("engineLoadRevoked");
const kCacheClear = fn<(which: number) => void>("engineCacheClear");
let capkFingerprint = "";

function hexBytes(s: string, n: number, what: string): Uint8Array {
  if (!new RegExp(`^[0-9A-Fa-f]{${2 * n}}$`).test(s)) {
    throw new RangeError(`${what} must be ${n} bytes hex`);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function writeCapk(c: EngineCapk, i: number): string {
  const at = PARAM_BASE + i * CAPK_IN.bytes;
  const key = c.algorithm === "sm2" ? c.publicKey : c.modulus;
  if (!key || (c.algorithm === "sm2" ? key.length !== 64 : key.length < 64 || key.length > 248)) {
    throw new RangeError(`capks[${i}]: bad key length`);
  }
  const exp = c.algorithm === "sm2" ? new Uint8Array(0) : c.exponent ?? new Uint8Array(0);
  if (exp.length > 4) throw new RangeError(`capks[${i}]: exponent longer than 4 bytes`);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(c.expiry);
  if (!m) throw new RangeError(`capks[${i}]: expiry must be YYYY-MM-DD`);
  mem[at + CAPK_IN.algorithm] = c.algorithm === "sm2" ? 2 : 1;
  mem[at + CAPK_IN.index] = hexBytes(c.index, 1, `capks[${i}].index`)[0];
  mem[at + CAPK_IN.modulusLength] = key.length;
  mem[at + CAPK_IN.exponentLength] = exp.length;
  mem.set(hexBytes(c.rid, 5, `capks[${i}].rid`), at + CAPK_IN.rid);
  mem32[(at + CAPK_IN.expiry) >>> 2] = Number(m[1] + m[2] + m[3]);
  mem.set(key, at + CAPK_IN.key);
  mem.set(exp, at + CAPK_IN.exponent);
  return `${c.rid}${c.index}${c.algorithm}${key.join(",")}|`;
}

function loadOda(oda: EngineOdaInputs | undefined): void {
  const capks = oda?.capks ?? [];
  const revoked = oda?.revoked ?? [];
  if (capks.length > LIMITS.capksMax) throw new RangeError(`capks: at most ${LIMITS.capksMax}`);
  if (revoked.length > LIMITS.revokedMax) {
    throw new RangeError(`revoked: at most ${LIMITS.revokedMax}`);
  }
  mem.fill(0, PARAM_BASE, PARAM_BASE + capks.length * CAPK_IN.bytes);
  const fp = capks.map(writeCapk).join("");
  let st = kLoadCapks(PARAM_BASE, capks.length);
  if (st !== Status.OK) throw new KernelError(st, "engine capks");
  // Recovered keys are cached by what they were recovered from, under (RID, index): a change
  // of the CA key set empties the caches.
  if (fp !== capkFingerprint) {
    kCacheClear(3);
    capkFingerprint = fp;
  }
  mem.fill(0, PARAM_BASE, PARAM_BASE + revoked.length * REVOKED_IN.bytes);
  revoked.forEach((r, i) => {
    const at = PARAM_BASE + i * REVOKED_IN.bytes;
    mem.set(hexBytes(r.rid, 5, `revoked[${i}].rid`), at + REVOKED_IN.rid);
    mem[at + REVOKED_IN.index] = hexBytes(r.index, 1, `revoked[${i}].index`)[0];
    mem.set(hexBytes(r.serial, 3, `revoked[${i}].serial`), at + REVOKED_IN.serial);
  });
  st = kLoadRevoked(PARAM_BASE, revoked.length);
  if (st !== Status.OK) throw new KernelError(st, "engine revoked");
}

/** Empties the kernel's recovered issuer (1), ICC (2) or both (3) key caches. */
export function engineCacheClear(which: 1 | 2 | 3 = 3): void {
  kCacheClear(which);
}

function prefixDigits(s: string, what: string): Uint8Array {
  if (!new RegExp(`^[0-9]{1,${LIMITS.prefixDigitsMax}}$`).test(s)) {
    throw new RangeError(`${what}: issuer prefix must be 1-${LIMITS.prefixDigitsMax} digits`);
  }
  return new TextEncoder().encode(s);
}

function loadKeys(keys: readonly EngineKey[]): void {
  if (keys.length > LIMITS.keysMax) {
    throw new RangeError(`keys: at most ${LIMITS.keysMax}, got ${keys.length}`);
  }
  mem.fill(0, PARAM_BASE, PARAM_BASE + keys.length * KEY_IN.bytes);
  keys.forEach((k, i) => {
    const at = PARAM_BASE + i * KEY_IN.bytes;
    if (k.value.length !== 16) throw new RangeError(`keys[${i}]: value must be 16 bytes`);
    const dki = k.dki === undefined ? 0xff : parseInt(k.dki, 16);
    if (!(dki >= 0 && dki <= 0xff)) throw new RangeError(`keys[${i}]: dki must be 2 hex digits`);
    const p = prefixDigits(k.issuer, `keys[${i}]`);
    mem[at + KEY_IN.algorithm] = k.algorithm === "sm4" ? 4 : 1;
    mem[at + KEY_IN.dki] = dki;
    mem[at + KEY_IN.prefixLength] = p.length;
    mem[at + KEY_IN.usage] = KEY_USAGES.indexOf(k.usage ?? "imk-ac");
    mem.set(p, at + KEY_IN.prefix);
    mem.set(k.value, at + KEY_IN.key);
  });
  const st = kLoadKeys(PARAM_BASE, keys.length);
  mem.fill(0, PARAM_BASE, PARAM_BASE + keys.length * KEY_IN.bytes);
  if (st !== Status.OK) throw new KernelError(st, "engine keys");
}

/** The engine's profile number of an id (renamed ids included), 0 when unknown. */
function profileNumber(id: string): number {
  return ENGINE_PROFILES.indexOf(
    ((PROFILE_RENAMES as Record<string, string>)[id] ?? id) as EngineProfileId,
  ) + 1;
}

function writeConfig(c: EngineConfig, i: number): void {
  const at = PARAM_BASE + i * CFG_IN.bytes;
  const p = prefixDigits(c.issuer, `configs[${i}]`);
  mem[at + CFG_IN.prefixLength] = p.length;
  // An unknown pinned id is a verdict (reason "unknown profile"), as on the readable path.
  mem[at + CFG_IN.pinned] = c.profile ? (profileNumber(c.profile) || PROFILES.length + 1) : 0;
  const pairs = Object.entries(c.cvnProfiles ?? {});
  if (pairs.length > LIMITS.cvnMappingsMax) {
    throw new RangeError(`configs[${i}]: at most ${LIMITS.cvnMappingsMax} CVN mappings`);
  }
  mem[at + CFG_IN.mapCount] = pairs.length;
  if (c.scheme !== undefined) {
    const s = SCHEMES.findIndex((x) => x.id === c.scheme);
    if (s < 0) throw new RangeError(`configs[${i}]: unknown scheme ${c.scheme}`);
    mem[at + CFG_IN.scheme] = s + 1;
  }
  mem.set(p, at + CFG_IN.prefix);
  pairs.forEach(([cvn, prof], j) => {
    if (!/^[0-9A-Fa-f]{2}$/.test(cvn)) throw new RangeError(`configs[${i}]: CVN ${cvn}`);
    mem[at + CFG_IN.map + 2 * j] = parseInt(cvn, 16);
    // An unknown id maps nothing (0), as on the readable path.
    mem[at + CFG_IN.map + 2 * j + 1] = profileNumber(prof);
  });
}

function loadConfigs(configs: readonly EngineConfig[]): void {
  if (configs.length > LIMITS.configsMax) {
    throw new RangeError(`configs: at most ${LIMITS.configsMax}`);
  }
  mem.fill(0, PARAM_BASE, PARAM_BASE + configs.length * CFG_IN.bytes);
  configs.forEach(writeConfig);
  const st = kLoadConfigs(PARAM_BASE, configs.length);
  if (st !== Status.OK) throw new KernelError(st, "engine configs");
}

const SPAN_INDEX = Object.fromEntries(RESULT_SPANS.map((t, i) => [t, i])) as Record<
  typeof RESULT_SPANS[number],
  number
>;

/** Results of one `engineVerify`: `RESULT_WORDS` words per record (layout `RES`). */
export class EngineResults {
  constructor(readonly words: Uint32Array, readonly count: number) {}
  #byte(i: number, at: number): number {
    return (this.words[i * RESULT_WORDS + (at >>> 2)] >>> ((at & 3) * 8)) & 0xff;
  }
  /** Kernel record status (0 OK, a `RECORD_STATUSES` code). */
  status(i: number): number {
    return this.words[i * RESULT_WORDS + RES.status / 4];
  }
  /** Findings bitmask, bit i = `RECORD_STATUSES[i]`. */
  findings(i: number): number {
    return this.words[i * RESULT_WORDS + RES.findings / 4];
  }
  /** Index in `CRYPTOGRAM_FLAGS`. */
  cryptogram(i: number): number {
    return this.#byte(i, RES.cryptogram);
  }
  /** Index in `ODA_VERDICTS`. */
  oda(i: number): number {
    return this.#byte(i, RES.oda);
  }
  /** Index in `ODA_METHODS`. */
  odaMethod(i: number): number {
    return this.#byte(i, RES.odaMethod);
  }
  /** Failed ODA check: 1 + index in `ODA_CHECKS`; 0 none. */
  odaCheck(i: number): number {
    return this.words[i * RESULT_WORDS + RES.odaCheck / 4];
  }
  /** The span of a value (`RESULT_SPANS`) inside the record's chip data. */
  span(i: number, tag: typeof RESULT_SPANS[number]): Span {
    const w = i * RESULT_WORDS + RES.spans / 4 + 2 * SPAN_INDEX[tag];
    const off = this.words[w];
    return off === 0xffffffff ? undefined : [off, this.words[w + 1]];
  }
  /** The decoded result of record `i` (allocates; for tests and tools). */
  at(i: number): EngineResult {
    const k = this.words[i * RESULT_WORDS + RES.keyIndex / 4];
    const m = this.words[i * RESULT_WORDS + RES.macKeyIndex / 4];
    return {
      status: this.status(i),
      findings: this.findings(i),
      cryptogram: this.cryptogram(i),
      type: this.#byte(i, RES.type),
      typeSource: this.#byte(i, RES.typeSource),
      profile: this.#byte(i, RES.profile),
      reason: this.#byte(i, RES.reason),
      missingSlot: this.#byte(i, RES.missingSlot),
      keyIndex: k === 0xffffffff ? -1 : k,
      pan: this.span(i, "5A"),
      psn: this.span(i, "5F34"),
      atc: this.span(i, "9F36"),
      ac: this.span(i, "9F26"),
      amount: this.span(i, "9F02"),
      iad: this.span(i, "9F10"),
      iddType: this.#byte(i, RES.iddType),
      iddMac: this.#byte(i, RES.iddMac),
      notes: this.#byte(i, RES.notes),
      odaFormat: this.#byte(i, RES.odaFormat),
      cidType: this.#byte(i, RES.cidType),
      cardDate: this.#byte(i, RES.cardDate),
      macKeyIndex: m === 0xffffffff ? -1 : m,
    };
  }
}

/** Writes `bytes` at IN_BASE + `used` and its (pointer, length) at word `w`; the new `used`. */
function putBytes(bytes: Uint8Array | undefined, w: number, used: number): number {
  if (bytes && bytes.length) {
    mem.set(bytes, IN_BASE + used);
    mem32[w] = IN_BASE + used;
    mem32[w + 1] = bytes.length;
    return used + bytes.length;
  }
  mem32[w] = 0;
  mem32[w + 1] = 0;
  return used;
}

/** Writes record `r`'s bytes at IN_BASE + `used` and its descriptor at word `d`. */
function writeRecord(r: EngineRecord, d: number, used: number): number {
  used = putBytes(r.icc, d + DESC.icc / 4, used);
  used = putBytes(r.oda, d + DESC.oda / 4, used);
  used = putBytes(r.staticData, d + DESC.sd / 4, used);
  mem32[d + DESC.fare / 4] = r.fare === undefined ? 0xffffffff : r.fare >>> 0;
  mem32[d + DESC.fare / 4 + 1] = 0;
  return used;
}

/** Options of `engineVerify` for tests: a smaller chunk than the OUT region allows. */
export interface EngineVerifyOptions {
  readonly chunkRecords?: number;
}

/**
 * Verifies the cryptograms and ODA of many records in as few kernel calls as the IN and OUT
 * regions allow. Results come back as one typed copy, read through `EngineResults`.
 */
export function engineVerify(
  records: readonly EngineRecord[],
  keys: readonly EngineKey[],
  configs: readonly EngineConfig[] = [],
  oda?: EngineOdaInputs,
  options: EngineVerifyOptions = {},
): EngineResults {
  const words = new Uint32Array(records.length * RESULT_WORDS);
  try {
    loadKeys(keys);
    loadConfigs(configs);
    loadOda(oda);
    const maxChunk = Math.min(
      Math.floor(OUT_SIZE / (DESC.bytes + RES.bytes)),
      LIMITS.batchMax,
      options.chunkRecords ?? Infinity,
    );
    let i = 0;
    while (i < records.length) {
      const start = i;
      let used = 0;
      while (i < records.length && i - start < maxChunk) {
        const r = records[i];
        const need = r.icc.length + (r.oda?.length ?? 0) + (r.staticData?.length ?? 0);
        if (need > IN_SIZE) throw new RangeError(`records[${i}] exceeds the input region`);
        if (used + need > IN_SIZE) break;
        used = writeRecord(r, (OUT_BASE >>> 2) + (i - start) * (DESC.bytes >>> 2), used);
        i++;
      }
      const n = i - start;
      const out = OUT_BASE + n * DESC.bytes;
      const st = kVerify(OUT_BASE, n, out);
      if (st !== Status.OK) throw new KernelError(st, "engineVerifyBatch");
      words.set(
        mem32.subarray(out >>> 2, (out >>> 2) + n * RESULT_WORDS),
        start * RESULT_WORDS,
      );
    }
    return new EngineResults(words, records.length);
  } finally {
    kWipe();
  }
}
