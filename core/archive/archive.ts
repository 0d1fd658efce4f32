/**
 * `icfare archive --date DAY` (docs/archive.md): seals a closed settlement day into one file,
 * `HOME/archive/icfare-archive-DAY.jsonl`, chained to the previous archived day and signed by
 * the key store's `archive-sign` key. Archiving a day again rebuilds it and compares: the same
 * content leaves the sealed file as it is (so the bytes never change); different content is
 * refused, because a closed day must not change.
 *
 * Days are archived in order: a day after an archived one is refused until the days between
 * that were closed are archived too (the chain of heads follows the settlement days).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { SqlDb } from "../store/sql.ts";
import type { KeyStore } from "../keys/store.ts";
import { openSigner } from "../keys/signing.ts";
import { DevPanProtector } from "../store/pan.ts";
import { checkDay, dayState, daySummary } from "../clearing/clear.ts";
import { clearingKeyOf } from "../clearing/clearing_key.ts";
import { checkTrailer, openSealed } from "../clearing/clearing_file.ts";
import { readSettings } from "../clearing/settings.ts";
import { JournalDenyList } from "../denylist/journal.ts";
import { ArchiveError } from "./auditor_key.ts";
import { readAuditors } from "./auditors.ts";
import { recordLines, scanDay } from "./collect.ts";
import { sealForAuditors } from "./evidence.ts";
import {
  ARCHIVE_FORMAT,
  archiveName,
  type DenyLine,
  type HeaderLine,
  type HeadLine,
  ICFARE_VERSION,
  kernelHash,
  type KeysLine,
  type LaterLine,
  openLine,
  SEGMENT_RECORDS,
  sha256Hex,
  type SummaryLine,
} from "./format.ts";
import { ArchiveWriter } from "./writer.ts";
import { fileSha256, lastLine, sameArchive, withDayLock } from "./files.ts";

type Row = Record<string, unknown>;

export interface ArchiveOptions {
  readonly home: string;
  readonly day: string;
  readonly db: SqlDb;
  readonly ks: KeyStore;
  /** The sealed clearing file of the day (default HOME/clearing/DAY/clearing-DAY.icfc). */
  readonly clearingFile?: string;
  /** Records per segment (default 1,000; tests use small ones). */
  readonly segmentRecords?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ArchiveResult {
  readonly day: string;
  readonly file: string;
  readonly state: "written" | "unchanged";
  readonly bytes: number;
  readonly sha256: string;
  readonly records: number;
  readonly segments: number;
  /** The head hash the next day chains to. */
  readonly head: string;
  readonly previous: { day: string; head: string } | null;
  readonly signer: { keyId: string; algorithm: string; kcv: string };
  readonly auditors: string[];
}

