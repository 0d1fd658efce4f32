/**
 * Generates `assembly/contract.ts`, the AssemblyScript side of `contract.ts`: status codes and
 * findings bits, flag and method bytes, ODA check codes with the finding each gives, tag slots
 * and the slot lookup, the profile, data-set, scheme and selection tables, the record
 * layouts and the limits. `build.ts` runs it before every build; `contract_test.ts` fails when
 * the file on disk differs from what this derives.
 *
 * Run: `deno run --allow-write=kernel-as kernel-as/gen_contract.ts` (`--check` compares).
 */
import * as C from "./contract.ts";

/** Path of the generated file, relative to this module. */
export const GENERATED = "assembly/contract.ts";

/** `no-key` → `NO_KEY`, `SM2-fDDA` → `SM2_FDDA`, `pboc-cvn01-3des` → `PBOC_CVN01_3DES`. */
export function constName(s: string): string {
  return s.replace(/[^0-9A-Za-z]+/g, "_").toUpperCase();
}

const hex = (n: number, w = 2) => "0x" + n.toString(16).toUpperCase().padStart(w, "0");

function bytesTable(name: string, doc: string, rows: number[][]): string[] {
  const L = [`/** ${doc} */`, `export const ${name}: usize = memory.data<u8>([`];
  for (const r of rows) L.push(`  ${r.map((b) => hex(b)).join(", ")},`);
  L.push("]);");
  return L;
}

function tagNumber(tag: string): number {
  return parseInt(tag, 16);
}

function statusLines(): string[] {
  const L = ["// ---- record statuses (precedence order) and findings bits ----"];
  C.RECORD_STATUSES.forEach((s, i) => {
    L.push(`export const ST_ENGINE_${s.name}: i32 = ${s.code};`);
    L.push(`export const F_${s.name}: u32 = ${hex(2 ** i, 8)};`);
  });
  L.push(`export const RECORD_STATUS_COUNT: u32 = ${C.RECORD_STATUSES.length};`);
  for (const s of C.ENGINE_CALL_STATUSES) {
    L.push(`export const ST_ENGINE_${s.name}: i32 = ${s.code};`);
  }
  L.push(
    "",
    "/** The record status code of findings rank `i` (its bit number). */",
    "export function recordStatusOfRank(i: u32): i32 {",
    "  switch (i) {",
    ...C.RECORD_STATUSES.map((s, i) => `    case ${i}: return ST_ENGINE_${s.name};`),
    "  }",
    "  return 0;",
    "}",
  );
  return L;
}

function byteEnums(): string[] {
  const L = ["", "// ---- result bytes ----"];
  C.CRYPTOGRAM_FLAGS.forEach((f, i) => L.push(`export const CRYPTO_${constName(f)}: u8 = ${i};`));
  C.CRYPTOGRAM_TYPES.forEach((f, i) => L.push(`export const TYPE_${constName(f)}: u8 = ${i};`));
  L.push("export const TYPE_NONE: u8 = 255;");
  C.CRYPTOGRAM_TYPE_SOURCES.forEach((f, i) =>
    L.push(`export const TYPE_SOURCE_${constName(f)}: u8 = ${i + 1};`)
  );
  C.ODA_VERDICTS.forEach((f, i) => L.push(`export const ODA_${constName(f)}: u8 = ${i};`));
  C.ODA_METHODS.forEach((f, i) => L.push(`export const METHOD_${constName(f)}: u8 = ${i};`));
  C.RECORD_NOTES.forEach((n, i) => L.push(`export const NOTE_${n.name}: u8 = ${hex(2 ** i)};`));
  C.CARD_DATES.forEach((f, i) => L.push(`export const CARD_DATE_${constName(f)}: u8 = ${i};`));
  C.IDD_MAC_VERDICTS.forEach((f, i) => L.push(`export const IDD_MAC_${constName(f)}: u8 = ${i};`));
  C.KEY_USAGES.forEach((f, i) => L.push(`export const USAGE_${constName(f)}: u8 = ${i};`));
  L.push(`export const IDD_FIELD_BYTES: u32 = ${C.IDD_FIELD_BYTES};`);
  L.push(`export const IDD_MAC_BYTES: u32 = ${C.IDD_MAC_BYTES};`);
  L.push(
    "",
    "/** Amount fields of IDD type `t` (5 bytes each), or 0 for a type the engine does not know. */",
    "export function iddFieldCount(t: u32): u32 {",
    "  switch (t) {",
    ...C.IDD_TYPES.map((t) => `    case ${hex(t.type)}: return ${t.fields.length};`),
    "  }",
    "  return 0;",
    "}",
  );
  return L;
}

