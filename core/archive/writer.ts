/**
 * Writes the lines of an archive in order, sealing each segment and signing the head
 * (docs/archive.md, "The chain and the signature"). Pure: the caller gives the lines' content
 * and a sink for the text, so the archive command, the tests' forgers and the benchmark's
 * synthetic archives all write through the same code.
 */
import {
  ARCHIVE_FORMAT,
  type DenyLine,
  headBody,
  type HeaderLine,
  hexl,
  indexOf,
  type KeysLine,
  type LaterLine,
  type RecordLine,
  sealLine,
  type SummaryLine,
  ZERO_HASH,
} from "./format.ts";

const enc = new TextEncoder();

/** What the head is signed with: the signer's identity and a signature of the bytes. */
export interface HeadSigner {
  readonly keyId: string;
  readonly algorithm: "sm2" | "ecdsa-p256";
  readonly kcv: string;
  sign(message: Uint8Array): Uint8Array;
}

/** What a finished archive says of itself. */
export interface WrittenArchive {
  readonly segments: number;
  readonly records: number;
  readonly lines: number;
  /** The head hash the next day chains to. */
  readonly head: string;
}

/** The record line as text, its keys in the documented order. */
export function recordText(r: RecordLine): string {
  return JSON.stringify({
    t: "R",
    n: r.n,
    id: r.id,
    ref: r.ref,
    merchant: r.merchant,
    receivedAt: r.receivedAt,
    denyListVersion: r.denyListVersion,
    tappedAt: r.tappedAt,
    tapDay: r.tapDay,
    line: r.line,
    vehicle: r.vehicle,
    stop: r.stop,
    fare: r.fare,
    model: r.model,
    pan: r.pan,
    psn: r.psn,
    atc: r.atc,
    cardHash: r.cardHash,
    capk: r.capk,
    state: r.state,
    verifiedAt: r.verifiedAt,
    verdict: r.verdict,
    clearing: r.clearing,
    entry: r.entry,
    postings: r.postings,
    evidence: r.evidence,
  });
}

/** Streams an archive: `start`, `record` × n in order, `finish`. */
export class ArchiveWriter {
  #prev = ZERO_HASH;
  #seg = 0;
  #lines = 0;
  #records = 0;
  #pending: RecordLine[] = [];
  #done = false;

  constructor(
    readonly header: HeaderLine,
    readonly out: (text: string) => Promise<void>,
    readonly signer: HeadSigner,
  ) {
    if (header.segmentRecords < 1) throw new RangeError("segmentRecords must be ≥ 1");
  }

  /** Segment 0: header, keys, deny list. */
  async start(keys: KeysLine, deny: DenyLine): Promise<void> {
    await this.#segment([JSON.stringify(this.header), JSON.stringify(keys), JSON.stringify(deny)]);
  }

  /** One record, in the archive's order (n = 1, 2, …). */
  async record(r: RecordLine): Promise<void> {
    if (this.#done) throw new Error("archive already finished");
    if (r.n !== this.#records + this.#pending.length + 1) {
      throw new Error(`record n=${r.n} out of order`);
    }
    this.#pending.push(r);
    if (this.#pending.length === this.header.segmentRecords) await this.#flushRecords();
  }

  async #flushRecords(): Promise<void> {
    if (this.#pending.length === 0) return;
    const recs = this.#pending;
    this.#pending = [];
    await this.#segment(recs.map(recordText), recs);
    this.#records += recs.length;
  }

  async #segment(texts: string[], records?: RecordLine[]): Promise<void> {
    const index = indexOf(texts.map((t) => enc.encode(t)), records);
    const seal = sealLine({
      seg: this.#seg,
      first: records ? records[0].n : 0,
      prev: this.#prev,
      lines: texts.length,
      index,
    });
    await this.out(texts.join("\n") + "\n" + seal.text + "\n");
    this.#prev = seal.hash;
    this.#seg++;
    this.#lines += texts.length + 1;
  }

  /** The last segment (later entries, summary) and the signed head. */
  async finish(later: LaterLine, summary: SummaryLine): Promise<WrittenArchive> {
    await this.#flushRecords();
    await this.#segment([JSON.stringify(later), JSON.stringify(summary)]);
    this.#done = true;
    const { body, hash } = headBody({
      format: ARCHIVE_FORMAT,
      day: this.header.day,
      segments: this.#seg,
      records: this.#records,
      lines: this.#lines,
      last: this.#prev,
      previous: this.header.previous,
      signer: { keyId: this.signer.keyId, algorithm: this.signer.algorithm, kcv: this.signer.kcv },
    });
    const sig = hexl(this.signer.sign(enc.encode(body)));
    await this.out(`${body.slice(0, -1)},"sig":"${sig}"}\n`);
    return { segments: this.#seg, records: this.#records, lines: this.#lines + 1, head: hash };
  }
}
