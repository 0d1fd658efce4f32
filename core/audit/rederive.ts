/**
 * Re-derivation of the verdicts of an archive (docs/archive.md, "What audit checks"): each
 * record's sealed evidence is opened with the auditor's key and checked against the fields in
 * clear; the records of a segment go through the same kernel batch path as verification
 * (`verifyBatchBytes`, whole batches, never two records of one card and ATC in a call), with
 * the CA keys of the archive and, when given, the issuer keys; each result is compared with
 * the stored verdict. Duplicates and DENYLISTED are re-derived from the day's records and the
 * archive's deny-list events.
 */
import type { RecordLine } from "../archive/format.ts";
import type { EvidenceKey } from "../archive/evidence.ts";
import { odaRefs, type RawRecord } from "../archive/raw.ts";
import { fromHex } from "../hex.ts";
import { cnDigits, maskPan } from "../mask.ts";
import { flattenValues, parseTlv } from "../tlv/tree.ts";
import { type BatchRecordBytes, type EnumerableKeySource, verifyBatchBytes } from "../emv/batch.ts";
import type { CapkSource } from "../emv/capk.ts";
import {
  precedence,
  RECORD_STATUSES,
  type RecordResult,
  type RecordStatus,
} from "../emv/verify.ts";
import { acAmountKey, duplicateStatus } from "../emv/duplicates.ts";
import { splitDistinct } from "../verify_store.ts";
import type { Findings } from "./findings.ts";

/** The evidence of a record once opened. */
export interface Opened {
  readonly record: RawRecord;
  /** The record's line of the clearing file (cleared records), without LF. */
  readonly detail: string | null;
  /** 9F26 ‖ 9F02 as captured (duplicate against replay). */
  readonly acAmount: string;
}

