/**
 * The simulated world of an `icfare simulate` output directory as the acquirer host's truth
 * (docs/simulator.md "Issuer answers"): the world rebuilt from `world.json` and the cached keys
 * in `private/test-pki.json`, its issuers answering through `worldIssuerTruth`. So the host run by
 * `icfare simulate-acquirer --world DIR` answers each debt of that day exactly as the day's
 * truth.jsonl says its debt ends.
 */
import { type KeyCache, World } from "../world.ts";
import { worldIssuerTruth } from "../issuer_answers.ts";
import { type FaultRates, NO_FAULTS } from "../faults.ts";
import type { IssuerTruth } from "./truth.ts";

interface WorldFile {
  seed: string;
  date: string;
  cards: number;
  fares?: World["fares"];
  terminals: unknown[];
  lines: { model: string }[];
  faults?: Partial<FaultRates>;
}

async function keyCacheOf(dir: string): Promise<KeyCache | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/private/test-pki.json`)) as KeyCache;
  } catch {
    return undefined;
  }
}

/** The issuers' truth of the world written to `dir` by `icfare simulate`. */
export async function worldTruthFromDir(dir: string): Promise<IssuerTruth> {
  const w = JSON.parse(await Deno.readTextFile(`${dir}/world.json`)) as WorldFile;
  const f: FaultRates = { ...NO_FAULTS, ...(w.faults ?? {}) };
  const world = new World({
    seed: w.seed,
    cards: w.cards,
    terminals: w.terminals.length,
    date: w.date,
    ...(w.fares ? { fares: w.fares } : {}),
    expiredCertCards: f.expiredCertCards,
    revokedCertCards: f.revokedCertCards,
    staleDenyListTerminals: f.staleDenyListTerminals,
    denyListedCards: f.denyListedCards,
    unappliedDenyListTerminals: f.unappliedDenyListTerminals,
    odaLines: w.lines.filter((l) => l.model === "ODA").length / Math.max(1, w.lines.length),
    keyCache: await keyCacheOf(dir),
  });
  return worldIssuerTruth(world, f);
}
