/**
 * The structure of one archive (docs/archive.md, "The chain and the signature"): lines grouped
 * into segments by their seals, each seal checked against its own bytes, against the previous
 * seal and against the lines it indexes; the head checked against what was read. When a
 * segment does not match its seal, the lines are matched to the index by digest so the
 * finding names what happened: a record changed (and which field), records reordered, a
 * record removed or added.
 */
import {
  FIELD_DIGEST_BYTES,
  fieldDigests,
  type HeadLine,
  openLine,
  RECORD_FIELDS,
  sha256Hex,
  sha256HexBatch,
  ZERO_HASH,
} from "../archive/format.ts";
import type { Findings } from "./findings.ts";
import type { Line } from "./lines.ts";

/** A content line: its bytes, its digest, and its object when it parses. */
export interface ContentLine {
  readonly no: number;
  readonly bytes: Uint8Array;
  digest: string;
  readonly obj: Record<string, unknown> | null;
  /** `t` of the object, or `?`. */
  readonly kind: string;
}

/** A segment read and checked against its seal. */
export interface Segment {
  readonly seg: number;
  readonly lines: ContentLine[];
  readonly sealOk: boolean;
}

const dec = new TextDecoder("utf-8", { fatal: true });
const KIND_NAMES: Record<string, string> = {
  A: "header",
  K: "keys",
  N: "deny list",
  L: "later entries",
  Z: "summary",
  R: "record",
};

/** UTF-8 text of a line, or null when it is not UTF-8. */
export function textOf(bytes: Uint8Array): string | null {
  try {
    return dec.decode(bytes);
  } catch {
    return null;
  }
}

function parseLine(l: Line, f: Findings): ContentLine {
  const text = textOf(l.bytes);
  let obj: Record<string, unknown> | null = null;
  if (text !== null) {
    try {
      const o = JSON.parse(text);
      if (o && typeof o === "object" && !Array.isArray(o) && typeof o.t === "string") obj = o;
    } catch { /* below */ }
  }
  if (!obj) {
    f.add("LINE_MALFORMED", `line ${l.no} is not ${text === null ? "UTF-8" : "a JSON line"}`, {
      line: l.no,
    });
  }
  return { no: l.no, bytes: l.bytes, digest: "", obj, kind: obj ? String(obj.t) : "?" };
}

function recordAt(c: ContentLine): { n: number; ref: string } | undefined {
  const o = c.obj;
  if (!o || o.t !== "R") return undefined;
  return { n: Number(o.n), ref: String(o.ref) };
}

/** The fields of a record line whose digests differ from an index entry's. */
function changedFields(c: ContentLine, entry: string): string[] {
  if (!c.obj) return ["(the line is not JSON)"];
  const mine = fieldDigests([c.obj])[0];
  const w = FIELD_DIGEST_BYTES * 2;
  const out: string[] = [];
  RECORD_FIELDS.forEach((name, i) => {
    if (mine.slice(i * w, i * w + w) !== entry.slice(64 + i * w, 64 + i * w + w)) out.push(name);
  });
  if (Object.keys(c.obj).length !== RECORD_FIELDS.length + 1) out.push("(keys added or removed)");
  return out.length ? out : ["(bytes changed, no value: an escape or spacing)"];
}

/** Reads the lines of one archive into checked segments. */
export class ChainReader {
  #content: ContentLine[] = [];
  #prev = ZERO_HASH;
  #seg = 0;
  #lines = 0;
  records = 0;
  head: (HeadLine & { hash: string; body: string }) | null = null;
  headLine = 0;
  after = 0;

  constructor(readonly f: Findings) {}

  /** The last seal's hash (what the head must name). */
  get last(): string {
    return this.#prev;
  }
  get segments(): number {
    return this.#seg;
  }
  get linesRead(): number {
    return this.#lines;
  }
  get pending(): number {
    return this.#content.length;
  }

  /** Takes one line; gives a segment when the line was its seal. */
  push(l: Line): Segment | null {
    if (this.head) {
      this.after++;
      if (this.after === 1) {
        this.f.add("DATA_AFTER_HEAD", `line ${l.no} follows the signed head`, { line: l.no });
      }
      return null;
    }
    if (!l.lf) {
      this.f.add("TRUNCATED", `the last line (${l.no}) has no LF: the file was cut`, {
        line: l.no,
      });
    }
    const start = l.bytes.subarray(0, 9);
    if (l.bytes[0] === 0x7b && textOf(start) === '{"t":"S",') return this.#seal(l);
    if (l.bytes[0] === 0x7b && textOf(start) === '{"t":"H",') {
      this.#head(l);
      return null;
    }
    this.#content.push(parseLine(l, this.f));
    return null;
  }

