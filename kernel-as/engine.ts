/**
 * The verification engine's batch entry (see `assembly/engine.ts` for the rules, the ENGINE
 * region map and the descriptor/result layouts). One kernel call verifies a whole batch of
 * records: TLV, profile selection, ICC MK and session key derivation, AC data block, MAC and
 * compare, fare vs 9F02, cryptogram type. Issuer keys are copied into the ENGINE region for
 * the batch only and wiped when it ends (also on error).
 *
 * This wrapper knows bytes and codes, not the domain: `core/emv/batch.ts` maps results to
 * verification statuses and adds ODA and duplicate detection.
 */
import { fn, mem, mem32 } from "./kernel.ts";
import { IN_BASE, IN_SIZE, OUT_BASE, OUT_SIZE, PARAM_BASE } from "./layout.ts";
import { KernelError, Status } from "./status.ts";

/** One issuer master key as the engine takes it. */
export interface EngineKey {
  readonly algorithm: "3des" | "sm4";
  /** Leading PAN digits (1-19). */
  readonly issuer: string;
  /** DKI as two hex digits, or undefined for any. */
  readonly dki?: string;
  /** 16 bytes. */
  readonly value: Uint8Array;
}

/** Profile numbers of the engine, in order (1-based). */
export const ENGINE_PROFILES = [
  "pboc-cvn01-3des",
  "pboc-sm4",
  "visa-cvn10",
  "visa-cvn18",
  "mastercard-cvn16",
] as const;
export type EngineProfileId = typeof ENGINE_PROFILES[number];

