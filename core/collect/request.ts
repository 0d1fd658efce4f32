/**
 * The 0200 of one debt (docs/iso8583.md, "Messages"; docs/clearing.md, "Collection over ISO
 * 8583"): built from the debt's first tap — field 35 from its sealed tag 57, opened in memory
 * only; the chip data with the ARQC from the sealed batch body, reduced to the objects a
 * qPBOC terminal sends with a deferred authorisation; field 48 PA with the tap's time, line and
 * vehicle. The same request serves the 0200 and its 0400 (the STAN is the caller's).
 *
 * Nothing here logs or keeps the track data: the request object lives as long as the attempt.
 */
import type { SqlDb } from "../store/sql.ts";
import { IcfareError } from "../errors.ts";
import { fromHex } from "../hex.ts";
import type { PanProtector } from "../store/pan.ts";
import { batchAad, track2Aad } from "../store/store.ts";
import { decodeTlv } from "../../kernel-as/mod.ts";
import { track2FromTag57 } from "../iso8583/chip.ts";
import type { AuthInput } from "../iso8583/link.ts";
import type { Debt } from "../debts/book.ts";

/** A debt that cannot be sent (its tap's data is missing or does not open). */
export class CollectDataError extends IcfareError {
  constructor(message: string) {
    super("COLLECT_DATA", message, { hint: "icfare debts list" });
    this.name = "CollectDataError";
  }
}

/**
 * The chip data of a deferred authorisation: the tags a qPBOC terminal puts in field 55 /
 * FF56 with the ARQC (the AFC set of docs/iso8583.md, "Field 48 PA"), in the record's order.
 * Card-number tags (5A, 57) and the ODA signature (9F4B) are left out: the PAN travels in
 * field 2 and 35, and 255 bytes are all field 55 holds.
 */
const AUTH_TAGS = new Set([
  0x9f26, // application cryptogram (the ARQC)
  0x9f27, // cryptogram information data
  0x9f10, // issuer application data
  0x9f37, // unpredictable number
  0x9f36, // application transaction counter
  0x95, // terminal verification results
  0x9a, // transaction date
  0x9c, // transaction type
  0x9f02, // amount, authorised
  0x9f03, // amount, other
  0x5f2a, // transaction currency code
  0x82, // application interchange profile
  0x9f1a, // terminal country code
  0x9f33, // terminal capabilities
  0x9f34, // CVM results
  0x9f35, // terminal type
  0x9f1e, // interface device serial number
  0x84, // dedicated file name
  0x9f09, // application version number
  0x9f41, // transaction sequence counter
  0x9f63, // card product identification
  0x9f74, // EC issuer authorisation code
  0x5f34, // PAN sequence number
]);

/** The objects of `AUTH_TAGS` out of a record's chip data, as received. */
export function authChipData(icc: Uint8Array): Uint8Array {
  const d = decodeTlv(icc);
  if (!d.ok) throw new CollectDataError("stored chip data does not decode");
  const parts: Uint8Array[] = [];
  for (const e of d.entries) {
    if (e.parent !== -1 || !AUTH_TAGS.has(e.tag)) continue;
    parts.push(icc.subarray(e.header, e.value + e.length));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), o += p.length);
  return out;
}

/** The value of the first tag 57 in sealed tag-57 objects (as ingest sealed them). */
function tag57Value(objects: Uint8Array): Uint8Array {
  const d = decodeTlv(objects);
  const e = d.ok ? d.entries.find((x) => x.tag === 0x57) : undefined;
  if (!e) throw new CollectDataError("sealed track-2 data holds no tag 57");
  return objects.subarray(e.value, e.value + e.length);
}

/** `YYYYMMDDhhmmss` in Asia/Shanghai (UTC+8) of an ISO 8601 instant. */
export function shanghaiStamp(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new CollectDataError(`tap time "${iso}" is not a time`);
  return new Date(t + 8 * 3600_000).toISOString().slice(0, 19).replace(/[-T:]/g, "");
}

const PRINTABLE = /^[\x20-\x7e]{1,16}$/;

type Row = Record<string, unknown>;

/** Opens what the 0200s of a run need; sealed batch bodies are kept for `cacheSize` batches. */
export class DebtRequests {
  readonly #first;
  readonly #body;
  readonly #bodies = new Map<number, string[]>();

  constructor(
    readonly db: SqlDb,
    readonly pan: PanProtector,
    readonly cacheSize = 32,
  ) {
    this.#first = db.prepare(
      `SELECT r.id, r.terminal_id, r.batch_no, r.seq, r.tapped_at, r.line, r.vehicle, r.batch_id,
         r.body_index, r.track2_sealed, b.digest
       FROM debt_records dr JOIN records r ON r.id = dr.record_id
       JOIN batches b ON b.id = r.batch_id
       WHERE dr.debt_id = ? ORDER BY r.id LIMIT 1`,
    );
    // the sealed body only when its batch is not in the cache (it holds the whole batch)
    this.#body = db.prepare("SELECT body_sealed FROM batches WHERE id = ?");
  }

  async #iccOf(r: Row): Promise<Uint8Array> {
    const id = Number(r.batch_id);
    let recs = this.#bodies.get(id);
    if (!recs) {
      const aad = batchAad(String(r.terminal_id), Number(r.batch_no), String(r.digest));
      const sealed = this.#body.get(id)?.body_sealed as Uint8Array;
      const plain = await this.pan.open(new Uint8Array(sealed), aad);
      recs = (JSON.parse(new TextDecoder().decode(plain)) as { records: { icc: string }[] })
        .records.map((x) => x.icc);
      plain.fill(0);
      if (this.#bodies.size >= this.cacheSize) {
        this.#bodies.delete(this.#bodies.keys().next().value!);
      }
      this.#bodies.set(id, recs);
    }
    const hex = recs[Number(r.body_index)];
    if (hex === undefined) throw new CollectDataError(`record ${r.id}: not in its batch body`);
    return fromHex(hex, "icc");
  }

  /** The request of `d` (its STAN as given, or the debt's own for a reversal). */
  async of(d: Debt, stan = d.stan ?? ""): Promise<AuthInput> {
    const r = this.#first.get(d.id) as Row | undefined;
    if (!r) throw new CollectDataError(`debt ${d.id}: no record`);
    if (!(r.track2_sealed instanceof Uint8Array)) {
      throw new CollectDataError(`debt ${d.id}: record ${r.id} has no sealed track-2 data`);
    }
    const aad = track2Aad(String(r.terminal_id), Number(r.batch_no), Number(r.seq));
    const objects = await this.pan.open(new Uint8Array(r.track2_sealed), aad);
    let track2: string;
    try {
      track2 = track2FromTag57(tag57Value(objects));
    } finally {
      objects.fill(0);
    }
    const icc = await this.#iccOf(r);
    const line = String(r.line), vehicle = String(r.vehicle ?? "");
    return {
      stan,
      amountFen: d.amount,
      track2,
      psn: d.psn,
      iccData: authChipData(icc),
      pa: {
        txnTime: shanghaiStamp(String(r.tapped_at)),
        ...(PRINTABLE.test(line) ? { line } : {}),
        ...(PRINTABLE.test(vehicle) ? { vehicle } : {}),
      },
    };
  }
}
