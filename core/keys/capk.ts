/**
 * CA public keys (CAPKs) in the key store (docs/keys.md, "CAPKs"): every form an operator
 * receives (capk_forms.ts) checked the same way before anything is stored, and `CapkSource`
 * for the verification engine (core/emv/capk.ts) backed by the store.
 *
 * Checks: RSA modulus 64–248 bytes and exponent 03 or 010001; an SM2 key must be a point on
 * the curve (GB/T 32918.1 §3.2); the checksum is icfare's rule of docs/verification.md
 * (SHA-1(RID ‖ index ‖ modulus ‖ exponent) for RSA, SHA-1(RID ‖ index ‖ x ‖ y) for SM2). In
 * icfare's JSON form the checksum must match. Lists from terminals are read as they are: a
 * checksum of zeros, or one copied from another key of the list, is a note on that key; any
 * other mismatch refuses the file; UnionPay's SM2 form carries no checksum at all. The store
 * keeps the computed checksum (the engine checks it again). Expired keys are imported and
 * marked (archives re-verify old taps; the engine checks expiry against each tap's date 9A).
 */
import { fromHex, toHex } from "../hex.ts";
import { sm2IsOnCurve } from "../../kernel-as/pk.ts";
import { KeyStoreError } from "./errors.ts";
import type { CapkRecord, KeyStore } from "./store.ts";
import type { CapkKey } from "./records.ts";
import { capkChecksum, CapkRegistry, type CapkSource } from "../emv/capk.ts";
import {
  type CapkCandidate,
  type CapkForm,
  type CapkInput,
  OPEN_EXPIRY,
  parseCapkInput,
  parseCapkJson,
  validDate,
} from "./capk_forms.ts";

export { type CapkForm, OPEN_EXPIRY, parseCapkInput } from "./capk_forms.ts";

/**
 * SHA-1 checksum of a CAPK as upper-case hex, computed by the engine's `capkChecksum` so
 * that import and verification can never disagree on the rule.
 */
export function capkChecksumHex(c: CapkKey): string {
  if (c.algorithm === "rsa" && (!c.modulus || !c.exponent)) {
    throw new KeyStoreError("BAD_INPUT", "an RSA CAPK needs modulus and exponent");
  }
  let pk = c.publicKey ?? "";
  if (pk.length === 130 && /^04/.test(pk)) pk = pk.slice(2);
  if (c.algorithm === "sm2" && pk.length !== 128) {
    throw new KeyStoreError("BAD_INPUT", "an SM2 CAPK needs a 64-byte publicKey x‖y");
  }
  return toHex(capkChecksum({
    rid: c.rid,
    index: c.index,
    algorithm: c.algorithm,
    modulus: c.modulus ? fromHex(c.modulus, "modulus") : undefined,
    exponent: c.exponent ? fromHex(c.exponent, "exponent") : undefined,
    publicKey: pk ? fromHex(pk, "publicKey") : undefined,
  }));
}

/** One key of an import, as reported: what was stored and what was odd. */
export interface CapkImportItem {
  rid: string;
  index: string;
  algorithm: "rsa" | "sm2";
  form: CapkForm;
  expiry: string;
  expired: boolean;
  /** What the store did: added, unchanged, or its expiry updated (see capk_store.ts). */
  action?: "added" | "unchanged" | "expiry-updated";
  /** The expiry the store held before, when it changed. */
  previousExpiry?: string;
  notes: string[];
}

/** The result of an import. */
export interface CapkImportReport {
  source?: string;
  keys: CapkImportItem[];
  records: CapkRecord[];
}

/** A 64-byte RSA-form key that is an SM2 point is an SM2 key (a list that says RSA for it). */
function sm2Disguised(c: CapkCandidate): boolean {
  return c.algorithm === "rsa" && c.modulus?.length === 128 && sm2IsOnCurve(fromHex(c.modulus));
}

