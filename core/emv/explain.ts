/**
 * `icfare explain`: every step of the cryptogram and ODA checks of one record with its inputs,
 * the KCV of every intermediate key (never a key), the data block that was MACed and, on a
 * mismatch, what most likely differs (padding, data set, session-key method, master-key
 * derivation, PSN, or — when nothing reproduces the cryptogram — the key or DKI).
 *
 * PANs appear masked (first 6, last 4) everywhere, including the derivation input.
 */
import { toHex } from "../hex.ts";
import { maskPan } from "../mask.ts";
import { cryptogramType, decodeCtq, decodePbocIad } from "../tlv/decoders.ts";
import { cidNote } from "./card_checks.ts";
import { checkIddMac, decodeIdd } from "./idd.ts";
import { type AcElement, type CryptogramProfile, selectProfile } from "./profiles.ts";
import { AcInputError, acParts, computeAc, deriveIccMk, type TagValues } from "./ac.ts";
import { type IssuerKey, kcvHex } from "./issuer_keys.ts";
import { authenticateRecord } from "./oda.ts";
import {
  decodeRecord,
  dkiOf,
  type TapRecord,
  type VerifyContext,
  verifyRecords,
} from "./verify.ts";
import { equalBytes, padMethod1, padMethod2, wipeKeyScratch } from "./primitives.ts";

/** One explained step. */
export interface ExplainStep {
  readonly section: "record" | "cryptogram" | "oda";
  readonly title: string;
  /** true passed, false failed, undefined informational. */
  readonly ok?: boolean;
  readonly lines: string[];
}

/** The whole explanation of one record. */
export interface Explanation {
  readonly seq: number;
  readonly status: string;
  readonly cryptogram: string;
  readonly oda: string;
  readonly steps: ExplainStep[];
  /** On an AC mismatch: the most likely difference, in words. */
  readonly diagnosis?: string[];
}

const SK_TEXT: Record<CryptogramProfile["sessionKey"], string> = {
  "none": "none (the ICC master key MACs directly)",
  "common-atc": "EMV common session key, R = ATC ‖ 00×6",
  "mastercard": "MasterCard SKD, R = ATC ‖ 00 00 ‖ UN",
  "pboc": "PBOC ATC method: 3DES(MK)[00×6‖ATC] ‖ 3DES(MK)[00×6‖~ATC], odd parity",
  "pboc-sm4": "PBOC SM4: SM4(MK)[00×6‖ATC‖00×6‖~ATC]",
};

const MK_TEXT: Record<CryptogramProfile["mkDerivation"], string> = {
  "option-a": "EMV Option A: 3DES(IMK)[D] ‖ 3DES(IMK)[~D], D = rightmost 16 digits of PAN‖PSN",
  "option-b": "EMV Option B: D from SHA-1(PAN‖PSN) when the PAN exceeds 16 digits, else Option A",
  "sm4": "PBOC SM4: SM4(IMK)[D ‖ ~D], D = rightmost 16 digits of PAN‖PSN",
};

function elementLabel(e: AcElement): string {
  return "length" in e ? e.tag : "whole" in e ? "9F10 (whole)" : e.name;
}

interface Variant {
  readonly profile: CryptogramProfile;
  readonly psn: string | undefined;
  readonly tvrZero: boolean;
  readonly changes: string[];
}

