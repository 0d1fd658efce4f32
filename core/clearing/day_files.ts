/**
 * The files of a cleared day (docs/clearing.md, "Files of a day"), written under `dir` from the
 * store alone, in a fixed order and with nothing of "now" in them, so clearing the day again
 * writes the same bytes:
 *
 * - `clearing-DAY.icfc`           the clearing file, sealed under the clearing key
 * - `clearing-DAY-masked.txt`     its human copy, PANs masked
 * - `settlement-DAY.json|.txt`    who owes whom
 * - `reconciliation-DAY.json|.txt` declared against stored, verified, cleared, excepted
 *
 * PANs come from the sealed batch bodies opened with the card-data key, in memory only. Each
 * file is written beside its final name and renamed over it when complete.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { SqlDb } from "../store/sql.ts";
import type { PanProtector } from "../store/pan.ts";
import { cnDigits, maskPan } from "../mask.ts";
import { fromHex, toHex } from "../hex.ts";
import { batchAad } from "../store/store.ts";
import { flattenValues, parseTlv } from "../tlv/tree.ts";
import type { ClearingKey } from "./clearing_key.ts";
import {
  type DetailLine,
  detailLine,
  headerLine,
  SealedWriter,
  trailerLine,
} from "./clearing_file.ts";
import {
  maskedHeader,
  maskedLine,
  maskedTrailer,
  reconciliationText,
  settlementText,
} from "./report_text.ts";
import {
  type BalancePoint,
  balanceTrend,
  reconciliationReport,
  settlementReport,
} from "./reports.ts";

export interface DayFilesOptions {
  readonly db: SqlDb;
  /** Opens the sealed batch bodies (the card-data key). */
  readonly pan: PanProtector;
  readonly key: ClearingKey;
  readonly day: string;
  readonly dir: string;
  readonly onProgress?: (done: number, total: number) => void;
}

/** What was written: each file with its size and SHA-256, and the clearing trailer. */
export interface DayFiles {
  readonly dir: string;
  readonly files: { name: string; bytes: number; sha256: string }[];
  readonly clearing: { count: number; amount: number; sha256: string };
  readonly balanced: boolean;
  readonly balanceFlags: number;
}

type Row = Record<string, unknown>;
const enc = new TextEncoder();