function odaCheckLines(): string[] {
  const L = [
    "",
    "// ---- ODA checks (code = 1 + index in ODA_CHECKS) and the finding each gives ----",
  ];
  C.ODA_CHECKS.forEach((c, i) => L.push(`export const C_${c.name}: u32 = ${i + 1};`));
  L.push(
    "",
    "/** The findings bit of a failed ODA check. */",
    "export function odaCheckFinding(check: u32): u32 {",
    "  switch (check) {",
  );
  const byStatus = new Map<string, string[]>();
  for (const c of C.ODA_CHECKS) {
    if (c.status === "ODA_FAILED") continue;
    byStatus.set(c.status, [...(byStatus.get(c.status) ?? []), c.name]);
  }
  for (const [status, names] of byStatus) {
    for (const n of names) L.push(`    case C_${n}:`);
    L.push(`      return F_${status};`);
  }
  L.push("  }", "  return F_ODA_FAILED;", "}");
  return L;
}

function slotLines(): string[] {
  const L = ["", "// ---- tag slots ----"];
  C.ENGINE_SLOTS.forEach((t, i) => L.push(`export const S_${t}: i32 = ${i};`));
  L.push(
    `export const SLOT_COUNT: i32 = ${C.ENGINE_SLOTS.length};`,
    "",
    "/** The slot of a tag, or -1 when the engine does not read it. */",
    "export function slotOf(tag: u32): i32 {",
    "  switch (tag) {",
    ...C.ENGINE_SLOTS.map((t) => `    case ${hex(tagNumber(t), 2)}: return S_${t};`),
    "  }",
    "  return -1;",
    "}",
  );
  return L;
}

function profileLines(): string[] {
  const L = ["", "// ---- cryptogram profiles ----"];
  C.MK_METHODS.forEach((m, i) => L.push(`export const MK_${constName(m)}: u8 = ${i};`));
  C.SK_METHODS.forEach((m, i) => L.push(`export const SK_${constName(m)}: u8 = ${i};`));
  C.MAC_METHODS.forEach((m, i) => L.push(`export const MAC_${constName(m)}: u8 = ${i};`));
  C.PROFILES.forEach((p, i) => L.push(`export const PROFILE_${constName(p.id)}: u32 = ${i + 1};`));
  L.push(`export const PROFILE_COUNT: u32 = ${C.PROFILES.length};`);
  const sets = Object.keys(C.DATA_SETS) as (keyof typeof C.DATA_SETS)[];
  const fields = ["ALG", "MK", "SK", "DATA_SET", "PADDING", "MAC", "DKI_AT", "IDD"];
  fields.forEach((f, i) => L.push(`export const P_${f}: usize = ${i};`));
  L.push("export const PROFILE_BYTES: usize = 8;");
  L.push(...bytesTable(
    "PROFILE_TABLE",
    "Profile n at (n - 1) * PROFILE_BYTES: algorithm byte, MK, SK, data set, padding, MAC, DKI offset, PBOC IDD.",
    C.PROFILES.map((p) => [
      p.algorithm === "sm4" ? 4 : 1,
      C.MK_METHODS.indexOf(p.mk),
      C.SK_METHODS.indexOf(p.sk),
      sets.indexOf(p.data),
      p.padding,
      C.MAC_METHODS.indexOf(p.mac),
      p.dkiAt,
      "idd" in p && p.idd ? 1 : 0,
    ]),
  ));
  // Data sets: (first element, count) per set; elements (slot, mode, offset, length).
  L.push(
    "export const E_FIXED: u8 = 0;",
    "export const E_SLICE: u8 = 1;",
    "export const E_WHOLE: u8 = 2;",
  );
  const elements: number[][] = [];
  const index: number[][] = [];
  for (const s of sets) {
    index.push([elements.length, C.DATA_SETS[s].length]);
    for (const e of C.DATA_SETS[s] as readonly C.DataElement[]) {
      const slot = (C.ENGINE_SLOTS as readonly string[]).indexOf(e.tag);
      if (slot < 0) throw new Error(`data set ${s}: tag ${e.tag} has no engine slot`);
      if ("length" in e) elements.push([slot, 0, 0, e.length]);
      else if ("slice" in e) elements.push([slot, 1, e.slice.offset, e.slice.length]);
      else elements.push([slot, 2, 0, e.max]);
    }
  }
  L.push(...bytesTable("DATA_SET_INDEX", "Data set i at 2i: first element, element count.", index));
  L.push(...bytesTable(
    "DATA_ELEMENTS",
    "Data elements, 4 bytes each: slot, mode (E_*), offset in 9F10, length (max for E_WHOLE).",
    elements,
  ));
  return L;
}