/** Archived days in a home's archive directory, ascending. */
export async function archivedDays(dir: string): Promise<string[]> {
  const days: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = /^icfare-archive-(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(e.name);
      if (m && e.isFile) days.push(m[1]);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return days.sort();
}

/** The head hash of an archive file (its last line), or a refusal naming the file. */
export async function headOf(file: string): Promise<{ day: string; head: string }> {
  const { line, head } = await signedHead(file);
  return { day: line.day, head };
}

/** The signed head line of an archive file and its hash (structure only, not the signature). */
async function signedHead(file: string): Promise<{ line: HeadLine; head: string }> {
  const closed = openLine(await lastLine(file), "sig");
  let line: HeadLine | undefined;
  try {
    line = closed ? JSON.parse(closed.body) : undefined;
  } catch { /* below */ }
  if (!closed || typeof line?.day !== "string") {
    throw new ArchiveError(
      "ARCHIVE_PREVIOUS_BROKEN",
      `${file}: no signed head; the chain cannot go on from it`,
      `icfare audit ${file}`,
    );
  }
  return { line, head: sha256Hex(closed.body) };
}

/** One archived day as `icfare archive list` and the console show it. */
export interface ArchivedDay {
  readonly day: string;
  /** The file's name in the archive directory. */
  readonly file: string;
  readonly bytes: number;
  /** The head hash (of the signed head line), or null with `problem` when it has none. */
  readonly head: string | null;
  readonly records: number | null;
  readonly previous: { readonly day: string; readonly head: string } | null;
  readonly signer:
    | { readonly keyId: string; readonly algorithm: string; readonly kcv: string }
    | null;
  /**
   * Whether the head names the listed day before it and that day's head (null for the first
   * listed day). A structural reading only: `icfare audit` checks the signatures and the seals.
   */
  readonly linked: boolean | null;
  readonly problem?: string;
}

/** The archived days of a home's archive directory with their heads, ascending. */
export async function listArchive(dir: string): Promise<ArchivedDay[]> {
  const out: ArchivedDay[] = [];
  for (const day of await archivedDays(dir)) {
    const file = archiveName(day);
    const path = join(dir, file);
    const bytes = (await Deno.stat(path)).size;
    const before = out[out.length - 1];
    try {
      const { line: h, head } = await signedHead(path);
      const linked = before
        ? h.previous?.day === before.day && h.previous.head === before.head
        : null;
      out.push({
        day,
        file,
        bytes,
        head,
        records: h.records ?? null,
        previous: h.previous ?? null,
        signer: h.signer ?? null,
        linked,
      });
    } catch (e) {
      if (!(e instanceof ArchiveError)) throw e;
      out.push({
        day,
        file,
        bytes,
        head: null,
        records: null,
        previous: null,
        signer: null,
        linked: before ? false : null,
        problem: e.message,
      });
    }
  }
  return out;
}

/** The previous archived day of `day`, after the order and gap checks. */
async function previousOf(o: ArchiveOptions, dir: string, days: string[]) {
  const before = days.filter((d) => d < o.day);
  if (!days.includes(o.day) && days.some((d) => d > o.day)) {
    throw new ArchiveError(
      "ARCHIVE_ORDER",
      `${days[days.length - 1]} is already archived; ${o.day} comes before it`,
      "days are archived in order",
    );
  }
  const prev = before.length ? before[before.length - 1] : null;
  const gap = days.includes(o.day) ? undefined : o.db.prepare(
    `SELECT day FROM settlement_days WHERE state = 'closed' AND day < ? AND day > ?
     ORDER BY day LIMIT 1`,
  ).get(o.day, prev ?? "") as Row | undefined;
  if (gap) {
    throw new ArchiveError(
      "ARCHIVE_GAP",
      `closed day ${gap.day} is not archived yet; archive it before ${o.day}`,
      `icfare archive --date ${gap.day}`,
    );
  }
  return prev ? await headOf(join(dir, archiveName(prev))) : null;
}

/** The clearing file's detail lines by ref, its trailer and the sealed file's SHA-256. */
async function clearingFileOf(o: ArchiveOptions) {
  const path = o.clearingFile ?? join(o.home, "clearing", o.day, `clearing-${o.day}.icfc`);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new ArchiveError(
      "ARCHIVE_NO_CLEARING_FILE",
      `no clearing file ${path}`,
      `icfare clear --date ${o.day} (or give --clearing-file)`,
    );
  }
  const key = await clearingKeyOf(o.ks);
  const { text } = await openSealed(bytes, key);
  const trailer = checkTrailer(text);
  const details = new Map<string, string>();
  for (const l of text.split("\n").slice(1, -2)) details.set(JSON.parse(l).ref, l);
  return { name: path.split("/").pop()!, sha256: sha256Hex(bytes), trailer, details };
}

