/**
 * `icfare clear` — clears a settlement day (docs/clearing.md): outcome per verified record,
 * ledger postings, debts, deny-list changes, then the day's files (sealed clearing file, masked
 * copy, settlement and reconciliation reports). Also closes a day, lists days, and checks a
 * sealed clearing file. Every rule lives in core/clearing.
 */
import { join } from "node:path";
import { flag, type Parsed, str, UsageError } from "../args.ts";
import {
  actorOf,
  type Command,
  commandArgs,
  dateOption,
  homeOf,
  intOption,
  openHomeBackOffice,
  openStore,
  progressBar,
  table,
} from "../common.ts";
import { DevPanProtector } from "../../core/store/pan.ts";
import type { BackOffice } from "../../core/store/back_office.ts";
import type { KeyStore } from "../../core/keys/mod.ts";
import { clearDay, type ClearSummary, closeDay, type Tally } from "../../core/clearing/clear.ts";
import { clearingKeyOf } from "../../core/clearing/clearing_key.ts";
import { writeDayFiles } from "../../core/clearing/day_files.ts";
import { checkLedger } from "../../core/clearing/ledger.ts";
import { checkTrailer, openSealed } from "../../core/clearing/clearing_file.ts";
import { yuan } from "../../core/clearing/report_text.ts";

const HELP = `usage: icfare clear --date YYYY-MM-DD [--close] [--out DIR] [--clearing-key ID]
                    [--chunk N] [--home DIR] [--master-key-file F] [--json]
       icfare clear --list [--json]
       icfare clear --check-file FILE [--clearing-key ID] [--json]

Clears one settlement day: every verified record of the day is decided once by the outcome
table (cleared, debt, exception with its reason, duplicate), with its ledger postings (integer
fen; the ledger must sum to 0 at every commit), its debt (ODA model) and its deny-list change,
one transaction per chunk (default 2,000 records). Refused while a record of the day waits for
verification (run icfare verify). Then writes, to --out (default HOME/clearing/DAY):
  clearing-DAY.icfc              the clearing file, sealed under the clearing key (AES-GCM)
  clearing-DAY-masked.txt        its masked human copy
  settlement-DAY.json|.txt       per issuer, per bus company and line, per terminal
  reconciliation-DAY.json|.txt   declared batch totals against stored, verified, cleared and
                                 excepted records; EC balances per card
Running it again changes nothing and writes the same bytes.
  --close            then close the day: its records are frozen; later arrivals for it go to
                     the next open day
  --list             settlement days and their state
  --check-file FILE  open a sealed clearing file with the clearing key and check its trailer
                     (prints counts and hashes, never a PAN)
Needs the key store (card-data key to read PANs in memory, clearing key): --master-key-file or
ICFARE_MASTER_KEY. Exit codes: 0 done; 1 refused (coded line); 2 bad usage.`;

const tally = (t: Tally) => [t.count, yuan(t.amount)];

function summaryLines(s: ClearSummary): string[] {
  const out = [
    `${s.day}: ${s.newLines} new line(s), day ${s.state}; ${
      s.seconds.toFixed(2)
    } s (${s.perSecond} records/s)`,
    ...table(
      ["outcome", "records", "yuan"],
      Object.entries(s.outcomes).map(([k, t]) => [k, ...tally(t)]),
    ),
  ];
  const ex = Object.entries(s.exceptions);
  if (ex.length) {
    out.push("", ...table(["exception", "records", "yuan"], ex.map(([k, t]) => [k, ...tally(t)])));
  }
  out.push(
    "",
    `forwarded for the issuer to verify (no-key/unsupported): ${s.issuerVerifies.count} / ${
      yuan(s.issuerVerifies.amount)
    } yuan`,
    `debts: ${s.debts.count} / ${yuan(s.debts.amount)} yuan (${s.debts.created} new); fees ${
      yuan(s.fees)
    } yuan; deny list: ${s.denyAdds} card(s) added`,
  );
  return out;
}

async function runClear(p: Parsed, json: boolean): Promise<number> {
  const day = dateOption(p, "date")!;
  const ks = await openStore(p);
  const bo = await openHomeBackOffice(p);
  try {
    // one operator at a time per day (docs/scale.md, "Operator locks"): a second is LOCK_BUSY
    return await bo.withLock(`clear:${day}`, () => clearLocked(p, json, ks, bo, day));
  } finally {
    await bo.close();
    ks.close();
  }
}

