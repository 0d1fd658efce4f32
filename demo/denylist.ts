/**
 * The demo's deny list: the simulated world's history of changes (sim/denylist.ts, written to
 * `denylist.json`) replayed into the store before any upload, one version per change, so the
 * versions the simulated terminals report mean in the store what they meant in the world.
 */
import { join } from "node:path";
import { toHex } from "../core/hex.ts";
import type { DenyReason } from "../core/denylist/journal.ts";
import { withHome } from "./steps.ts";

const ACTOR = "icfare demo";

/** One change as `denylist.json` writes it (PAN in clear: a test world). */
interface HistoryEntry {
  version: number;
  action: "add" | "remove";
  pan: string;
  psn: string;
  reason: string;
}

/** What the replay did. */
export interface DenyReplay {
  changes: number;
  adds: number;
  removes: number;
  /** The store's version after the replay (equals the world's current version). */
  version: number;
  /** The version the world's stale terminals run. */
  staleVersion: number;
}

/** Replays the world's deny-list history into the store of `home`; resolves to what it did. */
export function replayDenyList(
  home: string,
  masterKeyFile: string,
  simDir: string,
): Promise<DenyReplay> {
  return withHome(home, masterKeyFile, async ({ store, pan }) => {
    const file = JSON.parse(await Deno.readTextFile(join(simDir, "denylist.json"))) as {
      version: number;
      staleVersion: number;
      history: HistoryEntry[];
    };
    let adds = 0, removes = 0, version = 0;
    const list = store.denyList;
    for (const h of file.history) {
      const card = { cardHash: toHex(await pan.hash(h.pan, h.psn)), psn: h.psn };
      const v = h.action === "add"
        ? list.add(card, h.reason as DenyReason, ACTOR)
        : list.remove(card, h.reason, ACTOR);
      if (v !== h.version) {
        throw new Error(
          `deny list replay: the store made version ${v} of the world's ${h.version}`,
        );
      }
      if (h.action === "add") adds++;
      else removes++;
      version = v;
    }
    if (version !== file.version) {
      throw new Error(`deny list replay ended at ${version}, the world at ${file.version}`);
    }
    return { changes: adds + removes, adds, removes, version, staleVersion: file.staleVersion };
  });
}
