/**
 * `icfare explain --file BATCH.json --seq N [--keys KEYS.json] [--capk CAPK.json] [--json]`
 * (or `--icc HEX [--oda-tlv HEX] [--static-data HEX]`) — traces the cryptogram and ODA checks
 * of one record step by step: inputs, KCV of every intermediate key (never a key), the MACed
 * data block and, on a mismatch, what most likely differs.
 */
import { flag, parseArgs, str, UsageError } from "../args.ts";
import type { Command } from "../common.ts";
import { explainRecord, renderExplanation } from "../../core/emv/explain.ts";
import type { TapRecord } from "../../core/emv/verify.ts";
import { contextOf, KEY_OPTIONS, loadBatch, openHomeBackOffice, openStore } from "../common.ts";
import type { Parsed } from "../args.ts";
import { IcfareError } from "../../core/errors.ts";
import { locateRecord, type StoredRecord, storedTap } from "../../core/store/records.ts";

const HELP =
  `usage: icfare explain (--file BATCH.json --seq N | --icc HEX [--oda-tlv HEX] [--static-data HEX])
                      [--keys KEYS.json] [--capk CAPK.json | --store] [--json]
       icfare explain --record ID [--home DIR] [--master-key-file F] [--json]

Explains one record: chip data, cryptogram type, the profile chosen and why, the issuer key and
the KCV of every derived key, the exact data block MACed, the computed vs stored cryptogram,
every ODA check, and on a cryptogram mismatch what most likely differs (padding, data set,
session-key method, master-key derivation, PSN, TVR, or the key/DKI). Keys as for verify
(--keys/--capk files, or --store with the master key).
--record ID explains a record stored by the upload server (ids from \`icfare records\`): its chip
data is opened from the sealed batch with the key store's card-data key, and the keys come from
the key store (as --store); the trace is the one a file gives, after a line naming the record.
Exit codes: 0 the record verifies; 1 it does not, or the record or a key is missing; 2 bad usage
or input.`;

/** The line naming a stored record before its trace (masked PAN, stored verdict). */
function storedLine(r: StoredRecord): string {
  return `stored record ${r.id}: ${r.terminalId} batch ${r.batchNo} seq ${r.seq}, tapped ` +
    `${r.tappedAt}, PAN ${r.pan ?? "-"}, stored status ${r.status}`;
}

/**
 * A stored record and its chip data: the record located in the store, its batch's sealed body
 * opened with the key store's card-data key (core/store/records.ts `storedTap`).
 */
async function storedRecord(p: Parsed, id: string) {
  if (!/^[1-9][0-9]{0,15}$/.test(id)) throw new UsageError("--record must be a record id");
  const bo = await openHomeBackOffice(p, { existing: true });
  try {
    if (!locateRecord(bo.db, Number(id))) {
      throw new IcfareError("RECORD_NOT_FOUND", `no record ${id} in the store`);
    }
    const ks = await openStore(p);
    try {
      return (await storedTap(bo.db, bo.store, await ks.dataCryptoKey(), Number(id)))!;
    } finally {
      ks.close();
    }
  } finally {
    await bo.close();
  }
}

/** The record to explain: stored (--record), from a file (--file, --seq) or given (--icc). */
async function chosenRecord(p: Parsed): Promise<{ record: TapRecord; stored?: StoredRecord }> {
  const file = str(p, "file");
  const icc = str(p, "icc");
  const id = str(p, "record");
  if (id !== undefined) {
    if (file || icc) throw new UsageError("--record excludes --file and --icc");
    if (str(p, "keys") || str(p, "capk")) {
      throw new UsageError("--record takes its keys from the key store, not --keys/--capk");
    }
    p.values.store = true; // the issuer and CA keys come from the key store too
    return await storedRecord(p, id);
  }
  if (file) {
    const seq = Number(str(p, "seq"));
    if (!Number.isInteger(seq)) throw new UsageError("--file needs --seq N");
    const batch = await loadBatch(file);
    const r = batch.records.find((x) => x.seq === seq);
    if (!r) throw new UsageError(`--file ${file}: no record with seq ${seq}`);
    return { record: r };
  }
  if (icc) {
    const odaTlv = str(p, "oda-tlv");
    const staticData = str(p, "static-data");
    return { record: { seq: 0, icc, ...(odaTlv ? { oda: { tlv: odaTlv, staticData } } : {}) } };
  }
  throw new UsageError(HELP);
}

export const command: Command = {
  summary: "trace one record's cryptogram and ODA checks step by step",
  async run(args) {
    const p = parseArgs(args, {
      file: { type: "string" },
      seq: { type: "string" },
      icc: { type: "string" },
      record: { type: "string" },
      "oda-tlv": { type: "string" },
      "static-data": { type: "string" },
      ...KEY_OPTIONS,
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const { record, stored } = await chosenRecord(p);
    const ctx = await contextOf(p);
    let x;
    try {
      x = explainRecord(record, ctx);
    } catch (e) {
      if (e instanceof SyntaxError || e instanceof RangeError) throw new UsageError(e.message);
      throw e;
    } finally {
      ctx.wipe();
    }
    if (flag(p, "json")) {
      console.log(JSON.stringify(stored ? { record: stored, explanation: x } : x, null, 2));
    } else {
      const head = stored ? [storedLine(stored), ""] : [];
      console.log([...head, ...renderExplanation(x)].join("\n"));
    }
    return x.status === "OK" ? 0 : 1;
  },
};
