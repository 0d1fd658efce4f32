/**
 * `icfare denylist add | remove | list | show | stale | key` — the deny list by hand
 * (docs/denylist.md, "Command line"). A card is named by its PAN, read from standard input
 * (never an argument, so never in shell history or `ps`) and hashed at once with the key
 * store's pan-hash key, or by its card hash (`--card`). The PAN is never stored, logged or
 * printed; outputs show it masked. Every change goes into the deny-list journal with the
 * operator (`--operator`, `ICFARE_OPERATOR`, else the login name).
 */
import { flag, type Parsed, str, UsageError } from "../args.ts";
import {
  actorOf,
  type Command,
  commandArgs,
  COMMON,
  openHomeBackOffice,
  openStore,
  out,
  table,
} from "../common.ts";
import type { SqlDb } from "../../core/store/sql.ts";
import { panHash } from "../../core/store/pan.ts";
import { maskPan } from "../../core/mask.ts";
import { toHex } from "../../core/hex.ts";
import type { Card, JournalDenyList } from "../../core/denylist/journal.ts";
import { staleReport } from "../../core/denylist/stale.ts";
import { publicKeyInfo } from "../../core/keys/signing.ts";

const HELP = `usage: icfare denylist <subcommand> [options]

  add --psn NN --ref TEXT [--card HEX]   put a card on the list (reason OPERATOR); the PAN is
                                         read from standard input unless --card names the hash
  remove --psn NN --ref TEXT [--card HEX]
                                         take a card off the list (closes every hold on it)
  list                                   the listed cards: hash, PSN, reason, version
  show --psn NN [--card HEX]             a card's history (who, why, ref, version) and holds
  stale [--max-versions N] [--max-age D] terminals whose latest batch ran an old list
                                         (defaults 0 versions and 5m: D is 30s, 5m, 2h, 1d)
  key                                    the deny-list public key (algorithm, key, KCV)
--ref: the operator's reason or ticket, kept in the journal. Global: --home DIR, --json,
--master-key-file PATH, --operator NAME.`;

const OPTIONS = {
  ...COMMON,
  psn: { type: "string" },
  card: { type: "string" },
  ref: { type: "string" },
  "max-versions": { type: "string" },
  "max-age": { type: "string" },
} as const;

async function readPan(): Promise<string> {
  if (Deno.stdin.isTerminal()) console.error("PAN (not echoed back, not stored):");
  const text = (await new Response(Deno.stdin.readable).text()).trim();
  if (!/^[0-9]{12,19}$/.test(text)) throw new UsageError("standard input: a PAN of 12-19 digits");
  return text;
}

/** The card named on the command line, and how to show it (masked PAN or short hash). */
async function cardOf(p: Parsed): Promise<{ card: Card; shown: string }> {
  const psn = str(p, "psn");
  if (psn === undefined || !/^[0-9]{2}$/.test(psn)) throw new UsageError("--psn NN (2 digits)");
  const given = str(p, "card");
  if (given !== undefined) {
    if (!/^[0-9A-Fa-f]{64}$/.test(given)) throw new UsageError("--card: 64 hex digits");
    return { card: { cardHash: given.toUpperCase(), psn }, shown: given.slice(0, 16) + "…" };
  }
  const pan = await readPan();
  const ks = await openStore(p);
  try {
    const h = await panHash(await ks.hmacCryptoKey("pan-hash"), pan, psn);
    return { card: { cardHash: toHex(h), psn }, shown: `${maskPan(pan)}/${psn}` };
  } finally {
    ks.close();
  }
}

async function withList<T>(p: Parsed, f: (dl: JournalDenyList, db: SqlDb) => T): Promise<T> {
  const bo = await openHomeBackOffice(p);
  try {
    return f(bo.denyList, bo.db);
  } finally {
    await bo.close();
  }
}

/** `30s`, `5m`, `2h`, `1d` or seconds, in ms. */
function duration(text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  const m = /^([0-9]{1,9})([smhd]?)$/.exec(text);
  if (!m) throw new UsageError(`--max-age: a duration such as 30s, 5m, 2h, 1d; got "${text}"`);
  return Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]]! * 1000;
}