function checkKey(c: CapkCandidate): void {
  const name = `${c.where} (${c.rid}/${c.index})`;
  if (sm2Disguised(c)) {
    c.notes.push("given as an RSA key with exponent, but it is a 64-byte SM2 point: taken as SM2");
    Object.assign(c, { algorithm: "sm2", publicKey: c.modulus });
    delete c.modulus;
    delete c.exponent;
  }
  if (!validDate(c.expiry)) throw new KeyStoreError("BAD_INPUT", `${name}: expiry is not a date`);
  if (c.algorithm === "rsa") {
    if (!c.modulus || !c.exponent || c.publicKey) {
      throw new KeyStoreError("BAD_INPUT", `${name}: RSA needs modulus and exponent only`);
    }
    if (c.modulus.length < 128 || c.modulus.length > 496 || c.modulus.length % 2) {
      throw new KeyStoreError("BAD_INPUT", `${name}: modulus must be 64 to 248 bytes`);
    }
    if (!["03", "010001"].includes(c.exponent)) {
      throw new KeyStoreError("BAD_INPUT", `${name}: exponent must be 03 or 010001`);
    }
    return;
  }
  if (!c.publicKey || c.modulus || c.exponent) {
    throw new KeyStoreError("BAD_INPUT", `${name}: SM2 needs publicKey only`);
  }
  if (!/^[0-9A-F]{128}$/.test(c.publicKey)) {
    throw new KeyStoreError("BAD_INPUT", `${name}: an SM2 key is 64 bytes x‖y`);
  }
  if (!sm2IsOnCurve(fromHex(c.publicKey))) {
    throw new KeyStoreError(
      "CAPK_NOT_ON_CURVE",
      `${name}: the SM2 key is not a point on the SM2 curve; nothing imported`,
    );
  }
}

/**
 * The checksum rule per form: icfare's JSON must match; a terminal list's checksum may be
 * zeros or copied from another key (noted), never otherwise wrong; UnionPay's SM2 form has
 * none. `others` maps each key of the input to its computed checksum.
 */
function checkChecksum(c: CapkCandidate, sum: string, others: Map<string, string>): void {
  const name = `${c.where} (${c.rid}/${c.index})`;
  const given = c.givenChecksum;
  if (given === sum) return;
  const mismatch = () =>
    new KeyStoreError(
      "CAPK_CHECKSUM",
      `${name}: checksum ${given} does not match the key (computed ${sum}); nothing imported`,
    );
  if (c.form === "json") throw mismatch();
  if (given === undefined) {
    if (c.form !== "unionpay-sm2") c.notes.push("no checksum given");
    return;
  }
  if (/^0+$/.test(given) && (given.length === 38 || given.length === 40)) {
    c.notes.push(`checksum given as ${given.length / 2} zero bytes: not checked`);
    return;
  }
  const owner = [...others].find(([k, s]) => s === given && k !== `${c.rid}/${c.index}`);
  if (owner) {
    c.notes.push(`checksum ${given.slice(0, 8)}… is ${owner[0]}'s, copied: not this key's`);
    return;
  }
  throw mismatch();
}

/** Two entries for one RID/index: the same key (the later expiry kept, noted) or a conflict. */
function mergeDuplicates(cands: CapkCandidate[]): CapkCandidate[] {
  const byKey = new Map<string, CapkCandidate>();
  for (const c of cands) {
    const k = `${c.rid}/${c.index}`;
    const first = byKey.get(k);
    if (!first) {
      byKey.set(k, c);
      continue;
    }
    if ((first.modulus ?? first.publicKey) !== (c.modulus ?? c.publicKey)) {
      throw new KeyStoreError(
        "CAPK_CONFLICT",
        `${k}: ${first.where} and ${c.where} give different keys; nothing imported`,
      );
    }
    const later = c.expiry > first.expiry ? c : first;
    later.notes.push(
      `listed twice (${first.where}, ${c.where}) with expiries ${first.expiry} and ${c.expiry}: ` +
        `${later.expiry} kept`,
    );
    if (first.expiry === c.expiry) later.notes.pop();
    byKey.set(k, later);
  }
  return [...byKey.values()];
}

/**
 * Checks every key of an input and gives the records to store with the per-key report.
 * Refuses (nothing stored) on a malformed key, an SM2 key off the curve, a checksum that is
 * plainly wrong, or two different keys under one RID/index.
 */
