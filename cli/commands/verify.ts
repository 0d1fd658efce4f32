/**
 * `icfare verify --file BATCH.json [--keys KEYS.json] [--capk CAPK.json] [--json]` — verifies an
 * upload file (docs/upload-api.md) without the store: TLV, cryptograms, offline data authentication,
 * fare vs 9F02, duplicates and replays inside the file.
 */
import { flag, parseArgs, str, UsageError } from "../args.ts";
import type { Parsed } from "../args.ts";
import {
  actorOf,
  type Command,
  contextOf,
  homeOf,
  intOption,
  KEY_OPTIONS,
  loadBatch,
  progressBar,
} from "../common.ts";
import { type RecordResult, summarise } from "../../core/emv/verify.ts";
import { verifyRecordsKernel } from "../../core/emv/batch.ts";
import { totalsProblem } from "../../core/upload/ingest.ts";

const HELP =
  `usage: icfare verify --file BATCH.json [--keys KEYS.json] [--capk CAPK.json | --store] [--json]

Verifies every record of an upload file (the POST /v1/batches body) and prints one line per
record: status, cryptogram (ok|mismatch|no-key|unsupported), oda (ok|failed|absent|no-capk),
cryptogram type, profile, masked PAN, ATC. Duplicates and replays inside the file are reported.
  --file PATH    the upload file (JSON)
  --keys PATH    issuer key import file {"keys":[...]} (KCVs are checked; a bad KCV refuses it)
  --capk PATH    CA public key import file {"capks":[...]} (checksums are checked)
  --store        take issuer keys and CA keys from the key store of --home (DIR, ICFARE_HOME,
                 ./.icfare) instead; needs the master key (--master-key-file PATH or
                 ICFARE_MASTER_KEY); the unwrapped keys are zeroed when verification ends
  --json         machine output {batch, summary, records:[{seq,status,cryptogram,oda,...}]}
Exit codes: 0 every record OK; 1 some record failed or the batch totals do not add up;
2 bad usage or unreadable/invalid input files.

usage: icfare verify [--home DIR] [--master-key-file PATH] [--workers N] [--chunk N]
                     [--store postgres://…|FILE] [--json]

Without --file: verifies every pending record in the store of --home (HOME/icfare.db) through
the kernel batch path on N parallel workers (default one per core), with issuer keys, CA keys
and the card-data key from the key store (master key: --master-key-file or ICFARE_MASTER_KEY).
Duplicates and replays are found across batches and terminals through the store's card index.
Each verdict is recorded in the store; a second run finds nothing pending. Prints a table by
status (--json: {summary}); exit 0 once every pending record has its verdict (whatever it is),
1 when the run failed, 2 bad usage or keys.
  --store URL    the store: a postgres:// URL or an SQLite file (default env
                 ICFARE_DATABASE_URL, else HOME/icfare.db). Several verify processes, on any
                 machines, may run at once on one store: each claims whole batches under a
                 lease (60 s) and a killed one's batches are taken over (docs/scale.md).`;

/**
 * `--store VALUE` with a value (store mode) taken out of the arguments before parsing, since the
 * `--file` mode's `--store` is a flag (keys from the key store).
 */
function takeStoreValue(args: string[]): { args: string[]; store?: string } {
  const out: string[] = [];
  let store: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith("--store=")) store = a.slice("--store=".length);
    else if (a === "--store" && i + 1 < args.length && !args[i + 1].startsWith("-")) {
      store = args[++i];
    } else out.push(a);
  }
  return store === undefined ? { args: out } : { args: out, store };
}

