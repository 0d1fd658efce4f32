/**
 * `icfare audit` (docs/archive.md, "What audit checks"): re-verifies sealed archives offline,
 * with no store and no key store, from the archive bytes and what the auditor brings — their
 * evidence key, the trusted signing keys, and optionally the issuer keys. No Deno API: the
 * command line and the browser page feed it byte streams and show its report.
 */
import { CapkImportError, CapkRegistry } from "../emv/capk.ts";
import type { EnumerableKeySource } from "../emv/batch.ts";
import { fromHex } from "../hex.ts";
import { openForAuditor } from "../archive/evidence.ts";
import {
  ARCHIVE_FORMAT,
  type DenyLine,
  type HeaderLine,
  kernelHash,
  type KeysLine,
  type LaterLine,
  type RecordLine,
  type SummaryLine,
} from "../archive/format.ts";
import { compareRefs } from "../archive/format.ts";
import { type Finding, Findings } from "./findings.ts";
import { ChainReader, type Segment } from "./chain.ts";
import { linesOf } from "./lines.ts";
import { checkHead, checkLinks, type TrustedSigner } from "./head.ts";
import {
  checkDenyListed,
  DenyIndex,
  DuplicateCheck,
  type RederiveContext,
  rederiveSegment,
} from "./rederive.ts";
import { Books } from "./books.ts";

/** One archive to audit: a name for the report and its bytes as a stream. */
export interface AuditInput {
  readonly name: string;
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Bytes in all (progress). */
  readonly size?: number;
}

export interface AuditOptions {
  /** The auditor's P-256 private key: opens the sealed evidence. */
  readonly auditorKey?: Uint8Array;
  /** Issuer keys (`--keys`): the cryptograms are re-derived too. */
  readonly issuerKeys?: EnumerableKeySource;
  /** Signing keys the auditor trusts; the head must be signed by one of them. */
  readonly signers?: readonly TrustedSigner[];
  /** Bytes read of all inputs, and their total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The audit of one archive. */
export interface DayReport {
  readonly name: string;
  readonly day: string;
  readonly clean: boolean;
  readonly records: number;
  readonly segments: number;
  readonly head: string | null;
  readonly previous: { day: string; head: string } | null;
  readonly signer: { keyId: string; algorithm: string; kcv: string } | null;
  readonly kernel: { archived: string | null; used: string };
  readonly checked: {
    chain: boolean;
    evidenceOpened: number;
    verdicts: number;
    cryptograms: number;
    cryptogramClaims: number;
    duplicatesOutside: number;
    clearing: number;
    trailerSha256: boolean;
  };
  readonly failures: number;
  readonly findings: Finding[];
  /** Findings left out of the list, by code. */
  readonly omitted: Record<string, number>;
}

export interface AuditReport {
  readonly clean: boolean;
  readonly days: DayReport[];
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
}

/** The state of one archive's audit while its lines are read. */
class DayAudit {
  readonly f: Findings;
  readonly chain: ChainReader;
  header: HeaderLine | null = null;
  keys: KeysLine | null = null;
  summary: SummaryLine | null = null;
  ctx: RederiveContext | null = null;
  books: Books | null = null;
  readonly dups = new DuplicateCheck();
  records = 0;
  #nextN = 1;
  #lastRef = "";

  constructor(readonly name: string, readonly o: AuditOptions) {
    this.f = new Findings(name);
    this.chain = new ChainReader(this.f);
  }

  /** Segment 0: header, keys, deny list. */
  async preamble(s: Segment): Promise<void> {
    const [a, k, n] = s.lines.map((l) => l.obj);
    if (a?.t !== "A" || a.format !== ARCHIVE_FORMAT) {
      this.f.add("NOT_AN_ARCHIVE", `${this.name} does not start with an ${ARCHIVE_FORMAT} header`, {
        line: 1,
      });
      return;
    }
    this.header = a as unknown as HeaderLine;
    this.f.day = this.header.day;
    this.keys = k?.t === "K" ? k as unknown as KeysLine : null;
    const deny = n?.t === "N" ? (n as unknown as DenyLine).events : [];
    this.books = new Books(this.header, this.f);
    let evidence = null;
    if (this.o.auditorKey) {
      evidence = await openForAuditor(
        this.o.auditorKey,
        this.header.day,
        this.header.evidence.recipients,
      );
      if (!evidence) {
        this.f.add(
          "EVIDENCE_UNOPENED",
          `the evidence is not sealed for this auditor key (it is for KCV ${
            this.header.evidence.recipients.map((r) => r.kcv).join(", ")
          }): nothing is re-derived from it`,
          { field: "header.evidence" },
        );
      }
    }
    this.ctx = {
      evidence,
      capks: this.#capks(),
      keys: this.o.issuerKeys,
      deny: new DenyIndex(deny),
      f: this.f,
      stats: { opened: 0, verdicts: 0, cryptograms: 0, cryptogramClaims: 0 },
    };
  }