export function checkCapkInput(
  input: CapkInput,
  today: string,
  stored: readonly CapkRecord[] = [],
): CapkImportReport {
  const cands = mergeDuplicates(input.candidates);
  for (const c of cands) checkKey(c);
  const sums = new Map(cands.map((c) => [`${c.rid}/${c.index}`, capkChecksumHex(c)]));
  // A checksum copied from a key stored earlier is recognised as well.
  const others = new Map<string, string>([
    ...stored.map((c): [string, string] => [`${c.rid}/${c.index}`, c.checksum]),
    ...sums,
  ]);
  const importedAt = new Date().toISOString();
  const records: CapkRecord[] = [];
  const keys: CapkImportItem[] = [];
  for (const c of cands) {
    const sum = sums.get(`${c.rid}/${c.index}`)!;
    checkChecksum(c, sum, others);
    const expired = capkExpired(c, today);
    if (expired) c.notes.push(`expired on ${c.expiry}`);
    records.push({
      rid: c.rid,
      index: c.index,
      algorithm: c.algorithm,
      modulus: c.modulus,
      exponent: c.exponent,
      publicKey: c.publicKey,
      expiry: c.expiry,
      checksum: sum,
      state: "active",
      importedAt,
      revokedSerials: [],
      form: c.form,
      source: input.source,
      rootSignature: c.rootSignature,
      notes: c.notes.length ? [...c.notes] : undefined,
    });
    keys.push({
      rid: c.rid,
      index: c.index,
      algorithm: c.algorithm,
      form: c.form,
      expiry: c.expiry,
      expired,
      notes: c.notes,
    });
  }
  return { source: input.source, keys, records };
}

/** Checks and stores an input; a refusal is audited. Returns the per-key report. */
async function importInput(
  store: KeyStore,
  parse: () => CapkInput,
  today: string,
): Promise<CapkImportReport> {
  let report: CapkImportReport;
  try {
    report = checkCapkInput(parse(), today, store.capkList());
  } catch (e) {
    if (e instanceof KeyStoreError) {
      await store.auditRefusal("capk.import", `${e.code}: ${e.message}`);
    }
    throw e;
  }
  const actions = await store.capkStore(report.records, report.source);
  for (const k of report.keys) Object.assign(k, actions.get(`${k.rid}/${k.index}`));
  return report;
}

/**
 * Imports a CA key file in any form (`text` as read; `opts.source` is the provenance note
 * when the file carries none; text lists need one).
 */
export async function importCapkText(
  store: KeyStore,
  text: string,
  opts: { today?: string; source?: string; name?: string } = {},
): Promise<CapkImportReport> {
  const today = opts.today ?? new Date().toISOString().slice(0, 10);
  return await importInput(store, () => {
    const input = parseCapkInput(text, opts.source, opts.name);
    if (!input.source && input.candidates.some((c) => c.form !== "json")) {
      throw new KeyStoreError(
        "BAD_INPUT",
        "a CA key list needs its source: a line '# source: …' in the file, or --source TEXT",
      );
    }
    return input;
  }, today);
}

/**
 * Imports CA keys given as icfare's JSON (`{"capks": […]}`) and returns the records stored.
 * `allowExpired` is kept for old callers: expired keys are always imported, marked.
 */
export async function importCapks(
  store: KeyStore,
  json: unknown,
  opts: { today?: string; allowExpired?: boolean } = {},
): Promise<CapkRecord[]> {
  const today = opts.today ?? new Date().toISOString().slice(0, 10);
  return (await importInput(store, () => parseCapkJson(json), today)).records;
}

/**
 * The engine's registry over stored CA keys: active keys only, each with its revoked issuer
 * serials; the checksum of every stored key (active or not) is re-verified first. Used by the
 * key store's `CapkSource` and by store-mode verification (whose workers get plain records).
 */
export function capkRegistry(records: readonly CapkRecord[]): CapkRegistry {
  const reg = new CapkRegistry();
  for (const c of records) {
    if (capkChecksumHex(c) !== c.checksum) {
      throw new KeyStoreError("KEYSTORE_TAMPERED", `CAPK ${c.rid}/${c.index}: checksum differs`);
    }
    if (c.state !== "active") continue;
    reg.add({
      rid: c.rid,
      index: c.index,
      algorithm: c.algorithm,
      modulus: c.modulus ? fromHex(c.modulus, "modulus") : undefined,
      exponent: c.exponent ? fromHex(c.exponent, "exponent") : undefined,
      publicKey: c.publicKey ? fromHex(c.publicKey, "publicKey") : undefined,
      expiry: c.expiry,
      checksum: fromHex(c.checksum, "checksum"),
    });
    for (const s of c.revokedSerials) reg.revoke(c.rid, c.index, s);
  }
  return reg;
}

/**
 * A `CapkSource` over the store's active CA keys (revoked keys are absent; expiry is the
 * engine's check, against the transaction date). Listable, so the kernel runs ODA itself.
 */
export function capkSource(store: KeyStore): CapkSource {
  return capkRegistry(store.capkList());
}

/** True when a key's expiry is before `today` (a key without expiry never is). */
export function capkExpired(c: { expiry: string }, today: string): boolean {
  return c.expiry !== OPEN_EXPIRY && c.expiry < today;
}