function schemeLines(): string[] {
  const L = ["", "// ---- schemes and profile selection ----"];
  C.SCHEMES.forEach((s, i) => L.push(`export const SCHEME_${constName(s.id)}: u8 = ${i + 1};`));
  L.push(`export const SCHEME_COUNT: u32 = ${C.SCHEMES.length};`);
  const fields = [
    "RID",
    "DETECT_AT",
    "DETECT_VALUE",
    "DETECT_MIN",
    "LAYOUT_MIN",
    "LAYOUT_REASON",
    "LAYOUT_COUNT",
    "LAYOUT_BYTES",
    "CVN_AT",
    "ALG_AT",
    "ALG_COUNT",
    "ALGS",
    "BAD_ALG_REASON",
    "UNKNOWN_CVN_REASON",
    "MAPPABLE",
  ];
  const at = [0, 5, 6, 7, 8, 9, 10, 11, 15, 16, 17, 18, 20, 21, 22];
  fields.forEach((f, i) => L.push(`export const SC_${f}: usize = ${at[i]};`));
  L.push("export const SCHEME_BYTES: usize = 24;");
  const rows = C.SCHEMES.map((s) => {
    const r = new Array(24).fill(0);
    for (let i = 0; i < 5; i++) r[i] = parseInt(s.rid.slice(2 * i, 2 * i + 2), 16);
    r[5] = s.detect.at;
    r[6] = s.detect.value;
    r[7] = s.detect.minLength;
    r[8] = s.layout.minLength;
    r[9] = s.layout.reason;
    const lb = s.layout.bytes as readonly { at: number; value: number }[];
    if (lb.length > 2) throw new Error(`scheme ${s.id}: at most 2 layout bytes`);
    r[10] = lb.length;
    lb.forEach((b, i) => (r[11 + 2 * i] = b.at, r[12 + 2 * i] = b.value));
    r[15] = s.cvnAt;
    const algs = ("algorithms" in s ? s.algorithms : []) as readonly number[];
    if (algs.length > 2) throw new Error(`scheme ${s.id}: at most 2 algorithms`);
    r[16] = "algAt" in s ? s.algAt : 255;
    r[17] = algs.length;
    algs.forEach((a, i) => (r[18 + i] = a));
    r[20] = "badAlgorithmReason" in s ? s.badAlgorithmReason : 0;
    r[21] = s.unknownCvnReason;
    r[22] = s.mappable ? 1 : 0;
    return r;
  });
  L.push(...bytesTable("SCHEME_TABLE", "Scheme n at (n - 1) * SCHEME_BYTES (fields SC_*).", rows));
  L.push(`export const SELECT_COUNT: u32 = ${C.PROFILE_SELECTION.length};`);
  L.push("export const SELECT_BYTES: usize = 8;");
  L.push(...bytesTable(
    "SELECT_TABLE",
    "Selection rows: scheme, CVN given, CVN, algorithm given, algorithm, profile, reason, 0.",
    C.PROFILE_SELECTION.map((r) => {
      const scheme = C.SCHEMES.findIndex((s) => s.id === r.scheme) + 1;
      const profile = C.PROFILES.findIndex((p) => p.id === r.profile) + 1;
      if (scheme < 1 || profile < 1) throw new Error(`selection row ${JSON.stringify(r)}`);
      const cvn = "cvn" in r ? r.cvn : undefined;
      const alg = "algorithm" in r ? r.algorithm : undefined;
      return [
        scheme,
        cvn === undefined ? 0 : 1,
        cvn ?? 0,
        alg === undefined ? 0 : 1,
        alg ?? 0,
        profile,
        r.reason,
        0,
      ];
    }),
  ));
  for (const [k, v] of Object.entries(C.SELECTION_REASONS)) {
    L.push(`export const R_${constName(k.replace(/[A-Z]/g, (c) => "_" + c))}: u32 = ${v};`);
  }
  return L;
}

function layoutLines(): string[] {
  const L = ["", "// ---- record layouts and limits ----"];
  const put = (prefix: string, o: Record<string, number>) => {
    for (const [k, v] of Object.entries(o)) {
      L.push(
        `export const ${prefix}_${constName(k.replace(/[A-Z]/g, (c) => "_" + c))}: u32 = ${v};`,
      );
    }
  };
  put("DESC", C.DESC);
  put("RES", C.RES);
  put("KEY_IN", C.KEY_IN);
  put("CFG_IN", C.CFG_IN);
  put("CAPK_IN", C.CAPK_IN);
  put("REVOKED_IN", C.REVOKED_IN);
  put("LIMIT", C.LIMITS);
  C.RESULT_SPANS.forEach((t, i) => L.push(`export const SPAN_${t}: u32 = ${i};`));
  return L;
}

/** The generated AssemblyScript text. */
export function generate(): string {
  const L = [
    "// Generated by kernel-as/gen_contract.ts from kernel-as/contract.ts — do not edit; change",
    "// the contract and run the build (deno task build).",
    "",
    ...statusLines(),
    ...byteEnums(),
    ...odaCheckLines(),
    ...slotLines(),
    ...profileLines(),
    ...schemeLines(),
    ...layoutLines(),
    "",
  ];
  return L.join("\n");
}

/** Writes the generated file when it differs; true when it changed. */
export async function writeGenerated(): Promise<boolean> {
  const url = new URL(GENERATED, import.meta.url);
  const text = generate();
  let current = "";
  try {
    current = await Deno.readTextFile(url);
  } catch { /* first run */ }
  if (current === text) return false;
  await Deno.writeTextFile(url, text);
  return true;
}

if (import.meta.main) {
  if (Deno.args.includes("--check")) {
    const current = await Deno.readTextFile(new URL(GENERATED, import.meta.url));
    if (current !== generate()) {
      console.error(`${GENERATED} is stale: run deno task build`);
      Deno.exit(1);
    }
  } else {
    console.error((await writeGenerated()) ? `${GENERATED} written` : `${GENERATED} up to date`);
  }
}