/** The deny-list events of the archive by card: is a card listed at a version? */
export class DenyIndex {
  readonly #by = new Map<string, [number, number, string, string][]>();
  constructor(events: readonly (readonly [string, number, number, string, string])[]) {
    for (const [card, version, listed, reason, when] of events) {
      const l = this.#by.get(card) ?? [];
      l.push([version, listed, reason, String(when)]);
      this.#by.set(card, l);
    }
    for (const l of this.#by.values()) l.sort((a, b) => a[0] - b[0]);
  }
  /**
   * The version that listed the card, when it was listed in list version `version` as the
   * list stood at `asOf` (the record's verification: later changes did not exist yet).
   */
  listedAt(
    card: string,
    version: number,
    asOf: string | null,
  ): { listedIn: number; reason: string } | null {
    let last: [number, number, string, string] | undefined;
    for (const e of this.#by.get(card) ?? []) {
      if (e[0] <= version && (asOf === null || e[3] <= asOf)) last = e;
    }
    return last && last[1] === 1 ? { listedIn: last[0], reason: last[2] } : null;
  }
}

/** What a segment's re-derivation needs. */
export interface RederiveContext {
  readonly evidence: EvidenceKey | null;
  readonly capks: CapkSource;
  readonly keys?: EnumerableKeySource;
  readonly deny: DenyIndex;
  readonly f: Findings;
  readonly stats: RederiveStats;
}

export interface RederiveStats {
  opened: number;
  verdicts: number;
  cryptograms: number;
  /** Verdict parts taken from the archive because no issuer key was given. */
  cryptogramClaims: number;
}

type Detail = Record<string, unknown> & {
  cryptogram?: string;
  oda?: string;
  duplicateOf?: { terminalId: string; batchNo: number; seq: number };
  denyListed?: { listedIn: number };
};

const at = (r: RecordLine) => ({ record: { n: r.n, ref: r.ref } });

/** A record's opened evidence compared with the fields in clear. */
function openOne(ctx: RederiveContext, r: RecordLine, plain: Uint8Array | null): Opened | null {
  if (!plain) {
    ctx.f.add("EVIDENCE_UNOPENED", `record n=${r.n} ${r.ref}: its evidence does not open`, {
      ...at(r),
      field: "evidence",
    });
    return null;
  }
  ctx.stats.opened++;
  const o = JSON.parse(new TextDecoder().decode(plain)) as {
    record: RawRecord;
    detail: string | null;
  };
  const raw = o.record;
  const seq = Number(r.ref.split("/")[2]);
  const icc = parseTlv(fromHex(raw.icc, "icc"));
  const v = icc.ok ? flattenValues(icc.nodes) : new Map<string, Uint8Array>();
  const pan = v.get("5A");
  const atc = v.get("9F36");
  const clear: [string, unknown, unknown][] = [
    ["ref", raw.seq, seq],
    ["fare", raw.fare, r.fare],
    ["tappedAt", raw.tappedAt, r.tappedAt],
    ["line", raw.line, r.line],
    ["vehicle", raw.vehicle, r.vehicle],
    ["stop", raw.stop ?? null, r.stop],
    ["capk", odaRefs(raw).capk, r.capk],
  ];
  if (r.pan !== null && pan) clear.push(["pan", maskPan(cnDigits(pan)), r.pan]);
  if (r.atc !== null && atc?.length === 2) clear.push(["atc", (atc[0] << 8) | atc[1], r.atc]);
  for (const [field, sealed, shown] of clear) {
    if (sealed !== shown) {
      ctx.f.add(
        "EVIDENCE_MISMATCH",
        `record n=${r.n} ${r.ref}: ${field} in clear (${JSON.stringify(shown)}) is not the ` +
          `sealed raw record's`,
        { ...at(r), field },
      );
    }
  }
  return { record: raw, detail: o.detail, acAmount: acAmountKey(v.get("9F26"), v.get("9F02")) };
}

function bytesOf(n: number, raw: RawRecord): BatchRecordBytes {
  try {
    return {
      seq: n,
      icc: fromHex(raw.icc, "icc"),
      oda: raw.oda ? fromHex(raw.oda.tlv, "oda.tlv") : undefined,
      staticData: raw.oda ? fromHex(raw.oda.staticData, "oda.staticData") : undefined,
      fare: raw.fare,
    };
  } catch {
    return { seq: n, icc: Uint8Array.of(0x9f), oda: raw.oda ? new Uint8Array(0) : undefined };
  }
}

const rank = (s: string) => RECORD_STATUSES.indexOf(s as RecordStatus);

/** Statuses a cryptogram check gives, which only issuer keys re-derive. */
const CRYPTOGRAM_SIDE = new Set(["AC_MISMATCH", "IDD_MAC_MISMATCH", "MISSING_DATA"]);

/** Compares a kernel result with the stored verdict; one finding per field that differs. */
function compare(ctx: RederiveContext, r: RecordLine, d: RecordResult, listed: boolean) {
  const claimed = r.verdict as { status?: string; detail?: Detail };
  const det: Detail = claimed.detail ?? {};
  const diff = (field: string, stored: unknown, derived: unknown) => {
    if ((stored ?? null) === (derived ?? null)) return;
    ctx.f.add(
      "VERDICT_MISMATCH",
      `record n=${r.n} ${r.ref}: ${field} is ${JSON.stringify(stored ?? null)} in the archive, ` +
        `${JSON.stringify(derived ?? null)} re-derived`,
      { ...at(r), field: `verdict.${field}` },
    );
  };
  ctx.stats.verdicts++;
  diff("oda", det.oda, d.oda);
  diff("odaMethod", det.odaMethod, d.odaMethod);
  diff("odaCheck", det.odaCheck, d.odaCheck);
  diff("cryptogramType", det.cryptogramType, d.cryptogramType);
  diff("atc", det.atc, d.atc);
  const found: RecordStatus[] = [d.status];
  if (det.duplicateOf) {
    found.push(
      claimed.status === "REPLAY_SUSPECT" || claimed.status === "DUPLICATE"
        ? claimed.status
        : "DUPLICATE",
    );
  }
  if (listed) found.push("DENYLISTED");
  if (ctx.keys) {
    ctx.stats.cryptograms++;
    diff("cryptogram", det.cryptogram, d.cryptogram);
    diff("profile", det.profile, d.profile);
    diff("keyId", det.keyId, d.keyId);
    diff("status", claimed.status, precedence(found));
    return;
  }
  // Without issuer keys the kernel checks no cryptogram: the stored status may outrank the
  // re-derived one only by a finding of the cryptogram check, taken from the archive.
  const derived = precedence(found);
  const stored = String(claimed.status);
  if (stored === derived) return;
  if (CRYPTOGRAM_SIDE.has(stored) && rank(stored) >= 0 && rank(stored) < rank(derived)) {
    ctx.stats.cryptogramClaims++;
    return;
  }
  diff("status", stored, derived);
}

/** Opens, verifies and compares the records of one segment; the opened evidence by n. */
export async function rederiveSegment(
  ctx: RederiveContext,
  records: readonly RecordLine[],
): Promise<Map<number, Opened>> {
  const opened = new Map<number, Opened>();
  if (!ctx.evidence) return opened;
  // The decryptions run together (WebCrypto works off the main thread); the checks in order.
  const ev = ctx.evidence;
  const plains = await Promise.all(records.map((r) => ev.open(String(r.ref), String(r.evidence))));
  records.forEach((r, i) => {
    const o = openOne(ctx, r, plains[i]);
    if (o) opened.set(r.n, o);
  });
  const verified = records.filter((r) => r.state === "verified" && opened.has(r.n));
  const groups = splitDistinct(
    verified,
    (r) => (r.cardHash && r.atc !== null ? `${r.cardHash}|${r.psn}|${r.atc}` : null),
  );
  for (const g of groups) {
    const results = verifyBatchBytes(
      g.map((r) => bytesOf(r.n, opened.get(r.n)!.record)),
      { keys: ctx.keys, capks: ctx.capks },
    );
    g.forEach((r, i) => {
      const listed = r.cardHash
        ? ctx.deny.listedAt(r.cardHash, r.denyListVersion, r.verifiedAt)
        : null;
      compare(ctx, r, results[i], listed !== null);
    });
  }
  return opened;
}

/** The DENYLISTED part of a stored verdict against the deny-list events. */
export function checkDenyListed(ctx: RederiveContext, r: RecordLine): void {
  if (r.state !== "verified" || !r.cardHash) return;
  const det = ((r.verdict as { detail?: Detail }).detail ?? {}) as Detail;
  const listed = ctx.deny.listedAt(r.cardHash, r.denyListVersion, r.verifiedAt);
  const stored = det.denyListed?.listedIn ?? null;
  if ((listed?.listedIn ?? null) !== stored) {
    ctx.f.add(
      "DENYLIST_MISMATCH",
      `record n=${r.n} ${r.ref}: listed in version ${stored ?? "none"} says the archive; the ` +
        `deny-list events give ${
          listed?.listedIn ?? "none"
        } at reported version ${r.denyListVersion}`,
      { ...at(r), field: "verdict.denyListed" },
    );
  }
}

/** The day's records by card and ATC, for the duplicate and replay findings. */
export class DuplicateCheck {
  readonly #groups = new Map<
    string,
    { id: number; n: number; ref: string; ac?: string; of?: string; status: string }[]
  >();
  readonly #refs = new Set<string>();
  outside = 0;

