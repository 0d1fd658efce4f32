/**
 * The double-entry ledger in integer fen (docs/clearing.md, "Ledger"): the chart of accounts,
 * the fee schedule's one rounding rule, the entries each outcome posts, and the writer that
 * asserts on every write that each entry balances and that the whole ledger sums to 0 fen — a
 * broken sum throws `LedgerInvariantError` inside the caller's transaction, which then rolls
 * back (fail-stop: a bug, never a refusal).
 *
 * Sign convention: a debit is a positive amount, a credit a negative one; assets and expenses
 * carry debit (positive) balances, liabilities and income credit (negative) balances.
 */
import type { SqlDb, SqlStatement } from "../store/sql.ts";
import type { PartyMoney } from "../report/data.ts";

/** The chart of accounts. An account name is `code` then its parties, joined by `:`. */
export const CHART = {
  issuer: { code: "1100", name: "issuer receivable", per: "BIN", kind: "asset" },
  debts: { code: "1200", name: "debts receivable (ODA)", per: "BIN", kind: "asset" },
  payable: {
    code: "2100",
    name: "bus company payable",
    per: "merchant and line",
    kind: "liability",
  },
  fees: { code: "4100", name: "acquirer fee income", per: "-", kind: "income" },
  writeOffs: {
    code: "5100",
    name: "write-offs (fares the acquirer could not collect)",
    per: "merchant and line",
    kind: "expense",
  },
} as const;

/** Account names. Lines are free text: percent-encoded so `:` stays a separator. */
export const accounts = {
  issuer: (bin: string) => `${CHART.issuer.code}:${bin}`,
  debts: (bin: string) => `${CHART.debts.code}:${bin}`,
  payable: (merchant: string, line: string) =>
    `${CHART.payable.code}:${merchant}:${encodeURIComponent(line)}`,
  fees: () => CHART.fees.code,
  writeOffs: (merchant: string, line: string) =>
    `${CHART.writeOffs.code}:${merchant}:${encodeURIComponent(line)}`,
};

/**
 * The acquirer's fee on one fare: `bp` basis points, **rounded half up to the fen, per record**
 * — ⌊(fare × bp + 5 000) / 10 000⌋ in integer arithmetic. The one rounding rule of the ledger.
 */
export function feeOf(fareFen: number, bp: number): number {
  if (!Number.isSafeInteger(fareFen) || fareFen < 0) {
    throw new RangeError(`fare must be a non-negative integer number of fen, got ${fareFen}`);
  }
  if (!Number.isInteger(bp) || bp < 0 || bp > 10000) {
    throw new RangeError(`fee must be 0..10000 basis points, got ${bp}`);
  }
  const product = fareFen * bp;
  if (Number.isSafeInteger(product + 5000)) return Math.floor((product + 5000) / 10000);
  return Number((BigInt(fareFen) * BigInt(bp) + 5000n) / 10000n);
}

export type EntryKind = "clear" | "debt" | "loss" | "recovery" | "write_off";

/** One journal entry: postings that sum to 0, tied to the record (and debt) they are for. */
export interface Entry {
  readonly kind: EntryKind;
  readonly day: string;
  readonly recordId: number;
  readonly debtId?: number | null;
  readonly postings: readonly (readonly [account: string, fen: number])[];
}

/** What an outcome's entry needs to know of its record. */
export interface EntryParty {
  readonly recordId: number;
  readonly day: string;
  readonly fare: number;
  readonly fee: number;
  readonly bin: string;
  readonly merchant: string;
  readonly line: string;
  readonly debtId?: number | null;
}

/** A bug in the books: thrown inside the transaction, which then rolls back. */
export class LedgerInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LedgerInvariantError";
  }
}

/** Pays the bus company the fare net of the fee against `debit` (the gross fare). */
function grossToPayable(p: EntryParty, kind: EntryKind, debit: string): Entry {
  return {
    kind,
    day: p.day,
    recordId: p.recordId,
    debtId: p.debtId ?? null,
    postings: [
      [debit, p.fare],
      [accounts.payable(p.merchant, p.line), -(p.fare - p.fee)],
      [accounts.fees(), -p.fee],
    ],
  };
}