  #seal(l: Line): Segment {
    const seg = this.#seg++;
    const content = this.#content;
    this.#content = [];
    this.#lines += content.length + 1;
    const text = textOf(l.bytes) ?? "";
    const closed = openLine(text, "hash");
    let ok = true;
    let seal: { seg?: number; first?: number; prev?: string; lines?: number; index?: unknown } = {};
    if (!closed || sha256Hex(closed.body) !== closed.value) {
      this.f.add(
        "SEAL_ALTERED",
        `the seal of segment ${seg} (line ${l.no}) does not match its bytes`,
        {
          segment: seg,
          line: l.no,
        },
      );
      ok = false;
    }
    try {
      seal = JSON.parse(closed ? closed.body : text);
    } catch { /* an altered seal, named above */ }
    if (seal.prev !== this.#prev || seal.seg !== seg) {
      this.f.add(
        "CHAIN_BROKEN",
        `segment ${seg} (seal line ${l.no}) does not chain to segment ${seg - 1}: a segment ` +
          `was removed, added or altered before it`,
        { segment: seg, line: l.no },
      );
      ok = false;
    }
    if (closed) this.#prev = closed.value;
    const index = Array.isArray(seal.index) ? seal.index.map(String) : [];
    if (!this.#match(seg, content, index, Number(seal.first ?? 0))) ok = false;
    return { seg, lines: content, sealOk: ok };
  }

  /** Matches lines to index entries; names what differs. True when all match in order. */
  #match(seg: number, content: ContentLine[], index: string[], first: number): boolean {
    const digests = sha256HexBatch(content.map((c) => c.bytes));
    content.forEach((c, i) => (c.digest = digests[i]));
    if (content.length === index.length && content.every((c, i) => index[i].startsWith(c.digest))) {
      return true;
    }
    const at = new Map<string, number>();
    index.forEach((e, i) => at.set(e.slice(0, 64), i));
    const open = new Set(index.map((_, i) => i));
    const pos: (number | undefined)[] = content.map((c) => at.get(c.digest));
    pos.forEach((j) => j !== undefined && open.delete(j));
    // Lines that match nothing: the same record changed (its slot by n, else by position).
    const loose: ContentLine[] = [];
    content.forEach((c, i) => {
      if (pos[i] !== undefined) return;
      const rec = recordAt(c);
      const slot = rec && first > 0 && open.has(rec.n - first)
        ? rec.n - first
        : open.has(i)
        ? i
        : -1;
      if (slot < 0) {
        loose.push(c);
        return;
      }
      open.delete(slot);
      pos[i] = slot;
      if (c.kind === "R" || index[slot].length > 64) {
        const fields = changedFields(c, index[slot]);
        this.f.add(
          "RECORD_ALTERED",
          `record ${rec ? `n=${rec.n} ${rec.ref}` : `at line ${c.no}`} changed after sealing: ` +
            fields.join(", "),
          { segment: seg, line: c.no, record: rec, field: fields[0] },
        );
      } else {
        this.f.add(
          "LINE_ALTERED",
          `the ${KIND_NAMES[c.kind] ?? "line"} (line ${c.no}) changed after sealing`,
          { segment: seg, line: c.no },
        );
      }
    });
    for (const c of loose) {
      const rec = recordAt(c);
      this.f.add(
        "RECORD_ADDED",
        `line ${c.no} (${rec ? `record n=${rec.n} ${rec.ref}` : c.kind}) is not in the seal ` +
          `of segment ${seg}: added`,
        { segment: seg, line: c.no, record: rec },
      );
    }
    // Matched lines out of their sealed order.
    const moved: ContentLine[] = [];
    let high = -1;
    content.forEach((c, i) => {
      const j = pos[i];
      if (j === undefined) return;
      if (j < high) moved.push(c);
      high = Math.max(high, j);
    });
    if (moved.length) {
      this.f.add(
        "RECORDS_REORDERED",
        `segment ${seg}: ${
          moved.map((c) => recordAt(c)?.ref ?? `line ${c.no}`).join(", ")
        } stand(s) before record(s) sealed ahead of them`,
        { segment: seg, line: moved[0].no, record: recordAt(moved[0]) },
      );
    }
    for (const j of open) {
      const n = first > 0 ? first + j : 0;
      this.f.add(
        "RECORD_REMOVED",
        `segment ${seg}: the ${n ? `record n=${n}` : "line"} sealed at position ${
          j + 1
        } is missing`,
        { segment: seg, record: n ? { n, ref: "(removed)" } : undefined },
      );
    }
    return false;
  }

  #head(l: Line): void {
    this.headLine = l.no;
    const text = textOf(l.bytes) ?? "";
    const closed = openLine(text, "sig");
    let h: Partial<HeadLine> = {};
    try {
      h = JSON.parse(closed ? closed.body : text);
    } catch { /* below */ }
    if (!closed || typeof h.day !== "string") {
      this.f.add("SIGNATURE_INVALID", `the head (line ${l.no}) is not a signed head`, {
        line: l.no,
      });
      this.head = { ...(h as HeadLine), sig: "", hash: "", body: "" };
      return;
    }
    this.head = {
      ...(h as HeadLine),
      sig: closed.value,
      hash: sha256Hex(closed.body),
      body: closed.body,
    };
    if (this.#content.length) {
      this.f.add(
        "TRUNCATED",
        `${this.#content.length} line(s) before the head (line ${l.no}) have no seal`,
        { line: l.no },
      );
    }
  }
}