/** Candidate variations of a profile, each with the words for what differs. */
function variants(p: CryptogramProfile, psn: string | undefined): Variant[] {
  const out: Variant[] = [];
  const mks: CryptogramProfile["mkDerivation"][] = p.algorithm === "sm4"
    ? ["sm4"]
    : ["option-a", "option-b"];
  const sks: CryptogramProfile["sessionKey"][] = p.algorithm === "sm4"
    ? ["pboc-sm4", "none"]
    : ["pboc", "common-atc", "mastercard", "none"];
  const base = p.data.slice(0, 10);
  const dataSets: { data: AcElement[]; text?: string }[] = [
    { data: [...p.data] },
    { data: base, text: "data set without the CVR / 9F10 part" },
    {
      data: [...base, { tag: "9F10", whole: true, max: 64 }],
      text: "data set ending with the whole 9F10",
    },
    {
      data: [...base, {
        tag: "9F10",
        slice: { offset: 4, length: 3 },
        name: "CVR without its length byte",
      }],
      text: "data set ending with the 3-byte CVR (no length byte)",
    },
    {
      data: [...base, {
        tag: "9F10",
        slice: { offset: 3, length: 4 },
        name: "CVR (9F10 bytes 4-7)",
      }],
      text: "data set ending with 9F10 bytes 4-7",
    },
  ];
  const psns = psn && psn !== "00" ? [psn, "00"] : [psn];
  for (const mk of mks) {
    for (const sk of sks) {
      for (const padding of [p.padding, p.padding === 2 ? 1 : 2] as const) {
        for (const ds of dataSets) {
          for (const ps of psns) {
            for (const tvrZero of [false, true]) {
              const changes: string[] = [];
              if (mk !== p.mkDerivation) changes.push(`master key by ${mk}`);
              if (sk !== p.sessionKey) changes.push(`session key by ${SK_TEXT[sk]}`);
              if (padding !== p.padding) {
                changes.push(`padding method ${padding} instead of ${p.padding}`);
              }
              if (ds.text && JSON.stringify(ds.data) !== JSON.stringify(p.data)) {
                changes.push(ds.text);
              }
              if (ps !== psn) changes.push(`PSN 00 instead of ${psn}`);
              if (tvrZero) changes.push("TVR (95) as all zeros, as the card saw it at GPO");
              out.push({
                profile: { ...p, mkDerivation: mk, sessionKey: sk, padding, data: ds.data },
                psn: ps,
                tvrZero,
                changes,
              });
            }
          }
        }
      }
    }
  }
  return out;
}

/**
 * Searches the variations of the selected profile for one that reproduces 9F26 and words the
 * smallest difference found. Keys are wiped as it goes.
 */
export function diagnoseMismatch(
  p: CryptogramProfile,
  key: IssuerKey,
  values: TagValues,
  pan: string,
  psn: string | undefined,
  dki: string | undefined,
  computed?: Uint8Array,
): string[] {
  const ac = values.get("9F26")!;
  const hits: Variant[] = [];
  for (const v of variants(p, psn)) {
    if (v.changes.length === 0) continue;
    const vals = v.tvrZero ? new Map(values).set("95", new Uint8Array(5)) : values;
    if (v.tvrZero && equalBytes(values.get("95") ?? new Uint8Array(5), new Uint8Array(5))) continue;
    let mk: Uint8Array | undefined;
    try {
      mk = deriveIccMk(v.profile, key.value, pan, v.psn);
      const r = computeAc(v.profile, mk, vals);
      r.sessionKey.fill(0);
      if (equalBytes(r.ac, ac)) hits.push(v);
    } catch (e) {
      if (!(e instanceof AcInputError)) throw e;
    } finally {
      mk?.fill(0);
    }
  }
  if (hits.length) {
    hits.sort((a, b) => a.changes.length - b.changes.length);
    const best = hits[0];
    return [
      `9F26 is reproduced when: ${best.changes.join("; ")}.`,
      `Most likely the card (or its issuer profile) differs from ${p.name} in exactly that.`,
      ...(hits.length > 1
        ? [`(${hits.length - 1} other variant(s) also match, with more differences.)`]
        : []),
    ];
  }
  let differing = 0;
  if (computed) { for (let i = 0; i < 8; i++) if (computed[i] !== ac[i]) differing++; }
  if (computed && differing <= 2) {
    return [
      `The computed cryptogram differs from 9F26 in only ${differing} byte(s): the data and key agree, ` +
      `so 9F26 itself was most likely altered after the card produced it (storage or transmission).`,
    ];
  }
  return [
    `No variant of padding, data set, session-key method, master-key derivation, PSN or TVR reproduces 9F26.`,
    `Most likely the issuer key is not the one the card was personalised with: key ${key.id} (KCV ${key.kcv}), ` +
    `DKI in 9F10 = ${dki ?? "?"}${
      key.dki ? `, key DKI ${key.dki}` : ""
    } — check the DKI mapping and the key ` +
    `version — or the chip data was altered after the card computed the cryptogram.`,
  ];
}

/** Explains the verification of one record. */
export function explainRecord(record: TapRecord, ctx: VerifyContext = {}): Explanation {
  try {
    return explainOne(record, ctx);
  } finally {
    wipeKeyScratch();
  }
}

