/**
 * `icfare archive` — seals a closed settlement day into one signed, chained file for auditors
 * (docs/archive.md); registers the auditors' public keys; lists archived days; shows the
 * archive signing key auditors pin. Every rule lives in core/archive.
 */
import { join } from "node:path";
import { flag, parseArgs, type Parsed, str, UsageError } from "../args.ts";
import {
  type Command,
  COMMON,
  dateOption,
  homeOf,
  openHomeBackOffice,
  openStore,
  out,
  progressBar,
  table,
} from "../common.ts";
import { archiveDay, listArchive } from "../../core/archive/archive.ts";
import { addAuditor, readAuditors } from "../../core/archive/auditors.ts";
import { publicKeyInfo } from "../../core/keys/signing.ts";

const HELP = `usage: icfare archive --date YYYY-MM-DD [--clearing-file F] [--home DIR]
                      [--master-key-file F] [--json]
       icfare archive auditors add FILE [--json]     register an auditor's public key
       icfare archive auditors list [--json]
       icfare archive list [--json]                  archived days, heads and links (exit 1 on a break)
       icfare archive key [--json]                   the archive signing key (auditors pin it)

Seals a closed settlement day into HOME/archive/icfare-archive-DAY.jsonl: every record of the
day as received (sealed for the registered auditors), its verdict, clearing line and ledger
postings; the day's CA keys, issuer certificates and deny-list events; the summary and the
clearing file's trailer. Segments are hash-chained, the head is signed by the key store's
archive-sign key and chains to the previous archived day. Archiving a day again leaves the
same bytes (or is refused when the store no longer gives the same archive). Days are archived
in order. Check it with: icfare audit FILE.
Exit codes: 0 done; 1 refused (coded line); 2 bad usage.`;

const OPTIONS = {
  ...COMMON,
  date: { type: "string" },
  "clearing-file": { type: "string" },
} as const;

async function runArchive(p: Parsed, json: boolean): Promise<number> {
  const day = dateOption(p, "date");
  if (!day) throw new UsageError("--date YYYY-MM-DD is required");
  const home = homeOf(p);
  const ks = await openStore(p);
  try {
    const bo = await openHomeBackOffice(p);
    try {
      const r = await archiveDay({
        home,
        day,
        db: bo.db,
        ks,
        clearingFile: str(p, "clearing-file"),
        onProgress: json ? undefined : progressBar(`archive ${day}`),
      });
      out(json, r, () => [
        `${r.day}: ${r.state === "written" ? "sealed" : "already sealed, unchanged"} ${r.file}`,
        `  ${r.records} record(s) in ${r.segments} segment(s), ${r.bytes} bytes, SHA-256 ${r.sha256}`,
        `  head ${r.head}` + (r.previous ? ` chains to ${r.previous.day}` : " (first day)"),
        `  signed by ${r.signer.keyId} (${r.signer.algorithm}, KCV ${r.signer.kcv}); evidence ` +
        `sealed for auditor(s) ${r.auditors.join(", ")}`,
      ]);
      return 0;
    } finally {
      await bo.close();
    }
  } finally {
    ks.close();
  }
}

async function runAuditors(p: Parsed, json: boolean, rest: string[]): Promise<number> {
  const home = homeOf(p);
  if (rest[0] === "add" && rest.length === 2) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await Deno.readTextFile(rest[1]));
    } catch (e) {
      throw new UsageError(`${rest[1]}: ${(e as Error).message}`, "BAD_INPUT");
    }
    const r = await addAuditor(home, parsed);
    out(
      json,
      r,
      () => [`auditor ${r.name} (KCV ${r.kcv}) ${r.added ? "registered" : "already registered"}`],
    );
    return 0;
  }
  if (rest[0] === "list" && rest.length === 1) {
    const all = (await readAuditors(home)).map((a) => ({ name: a.name, kcv: a.kcv }));
    out(json, { auditors: all }, () => table(["kcv", "name"], all.map((a) => [a.kcv, a.name])));
    return 0;
  }
  throw new UsageError("archive auditors add FILE | archive auditors list");
}

async function runList(p: Parsed, json: boolean): Promise<number> {
  const days = await listArchive(join(homeOf(p), "archive"));
  out(
    json,
    { days },
    () =>
      table(
        ["day", "records", "head", "chains to the day before", "file"],
        days.map((d) => [
          d.day,
          d.records === null ? "-" : String(d.records),
          d.head ?? `NO HEAD: ${d.problem}`,
          d.linked === null ? "(first)" : d.linked ? "yes" : "NO",
          d.file,
        ]),
      ),
  );
  // a day without a head, or one that does not chain, is a reason to run the audit
  return days.every((d) => d.head !== null && d.linked !== false) ? 0 : 1;
}

async function runKey(p: Parsed, json: boolean): Promise<number> {
  const ks = await openStore(p);
  try {
    const k = publicKeyInfo(ks, "archive-sign");
    out(json, k, () => [`${k.keyId} ${k.algorithm} KCV ${k.kcv}`, k.publicKey]);
    return 0;
  } finally {
    ks.close();
  }
}

export const command: Command = {
  summary: "seal a closed settlement day into a signed, chained archive for auditors",
  async run(args) {
    const p = parseArgs(args, OPTIONS);
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const json = flag(p, "json");
    const [sub, ...rest] = p.positionals;
    if (sub === undefined) return await runArchive(p, json);
    if (str(p, "date")) throw new UsageError(`--date does not go with "${sub}"`);
    if (sub === "auditors") return await runAuditors(p, json, rest);
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (sub === "list") return await runList(p, json);
    if (sub === "key") return await runKey(p, json);
    throw new UsageError(`unknown archive subcommand "${sub}"\n\n${HELP}`);
  },
};
