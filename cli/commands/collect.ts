/**
 * `icfare collect` — collects the ODA model's due debts over ISO 8583 from the acquirer
 * (docs/iso8583.md, docs/clearing.md "Collection over ISO 8583"). The run is
 * `core/collect`; this file reads the options, opens the stores and the key store (the card-data
 * key to open track 2 in memory, the terminal's acquirer TMK for the sign-on) and prints.
 */
import { flag, type Parsed, str, UsageError } from "../args.ts";
import {
  actorOf,
  type Command,
  commandArgs,
  intOption,
  openHomeBackOffice,
  openStore,
  profileOption,
  progressBar,
  table,
  timeOption,
} from "../common.ts";
import { DevPanProtector } from "../../core/store/pan.ts";
import { DebtBook } from "../../core/debts/book.ts";
import { AcquirerLink } from "../../core/iso8583/link.ts";
import { collectDebts, type CollectSummary } from "../../core/collect/collect.ts";
import { DebtRequests } from "../../core/collect/request.ts";
import { yuan } from "../../core/clearing/report_text.ts";
import { IcfareError } from "../../core/errors.ts";
import type { KeyStore } from "../../core/keys/store.ts";
import type { KeyInfo } from "../../core/keys/records.ts";

const HELP =
  `usage: icfare collect --port N --terminal ID --merchant ID [--host ADDR] [--profile NAME|FILE]
                      [--tmk KEY-ID] [--timeout-ms N] [--concurrency N] [--rounds N]
                      [--reversal-tries N] [--limit N] [--at TIME] [--tls [--tls-ca FILE]]
                      [--home DIR] [--master-key-file F] [--json]

Collects the due debts of the ODA model from the acquirer over ISO 8583 (2-byte length frames,
TPDU and header of the profile): signs on as the terminal (0800; working keys checked against
their check values), reverses first every debt an earlier run left "sent" or "reversing"
(0400, reason 98, or A0 after a bad MAC), moves declined debts whose retry is due back to
pending, then sends each due debt once per round (0200 with a fresh STAN; the debt is made
"sent" in the store before a byte leaves). An answer of unknown meaning, a timeout or a lost
connection is reversed, never sent again; a refusal or a confirmed reversal leaves the debt
pending for the next round. An approval recovers the debt and takes the card off the deny list
(unless another hold keeps it); a decline lists the card and schedules the retry (1, 3, 7, 14
days); the fifth decline writes the debt off. Killed at any point, the next run finishes every
debt and never charges a tap twice.
  --host ADDR         the acquirer host (default 127.0.0.1); --port N its port
  --terminal ID       field 41 (8 characters); --merchant ID field 42 (15 characters)
  --profile NAME      afc, cl or icfare-sim (default), or a profile file (JSON): TPDU, header,
                      MAC method, key layout, where the chip data goes
  --tmk KEY-ID        the acquirer-tmk key (default acquirer-tmk-TERMINAL)
  --timeout-ms N      wait for each answer (default 10000)
  --concurrency N     debts in flight together (default 4)
  --rounds N          passes over the due debts (default 4)
  --reversal-tries N  0400s per debt and round (default 3)
  --limit N           take at most N due debts
  --at TIME           the clock (ISO 8601) for the retry schedule and the debt events
  --tls, --tls-ca F   TLS to the host, trusting the CA certificates in F (PEM)
Needs the key store (card-data key, the TMK): --master-key-file or ICFARE_MASTER_KEY.
Exit codes: 0 every debt taken is settled for now (recovered, declined until its retry, written
off); 1 refused, or debts left pending/sent/reversing (COLLECT_INCOMPLETE: run it again);
2 bad usage.`;

const OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  terminal: { type: "string" },
  merchant: { type: "string" },
  profile: { type: "string" },
  tmk: { type: "string" },
  "timeout-ms": { type: "string" },
  concurrency: { type: "string" },
  rounds: { type: "string" },
  "reversal-tries": { type: "string" },
  limit: { type: "string" },
  at: { type: "string" },
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
  home: { type: "string" },
  "master-key-file": { type: "string" },
  operator: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Debts left unsettled by a run: run it again. */
export class CollectIncomplete extends IcfareError {
  constructor(message: string) {
    super("COLLECT_INCOMPLETE", message, { hint: "icfare collect (again)" });
    this.name = "CollectIncomplete";
  }
}

