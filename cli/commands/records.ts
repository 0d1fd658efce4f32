/**
 * `icfare records` — the stored records and their verdicts, for operators and auditors
 * (docs/cli.md): filtered by tap date, terminal, status and card, as a table, JSON or CSV.
 * A card is looked up by its PAN typed in (never on the command line): the PAN is hashed with
 * the key store's pan-hash key for each PSN and forgotten; it is never stored, logged or shown.
 */
import { flag, type Parsed, str, UsageError } from "../args.ts";
import {
  type Command,
  commandArgs,
  dateOption,
  openHomeBackOffice,
  openStore,
  out,
  table,
} from "../common.ts";
import { readSecretLine } from "../prompt.ts";
import { DevPanProtector } from "../../core/store/pan.ts";
import { queryRecords, type RecordFilter, type StoredRecord } from "../../core/store/records.ts";

const HELP =
  `usage: icfare records [--date D | --from D] [--to D] [--terminal ID] [--status S] [--card [--psn NN]]
                      [--limit N] [--json | --csv] [--out FILE] [--home DIR] [--master-key-file F]

Lists stored records with their verdicts, by tap time: masked PAN, PSN, ATC, state (pending,
rejected, verified), status (the verdict, the upload rejection's code, or PENDING), cryptogram
and ODA flags.
  --date D         taps of one local day (YYYY-MM-DD); --from D / --to D for a range
  --terminal ID    one terminal (8 letters or digits)
  --status S       pending | rejected | verified, or a status code (OK, AC_MISMATCH, DUPLICATE,
                   MISSING_TAG, …)
  --card           one card: its PAN is read from standard input (typed without echo on a
                   terminal) and hashed with the pan-hash key of the key store (master key from
                   --master-key-file or ICFARE_MASTER_KEY); every PSN unless --psn NN
  --limit N        at most N records (default 1000; 0 for all)
  --json           {count, more, records: [...]}
  --csv            CSV with a header line (cells that a spreadsheet would run are quoted as text)
  --out FILE       write the listing to FILE instead of standard output
Exit codes: 0 listed (also when nothing matched); 1 refused (no store, no key store, …);
2 bad usage (a date that is not a day, a malformed terminal id or status, a PAN that is not
12-19 digits).`;