function explainOne(record: TapRecord, ctx: VerifyContext): Explanation {
  const [result] = verifyRecords([record], ctx);
  const head = {
    seq: record.seq,
    status: result.status,
    cryptogram: result.cryptogram,
    oda: result.oda,
  };
  const d = decodeRecord(record);
  if (!d.ok) {
    return {
      ...head,
      steps: [{ section: "record", title: `decode ${d.where}`, ok: false, lines: [d.message] }],
    };
  }
  const v = d.values;
  const steps: ExplainStep[] = [recordStep(v), typeStep(v)];
  const diagnosis = cryptogramSteps(v, ctx, steps);
  const idd = iddStep(v, ctx);
  if (idd) steps.push(idd);
  steps.push(odaStep(v, d.staticData, ctx));
  return { ...head, steps, ...(diagnosis ? { diagnosis } : {}) };
}

/** PAN digits of 5A (up to the first F) and the PSN of 5F34 when one byte. */
function panPsn(v: TagValues): { pan: string; psn: string | undefined } {
  const panHex = v.get("5A") ? toHex(v.get("5A")!) : "";
  const psnV = v.get("5F34");
  return {
    pan: panHex.replace(/F+$/, ""),
    psn: psnV && psnV.length === 1 ? toHex(psnV) : undefined,
  };
}

function recordStep(v: TagValues): ExplainStep {
  const { pan, psn } = panPsn(v);
  const atc = v.get("9F36");
  return {
    section: "record",
    title: "chip data",
    lines: [
      `${v.size} data objects; PAN ${maskPan(pan)}, PSN ${psn ?? "absent (00)"}, ATC ${
        atc ? toHex(atc) : "absent"
      }`,
      ...(v.get("9F10") ? iadLines(v.get("9F10")!) : ["9F10 absent"]),
      ...transitLines(v),
    ],
  };
}

// DF60, the CAPP transaction indicator (card applet; docs/emv-pboc.md, the transit tag set).
const DF60: Record<number, string> = {
  0: "no CAPP transaction",
  1: "segmented fare (out of scope for a flat fare)",
  2: "offline pre-authorisation",
  3: "pre-authorisation completion",
};

/** DF60 and the qPBOC CTQ (9F6C) bits, decoded (issue 13 item 10). */
function transitLines(v: TagValues): string[] {
  const out: string[] = [];
  const df60 = v.get("DF60");
  if (df60 && df60.length === 1) {
    out.push(`DF60 ${toHex(df60)}: ${DF60[df60[0]] ?? "value not defined"}`);
  }
  const ctq = v.get("9F6C");
  if (ctq) {
    const bits = decodeCtq(ctq).map((b) => b.name);
    out.push(`CTQ (9F6C) ${toHex(ctq)}: ${bits.length ? bits.join("; ") : "no bit set"}`);
  }
  return out;
}

function typeStep(v: TagValues): ExplainStep {
  const type = cryptogramType(v.get("9F27"), v.get("9F10"));
  const note = cidNote(type);
  return {
    section: "cryptogram",
    title: "cryptogram type",
    ok: note ? false : undefined,
    lines: [
      type
        ? `${type.type} (from ${type.source === "9F27" ? "9F27" : "CVR byte 1 b6-b5"})`
        : "unknown",
      ...(type?.source === "CVR" && type.cid ? [`9F27 states ${type.cid}`] : []),
      ...(note ? [`note: ${note}`] : []),
    ],
  };
}

function profileStep(p: CryptogramProfile, reason: string): ExplainStep {
  return {
    section: "cryptogram",
    title: `profile ${p.name}`,
    lines: [
      `chosen: ${reason}`,
      `master key: ${MK_TEXT[p.mkDerivation]}`,
      `session key: ${SK_TEXT[p.sessionKey]}`,
      `data: ${p.data.map(elementLabel).join(" ‖ ")}`,
      `MAC: ${
        p.mac === "sm4-cbc-mac" ? "SM4 CBC-MAC, leftmost 8 bytes" : "ISO/IEC 9797-1 algorithm 3"
      }, padding method ${p.padding}`,
      `source: ${p.source}`,
    ],
  };
}