/** Clears `day` (and closes it with --close), writes its files and prints the summary. */
async function clearLocked(
  p: Parsed,
  json: boolean,
  ks: KeyStore,
  bo: BackOffice,
  day: string,
): Promise<number> {
  const pan = DevPanProtector.fromCryptoKeys(
    await ks.hmacCryptoKey("pan-hash"),
    await ks.dataCryptoKey(),
  );
  const key = await clearingKeyOf(ks, str(p, "clearing-key"));
  const db = bo.db;
  const by = actorOf(p);
  const summary = clearDay(db, {
    day,
    by,
    deny: bo.denyList,
    chunk: intOption(p, "chunk", 1, 1_000_000),
    onProgress: json ? undefined : progressBar(`clear ${day}`, { rate: true }),
  });
  if (flag(p, "close")) {
    closeDay(db, day, by, new Date().toISOString());
    summary.state = "closed";
  }
  const files = await writeDayFiles({
    db,
    pan,
    key,
    day,
    dir: str(p, "out") ?? join(homeOf(p), "clearing", day),
    onProgress: json ? undefined : progressBar(`files ${day}`, { rate: true }),
  });
  const ledger = checkLedger(db);
  if (json) {
    console.log(JSON.stringify({ ...summary, ledger, ...files }, null, 2));
    return 0;
  }
  console.log(summaryLines(summary).join("\n"));
  console.log(
    `ledger: ${ledger.entries} entries, ${ledger.postings} postings, sums to ${ledger.total} fen`,
  );
  console.log(`\nfiles in ${files.dir}:`);
  console.log(
    table(
      ["file", "bytes", "sha256"],
      files.files.map((f) => [f.name, f.bytes, f.sha256]),
    ).map((l) => "  " + l).join("\n"),
  );
  console.log(
    `clearing file: ${files.clearing.count} records, ${yuan(files.clearing.amount)} yuan; ` +
      `reconciliation: ${files.balanced ? "every batch reconciles" : "UNEXPLAINED differences"}; ` +
      `EC balances flagged: ${files.balanceFlags}`,
  );
  return 0;
}

async function runList(p: Parsed, json: boolean): Promise<number> {
  const bo = await openHomeBackOffice(p);
  try {
    const rows = bo.db.prepare(
      `SELECT d.day, d.state, d.closed_at, d.closed_by,
         (SELECT count(*) FROM clearing_lines c WHERE c.settlement_day = d.day) AS lines
       FROM settlement_days d ORDER BY d.day`,
    ).all() as Record<string, unknown>[];
    const days = rows.map((r) => ({
      day: String(r.day),
      state: String(r.state),
      lines: Number(r.lines),
      closedAt: r.closed_at == null ? undefined : String(r.closed_at),
      closedBy: r.closed_by == null ? undefined : String(r.closed_by),
    }));
    if (json) console.log(JSON.stringify({ days }, null, 2));
    else {
      console.log(
        table(
          ["day", "state", "lines", "closed at", "by"],
          days.map((d) => [d.day, d.state, d.lines, d.closedAt, d.closedBy]),
        ).join("\n"),
      );
    }
    return 0;
  } finally {
    await bo.close();
  }
}

async function runCheckFile(p: Parsed, file: string, json: boolean): Promise<number> {
  const ks = await openStore(p);
  try {
    const key = await clearingKeyOf(ks, str(p, "clearing-key"));
    const { preamble, text } = await openSealed(await Deno.readFile(file), key);
    const trailer = checkTrailer(text);
    if (json) console.log(JSON.stringify({ ok: true, preamble, trailer }, null, 2));
    else {
      console.log(
        `${file}: opens with ${key.id} (KCV ${key.kcv}); day ${preamble.day}; ${trailer.count} ` +
          `records, ${yuan(trailer.amount)} yuan; trailer matches (sha256 ${trailer.sha256})`,
      );
    }
    return 0;
  } finally {
    ks.close();
  }
}

export const command: Command = {
  summary: "clear a settlement day: outcomes, ledger, debts, clearing file, reports",
  async run(args) {
    const p = commandArgs(args, {
      date: { type: "string" },
      close: { type: "boolean" },
      list: { type: "boolean" },
      "check-file": { type: "string" },
      out: { type: "string" },
      "clearing-key": { type: "string" },
      chunk: { type: "string" },
      home: { type: "string" },
      "master-key-file": { type: "string" },
      operator: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    }, HELP);
    if (!p) return 0;
    const json = flag(p, "json");
    const modes = [str(p, "date"), flag(p, "list") || undefined, str(p, "check-file")]
      .filter((x) => x !== undefined);
    if (modes.length !== 1) throw new UsageError("give one of --date, --list, --check-file");
    if (flag(p, "list")) return await runList(p, json);
    const file = str(p, "check-file");
    if (file) return await runCheckFile(p, file, json);
    return await runClear(p, json);
  },
};