const OPTIONS = {
  date: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  terminal: { type: "string" },
  status: { type: "string" },
  card: { type: "boolean" },
  psn: { type: "string" },
  limit: { type: "string" },
  json: { type: "boolean" },
  csv: { type: "boolean" },
  out: { type: "string" },
  home: { type: "string" },
  "master-key-file": { type: "string" },
  operator: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The filters of the command line, each checked at the door. */
function filterOf(p: Parsed): RecordFilter {
  const date = dateOption(p, "date");
  if (date && (str(p, "from") || str(p, "to"))) {
    throw new UsageError("--date excludes --from and --to");
  }
  const terminalId = str(p, "terminal");
  if (terminalId !== undefined && !/^[0-9A-Za-z]{8}$/.test(terminalId)) {
    throw new UsageError("--terminal must be 8 letters or digits");
  }
  const status = str(p, "status");
  if (status !== undefined && !/^(pending|rejected|verified|[A-Z][A-Z0-9_]{1,40})$/.test(status)) {
    throw new UsageError("--status must be pending, rejected, verified or a status code");
  }
  const limit = str(p, "limit") ?? "1000";
  if (!/^[0-9]{1,9}$/.test(limit)) throw new UsageError("--limit must be an integer 0 or more");
  return {
    from: date ?? dateOption(p, "from"),
    to: date ?? dateOption(p, "to"),
    terminalId,
    status,
    limit: Number(limit),
  };
}

/** The PSNs to try: the one given, or all 100. */
function psnsOf(p: Parsed): string[] {
  const psn = str(p, "psn");
  if (psn === undefined) return Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
  if (!/^[0-9]{2}$/.test(psn)) throw new UsageError("--psn must be two digits");
  return [psn];
}

/** The keyed hashes of the card whose PAN is typed in; the PAN goes out of scope here. */
async function cardHashesOf(p: Parsed): Promise<Uint8Array[]> {
  const psns = psnsOf(p);
  const typed = await readSecretLine("PAN (not shown): ");
  const pan = (typed ?? "").replace(/[\s-]/g, "");
  if (!/^[0-9]{12,19}$/.test(pan)) {
    throw new UsageError(
      "--card: the PAN read from standard input must be 12-19 digits",
      "BAD_PAN",
    );
  }
  const ks = await openStore(p);
  try {
    const protector = DevPanProtector.fromCryptoKeys(
      await ks.hmacCryptoKey("pan-hash"),
      await ks.dataCryptoKey(),
    );
    return await Promise.all(psns.map((psn) => protector.hash(pan, psn)));
  } finally {
    ks.close();
  }
}

const CSV_HEAD = [
  "id",
  "tapped_at",
  "terminal",
  "batch",
  "seq",
  "line",
  "vehicle",
  "stop",
  "fare",
  "pan",
  "psn",
  "atc",
  "state",
  "status",
  "cryptogram",
  "oda",
  "message",
];

/** One CSV cell (RFC 4180); text a spreadsheet would run as a formula is kept as text. */
export function csvCell(v: string | number | null): string {
  let s = v === null ? "" : String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s.startsWith("'") ? `"${s.replaceAll('"', '""')}"` : s;
}

function csvLines(rs: readonly StoredRecord[]): string[] {
  return [
    CSV_HEAD.join(","),
    ...rs.map((r) =>
      [
        r.id,
        r.tappedAt,
        r.terminalId,
        r.batchNo,
        r.seq,
        r.line,
        r.vehicle,
        r.stop,
        r.fare,
        r.pan,
        r.psn,
        r.atc,
        r.state,
        r.status,
        r.cryptogram,
        r.oda,
        r.message,
      ].map(csvCell).join(",")
    ),
  ];
}

function tableLines(rs: readonly StoredRecord[]): string[] {
  return table(
    ["id", "tapped at", "terminal", "batch/seq", "line", "fare", "PAN", "PSN", "ATC", "status"],
    rs.map((r) => [
      r.id,
      r.tappedAt,
      r.terminalId,
      `${r.batchNo}/${r.seq}`,
      r.line,
      (r.fare / 100).toFixed(2),
      r.pan ?? undefined,
      r.psn ?? undefined,
      r.atc ?? undefined,
      r.cryptogram ? `${r.status} (${r.cryptogram}, oda ${r.oda})` : r.status,
    ]),
  );
}

/** Writes the listing to --out, or prints it. */
async function emit(p: Parsed, lines: string[]): Promise<void> {
  const file = str(p, "out");
  if (file === undefined) return out(false, null, () => lines);
  const st = await Deno.stat(file).catch(() => null);
  if (st?.isDirectory) {
    throw new UsageError(`--out ${file} is a directory; name a file`, "IS_A_DIRECTORY");
  }
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
}

export const command: Command = {
  summary: "stored records and verdicts by date, terminal, status or card (masked PANs)",
  async run(args) {
    const p = commandArgs(args, OPTIONS, HELP);
    if (!p) return 0;
    if (flag(p, "json") && flag(p, "csv")) throw new UsageError("--json excludes --csv");
    if (str(p, "psn") !== undefined && !flag(p, "card")) throw new UsageError("--psn needs --card");
    const filter = filterOf(p);
    const cardHashes = flag(p, "card") ? await cardHashesOf(p) : undefined;
    const bo = await openHomeBackOffice(p, { existing: true });
    let found;
    try {
      found = queryRecords(bo.db, { ...filter, cardHashes });
    } finally {
      await bo.close();
    }
    const { records, more } = found;
    if (flag(p, "json")) {
      await emit(p, [JSON.stringify({ count: records.length, more, records }, null, 2)]);
    } else await emit(p, flag(p, "csv") ? csvLines(records) : tableLines(records));
    if (more) console.error(`icfare records: more records match; --limit 0 lists them all`);
    return 0;
  },
};