/** Issuer configuration as the engine takes it: a pinned profile and up to 4 CVN mappings. */
export interface EngineConfig {
  readonly issuer: string;
  readonly profile?: EngineProfileId;
  readonly cvnProfiles?: Readonly<Record<string, EngineProfileId>>;
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

/** One record's result, as numbers (see `assembly/engine.ts`). */
export interface EngineResult {
  /** Kernel record status (0 OK, 401-411). */
  readonly status: number;
  /** Findings bitmask, bit i = precedence rank i. */
  readonly findings: number;
  /** 0 ok, 1 mismatch, 2 no-key, 3 unsupported. */
  readonly cryptogram: number;
  /** 0 AAC, 1 TC, 2 ARQC, 3 RFU, 255 none. */
  readonly type: number;
  /** 1 from 9F27, 2 from the CVR, 255 none. */
  readonly typeSource: number;
  /** 0 none, else 1 + index in ENGINE_PROFILES. */
  readonly profile: number;
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
}

/** Tag of each engine slot number (for `missingSlot`). */
export const ENGINE_SLOT_TAGS = [
  "9F26",
  "9F27",
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
  "4F",
  "84",
] as const;

const DESC = 32;
const RES = 64;
const KEY_IN = 48;
const CFG = 32;
const MAX_KEYS = 256;

const kLoadKeys = fn<(src: number, count: number) => number>("engineLoadKeys");
const kLoadConfigs = fn<(src: number, count: number) => number>("engineLoadConfigs");
const kWipe = fn<() => void>("engineWipe");
const kVerify = fn<(desc: number, count: number, out: number) => number>("engineVerifyBatch");
const kLoadCapks = fn<(src: number, count: number) => number>("engineLoadCapks");
const kLoadRevoked = fn<(src: number, count: number) => number>("engineLoadRevoked");
const kCacheClear = fn<(which: number) => void>("engineCacheClear");
const kSetOda = fn<(enabled: number) => void>("engineSetOda");
const CAPK_IN = 336;
const MAX_CAPKS = 64;
const MAX_REVOKED = 1024;
let capkFingerprint = "";

function hexBytes(s: string, n: number, what: string): Uint8Array {
  if (!new RegExp(`^[0-9A-Fa-f]{${2 * n}}$`).test(s)) {
    throw new RangeError(`${what} must be ${n} bytes hex`);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function loadOda(oda: EngineOdaInputs | undefined): void {
  kSetOda(oda ? 1 : 0);
  const capks = oda?.capks ?? [];
  const revoked = oda?.revoked ?? [];
  if (capks.length > MAX_CAPKS) throw new RangeError(`capks: at most ${MAX_CAPKS}`);
  if (revoked.length > MAX_REVOKED) throw new RangeError(`revoked: at most ${MAX_REVOKED}`);
  mem.fill(0, PARAM_BASE, PARAM_BASE + capks.length * CAPK_IN);
  let fp = "";
  capks.forEach((c, i) => {
    const at = PARAM_BASE + i * CAPK_IN;
    const key = c.algorithm === "sm2" ? c.publicKey : c.modulus;
    if (!key || (c.algorithm === "sm2" ? key.length !== 64 : key.length < 64 || key.length > 248)) {
      throw new RangeError(`capks[${i}]: bad key length`);
    }
    const exp = c.algorithm === "sm2" ? new Uint8Array(0) : c.exponent ?? new Uint8Array(0);
    if (exp.length > 4) throw new RangeError(`capks[${i}]: exponent longer than 4 bytes`);
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(c.expiry);
    if (!m) throw new RangeError(`capks[${i}]: expiry must be YYYY-MM-DD`);
    mem[at] = c.algorithm === "sm2" ? 2 : 1;
    mem[at + 1] = hexBytes(c.index, 1, `capks[${i}].index`)[0];
    mem[at + 2] = key.length;
    mem[at + 3] = exp.length;
    mem.set(hexBytes(c.rid, 5, `capks[${i}].rid`), at + 4);
    mem32[(at + 12) >>> 2] = Number(m[1] + m[2] + m[3]);
    mem.set(key, at + 16);
    mem.set(exp, at + 272);
    fp += `${c.rid}${c.index}${c.algorithm}${key.join(",")}|`;
  });
  let st = kLoadCapks(PARAM_BASE, capks.length);
  if (st !== Status.OK) throw new KernelError(st, "engine capks");
  // Recovered keys are cached by what they were recovered from, under (RID, index): a change
  // of the CA key set empties the caches.
  if (fp !== capkFingerprint) {
    kCacheClear(3);
    capkFingerprint = fp;
  }
  mem.fill(0, PARAM_BASE, PARAM_BASE + revoked.length * 12);
  revoked.forEach((r, i) => {
    const at = PARAM_BASE + i * 12;
    mem.set(hexBytes(r.rid, 5, `revoked[${i}].rid`), at);
    mem[at + 5] = hexBytes(r.index, 1, `revoked[${i}].index`)[0];
    mem.set(hexBytes(r.serial, 3, `revoked[${i}].serial`), at + 6);
  });
  st = kLoadRevoked(PARAM_BASE, revoked.length);
  if (st !== Status.OK) throw new KernelError(st, "engine revoked");
}

/** Empties the kernel's recovered issuer (1), ICC (2) or both (3) key caches. */
export function engineCacheClear(which: 1 | 2 | 3 = 3): void {
  kCacheClear(which);
}

function prefixDigits(s: string, what: string): Uint8Array {
  if (!/^[0-9]{1,19}$/.test(s)) throw new RangeError(`${what}: issuer prefix must be 1-19 digits`);
  return new TextEncoder().encode(s);
}

function loadKeys(keys: readonly EngineKey[]): void {
  if (keys.length > MAX_KEYS) throw new RangeError(`keys: at most ${MAX_KEYS}, got ${keys.length}`);
  mem.fill(0, PARAM_BASE, PARAM_BASE + keys.length * KEY_IN);
  keys.forEach((k, i) => {
    const at = PARAM_BASE + i * KEY_IN;
    if (k.value.length !== 16) throw new RangeError(`keys[${i}]: value must be 16 bytes`);
    const dki = k.dki === undefined ? 0xff : parseInt(k.dki, 16);
    if (!(dki >= 0 && dki <= 0xff)) throw new RangeError(`keys[${i}]: dki must be 2 hex digits`);
    const p = prefixDigits(k.issuer, `keys[${i}]`);
    mem[at] = k.algorithm === "sm4" ? 4 : 1;
    mem[at + 1] = dki;
    mem[at + 2] = p.length;
    mem.set(p, at + 4);
    mem.set(k.value, at + 24);
  });
  const st = kLoadKeys(PARAM_BASE, keys.length);
  mem.fill(0, PARAM_BASE, PARAM_BASE + keys.length * KEY_IN);
  if (st !== Status.OK) throw new KernelError(st, "engine keys");
}

function loadConfigs(configs: readonly EngineConfig[]): void {
  if (configs.length > MAX_KEYS) throw new RangeError(`configs: at most ${MAX_KEYS}`);
  mem.fill(0, PARAM_BASE, PARAM_BASE + configs.length * CFG);
  configs.forEach((c, i) => {
    const at = PARAM_BASE + i * CFG;
    const p = prefixDigits(c.issuer, `configs[${i}]`);
    mem[at] = p.length;
    mem[at + 1] = c.profile ? ENGINE_PROFILES.indexOf(c.profile) + 1 : 0;
    const pairs = Object.entries(c.cvnProfiles ?? {});
    if (pairs.length > 4) throw new RangeError(`configs[${i}]: at most 4 CVN mappings`);
    mem[at + 2] = pairs.length;
    mem.set(p, at + 4);
    pairs.forEach(([cvn, prof], j) => {
      mem[at + 24 + 2 * j] = parseInt(cvn, 16);
      mem[at + 25 + 2 * j] = ENGINE_PROFILES.indexOf(prof) + 1;
    });
  });
  const st = kLoadConfigs(PARAM_BASE, configs.length);
  if (st !== Status.OK) throw new KernelError(st, "engine configs");
}

/** Results of one `engineVerify`: 16 words per record (layout in assembly/engine.ts). */
export class EngineResults {
  constructor(readonly words: Uint32Array, readonly count: number) {}
  /** Kernel record status (0 OK, 401-411). */
  status(i: number): number {
    return this.words[i * 16];
  }
  /** Findings bitmask, bit i = precedence rank i. */
  findings(i: number): number {
    return this.words[i * 16 + 1];
  }
  /** 0 ok, 1 mismatch, 2 no-key, 3 unsupported. */
  cryptogram(i: number): number {
    return this.words[i * 16 + 2] & 0xff;
  }
  /** 0 ok, 1 failed, 2 absent, 3 no-capk, 255 not done by the kernel. */
  oda(i: number): number {
    return (this.words[i * 16 + 2] >>> 8) & 0xff;
  }
  /** 0 none, 1 SDA, 2 fDDA, 3 SM2 fDDA. */
  odaMethod(i: number): number {
    return this.words[i * 16 + 3] >>> 24;
  }
  /** Failed ODA check: 1 + index in core/emv/oda.ts ODA_CHECKS; 0 none. */
  odaCheck(i: number): number {
    return this.words[i * 16 + 5];
  }
  /** A value span: 0 5A, 1 5F34, 2 9F36, 3 9F26, 4 9F02. */
  span(i: number, which: 0 | 1 | 2 | 3 | 4): Span {
    const w = i * 16 + 6 + 2 * which;
    const off = this.words[w];
    return off === 0xffffffff ? undefined : [off, this.words[w + 1]];
  }
  /** The decoded result of record `i` (allocates; for tests and tools). */
  at(i: number): EngineResult {
    const w = i * 16;
    const b = this.words[w + 2];
    const c = this.words[w + 3];
    const k = this.words[w + 4];
    return {
      status: this.words[w],
      findings: this.words[w + 1],
      cryptogram: b & 0xff,
      type: (b >>> 16) & 0xff,
      typeSource: b >>> 24,
      profile: c & 0xff,
      reason: (c >>> 8) & 0xff,
      missingSlot: (c >>> 16) & 0xff,
      keyIndex: k === 0xffffffff ? -1 : k,
      pan: this.span(i, 0),
      psn: this.span(i, 1),
      atc: this.span(i, 2),
      ac: this.span(i, 3),
      amount: this.span(i, 4),
    };
  }
}

/**
 * Verifies the cryptograms of many records in as few kernel calls as the IN region allows.
 * Results come back as one typed copy (16 words per record), read through `EngineResults`.
 */
export function engineVerify(
  records: readonly EngineRecord[],
  keys: readonly EngineKey[],
  configs: readonly EngineConfig[] = [],
  /** CA keys and revocations for the kernel's ODA; undefined leaves ODA to the caller. */
  oda?: EngineOdaInputs,
): EngineResults {
  const words = new Uint32Array(records.length * 16);
  try {
    loadKeys(keys);
    loadConfigs(configs);
    loadOda(oda);
    let i = 0;
    const maxChunk = Math.floor(OUT_SIZE / (DESC + RES));
    while (i < records.length) {
      const start = i;
      let used = 0;
      while (i < records.length && i - start < maxChunk) {
        const r = records[i];
        const need = r.icc.length + (r.oda?.length ?? 0) + (r.staticData?.length ?? 0);
        if (need > IN_SIZE) throw new RangeError(`records[${i}] exceeds the input region`);
        if (used + need > IN_SIZE) break;
        const d = (OUT_BASE >>> 2) + (i - start) * (DESC >>> 2);
        mem.set(r.icc, IN_BASE + used);
        mem32[d] = IN_BASE + used;
        mem32[d + 1] = r.icc.length;
        used += r.icc.length;
        if (r.oda && r.oda.length) {
          mem.set(r.oda, IN_BASE + used);
          mem32[d + 2] = IN_BASE + used;
          mem32[d + 3] = r.oda.length;
          used += r.oda.length;
        } else {
          mem32[d + 2] = 0;
          mem32[d + 3] = 0;
        }
        if (r.staticData && r.staticData.length) {
          mem.set(r.staticData, IN_BASE + used);
          mem32[d + 4] = IN_BASE + used;
          mem32[d + 5] = r.staticData.length;
          used += r.staticData.length;
        } else {
          mem32[d + 4] = 0;
          mem32[d + 5] = 0;
        }
        mem32[d + 6] = r.fare === undefined ? 0xffffffff : r.fare >>> 0;
        mem32[d + 7] = 0;
        i++;
      }
      const n = i - start;
      const out = OUT_BASE + n * DESC;
      const st = kVerify(OUT_BASE, n, out);
      if (st !== Status.OK) throw new KernelError(st, "engineVerifyBatch");
      words.set(mem32.subarray(out >>> 2, (out >>> 2) + n * 16), start * 16);
    }
    return new EngineResults(words, records.length);
  } finally {
    kWipe();
  }
}