/** The `K` line: the day's CA keys and revocations, issuer certificates and issuer key ids. */
function keysLine(ks: KeyStore, scan: Awaited<ReturnType<typeof scanDay>>): KeysLine {
  const capks = ks.capkList().filter((c) => scan.capks.has(`${c.rid}/${c.index}`))
    .sort((a, b) => (a.rid + a.index < b.rid + b.index ? -1 : 1));
  return {
    t: "K",
    capks: capks.map((c) => ({
      rid: c.rid,
      index: c.index,
      algorithm: c.algorithm,
      ...(c.modulus ? { modulus: c.modulus, exponent: c.exponent } : { publicKey: c.publicKey }),
      expiry: c.expiry,
      checksum: c.checksum,
      state: c.state,
    })),
    revoked: capks.flatMap((c) =>
      [...c.revokedSerials].sort().map((serial) => ({ rid: c.rid, index: c.index, serial }))
    ),
    issuerCerts: [...scan.issuerCerts.values()].sort((a, b) =>
      a.capk + a.cert < b.capk + b.cert ? -1 : 1
    ),
    issuerKeys: ks.list().keys.filter((k) => scan.keyIds.has(k.id)).sort((a, b) =>
      a.id < b.id ? -1 : 1
    ).map((k) => ({
      id: k.id,
      usage: k.usage,
      algorithm: k.algorithm,
      issuer: k.issuer ?? null,
      dki: k.dki ?? null,
      kcv: k.kcv,
      state: k.state,
    })),
  };
}

/**
 * The `N` line: every change of the day's cards up to the versions the day used and made
 * before the day was closed (later changes belong to later days; so the line never moves).
 */
function denyLine(
  db: SqlDb,
  day: string,
  scan: Awaited<ReturnType<typeof scanDay>>,
): DenyLine {
  const upTo = Math.max(scan.reported[1], scan.maxDenyVersion);
  const closedAt = String(
    (db.prepare("SELECT closed_at FROM settlement_days WHERE day = ?").get(day) as Row).closed_at,
  );
  const dl = new JournalDenyList(db);
  const events: [string, number, number, string, string][] = [];
  for (const card of scan.cards) {
    for (const e of dl.history({ cardHash: card, psn: "00" })) {
      if (e.version !== null && e.version <= upTo && e.at <= closedAt) {
        events.push([card, e.version, e.listed ? 1 : 0, e.reason, e.at]);
      }
    }
  }
  events.sort((a, b) => a[1] - b[1]);
  return { t: "N", reported: scan.reported, upTo, events };
}

/** The `L` line: debts of earlier days that ended on this day. */
function laterLine(db: SqlDb, day: string): LaterLine {
  const post = db.prepare(
    "SELECT account, amount FROM ledger_postings WHERE entry_id = ? ORDER BY account",
  );
  const rows = db.prepare(
    `SELECT id, kind, record_id, debt_id FROM ledger_entries
     WHERE settlement_day = ? AND kind IN ('recovery', 'write_off') ORDER BY id`,
  ).all(day) as Row[];
  return {
    t: "L",
    entries: rows.map((r) => ({
      id: Number(r.id),
      kind: String(r.kind),
      recordId: Number(r.record_id),
      debtId: r.debt_id == null ? null : Number(r.debt_id),
      postings: (post.all(r.id as number) as Row[]).map((p) => [
        String(p.account),
        Number(p.amount),
      ]),
    })),
  };
}

/** The `Z` line: the store's figures of the day and the clearing file's. */
function summaryLine(
  db: SqlDb,
  day: string,
  file: Awaited<ReturnType<typeof clearingFileOf>>,
): SummaryLine {
  const s = daySummary(db, day);
  const n = (sql: string) => Number((db.prepare(sql).get(day) as Row).n);
  const accounts = db.prepare(
    `SELECT p.account, sum(p.amount) AS s FROM ledger_postings p
     JOIN ledger_entries e ON e.id = p.entry_id WHERE e.settlement_day = ?
     GROUP BY p.account ORDER BY p.account`,
  ).all(day) as Row[];
  return {
    t: "Z",
    records: n("SELECT count(*) AS n FROM records WHERE settlement_day = ?"),
    states: {
      verified: n(
        "SELECT count(*) AS n FROM records WHERE settlement_day = ? AND status = 'verified'",
      ),
      rejected: n(
        "SELECT count(*) AS n FROM records WHERE settlement_day = ? AND status = 'rejected'",
      ),
    },
    outcomes: s.outcomes,
    exceptions: s.exceptions,
    issuerVerifies: s.issuerVerifies,
    fees: s.fees,
    debts: { count: s.debts.count, amount: s.debts.amount },
    ledger: {
      entries: n("SELECT count(*) AS n FROM ledger_entries WHERE settlement_day = ?"),
      postings: n(
        `SELECT count(*) AS n FROM ledger_postings p JOIN ledger_entries e ON e.id = p.entry_id
         WHERE e.settlement_day = ?`,
      ),
      total: accounts.reduce((t, a) => t + Number(a.s), 0),
      accounts: accounts.map((a) => [String(a.account), Number(a.s)]),
    },
    clearingFile: {
      name: file.name,
      sha256: file.sha256,
      count: file.trailer.count,
      amount: file.trailer.amount,
      trailer: file.trailer.sha256,
    },
  };
}