  #capks(): CapkRegistry {
    const reg = new CapkRegistry();
    for (const c of this.keys?.capks ?? []) {
      if (c.state !== "active") continue;
      try {
        reg.add({
          rid: c.rid,
          index: c.index,
          algorithm: c.algorithm,
          modulus: c.modulus ? fromHex(c.modulus) : undefined,
          exponent: c.exponent ? fromHex(c.exponent) : undefined,
          publicKey: c.publicKey ? fromHex(c.publicKey) : undefined,
          expiry: c.expiry,
          checksum: fromHex(c.checksum),
        });
      } catch (e) {
        if (!(e instanceof CapkImportError || e instanceof SyntaxError)) throw e;
        this.f.add("CAPK_INVALID", `CA key ${c.rid}/${c.index}: ${e.message}`, {
          field: "keys.capks",
        });
      }
    }
    for (const r of this.keys?.revoked ?? []) reg.revoke(r.rid, r.index, r.serial);
    return reg;
  }

  /** A segment of records: order, evidence and verdicts, deny list, books. */
  async records_(s: Segment): Promise<void> {
    const recs = s.lines.filter((l) => l.obj?.t === "R").map((l) => l.obj as unknown as RecordLine);
    for (const r of recs) {
      if (r.n !== this.#nextN || (this.#lastRef && compareRefs(this.#lastRef, r.ref) >= 0)) {
        if (s.sealOk) {
          this.f.add(
            "ORDER_BROKEN",
            `record n=${r.n} ${r.ref} follows n=${this.#nextN - 1} ${this.#lastRef}: out of the ` +
              `archive's order`,
            { segment: s.seg, record: { n: r.n, ref: r.ref }, field: "n" },
          );
        }
      }
      this.#nextN = Number(r.n) + 1;
      this.#lastRef = String(r.ref);
    }
    this.records += recs.length;
    if (!this.ctx || !this.books) return;
    const ctx = this.ctx, books = this.books;
    const opened =
      await this.guard(`segment ${s.seg}`, { segment: s.seg }, () => rederiveSegment(ctx, recs)) ??
        new Map();
    for (const r of recs) {
      await this.guard(`record n=${r.n}`, {
        segment: s.seg,
        record: { n: Number(r.n), ref: String(r.ref) },
      }, () => {
        checkDenyListed(ctx, r);
        this.dups.add(r, opened.get(r.n));
        books.record(r, opened.get(r.n));
      });
    }
  }

