/**
 * The demo's collection step (docs/iso8583.md, docs/clearing.md "Collection over ISO 8583"): the
 * simulated acquirer host started in this process, answering as the world's issuers, with
 * every fault at a low rate; the terminal's TMK imported into the key store as an acquirer-tmk
 * key; `core/collect` run on the day after clearing and again when the retries fall due (1, 3,
 * 7 and 14 days after the first decline), so every debt ends recovered or written off. Then
 * each debt's final state and the money collected and written off are held against the
 * simulator's truth, and the host's approval counter says no tap was charged twice.
 */
import { collectDebts, DebtRequests, type Tally } from "../core/collect/mod.ts";
import { DebtBook } from "../core/debts/book.ts";
import { AcquirerLink } from "../core/iso8583/link.ts";
import { PROFILES } from "../core/iso8583/profile.ts";
import { AcquirerHost } from "../sim/acquirer/host.ts";
import { FAULT_KINDS, type FaultRates } from "../sim/acquirer/faults.ts";
import { simTmk, tmkImportFile } from "../sim/acquirer/world.ts";
import { worldTruthFromDir } from "../sim/acquirer/world_truth.ts";
import type { TruthRow } from "../sim/day.ts";
import { withHome } from "./steps.ts";

const ACTOR = "icfare demo";
const TERMINAL = "10000159";
const MERCHANT = "880210010210160";
/** Days after the first collection at which collect runs again (the retry schedule). */
const RUN_DAYS = [0, 1, 3, 7, 14];

/** What the collection step did, and how it compares with the truth. */
export interface CollectionSummary {
  debts: number;
  /** Final states (recovered, written off, anything else) against the truth's `debtEnd`. */
  agree: number;
  disagreements: string[];
  collected: { store: Tally; truth: Tally };
  writtenOff: { store: Tally; truth: Tally };
  /** Debts declined at the first attempt (money the issuers refused on the day). */
  declinedFirst: Tally;
  attempts: number;
  reversals: number;
  faults: number;
  /** Taps with two approvals standing at once at the host (must be 0). */
  doubleApproved: number;
  /** Approvals standing at the host (must equal the debts recovered). */
  standing: number;
}

const tally = (): Tally => ({ count: 0, amount: 0 });
const add = (t: Tally, fen: number, n = 1) => (t.count += n, t.amount += fen);

/** Every debt of the store with the key of its first record. */
function storedDebts(book: DebtBook): Map<string, { state: string; amount: number }> {
  const rows = book.db.prepare(
    `SELECT r.terminal_id AS t, r.batch_no AS b, r.seq AS s, d.state, d.amount
     FROM debts d JOIN debt_records dr ON dr.debt_id = d.id JOIN records r ON r.id = dr.record_id`,
  ).all() as { t: string; b: number; s: number; state: string; amount: number }[];
  return new Map(rows.map((r) => [`${r.t}/${r.b}/${r.s}`, r]));
}

function compare(book: DebtBook, truth: readonly TruthRow[], s: CollectionSummary): void {
  const stored = storedDebts(book);
  for (const t of truth) {
    if (t.outcome !== "DEBT") continue;
    const k = `${t.terminalId}/${t.batchNo}/${t.seq}`;
    const want = t.debtEnd === "RECOVERED" ? "recovered" : "written_off";
    add(want === "recovered" ? s.collected.truth : s.writtenOff.truth, t.fare);
    const got = stored.get(k)?.state;
    if (got === want) s.agree++;
    else s.disagreements.push(`${k} (${t.pan}, ATC ${t.atc}): ${got ?? "no debt"}, truth ${want}`);
  }
  for (const d of stored.values()) {
    if (d.state === "recovered") add(s.collected.store, d.amount);
    if (d.state === "written_off") add(s.writtenOff.store, d.amount);
  }
  s.disagreements = s.disagreements.slice(0, 50);
}

/** Collects every debt of the demo home through an in-process simulated host. */
export function collectDemoDebts(
  home: string,
  masterKeyFile: string,
  simDir: string,
  seed: string,
  truth: readonly TruthRow[],
): Promise<CollectionSummary> {
  return withHome(home, masterKeyFile, async ({ ks, store, pan }) => {
    const faults = Object.fromEntries(FAULT_KINDS.map((f) => [f, 0.01])) as FaultRates;
    const host = AcquirerHost.start({
      profile: PROFILES["icfare-sim"],
      tmkOf: (id) => (id === TERMINAL ? simTmk(seed, id) : undefined),
      truth: await worldTruthFromDir(simDir),
      seed: `${seed}/acquirer`,
      faults,
      lateMs: 1200,
    });
    await ks.importDev(tmkImportFile(seed, [TERMINAL]));
    const book = new DebtBook(store.db, store.denyList, ACTOR);
    const link = new AcquirerLink({
      hostname: "127.0.0.1",
      port: host.port,
      profile: PROFILES["icfare-sim"],
      terminalId: TERMINAL,
      merchantId: MERCHANT,
      timeoutMs: 1000,
      tmk: { withTmk: (fn) => ks.withKey(`acquirer-tmk-${TERMINAL}`, (k) => fn(k)) },
    });
    const s: CollectionSummary = {
      debts: book.list().length,
      agree: 0,
      disagreements: [],
      collected: { store: tally(), truth: tally() },
      writtenOff: { store: tally(), truth: tally() },
      declinedFirst: tally(),
      attempts: 0,
      reversals: 0,
      faults: 0,
      doubleApproved: 0,
      standing: 0,
    };
    try {
      const requests = new DebtRequests(store.db, pan);
      const t0 = Date.now();
      for (const d of RUN_DAYS) {
        const at = new Date(t0 + d * 86_400_000).toISOString();
        // Run again while debts are left (as an operator reruns icfare collect): a debt must
        // see its first decline on the day, or its retries fall a day late.
        for (let run = 0; run < 5; run++) {
          const r = await collectDebts({
            book,
            link,
            requestOf: (x, stan) => requests.of(x, stan),
            clock: () => at,
            concurrency: 32,
            rounds: 6,
          });
          if (d === 0) add(s.declinedFirst, r.declined.amount, r.declined.count);
          s.attempts += r.attempts;
          s.reversals += r.reversed + r.resumed.reversed;
          if (r.left.pending + r.left.sent + r.left.reversing === 0) break;
        }
      }
    } finally {
      await link.close();
      await host.stop();
    }
    compare(book, truth, s);
    const ledger = host.ledger.summary();
    s.doubleApproved = ledger.doubleApproved;
    s.standing = ledger.live;
    s.faults = Object.values(host.stats.faults).reduce((a, b) => a + b, 0);
    return s;
  });
}
