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
import { contextOf, KEY_OPTIONS, loadBatch } from "../common.ts";

const HELP =
  `usage: icfare explain (--file BATCH.json --seq N | --icc HEX [--oda-tlv HEX] [--static-data HEX])
                      [--keys KEYS.json] [--capk CAPK.json | --store] [--json]

Explains one record: chip data, cryptogram type, the profile chosen and why, the issuer key and
the KCV of every derived key, the exact data block MACed, the computed vs stored cryptogram,
every ODA check, and on a cryptogram mismatch what most likely differs (padding, data set,
session-key method, master-key derivation, PSN, TVR, or the key/DKI). Keys as for verify
(--keys/--capk files, or --store with the master key).
Exit codes: 0 the record verifies; 1 it does not; 2 bad usage or input.`;

export const command: Command = {
  summary: "trace one record's cryptogram and ODA checks step by step",
  async run(args) {
    const p = parseArgs(args, {
      file: { type: "string" },
      seq: { type: "string" },
      icc: { type: "string" },
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
    let record: TapRecord;
    const file = str(p, "file");
    const icc = str(p, "icc");
    if (file) {
      const seq = Number(str(p, "seq"));
      if (!Number.isInteger(seq)) throw new UsageError("--file needs --seq N");
      const batch = await loadBatch(file);
      const r = batch.records.find((x) => x.seq === seq);
      if (!r) throw new UsageError(`--file ${file}: no record with seq ${seq}`);
      record = r;
    } else if (icc) {
      const odaTlv = str(p, "oda-tlv");
      const staticData = str(p, "static-data");
      record = { seq: 0, icc, ...(odaTlv ? { oda: { tlv: odaTlv, staticData } } : {}) };
    } else throw new UsageError(HELP);
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
    if (flag(p, "json")) console.log(JSON.stringify(x, null, 2));
    else console.log(renderExplanation(x).join("\n"));
    return x.status === "OK" ? 0 : 1;
  },
};