  /**
   * Runs a check over data that may have been tampered with: a value of the wrong shape makes
   * a check throw, which is a finding (the archive is not what icfare writes), never a crash.
   */
  async guard<T>(
    what: string,
    at: Omit<Finding, "code" | "severity" | "message">,
    fn: () => T | Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      this.f.add(
        "LINE_MALFORMED",
        `${what} cannot be read as icfare wrote it: ${(e as Error).message}`,
        at,
      );
      return undefined;
    }
  }

  /** The last segment: later entries and the summary. */
  closing(s: Segment): void {
    for (const l of s.lines) {
      if (l.obj?.t === "L") this.books?.later(l.obj as unknown as LaterLine);
      if (l.obj?.t === "Z") this.summary = l.obj as unknown as SummaryLine;
    }
  }

  async segment(s: Segment): Promise<void> {
    const at = { segment: s.seg };
    if (s.seg === 0) return void await this.guard("the header", at, () => this.preamble(s));
    if (s.lines.some((l) => l.kind === "Z" || l.kind === "L")) {
      return void await this.guard("the summary", at, () => this.closing(s));
    }
    await this.records_(s);
  }

  async finish(): Promise<DayReport> {
    const h = this.header;
    const head = await this.guard(
      "the head",
      {},
      () => checkHead(this.f, this.chain, h, this.records, this.o.signers ?? []),
    ) ?? null;
    const stats = this.ctx?.stats ??
      { opened: 0, verdicts: 0, cryptograms: 0, cryptogramClaims: 0 };
    const books = this.books, summary = this.summary;
    if (summary && books) {
      await this.guard(
        "the summary",
        { field: "summary" },
        () => books.finish(summary, !!this.ctx?.evidence),
      );
    } else if (h) {
      this.f.add("TRUNCATED", "no summary line: the day's totals cannot be re-derived", {
        field: "summary",
      });
    }
    await this.guard("the duplicates", {}, () => this.dups.finish(this.f));
    await this.guard("the notes", {}, () => this.#notes(stats));
    return {
      name: this.name,
      day: h?.day ?? "?",
      clean: this.f.failures === 0,
      records: this.records,
      segments: this.chain.segments,
      head,
      previous: h?.previous ?? null,
      signer: h
        ? { keyId: h.signer.keyId, algorithm: h.signer.algorithm, kcv: h.signer.kcv }
        : null,
      kernel: { archived: h?.kernel ?? null, used: kernelHash() },
      checked: {
        chain: this.f.failures === 0,
        evidenceOpened: stats.opened,
        verdicts: stats.verdicts,
        cryptograms: stats.cryptograms,
        cryptogramClaims: stats.cryptogramClaims,
        duplicatesOutside: this.dups.outside,
        clearing: this.books?.records ?? 0,
        trailerSha256: !!this.ctx?.evidence && !!this.books?.trailerChecked,
      },
      failures: this.f.failures,
      findings: this.f.list,
      omitted: this.f.omitted(),
    };
  }

  #notes(stats: RederiveContext["stats"]): void {
    const h = this.header;
    if (!h) return;
    if (h.kernel !== kernelHash()) {
      this.f.add(
        "KERNEL_DIFFERS",
        `verified by kernel ${h.kernel.slice(0, 16)}…, re-derived by ${kernelHash().slice(0, 16)}…`,
      );
    }
    if (!this.o.auditorKey) {
      this.f.add(
        "NOT_CHECKED",
        "ODA and cryptogram verdicts, the evidence and the trailer's SHA-256 were not " +
          "re-derived: the evidence is sealed (give --auditor-key)",
      );
    } else if (!this.o.issuerKeys) {
      this.f.add(
        "NOT_CHECKED",
        `cryptograms were not re-derived (no --keys): ${stats.cryptogramClaims} verdict(s) ` +
          `rest on a cryptogram finding taken from the archive`,
      );
    }
    if (this.dups.outside) {
      this.f.add(
        "NOT_CHECKED",
        `${this.dups.outside} duplicate(s) name an original of another day (audit that day too)`,
      );
    }
  }
}

/** Audits one archive. */
async function auditOne(
  input: AuditInput,
  o: AuditOptions,
  progress: (bytes: number) => void,
): Promise<DayReport> {
  const d = new DayAudit(input.name, o);
  for await (const line of linesOf(input.chunks)) {
    const seg = d.chain.push(line);
    if (seg) await d.segment(seg);
    progress(line.offset);
  }
  return await d.finish();
}

/** Audits archives (one per day, any order); days given together are checked as a chain. */
export async function auditArchives(
  inputs: readonly AuditInput[],
  o: AuditOptions = {},
): Promise<AuditReport> {
  const t0 = performance.now();
  const total = inputs.reduce((s, i) => s + (i.size ?? 0), 0);
  let before = 0, lastTick = 0;
  const days: DayReport[] = [];
  const links = [];
  for (const input of inputs) {
    const r = await auditOne(input, o, (bytes) => {
      if (bytes - lastTick >= 1 << 20 || bytes === input.size) {
        lastTick = bytes;
        o.onProgress?.(before + bytes, total);
      }
    });
    before += input.size ?? 0;
    lastTick = 0;
    days.push(r);
  }
  const byName = new Map<DayReport, Findings>();
  for (const r of days) {
    const f = new Findings(r.day);
    byName.set(r, f);
    links.push({
      day: r.day,
      head: r.head,
      previous: r.previous,
      signerKcv: r.signer?.kcv ?? null,
      f,
    });
  }
  checkLinks(links);
  const merged = days.map((r) => {
    const f = byName.get(r)!;
    const failures = r.failures + f.failures;
    return { ...r, findings: [...r.findings, ...f.list], failures, clean: failures === 0 };
  });
  const seconds = (performance.now() - t0) / 1000;
  const records = merged.reduce((s, r) => s + r.records, 0);
  return {
    clean: merged.every((r) => r.clean),
    days: merged,
    records,
    seconds,
    recordsPerSecond: seconds > 0 ? Math.round(records / seconds) : 0,
  };
}
