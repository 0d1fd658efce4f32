/**
 * The key audit trail: one JSON line per key operation (who, what, key id + KCV, when,
 * result), each line carrying the SHA-256 of the previous line's hash and its own content,
 * so that changing, removing or reordering any line breaks the chain from there on.
 *
 * `hash = SHA-256(prev ‖ "\n" ‖ canonical JSON of the entry without "hash")`, with
 * `prev` the previous entry's hash (64 zeros for the first). The key store keeps the last
 * (seq, hash) it knew of under its own MAC, which anchors the chain against truncation.
 * Never log a key value: entries carry ids and KCVs only.
 */
import { createHash } from "node:crypto";

/** The chain value before the first entry. */
export const GENESIS = "0".repeat(64);

/** One audit entry as stored. */
export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  op: string;
  keyId?: string;
  kcv?: string;
  result: "ok" | "refused" | "failed";
  detail?: string;
  prev: string;
  hash: string;
}

/** What a caller supplies; seq, prev and hash are filled in. */
export type AuditEvent = Omit<AuditEntry, "seq" | "prev" | "hash" | "at"> & { at?: string };

/** JSON with keys in sorted order, so the hash does not depend on property order. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return "[" + v.map(canonicalJson).join(",") + "]";
  const o = v as Record<string, unknown>;
  return "{" +
    Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) =>
      JSON.stringify(k) + ":" + canonicalJson(o[k])
    ).join(",") + "}";
}

/** The hash of an entry (its `hash` field ignored). */
export function entryHash(e: Omit<AuditEntry, "hash">): string {
  const { seq, at, actor, op, keyId, kcv, result, detail, prev } = e;
  const body = canonicalJson({ seq, at, actor, op, keyId, kcv, result, detail, prev });
  return createHash("sha256").update(prev + "\n" + body).digest("hex");
}

/** Result of verifying a trail. */
export interface AuditVerdict {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string };
  /** First problem found, with the 1-based line number. */
  problem?: { line: number; message: string };
}

/** Reads and parses every entry; a line that is not JSON is reported by `verifyAudit`. */
async function readLines(path: string): Promise<string[]> {
  try {
    const text = await Deno.readTextFile(path);
    return text.split("\n").filter((l) => l.length > 0);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

/**
 * Verifies the chain in `path`; when `anchor` is given (the head recorded in the key store),
 * the chain must contain it (a log cut short or rewritten before the anchor is a break).
 */
export async function verifyAudit(
  path: string,
  anchor?: { seq: number; hash: string },
): Promise<AuditVerdict> {
  const lines = await readLines(path);
  let prev = GENESIS;
  let seq = 0;
  let anchorSeen = !anchor || anchor.seq === 0;
  for (let i = 0; i < lines.length; i++) {
    let e: AuditEntry;
    try {
      e = JSON.parse(lines[i]);
    } catch {
      return fail(i + 1, "line is not JSON");
    }
    if (e.seq !== seq + 1) return fail(i + 1, `sequence ${e.seq} where ${seq + 1} was expected`);
    if (e.prev !== prev) return fail(i + 1, "prev does not match the previous entry's hash");
    if (entryHash(e) !== e.hash) return fail(i + 1, "hash does not match the entry's content");
    prev = e.hash;
    seq = e.seq;
    if (anchor && e.seq === anchor.seq) {
      if (e.hash !== anchor.hash) {
        return fail(i + 1, "entry differs from the head anchored in the key store");
      }
      anchorSeen = true;
    }
  }
  if (!anchorSeen) {
    return fail(
      lines.length,
      `the key store anchors entry ${anchor!.seq} but the log ends at ${seq} (truncated)`,
    );
  }
  return { ok: true, entries: lines.length, head: { seq, hash: prev } };

  function fail(line: number, message: string): AuditVerdict {
    return {
      ok: false,
      entries: lines.length,
      head: { seq, hash: prev },
      problem: { line, message },
    };
  }
}

/** Reads the last entry's (seq, hash) without verifying (appending continues from it). */
export async function auditHead(path: string): Promise<{ seq: number; hash: string }> {
  const lines = await readLines(path);
  if (lines.length === 0) return { seq: 0, hash: GENESIS };
  const last = JSON.parse(lines[lines.length - 1]) as AuditEntry;
  return { seq: last.seq, hash: last.hash };
}

/** Appends entries (one canonical JSON line each) with O_APPEND, then fsync. */
export async function appendEntries(path: string, entries: AuditEntry[]): Promise<void> {
  const f = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  try {
    const line = new TextEncoder().encode(entries.map((e) => canonicalJson(e) + "\n").join(""));
    let off = 0;
    while (off < line.length) off += await f.write(line.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
}

/**
 * The writing end of a trail: builds each next entry from the head it knows (the last line of
 * the log, refusals included) and moves the head on.
 */
export class AuditWriter {
  /** The last entry's (seq, hash) as this writer knows it. */
  head = { seq: 0, hash: GENESIS };

  constructor(readonly path: string, readonly actor: string) {}

  /** Re-reads the head from the log (another process may have appended). */
  async refresh(): Promise<void> {
    this.head = await auditHead(this.path);
  }

  /** The next entry after the head (not yet written); the head moves to it. */
  next(ev: Omit<AuditEvent, "actor">): AuditEntry {
    const base = {
      seq: this.head.seq + 1,
      at: ev.at ?? new Date().toISOString(),
      actor: this.actor,
      op: ev.op,
      keyId: ev.keyId,
      kcv: ev.kcv,
      result: ev.result,
      detail: ev.detail,
      prev: this.head.hash,
    };
    const entry: AuditEntry = { ...base, hash: entryHash(base) };
    this.head = { seq: entry.seq, hash: entry.hash };
    return entry;
  }

  /** Refreshes the head, then appends one event and returns the stored entry. */
  async append(ev: Omit<AuditEvent, "actor">): Promise<AuditEntry> {
    await this.refresh();
    const e = this.next(ev);
    await appendEntries(this.path, [e]);
    return e;
  }
}

/** Appends one event to the trail (O_APPEND, then fsync) and returns the stored entry. */
export async function appendAudit(path: string, ev: AuditEvent): Promise<AuditEntry> {
  return await new AuditWriter(path, ev.actor).append(ev);
}