  add(r: RecordLine, o: Opened | undefined): void {
    this.#refs.add(r.ref);
    if (r.state !== "verified" || !r.cardHash || r.atc === null) return;
    const v = r.verdict as { status?: string; detail?: Detail };
    const dup = v.detail?.duplicateOf;
    const k = `${r.cardHash}|${r.psn ?? "00"}|${r.atc}`;
    const l = this.#groups.get(k) ?? [];
    l.push({
      id: r.id,
      n: r.n,
      ref: r.ref,
      ac: o?.acAmount,
      of: dup ? `${dup.terminalId}/${dup.batchNo}/${dup.seq}` : undefined,
      status: String(v.status),
    });
    this.#groups.set(k, l);
  }

  /** Checks every group once the whole day was read. */
  finish(f: Findings): void {
    for (const l of this.#groups.values()) {
      l.sort((a, b) => a.id - b.id);
      const first = l[0];
      for (const x of l) {
        const where = { record: { n: x.n, ref: x.ref }, field: "verdict.duplicateOf" };
        if (x === first) {
          if (x.of && this.#refs.has(x.of)) {
            f.add(
              "DUPLICATE_MISMATCH",
              `record n=${x.n} ${x.ref} is the first of its card and ATC, yet names ${x.of} as its original`,
              where,
            );
          } else if (x.of) this.outside++;
          continue;
        }
        if (!x.of) {
          f.add(
            "DUPLICATE_MISMATCH",
            `record n=${x.n} ${x.ref} repeats the card and ATC of ${first.ref} but is not a duplicate or replay in the archive`,
            where,
          );
        } else if (x.of !== first.ref && this.#refs.has(x.of)) {
          f.add(
            "DUPLICATE_MISMATCH",
            `record n=${x.n} ${x.ref} names ${x.of} as its original; the first is ${first.ref}`,
            where,
          );
        } else if (
          (x.status === "DUPLICATE" || x.status === "REPLAY_SUSPECT") && x.ac !== undefined &&
          first.ac !== undefined && x.of === first.ref &&
          duplicateStatus(first.ac, x.ac) !== x.status
        ) {
          f.add(
            "DUPLICATE_MISMATCH",
            `record n=${x.n} ${x.ref} is ${x.status} in the archive, ${
              duplicateStatus(first.ac, x.ac)
            } re-derived`,
            { ...where, field: "verdict.status" },
          );
        }
      }
    }
  }
}