/** The single active card-data key's id and KCV, and its bytes (zeroed by the caller). */
function dataKey(ks: KeyStore, id?: string): { id: string; kcv: string; raw: Uint8Array } {
  const k = id
    ? ks.list().keys.find((x) => x.id === id && x.usage === "data")
    : ks.list().keys.find((x) => x.usage === "data" && x.state === "active");
  if (!k) {
    throw new ArchiveError(
      "ARCHIVE_NO_DATA_KEY",
      "no card-data key in the key store",
      "icfare init",
    );
  }
  return { id: k.id, kcv: k.kcv, raw: ks.withKey(k.id, (v) => v.slice(), true) };
}

/** The header of an existing archive of the day (a rerun keeps its data key). */
async function existingHeader(file: string): Promise<HeaderLine | null> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    const buf = new Uint8Array(64 * 1024);
    const n = (await f.read(buf)) ?? 0;
    const first = new TextDecoder().decode(buf.subarray(0, n)).split("\n")[0];
    return JSON.parse(first) as HeaderLine;
  } catch {
    return null;
  } finally {
    f.close();
  }
}

/** Seals a closed day (see the module comment). */
export async function archiveDay(o: ArchiveOptions): Promise<ArchiveResult> {
  checkDay(o.day);
  if (dayState(o.db, o.day) !== "closed") {
    throw new ArchiveError(
      "ARCHIVE_DAY_OPEN",
      `${o.day} is not a closed settlement day; only a closed day is archived`,
      `icfare clear --date ${o.day} --close`,
    );
  }
  const dir = join(o.home, "archive");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return await withDayLock(dir, o.day, () => build(o, dir));
}

/** The archive's first line: the day, the versions, the settings, signer and evidence keys. */
function headerOf(
  o: ArchiveOptions,
  existing: HeaderLine | null,
  signer: HeaderLine["signer"],
  data: { id: string; kcv: string },
  recipients: HeaderLine["evidence"]["recipients"],
  previous: HeaderLine["previous"],
): HeaderLine {
  const settings = readSettings(o.db);
  return {
    t: "A",
    format: ARCHIVE_FORMAT,
    day: o.day,
    icfare: ICFARE_VERSION,
    kernel: kernelHash(),
    settings: {
      cutoff: settings.cutoff,
      presentmentDays: settings.presentmentDays,
      fareMode: settings.fareMode,
      feeBp: { EC: settings.feeBp.EC, ODA: settings.feeBp.ODA },
    },
    segmentRecords: o.segmentRecords ?? existing?.segmentRecords ?? SEGMENT_RECORDS,
    signer: {
      keyId: signer.keyId,
      algorithm: signer.algorithm,
      publicKey: signer.publicKey,
      kcv: signer.kcv,
    },
    evidence: { cipher: "AES-256-GCM", dataKey: { id: data.id, kcv: data.kcv }, recipients },
    previous,
  };
}

