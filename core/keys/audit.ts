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
import { HINTS, KeyStoreError } from "./errors.ts";

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

/**
 * An officer's acknowledgement of a broken trail (`icfare keys audit-ack`): the log's first
 * `lines` lines, whose bytes hash (SHA-256) to `prefixHash`, are taken as they stand, break
 * included; the chain goes on from entry `seq`, whose `prev` is `prefixHash`. The store keeps
 * the latest acknowledgement under its MAC, so the acknowledged part cannot change unseen.
 */
export interface AuditAck {
  lines: number;
  prefixHash: string;
  seq: number;
  problem: { line: number; message: string };
  by: string;
  at: string;
  reason: string;
}

/** Result of verifying a trail. */
export interface AuditVerdict {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string };
  /** First problem found, with the 1-based line number. */
  problem?: { line: number; message: string };
  /** The acknowledged break the chain was verified past, if any. */
  acknowledged?: AuditAck;
}

/** The log's text ("" when there is none yet). */
async function readLog(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

/** The log's lines as stored (a blank line is a line, and not JSON). */
function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** SHA-256 (hex) of the first `n` lines of `lines`, each with its newline. */
export function prefixHash(lines: string[], n: number): string {
  const h = createHash("sha256");
  for (let i = 0; i < n; i++) h.update(lines[i] + "\n");
  return h.digest("hex");
}

/**
 * Verifies the chain in `path`; when `anchor` is given (the head recorded in the key store),
 * the chain must contain it (a log cut short or rewritten before the anchor is a break). With
 * `ack`, the acknowledged first lines must be byte for byte as acknowledged, and the chain is
 * verified from there on.
 */
export async function verifyAudit(
  path: string,
  anchor?: { seq: number; hash: string },
  ack?: AuditAck,
): Promise<AuditVerdict> {
  const lines = linesOf(await readLog(path));
  let prev = GENESIS;
  let seq = 0;
  let start = 0;
  let anchorSeen = !anchor || anchor.seq === 0;
  if (ack) {
    if (lines.length < ack.lines || prefixHash(lines, ack.lines) !== ack.prefixHash) {
      return fail(
        Math.min(lines.length, ack.lines),
        "the acknowledged part of the log has changed since it was acknowledged",
      );
    }
    start = ack.lines;
    prev = ack.prefixHash;
    seq = ack.seq - 1;
  }
  for (let i = start; i < lines.length; i++) {
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
  return { ok: true, entries: lines.length, head: { seq, hash: prev }, acknowledged: ack };

  function fail(line: number, message: string): AuditVerdict {
    return {
      ok: false,
      entries: lines.length,
      head: { seq, hash: prev },
      problem: { line, message },
      acknowledged: ack,
    };
  }
}

/**
 * Reads the last entry's (seq, hash) without verifying (appending continues from it); a last
 * line that is not an entry is refused (`AUDIT_BROKEN`): nothing is chained onto it.
 */
export async function auditHead(path: string): Promise<{ seq: number; hash: string }> {
  const lines = linesOf(await readLog(path));
  if (lines.length === 0) return { seq: 0, hash: GENESIS };
  try {
    const last = JSON.parse(lines[lines.length - 1]) as AuditEntry;
    if (typeof last.seq === "number" && typeof last.hash === "string") {
      return { seq: last.seq, hash: last.hash };
    }
  } catch {
    // fall through
  }
  throw new KeyStoreError(
    "AUDIT_BROKEN",
    `the last line of ${path} is not an audit entry; nothing is chained onto it`,
    { hint: HINTS.audit },
  );
}

/** The log's lines as stored, for an acknowledgement. */
export async function auditLines(path: string): Promise<string[]> {
  return linesOf(await readLog(path));
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