/** Profile, issuer key and (when the key is held) the computation; the diagnosis if any. */
function cryptogramSteps(
  v: TagValues,
  ctx: VerifyContext,
  steps: ExplainStep[],
): string[] | undefined {
  const { pan, psn } = panPsn(v);
  const aid = v.get("4F") ?? v.get("84");
  const rid = aid && aid.length >= 5 ? toHex(aid.subarray(0, 5)) : undefined;
  const choice = selectProfile(v.get("9F10"), ctx.keys?.issuerConfig(pan) ?? {}, rid);
  if (!choice.ok) {
    steps.push({ section: "cryptogram", title: "profile", ok: false, lines: [choice.reason] });
    return undefined;
  }
  const p = choice.profile;
  steps.push(profileStep(p, choice.reason));
  const dki = dkiOf(p, v.get("9F10"));
  const key = ctx.keys?.imkAc(pan, dki, p.algorithm);
  if (!key) {
    steps.push({
      section: "cryptogram",
      title: "issuer key",
      ok: false,
      lines: [
        `no ${p.algorithm} IMK-AC held for ${maskPan(pan)} (DKI ${dki ?? "?"}): verdict no-key`,
      ],
    });
    return undefined;
  }
  steps.push({
    section: "cryptogram",
    title: "issuer key",
    lines: [
      `${key.id}: ${key.algorithm} IMK-AC for issuer ${key.issuer}, DKI ${key.dki ?? "any"}, KCV ${
        kcvHex(key.algorithm, key.value)
      }`,
    ],
  });
  return computationSteps(p, key, v, pan, psn, dki, steps);
}

/** ICC master key, session key, data block and cryptogram, each with its KCV or bytes. */
function computationSteps(
  p: CryptogramProfile,
  key: IssuerKey,
  v: TagValues,
  pan: string,
  psn: string | undefined,
  dki: string | undefined,
  steps: ExplainStep[],
): string[] | undefined {
  const atc = v.get("9F36");
  let mk: Uint8Array | undefined;
  try {
    mk = deriveIccMk(p, key.value, pan, psn);
    steps.push({
      section: "cryptogram",
      title: "ICC master key",
      lines: [
        `${p.mkDerivation}, input PAN ${maskPan(pan)} ‖ PSN ${psn ?? "00"}`,
        `KCV ${kcvHex(p.algorithm, mk)}`,
      ],
    });
    const parts = acParts(p, v);
    const r = computeAc(p, mk, v);
    steps.push({
      section: "cryptogram",
      title: "session key",
      lines: [
        SK_TEXT[p.sessionKey],
        `ATC ${atc ? toHex(atc) : "?"}`,
        `KCV ${kcvHex(p.algorithm, r.sessionKey)}`,
      ],
    });
    r.sessionKey.fill(0);
    const block = p.algorithm === "sm4" ? 16 : 8;
    const padded = p.padding === 1 ? padMethod1(r.data, block) : padMethod2(r.data, block);
    steps.push({
      section: "cryptogram",
      title: "data block MACed",
      lines: [
        ...parts.map((x) => `${x.label.padEnd(10)} ${toHex(x.value)}`),
        `${r.data.length} bytes: ${toHex(r.data)}`,
        `padded (method ${p.padding}, ${padded.length} bytes): ${toHex(padded)}`,
      ],
    });
    const ac = v.get("9F26");
    const ok = !!ac && equalBytes(ac, r.ac);
    steps.push({
      section: "cryptogram",
      title: "cryptogram",
      ok,
      lines: [
        `computed ${toHex(r.ac)}`,
        `9F26     ${ac ? toHex(ac) : "absent"}`,
        ok ? "match" : "MISMATCH",
      ],
    });
    return !ok && ac ? diagnoseMismatch(p, key, v, pan, psn, dki, r.ac) : undefined;
  } catch (e) {
    if (!(e instanceof AcInputError)) throw e;
    steps.push({ section: "cryptogram", title: "data block", ok: false, lines: [e.message] });
    return undefined;
  } finally {
    mk?.fill(0);
  }
}