/** The entries of the ledger effects of `outcomes.ts` and of a debt's end. */
export const entries = {
  /** CLEARED: the issuer owes the fare. */
  clear: (p: EntryParty) => grossToPayable(p, "clear", accounts.issuer(p.bin)),
  /** DEBT: the fare is owed, to collect; the bus company is paid (the acquirer bears the risk). */
  debt: (p: EntryParty) => grossToPayable(p, "debt", accounts.debts(p.bin)),
  /** LATE: not presentable; the bus company is paid and the acquirer writes the fare off. */
  loss: (p: EntryParty) => grossToPayable(p, "loss", accounts.writeOffs(p.merchant, p.line)),
  /** A debt approved: the issuer owes what the debt was. */
  recovery: (p: EntryParty): Entry => ({
    kind: "recovery",
    day: p.day,
    recordId: p.recordId,
    debtId: p.debtId ?? null,
    postings: [[accounts.issuer(p.bin), p.fare], [accounts.debts(p.bin), -p.fare]],
  }),
  /** A debt given up: the acquirer's loss. */
  writeOff: (p: EntryParty): Entry => ({
    kind: "write_off",
    day: p.day,
    recordId: p.recordId,
    debtId: p.debtId ?? null,
    postings: [[accounts.writeOffs(p.merchant, p.line), p.fare], [accounts.debts(p.bin), -p.fare]],
  }),
};

/** Checks an entry: integer fen, at least two postings, each account once, summing to 0. */
export function assertBalanced(e: Entry): void {
  let sum = 0;
  const seen = new Set<string>();
  for (const [account, fen] of e.postings) {
    if (!Number.isSafeInteger(fen)) {
      throw new LedgerInvariantError(`entry ${e.kind} of record ${e.recordId}: ${fen} is not fen`);
    }
    if (seen.has(account)) {
      throw new LedgerInvariantError(`entry ${e.kind} of record ${e.recordId}: ${account} twice`);
    }
    seen.add(account);
    sum += fen;
  }
  if (sum !== 0) {
    throw new LedgerInvariantError(
      `entry ${e.kind} of record ${e.recordId} does not balance: sums to ${sum} fen`,
    );
  }
}

/**
 * Writes entries inside the caller's transaction. `post` inserts an entry and its non-zero
 * postings; `seal` adds the chunk's balance changes and asserts the ledger sums to 0 fen.
 * Call `seal` before every COMMIT.
 */
export class LedgerWriter {
  readonly #insEntry: SqlStatement;
  readonly #insPosting: SqlStatement;
  readonly #addBalance: SqlStatement;
  readonly #total: SqlStatement;
  #delta = new Map<string, number>();

  constructor(readonly db: SqlDb) {
    this.#insEntry = db.prepare(
      `INSERT INTO ledger_entries (kind, settlement_day, record_id, debt_id) VALUES (?, ?, ?, ?)
       RETURNING id`,
    );
    this.#insPosting = db.prepare(
      "INSERT INTO ledger_postings (entry_id, account, amount) VALUES (?, ?, ?)",
    );
    this.#addBalance = db.prepare(
      `INSERT INTO ledger_accounts (account, balance) VALUES (?, ?)
       ON CONFLICT (account) DO UPDATE SET balance = ledger_accounts.balance + excluded.balance`,
    );
    this.#total = db.prepare(
      "SELECT coalesce(sum(balance), 0) AS total, count(*) AS n FROM ledger_accounts",
    );
  }

  /** Inserts one entry; resolves to its id, or null when every posting is 0 fen. */
  post(e: Entry): number | null {
    assertBalanced(e);
    const live = e.postings.filter(([, fen]) => fen !== 0);
    if (live.length === 0) return null;
    const id = Number(this.#insEntry.get(e.kind, e.day, e.recordId, e.debtId ?? null)!.id);
    for (const [account, fen] of live) {
      this.#insPosting.run(id, account, fen);
      this.#delta.set(account, (this.#delta.get(account) ?? 0) + fen);
    }
    return id;
  }

  /** Applies the balance changes since the last seal and asserts the ledger sums to 0 fen. */
  seal(): void {
    let sum = 0;
    for (const [account, fen] of this.#delta) {
      sum += fen;
      if (fen !== 0) this.#addBalance.run(account, fen);
    }
    this.#delta = new Map();
    if (sum !== 0) throw new LedgerInvariantError(`this write sums to ${sum} fen, not 0`);
    const r = this.#total.get() as { total: number | bigint };
    if (Number(r.total) !== 0) {
      throw new LedgerInvariantError(`the ledger sums to ${r.total} fen, not 0`);
    }
  }

  /** Forgets unsealed changes (after the caller rolled its transaction back). */
  reset(): void {
    this.#delta = new Map();
  }
}

