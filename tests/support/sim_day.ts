/**
 * A small simulated day held in memory, for tests that push it through the server, the upload
 * rules or store verification: the world, every batch by file name, and the upload manifest.
 */
import { World } from "../../sim/world.ts";
import { type BatchOut, generateDay, type UploadEntry } from "../../sim/day.ts";
import { DEFAULT_FAULTS, withOverrides } from "../../sim/faults.ts";

export interface SimDay {
  readonly world: World;
  readonly batches: Map<string, BatchOut>;
  readonly manifest: UploadEntry[];
}

/** Day of `taps` taps over `cards` cards and `terminals` terminals, default faults overridden. */
export function simDay(o: {
  seed: string;
  cards: number;
  terminals: number;
  taps: number;
  faults?: string[];
  /** Share of lines in the ODA model (default 0: every line EC). */
  odaLines?: number;
}): SimDay {
  const faults = withOverrides(DEFAULT_FAULTS, o.faults ?? []);
  const world = new World({
    seed: o.seed,
    cards: o.cards,
    terminals: o.terminals,
    date: "2026-06-24",
    expiredCertCards: faults.expiredCertCards,
    revokedCertCards: faults.revokedCertCards,
    staleDenyListTerminals: faults.staleDenyListTerminals,
    odaLines: o.odaLines ?? 0,
  });
  const gen = generateDay(world, { taps: o.taps, faults });
  const batches = new Map<string, BatchOut>();
  for (let s = gen.next();; s = gen.next()) {
    if (s.done) return { world, batches, manifest: s.value.manifest };
    batches.set(s.value.file, s.value);
  }
}