/** The PBOC issuer discretionary data: type, amounts and, with the IMK-MAC, its MAC. */
function iddStep(v: TagValues, ctx: VerifyContext): ExplainStep | undefined {
  const { pan, psn } = panPsn(v);
  const aid = v.get("4F") ?? v.get("84");
  const rid = aid && aid.length >= 5 ? toHex(aid.subarray(0, 5)) : undefined;
  const choice = selectProfile(v.get("9F10"), ctx.keys?.issuerConfig(pan) ?? {}, rid);
  if (!choice.ok || !choice.profile.idd) return undefined;
  const idd = decodeIdd(v.get("9F10"));
  if (!idd) return undefined;
  const p = choice.profile;
  const lines = [
    `type ${toHex(Uint8Array.of(idd.type))}: ${idd.name}`,
    ...Object.entries(idd.amounts).map(([k, fen]) => `${k} ${fen} fen`),
    `MAC in 9F10 ${toHex(idd.mac)}`,
  ];
  const key = ctx.keys?.imkMac?.(pan, dkiOf(p, v.get("9F10")), p.algorithm);
  const atc = v.get("9F36");
  if (!key || !atc || atc.length !== 2) {
    lines.push(key ? "no ATC: MAC not checked" : `no ${p.algorithm} IMK-MAC held: MAC not checked`);
    return { section: "cryptogram", title: "issuer discretionary data", lines };
  }
  const r = checkIddMac(p, key.value, v, pan, psn, idd);
  lines.push(
    `IMK-MAC ${key.id}, KCV ${kcvHex(key.algorithm, key.value)}`,
    `MAC input ATC ‖ amounts zero-filled to ${(2 + idd.data.length + 7) & ~7} bytes`,
    `computed ${toHex(r.computed)}: ${r.ok ? "match" : "MISMATCH"}`,
  );
  return { section: "cryptogram", title: "issuer discretionary data", ok: r.ok, lines };
}

function odaStep(
  v: TagValues,
  staticData: Uint8Array | undefined,
  ctx: VerifyContext,
): ExplainStep {
  if (!ctx.capks) {
    return {
      section: "oda",
      title: "offline data authentication",
      lines: ["no CA public keys given (--capk)"],
    };
  }
  const o = authenticateRecord(v, ctx.capks, { staticData });
  return {
    section: "oda",
    title: `offline data authentication: ${o.verdict}${
      o.method !== "none" ? ` (${o.method})` : ""
    }`,
    ok: o.verdict === "ok" ? true : o.verdict === "absent" ? undefined : false,
    lines: [
      ...o.steps.map((s) =>
        `${s.ok ? "ok  " : "FAIL"} ${s.step}${s.detail ? `: ${s.detail}` : ""}`
      ),
      ...(o.check ? [`failed check ${o.check}: ${o.message}`] : []),
      ...(o.issuerKey ? [`issuer key fingerprint (SHA-256) ${o.issuerKey}`] : []),
      ...(o.iccKey ? [`ICC key fingerprint (SHA-256) ${o.iccKey}`] : []),
    ],
  };
}

function iadLines(iad: Uint8Array): string[] {
  if (iad[0] !== 0x07) return [`9F10 ${toHex(iad)} (not the PBOC layout)`];
  try {
    const p = decodePbocIad(iad);
    return [
      `9F10: DKI ${p.dki.toString(16).padStart(2, "0").toUpperCase()}, CVN ${
        p.cvn.toString(16).padStart(2, "0").toUpperCase()
      }, CVR ${toHex(p.cvrWithLength)}, algorithm ${p.algorithmName}`,
    ];
  } catch (e) {
    return [`9F10: ${(e as Error).message}`];
  }
}

/** Renders an explanation as text lines. */
export function renderExplanation(x: Explanation): string[] {
  const out = [`record seq ${x.seq}: ${x.status} (cryptogram ${x.cryptogram}, oda ${x.oda})`];
  let n = 1;
  for (const s of x.steps) {
    const mark = s.ok === true ? "ok" : s.ok === false ? "FAIL" : "";
    out.push("", `${n++}. [${s.section}] ${s.title}${mark ? `  — ${mark}` : ""}`);
    for (const l of s.lines) out.push(`     ${l}`);
  }
  if (x.diagnosis) {
    out.push("", "what most likely differs:");
    for (const l of x.diagnosis) out.push(`  ${l}`);
  }
  return out;
}