async function change(p: Parsed, sub: "add" | "remove", json: boolean): Promise<number> {
  const ref = str(p, "ref");
  if (ref === undefined || ref.trim() === "") throw new UsageError("--ref TEXT: why, or a ticket");
  const { card, shown } = await cardOf(p);
  const by = actorOf(p);
  const r = await withList(p, (dl) => {
    const before = dl.version();
    const v = sub === "add"
      ? dl.add(card, "OPERATOR", by, ref)
      : dl.remove(card, "OPERATOR", by, ref);
    return { version: v, changed: v !== before, listed: dl.isListed(card) };
  });
  out(json, { ok: true, card: card.cardHash, psn: card.psn, by, ...r }, () => [
    `${shown}: ${r.listed ? "listed" : "not listed"}; list version ${r.version}` +
    (r.changed ? ` (new, by ${by})` : " (unchanged)"),
  ]);
  return 0;
}

async function list(p: Parsed, json: boolean): Promise<number> {
  const r = await withList(p, (dl) => ({ version: dl.version(), cards: dl.cards() }));
  out(json, r, () => [
    `deny list version ${r.version}: ${r.cards.length} cards`,
    ...table(
      ["card hash", "psn", "reason", "version"],
      r.cards.map((c) => [c.cardHash.slice(0, 16) + "…", c.psn, c.reason, c.version]),
    ),
  ]);
  return 0;
}

async function show(p: Parsed, json: boolean): Promise<number> {
  const { card, shown } = await cardOf(p);
  const r = await withList(p, (dl) => ({
    card: card.cardHash,
    psn: card.psn,
    listed: dl.isListed(card),
    holds: dl.holds(card),
    history: dl.history(card),
  }));
  out(json, r, () => [
    `${shown}: ${r.listed ? "listed" : "not listed"}` +
    (r.holds.length
      ? ` (${r.holds.map((h) => `${h.reason} ${h.ref ?? ""}`.trim()).join(", ")})`
      : ""),
    ...table(
      ["at", "event", "reason", "ref", "by", "version"],
      r.history.map((
        e,
      ) => [e.at, e.event, e.reason, e.ref ?? undefined, e.by, e.version ?? undefined]),
    ),
  ]);
  return 0;
}

async function stale(p: Parsed, json: boolean): Promise<number> {
  const mv = str(p, "max-versions") ?? "0";
  if (!/^[0-9]{1,9}$/.test(mv)) throw new UsageError("--max-versions: a non-negative integer");
  const maxAgeMs = duration(str(p, "max-age"), 5 * 60_000);
  const r = await withList(
    p,
    (dl, db) => staleReport(db, dl, { maxVersions: Number(mv), maxAgeMs }),
  );
  const shown = r.terminals.filter((t) => t.state !== "current");
  out(json, r, () => [
    `deny list version ${r.version}; ${shown.filter((t) => t.state === "stale").length} stale of ` +
    `${r.terminals.length} terminals (more than ${r.maxVersions} versions, or ${
      r.maxAgeMs / 1000
    } s, behind)`,
    ...table(
      ["terminal", "state", "reported", "behind", "behind since", "latest batch", "received"],
      shown.map((
        t,
      ) => [
        t.terminalId,
        t.state,
        t.reported,
        t.behind,
        t.behindSince ?? undefined,
        t.batchNo,
        t.receivedAt,
      ]),
    ),
  ]);
  return r.terminals.some((t) => t.state === "stale" || t.state === "ahead") ? 1 : 0;
}

async function key(p: Parsed, json: boolean): Promise<number> {
  const ks = await openStore(p);
  try {
    const k = publicKeyInfo(ks, "denylist-sign");
    out(json, k, () => [
      `${k.keyId}: ${k.algorithm}${
        k.algorithm === "sm2" ? " (user ID 1234567812345678)" : ""
      }, KCV ${k.kcv} (SHA-256 of the point)`,
      `public key (04 ‖ x ‖ y): ${k.publicKey}`,
    ]);
    return 0;
  } finally {
    ks.close();
  }
}

export const command: Command = {
  summary: "deny list: add, remove, list, show (history), stale terminals, key",
  async run(args) {
    const [sub, ...rest] = args;
    if (!sub || sub === "--help" || sub === "-h") {
      console.log(HELP);
      return sub ? 0 : 2;
    }
    const p = commandArgs(rest, OPTIONS, HELP);
    if (!p) return 0;
    const json = flag(p, "json");
    switch (sub) {
      case "add":
      case "remove":
        return await change(p, sub, json);
      case "list":
        return await list(p, json);
      case "show":
        return await show(p, json);
      case "stale":
        return await stale(p, json);
      case "key":
        return await key(p, json);
    }
    throw new UsageError(`unknown subcommand "${sub}"\n\n${HELP}`);
  },
};