function table(rows: RecordResult[]): string[] {
  const head = ["seq", "status", "cryptogram", "oda", "type", "profile", "PAN", "ATC", "note"];
  const body = rows.map((r) => [
    String(r.seq),
    r.status,
    r.cryptogram,
    r.oda + (r.odaCheck ? ` (${r.odaCheck})` : ""),
    r.cryptogramType ? `${r.cryptogramType}/${r.cryptogramTypeSource}` : "-",
    r.profile ?? "-",
    r.pan ?? "-",
    r.atc ?? "-",
    r.duplicateOf !== undefined ? `dup of seq ${r.duplicateOf}` : "",
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(w[i])).join("  ").trimEnd();
  return [line(head), line(w.map((n) => "-".repeat(n))), ...body.map(line)];
}

/**
 * Cryptograms icfare checked apart from those left to the issuer (no key held, or a CVN /
 * layout icfare does not verify), so an operator never reads one for the other.
 */
function checkedLine(
  s: { cryptogram: Record<string, number>; cryptogramChecked: number; leftToIssuer: number },
): string {
  const n = (k: string) => s.cryptogram[k] ?? 0;
  return `cryptograms checked by icfare: ${s.cryptogramChecked} (ok ${n("ok")}, mismatch ${
    n("mismatch")
  }); left to the issuer: ${s.leftToIssuer} (no-key ${n("no-key")}, unsupported ${
    n("unsupported")
  })`;
}

/** Store mode: every pending record of the home's store. */
async function verifyPending(p: Parsed, store: string | undefined): Promise<number> {
  if (str(p, "keys") || str(p, "capk")) {
    throw new UsageError("--keys/--capk are for --file; the store mode uses the key store");
  }
  const workers = intOption(p, "workers", 1, 64);
  const chunk = intOption(p, "chunk", 1, 100_000);
  const { loadMasterKey } = await import("../../core/keys/master.ts");
  const { KeyStoreError } = await import("../../core/keys/errors.ts");
  const { verifyHome } = await import("../../core/verify_home.ts");
  const home = homeOf(p);
  let summary;
  try {
    const m = await loadMasterKey(home, str(p, "master-key-file"));
    try {
      summary = await verifyHome({
        home,
        masterKey: m.key,
        actor: actorOf(p),
        workers,
        chunk,
        store,
        onProgress: flag(p, "json") ? undefined : progressBar("verify"),
      });
    } finally {
      m.key.fill(0);
    }
  } catch (e) {
    if (e instanceof KeyStoreError) throw new UsageError(`key store: ${e.message} [${e.code}]`);
    console.error(`icfare verify: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  if (flag(p, "json")) {
    console.log(JSON.stringify({ summary }, null, 2));
    return 0;
  }
  if (summary.records === 0) {
    console.log(`nothing pending in ${home}`);
    return 0;
  }
  console.log(
    `verified ${summary.records} records in ${summary.seconds.toFixed(1)} s ` +
      `(${summary.perSecond}/s, ${summary.workers} worker${summary.workers === 1 ? "" : "s"})`,
  );
  const rows = Object.entries(summary.status).sort((a, b) => b[1] - a[1]);
  const w = Math.max(6, ...rows.map(([k]) => k.length));
  console.log(`${"status".padEnd(w)}  ${"records".padStart(8)}  share`);
  for (const [k, n] of rows) {
    const pct = ((100 * n) / summary.records).toFixed(2).padStart(6);
    console.log(`${k.padEnd(w)}  ${String(n).padStart(8)}  ${pct} %`);
  }
  const fmt = (m: Record<string, number>) =>
    Object.entries(m).map(([k, n]) => `${k} ${n}`).join(", ");
  console.log(`cryptogram: ${fmt(summary.cryptogram)}; oda: ${fmt(summary.oda)}`);
  console.log(checkedLine(summary));
  console.log(`duplicates/replays of a record in another batch: ${summary.acrossBatches}`);
  return 0;
}

export const command: Command = {
  summary: "verify the store's pending records (parallel workers) or an upload file",
  async run(argv) {
    const { args, store } = takeStoreValue(argv);
    const p = parseArgs(args, {
      file: { type: "string" },
      ...KEY_OPTIONS,
      json: { type: "boolean" },
      workers: { type: "string" },
      chunk: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (p.positionals.length) throw new UsageError(`unexpected argument ${p.positionals[0]}`);
    const file = str(p, "file");
    if (!file) return await verifyPending(p, store);
    if (store !== undefined) throw new UsageError("--store takes no value with --file");
    if (str(p, "workers") || str(p, "chunk")) {
      throw new UsageError("--workers and --chunk are for the store mode (without --file)");
    }
    const batch = await loadBatch(file);
    const ctx = await contextOf(p);
    let results: RecordResult[];
    try {
      // The kernel batch path (same results as the readable reference, checked by a test).
      results = verifyRecordsKernel(batch.records, ctx);
    } finally {
      ctx.wipe();
    }
    // The upload API's own totals rule (core/upload/ingest.ts), reported instead of refused.
    const totals = totalsProblem(batch);
    const summary = { ...summarise(results), totalsOk: totals === null };
    const allOk = totals === null && results.every((r) => r.status === "OK");
    if (flag(p, "json")) {
      console.log(JSON.stringify(
        {
          batch: {
            terminalId: batch.terminalId,
            batchNo: batch.batchNo,
            records: batch.records.length,
          },
          summary,
          records: results,
        },
        null,
        2,
      ));
    } else {
      console.log(`batch ${batch.terminalId}/${batch.batchNo}: ${batch.records.length} records`);
      console.log(table(results).join("\n"));
      const fmt = (m: Record<string, number>) =>
        Object.entries(m).map(([k, n]) => `${k} ${n}`).join(", ");
      console.log(`\nstatus: ${fmt(summary.status)}`);
      console.log(`cryptogram: ${fmt(summary.cryptogram)}; oda: ${fmt(summary.oda)}`);
      console.log(checkedLine(summary));
      if (totals) console.log(`TOTALS_MISMATCH: ${totals.message}`);
    }
    return allOk ? 0 : 1;
  },
};