async function build(o: ArchiveOptions, dir: string): Promise<ArchiveResult> {
  const file = join(dir, archiveName(o.day));
  const previous = await previousOf(o, dir, await archivedDays(dir));
  const auditors = await readAuditors(o.home);
  if (auditors.length === 0) {
    throw new ArchiveError(
      "ARCHIVE_NO_AUDITOR",
      "no auditor key is registered: the archive's evidence is sealed for auditors",
      "icfare archive auditors add AUDITOR.pub",
    );
  }
  const clearing = await clearingFileOf(o);
  const pan = DevPanProtector.fromCryptoKeys(
    await o.ks.hmacCryptoKey("pan-hash"),
    await o.ks.dataCryptoKey(),
  );
  const existing = await existingHeader(file);
  const data = dataKey(o.ks, existing?.evidence?.dataKey?.id);
  const sealed = await sealForAuditors(data.raw, o.day, auditors.map((a) => a.publicKey))
    .finally(() => data.raw.fill(0));
  const signer = openSigner(o.ks, "archive-sign");
  try {
    const scan = await scanDay(o.db, pan, o.day);
    const header = headerOf(o, existing, signer.info, data, sealed.recipients, previous);
    const tmp = join(dir, `.${archiveName(o.day)}.tmp`);
    const out = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    const hash = new HashingSink(out);
    let written;
    try {
      const w = new ArchiveWriter(header, (t) => hash.write(t), {
        keyId: signer.info.keyId,
        algorithm: signer.info.algorithm,
        kcv: signer.info.kcv,
        sign: (m) => signer.sign(m),
      });
      await w.start(keysLine(o.ks, scan), denyLine(o.db, o.day, scan));
      let done = 0;
      for await (
        const r of recordLines({
          db: o.db,
          pan,
          day: o.day,
          evidence: sealed.key,
          details: clearing.details,
        })
      ) {
        await w.record(r);
        if (++done % 1000 === 0) o.onProgress?.(done, scan.records);
      }
      o.onProgress?.(done, scan.records);
      written = await w.finish(laterLine(o.db, o.day), summaryLine(o.db, o.day, clearing));
      await out.sync();
    } finally {
      out.close();
    }
    return await settle(o, file, tmp, hash, written, header, signer.info);
  } finally {
    signer.close();
  }
}

/** A sink that counts and hashes the bytes it writes. */
class HashingSink {
  bytes = 0;
  readonly hash = createHash("sha256");
  constructor(readonly f: Deno.FsFile) {}
  async write(text: string): Promise<void> {
    const b = new TextEncoder().encode(text);
    this.bytes += b.length;
    this.hash.update(b);
    let o = 0;
    while (o < b.length) o += await this.f.write(b.subarray(o));
  }
}

/** Keeps the new file, or the existing one when it holds the same archive; else refuses. */
async function settle(
  o: ArchiveOptions,
  file: string,
  tmp: string,
  sink: HashingSink,
  w: { segments: number; records: number; head: string },
  header: HeaderLine,
  signer: { keyId: string; algorithm: string; kcv: string },
): Promise<ArchiveResult> {
  let state: ArchiveResult["state"] = "written";
  const exists = await Deno.stat(file).then(() => true, () => false);
  if (exists) {
    const diff = await sameArchive(file, tmp);
    await Deno.remove(tmp);
    if (diff !== null) {
      throw new ArchiveError(
        "ARCHIVE_DIFFERS",
        `${file} is sealed and the store now gives another archive of ${o.day} (${diff})`,
        `icfare audit ${file}`,
      );
    }
    state = "unchanged";
  } else {
    await Deno.rename(tmp, file);
    const d = await Deno.open(join(o.home, "archive"));
    await d.sync().catch(() => {});
    d.close();
  }
  return {
    day: o.day,
    file,
    state,
    bytes: sink.bytes,
    sha256: exists ? await fileSha256(file) : sink.hash.digest("hex"),
    records: w.records,
    segments: w.segments,
    head: w.head,
    previous: header.previous,
    signer: { keyId: signer.keyId, algorithm: signer.algorithm, kcv: signer.kcv },
    auditors: header.evidence.recipients.map((r) => r.kcv),
  };
}