function need(p: Parsed, name: string, re: RegExp, what: string): string {
  const v = str(p, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  if (!re.test(v)) throw new UsageError(`--${name} must be ${what}, got "${v}"`);
  return v;
}

/** The checked options (usage errors exit 2). */
function optionsOf(p: Parsed) {
  const port = intOption(p, "port", 1, 65535);
  if (port === undefined) throw new UsageError("--port is required");
  const terminal = need(p, "terminal", /^[\x20-\x7e]{8}$/, "8 characters");
  if (str(p, "tls-ca") && !flag(p, "tls")) throw new UsageError("--tls-ca needs --tls");
  return {
    hostname: str(p, "host") ?? "127.0.0.1",
    port,
    terminal,
    merchant: need(p, "merchant", /^[\x20-\x7e]{15}$/, "15 characters"),
    tmk: str(p, "tmk") ?? `acquirer-tmk-${terminal}`,
    timeoutMs: intOption(p, "timeout-ms", 10, 600_000) ?? 10_000,
    concurrency: intOption(p, "concurrency", 1, 256) ?? 4,
    rounds: intOption(p, "rounds", 1, 100) ?? 4,
    reversalTries: intOption(p, "reversal-tries", 1, 100) ?? 3,
    limit: intOption(p, "limit", 1, 100_000_000),
    at: timeOption(p, "at"),
    tls: flag(p, "tls"),
    tlsCa: str(p, "tls-ca"),
  };
}

type Options = ReturnType<typeof optionsOf>;

function checkTmk(id: string, rec: KeyInfo): void {
  if (rec.usage !== "acquirer-tmk") {
    throw new IcfareError("COLLECT_TMK", `key ${id} is ${rec.usage}, not acquirer-tmk`, {
      hint: "icfare keys list",
    });
  }
}

/** Lends the TMK for a sign-on; a key of another usage is refused. */
function tmkOf(ks: KeyStore, id: string) {
  ks.withKey(id, (_key, rec) => checkTmk(id, rec)); // refused before connecting
  return {
    withTmk<T>(fn: (tmk: Uint8Array) => T): T {
      return ks.withKey(id, (key, rec) => (checkTmk(id, rec), fn(key)));
    },
  };
}

function summaryLines(s: CollectSummary): string[] {
  const t = (x: { count: number; amount: number }) => [x.count, yuan(x.amount)];
  const left = s.left.pending + s.left.sent + s.left.reversing;
  return [
    `collect at ${s.at}: ${s.attempts} authorisation(s) in ${s.rounds} round(s), ${
      s.seconds.toFixed(2)
    } s (${s.perSecond} debts/s); ${s.resumed.found} found half done, ${s.resumed.reversed} ` +
    `reversed; ${s.swept} declined debt(s) due for retry`,
    ...table(["outcome", "debts", "yuan"], [
      ["collected", ...t(s.collected)],
      ["declined (retry scheduled)", ...t(s.declined)],
      ["written off", ...t(s.writtenOff)],
    ]),
    `refused ${s.refused}, reversed ${s.reversed} (pending again); reversals unconfirmed ${s.reversalPending}`,
    `link: ${s.link.sent} sent, ${s.link.answered} answered, ${s.link.timeouts} timeouts, ` +
    `${s.link.disconnects} disconnects, ${s.link.unmatched} late/duplicate, ${s.link.badMac} bad MACs`,
    left
      ? `left: ${s.left.pending} pending, ${s.left.sent} sent, ${s.left.reversing} reversing`
      : "left: none",
    ...s.failed.map((f) => `debt ${f.debtId}: ${f.code} ${f.message}`),
  ];
}

async function linkOf(o: Options, p: Parsed, ks: KeyStore): Promise<AcquirerLink> {
  let caCerts: string[] | undefined;
  if (o.tlsCa) {
    try {
      caCerts = [await Deno.readTextFile(o.tlsCa)];
    } catch (e) {
      throw new UsageError(`--tls-ca ${o.tlsCa}: ${(e as Error).message}`);
    }
  }
  return new AcquirerLink({
    hostname: o.hostname,
    port: o.port,
    ...(o.tls ? { tls: caCerts ? { caCerts } : {} } : {}),
    profile: await profileOption(str(p, "profile")),
    terminalId: o.terminal,
    merchantId: o.merchant,
    timeoutMs: o.timeoutMs,
    tmk: tmkOf(ks, o.tmk),
  });
}

async function runCollect(p: Parsed): Promise<number> {
  const o = optionsOf(p);
  const json = flag(p, "json");
  const ks = await openStore(p);
  const bo = await openHomeBackOffice(p);
  let link: AcquirerLink | undefined;
  try {
    const pan = DevPanProtector.fromCryptoKeys(
      await ks.hmacCryptoKey("pan-hash"),
      await ks.dataCryptoKey(),
    );
    const db = bo.db;
    const book = new DebtBook(db, bo.denyList, actorOf(p));
    const requests = new DebtRequests(db, pan);
    link = await linkOf(o, p, ks);
    const summary = await collectDebts({
      book,
      link,
      requestOf: (d, stan) => requests.of(d, stan),
      clock: o.at ? () => o.at! : () => new Date().toISOString(),
      concurrency: o.concurrency,
      rounds: o.rounds,
      reversalTries: o.reversalTries,
      limit: o.limit,
      onProgress: json ? undefined : progressBar("collect", { rate: true }),
    });
    if (json) console.log(JSON.stringify(summary, null, 2));
    else console.log(summaryLines(summary).join("\n"));
    const left = summary.left.pending + summary.left.sent + summary.left.reversing;
    if (left) {
      throw new CollectIncomplete(
        `${left} debt(s) not settled (${summary.left.pending} pending, ${summary.left.sent} ` +
          `sent, ${summary.left.reversing} reversing)`,
      );
    }
    return 0;
  } finally {
    await link?.close();
    await bo.close();
    ks.close();
  }
}

export const command: Command = {
  summary: "collect the ODA debts from the acquirer over ISO 8583 (exactly once)",
  async run(args) {
    const p = commandArgs(args, OPTIONS, HELP);
    return p ? await runCollect(p) : 0;
  },
};