/** What a full recount of the ledger finds (`checkLedger`). */
export interface LedgerCheck {
  readonly entries: number;
  readonly postings: number;
  /** Σ of every posting, fen: 0 when sound. */
  readonly total: number;
  /** Entries whose postings do not sum to 0. */
  readonly unbalanced: number[];
  /** Accounts whose kept balance differs from the sum of their postings. */
  readonly driftingAccounts: string[];
}

/** Recounts the whole ledger from its postings (for tests, `clear --check` and auditors). */
export function checkLedger(db: SqlDb): LedgerCheck {
  const t = db.prepare(
    `SELECT (SELECT count(*) FROM ledger_entries) AS entries, count(*) AS postings,
       coalesce(sum(amount), 0) AS total FROM ledger_postings`,
  ).get() as Record<string, number>;
  const unbalanced = (db.prepare(
    `SELECT entry_id FROM ledger_postings GROUP BY entry_id HAVING sum(amount) <> 0
     ORDER BY entry_id`,
  ).all() as { entry_id: number }[]).map((r) => Number(r.entry_id));
  const drifting = (db.prepare(
    `SELECT a.account FROM ledger_accounts a
     LEFT JOIN (SELECT account, sum(amount) AS s FROM ledger_postings GROUP BY account) p
       ON p.account = a.account
     WHERE a.balance <> coalesce(p.s, 0)
     UNION SELECT p.account FROM ledger_postings p
       LEFT JOIN ledger_accounts a ON a.account = p.account WHERE a.account IS NULL
     ORDER BY 1`,
  ).all() as { account: string }[]).map((r) => r.account);
  return {
    entries: Number(t.entries),
    postings: Number(t.postings),
    total: Number(t.total),
    unbalanced,
    driftingAccounts: drifting,
  };
}

/** Every account with its balance, in account order. */
export function balances(db: SqlDb): { account: string; balance: number }[] {
  return (db.prepare("SELECT account, balance FROM ledger_accounts ORDER BY account")
    .all() as { account: string; balance: number }[]).map((r) => ({
      account: r.account,
      balance: Number(r.balance),
    }));
}

/** The sum of each account's postings made by the clearing of settlement day `day`. */
export function dayPostings(db: SqlDb, day: string): { account: string; balance: number }[] {
  return (db.prepare(
    `SELECT p.account, sum(p.amount) AS balance FROM ledger_entries e
     JOIN ledger_postings p ON p.entry_id = e.id WHERE e.settlement_day = ?
     GROUP BY p.account ORDER BY p.account`,
  ).all(day) as { account: string; balance: number }[]).map((r) => ({
    account: r.account,
    balance: Number(r.balance),
  }));
}

/** A ledger account as the party it concerns (`CHART`). */
export function partyOf(account: string): { party: string; account: string } {
  const [code, ...rest] = account.split(":");
  const line = rest.length > 1 ? decodeURIComponent(rest[1]) : "";
  switch (code) {
    case CHART.issuer.code:
      return { party: `issuer ${rest[0]}`, account: "owes cleared fares" };
    case CHART.debts.code:
      return { party: `issuer ${rest[0]}`, account: "debts to collect" };
    case CHART.payable.code:
      return { party: "bus company", account: `line ${line}` };
    case CHART.fees.code:
      return { party: "acquirer", account: "fee income" };
    case CHART.writeOffs.code:
      return { party: "acquirer", account: `written off, line ${line}` };
    default:
      return { party: account, account: "" };
  }
}

/**
 * Money per party from the ledger: each account's balance seen from its party (an issuer's
 * receivable is what it owes, negative; the bus company's payable is what it is owed); every
 * account's balance now, or the given `rows` (a day's postings, `dayPostings`).
 */
export function moneyPerParty(
  db: SqlDb,
  rows: readonly { account: string; balance: number }[] = balances(db),
): PartyMoney[] {
  return rows.filter((b) => b.balance !== 0).map((b) => ({
    ...partyOf(b.account),
    fen: -b.balance,
  }));
}