/** A file written beside its name, then renamed over it; with its SHA-256. */
class OutFile {
  readonly #tmp: string;
  readonly #hash = createHash("sha256");
  #bytes = 0;
  private constructor(readonly path: string, readonly f: Deno.FsFile) {
    this.#tmp = `${path}.tmp`;
  }
  static async open(path: string): Promise<OutFile> {
    const f = await Deno.open(`${path}.tmp`, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    return new OutFile(path, f);
  }
  /** Buffers; writes to the file in pieces of about 256 KiB. */
  async write(b: Uint8Array | string): Promise<void> {
    const bytes = typeof b === "string" ? enc.encode(b) : b;
    this.#hash.update(bytes);
    this.#bytes += bytes.length;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    if (this.#pendingBytes >= 256 * 1024) await this.#flush();
  }
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  async #flush(): Promise<void> {
    const all = new Uint8Array(this.#pendingBytes);
    let p = 0;
    for (const x of this.#pending) (all.set(x, p), p += x.length);
    this.#pending = [];
    this.#pendingBytes = 0;
    let o = 0;
    while (o < all.length) o += await this.f.write(all.subarray(o));
  }
  async close(): Promise<{ name: string; bytes: number; sha256: string }> {
    await this.#flush();
    await this.f.sync();
    this.f.close();
    await Deno.rename(this.#tmp, this.path);
    return {
      name: this.path.split("/").pop()!,
      bytes: this.#bytes,
      sha256: this.#hash.digest("hex"),
    };
  }
  abort(): void {
    try {
      this.f.close();
    } catch { /* already closed */ }
    try {
      Deno.removeSync(this.#tmp);
    } catch { /* not there */ }
  }
}

const LINES_SQL =
  `SELECT r.id, r.batch_id, r.body_index, r.terminal_id, r.batch_no, r.seq, r.tapped_at,
    r.line, r.vehicle, r.fare, r.verification, r.ec_balance, r.card_hash, r.psn, c.model,
    c.issuer_verifies, c.merchant_id
  FROM clearing_lines c JOIN records r ON r.id = c.record_id
  WHERE c.settlement_day = ? AND c.outcome = 'CLEARED'
  ORDER BY r.terminal_id, r.batch_no, r.seq`;

/** The detail line of one cleared record from its row and its chip data. */
function detailOf(
  n: number,
  r: Row,
  iccHex: string,
): { d: DetailLine; v: Map<string, Uint8Array> } {
  const p = parseTlv(fromHex(iccHex, `icc of record ${r.id}`));
  if (!p.ok) throw new Error(`record ${r.id}: cleared but its chip data does not parse`);
  const v = flattenValues(p.nodes);
  const hex = (t: string) => toHex(v.get(t) ?? new Uint8Array(0));
  const verdict = JSON.parse(String(r.verification)) as { detail?: { cryptogramType?: string } };
  return {
    v,
    d: {
      n,
      ref: `${r.terminal_id}/${r.batch_no}/${r.seq}`,
      terminal: String(r.terminal_id),
      merchant: String(r.merchant_id),
      line: String(r.line),
      vehicle: String(r.vehicle),
      tappedAt: String(r.tapped_at),
      pan: cnDigits(v.get("5A") ?? new Uint8Array(0)),
      psn: r.psn == null ? "00" : String(r.psn),
      expiry: hex("5F24"),
      atc: hex("9F36"),
      amount: Number(r.fare),
      currency: hex("5F2A").replace(/^0/, "") || "156",
      txnDate: hex("9A"),
      aid: hex("4F") || hex("84"),
      cryptogramType: verdict.detail?.cryptogramType ?? "-",
      cryptogram: hex("9F26"),
      model: String(r.model),
      issuerVerifies: Number(r.issuer_verifies) === 1,
      icc: iccHex.toUpperCase(),
    },
  };
}

/**
 * The EC balance after a tap: the store's `ec_balance` column (written with the verdict from the
 * card's IDD, core/store/migrations.ts step 4) when present, else 9F79 from the chip data.
 */
function balanceOf(r: Row, v: Map<string, Uint8Array>): number | null {
  if (r.ec_balance != null) {
    const n = Number(r.ec_balance);
    if (Number.isSafeInteger(n) && n >= 0) return n;
  }
  const b = v.get("9F79");
  if (!b || b.length !== 6) return null;
  const digits = toHex(b);
  return /^\d{12}$/.test(digits) ? Number(digits) : null;
}

/** The sealed clearing file and its masked copy; the trailer and the EC balance points. */
async function writeClearing(
  o: DayFilesOptions,
): Promise<{ files: DayFiles["files"]; trailer: DayFiles["clearing"]; points: BalancePoint[] }> {
  const sealedName = `clearing-${o.day}.icfc`;
  const sealedOut = await OutFile.open(join(o.dir, sealedName));
  const masked = await OutFile.open(join(o.dir, `clearing-${o.day}-masked.txt`));
  const points: BalancePoint[] = [];
  try {
    const sealed = new SealedWriter(o.day, o.key, (b) => sealedOut.write(b));
    await sealed.start();
    await sealed.write(headerLine(o.day));
    await masked.write(maskedHeader(o.day, sealedName, o.key.id, o.key.kcv));
    const total = Number(
      (o.db.prepare(
        "SELECT count(*) AS n FROM clearing_lines WHERE settlement_day = ? AND outcome = 'CLEARED'",
      ).get(o.day) as Row).n,
    );
    const h = createHash("sha256");
    const bodies = new Bodies(o.db, o.pan);
    let n = 0, amount = 0;
    for (const r of o.db.prepare(LINES_SQL).iterate(o.day) as Iterable<Row>) {
      const body = await bodies.of(Number(r.batch_id));
      const { d, v } = detailOf(++n, r, body.records[Number(r.body_index)].icc);
      const line = detailLine(d);
      h.update(line);
      amount += d.amount;
      await sealed.write(line);
      await masked.write(maskedLine(d));
      const balance = d.model === "EC" ? balanceOf(r, v) : null;
      if (balance !== null) {
        const card = `${toHex(new Uint8Array(r.card_hash as Uint8Array))}/${d.psn}`;
        points.push({
          card,
          pan: maskPan(d.pan),
          atc: parseInt(d.atc, 16),
          fare: d.amount,
          balance,
        });
      }
      if (n % 2000 === 0) o.onProgress?.(n, total);
    }
    const trailer = { count: n, amount, sha256: h.digest("hex") };
    await sealed.write(trailerLine(n, amount, trailer.sha256));
    await sealed.finish();
    await masked.write(maskedTrailer(n, amount, trailer.sha256));
    const files = [await sealedOut.close(), await masked.close()];
    o.onProgress?.(n, total);
    return { files, trailer, points };
  } catch (e) {
    sealedOut.abort();
    masked.abort();
    throw e;
  }
}

/** The batch body of the last batch asked for, opened in memory (records come batch by batch). */
class Bodies {
  #id = -1;
  #body: { records: { icc: string }[] } | null = null;
  constructor(readonly db: SqlDb, readonly pan: PanProtector) {}
  async of(batchId: number): Promise<{ records: { icc: string }[] }> {
    if (batchId !== this.#id || !this.#body) {
      const b = this.db.prepare(
        "SELECT terminal_id, batch_no, digest, body_sealed FROM batches WHERE id = ?",
      ).get(batchId) as Row;
      const aad = batchAad(String(b.terminal_id), Number(b.batch_no), String(b.digest));
      const plain = await this.pan.open(new Uint8Array(b.body_sealed as Uint8Array), aad);
      this.#body = JSON.parse(new TextDecoder().decode(plain));
      this.#id = batchId;
    }
    return this.#body!;
  }
}

/** Writes the files of a cleared day (see the module comment). */
export async function writeDayFiles(o: DayFilesOptions): Promise<DayFiles> {
  await Deno.mkdir(o.dir, { recursive: true, mode: 0o700 });
  const { files, trailer, points } = await writeClearing(o);
  const settlement = settlementReport(o.db, o.day);
  const reconciliation = reconciliationReport(o.db, o.day, balanceTrend(points));
  for (
    const [name, text] of [
      [`settlement-${o.day}.json`, JSON.stringify(settlement, null, 2) + "\n"],
      [`settlement-${o.day}.txt`, settlementText(settlement)],
      [`reconciliation-${o.day}.json`, JSON.stringify(reconciliation, null, 2) + "\n"],
      [`reconciliation-${o.day}.txt`, reconciliationText(reconciliation)],
    ]
  ) {
    const f = await OutFile.open(join(o.dir, name));
    try {
      await f.write(text);
      files.push(await f.close());
    } catch (e) {
      f.abort();
      throw e;
    }
  }
  return {
    dir: o.dir,
    files,
    clearing: trailer,
    balanced: reconciliation.balanced,
    balanceFlags: reconciliation.ecBalances.flagged.length,
  };
}
