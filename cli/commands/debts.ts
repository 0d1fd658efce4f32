/**
 * `icfare debts` — the ODA model's debts (docs/clearing.md, "Debts"): list them, export the
 * due ones as a request file (their state made `sent` first), take in a response file, and move
 * declined debts whose retry is due. Collection over ISO 8583 is `core/iso8583`; this command is
 * the file-exchange door to the same debt book.
 */
import { flag, parseArgs, type Parsed, str, UsageError } from "../args.ts";
import {
  actorOf,
  type Command,
  dateOption,
  openHomeBackOffice,
  openStore,
  out,
  table,
  timeOption,
} from "../common.ts";
import { DevPanProtector } from "../../core/store/pan.ts";
import { DebtBook } from "../../core/debts/book.ts";
import { DEBT_STATES, type DebtState } from "../../core/debts/states.ts";
import { exportDue, intake } from "../../core/debts/files.ts";
import { yuan } from "../../core/clearing/report_text.ts";

const HELP = `usage: icfare debts list [--state S[,S…]] [--date YYYY-MM-DD] [--json]
       icfare debts export --out FILE [--at TIME] [--resend] [--limit N] [--json]
       icfare debts intake FILE [--at TIME] [--json]
       icfare debts sweep [--at TIME] [--json]

Debts are made by icfare clear from ODA-model records (one per tap, or per card per day in the
aggregated fare mode) and move pending → sent → recovered | declined → (retry 1, 3, 7, 14 days
after the first decline) → … → written off. A decline puts the card on the deny list; a
recovery takes it off (when no other debt of the card is unpaid).
  list     debts with state, amount, STAN, sends; --state filters (${DEBT_STATES.join(", ")})
  export   declined debts due for retry become pending; every due pending debt gets a STAN and
           is made "sent" in the store, then written to FILE as JSON lines (amount, card hash,
           records, ARQC, ATC, chip data without any card-number tag: no PAN). --resend writes
           the debts still "sent" again with their STAN (a retransmission). Needs the key store
  intake   applies a response file: JSON lines {"debtId","stan","outcome":"approved"|"declined"
           |"refused"|"reversed","responseCode"?,"authCode"?,"rrn"?}; a repeated or stale line
           changes nothing and is reported
  sweep    only the retry step of export
--at TIME (ISO 8601) sets the clock (default now). Exit codes: 0 done; 1 refused; 2 bad usage.`;

function atOf(p: Parsed): string {
  return timeOption(p, "at") ?? new Date().toISOString();
}

function statesOf(p: Parsed): DebtState[] | undefined {
  const s = str(p, "state");
  if (s === undefined) return undefined;
  const list = s.split(",");
  for (const x of list) {
    if (!(DEBT_STATES as readonly string[]).includes(x)) {
      throw new UsageError(`--state: unknown state "${x}" (${DEBT_STATES.join(", ")})`);
    }
  }
  return list as DebtState[];
}

async function runExport(p: Parsed, book: DebtBook, json: boolean): Promise<number> {
  const file = str(p, "out");
  if (!file) throw new UsageError("export needs --out FILE");
  const limit = str(p, "limit");
  if (limit !== undefined && !/^[1-9][0-9]*$/.test(limit)) {
    throw new UsageError(`--limit must be a positive integer, got "${limit}"`);
  }
  const ks = await openStore(p);
  try {
    const pan = DevPanProtector.fromCryptoKeys(
      await ks.hmacCryptoKey("pan-hash"),
      await ks.dataCryptoKey(),
    );
    const r = await exportDue(book.db, pan, book, {
      at: atOf(p),
      resend: flag(p, "resend"),
      limit: limit === undefined ? undefined : Number(limit),
    });
    await Deno.writeTextFile(file, r.requests.map((q) => JSON.stringify(q) + "\n").join(""), {
      mode: 0o600,
    });
    const amount = r.requests.reduce((s, q) => s + q.amount, 0);
    out(json, { file, requests: r.requests.length, amount, swept: r.swept }, () => [
      `${file}: ${r.requests.length} request(s), ${
        yuan(amount)
      } yuan; ${r.swept} declined debt(s) due for retry`,
    ]);
    return 0;
  } finally {
    ks.close();
  }
}

export const command: Command = {
  summary: "ODA debts: list, export requests, intake responses, retry sweep",
  async run(args) {
    const p = parseArgs(args, {
      state: { type: "string" },
      date: { type: "string" },
      out: { type: "string" },
      at: { type: "string" },
      resend: { type: "boolean" },
      limit: { type: "string" },
      home: { type: "string" },
      "master-key-file": { type: "string" },
      operator: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help") || p.positionals.length === 0) {
      console.log(HELP);
      return flag(p, "help") ? 0 : 2;
    }
    const [sub, ...rest] = p.positionals;
    const json = flag(p, "json");
    const bo = await openHomeBackOffice(p);
    const book = new DebtBook(bo.db, bo.denyList, actorOf(p));
    try {
      if (sub === "list") {
        const debts = book.list({ states: statesOf(p), day: dateOption(p, "date") });
        out(json, { debts }, () =>
          table(
            [
              "id",
              "day",
              "state",
              "amount",
              "mode",
              "STAN",
              "sends",
              "declines",
              "next attempt",
              "card",
            ],
            debts.map((d) => [
              d.id,
              d.day,
              d.state,
              yuan(d.amount),
              d.mode,
              d.stan ?? undefined,
              d.sends,
              d.declines,
              d.state === "pending" || d.state === "declined" ? d.nextAttemptAt : undefined,
              `${d.cardHash.slice(0, 12)}…/${d.psn}`,
            ]),
          ));
        return 0;
      }
      if (sub === "export") return await runExport(p, book, json);
      if (sub === "sweep") {
        const n = book.sweep(atOf(p));
        out(json, { swept: n }, () => [`${n} declined debt(s) due for retry are pending again`]);
        return 0;
      }
      if (sub === "intake") {
        if (rest.length !== 1) throw new UsageError("intake needs one response FILE");
        const r = intake(book, await Deno.readTextFile(rest[0]), atOf(p));
        out(json, r, () => [
          `${r.applied.length} applied, ${r.repeated.length} already applied, ${r.refused.length} refused`,
          ...r.applied.map((a) => `  debt ${a.debtId}: ${a.outcome} → ${a.state}`),
          ...r.refused.map((x) => `  line ${x.line} (debt ${x.debtId}): ${x.why}`),
        ]);
        return 0;
      }
      throw new UsageError(`unknown subcommand "${sub}" (list, export, intake, sweep)`);
    } finally {
      await bo.close();
    }
  },
};
