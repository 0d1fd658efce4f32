/**
 * `icfare simulate` — write a simulated world (keys, CA keys, cards' upload batches, ground
 * truth) to a directory. All the work is in sim/.
 */
import { flag, parseArgs, str, UsageError } from "../args.ts";
import type { Command } from "../common.ts";
import { SCALES, type SimulateConfig, simulateToDir } from "../../sim/simulate.ts";
import { DEFAULT_FAULTS, NO_FAULTS, withOverrides } from "../../sim/faults.ts";
import type { FareTable } from "../../sim/world.ts";

const HELP = `usage: icfare simulate --out DIR [--cards N] [--terminals N] [--taps N] [--seed S]
                       [--scale small|liaocheng] [--date YYYY-MM-DD] [--faults default|none]
                       [--fault NAME=RATE ...] [--fare-table FILE] [--icc-key-pool N]
                       [--workers N] [--json]

Writes a deterministic simulated world: keys.json and capk.json (design.md §4 import files),
batches/*.json (design.md §3 upload bodies), uploads.jsonl (upload order and the answer the
server must give), truth.jsonl (expected verdict of every record), world.json, denylist.json,
summary.json. The same seed gives the same bytes.
  --scale small       200 cards, 6 terminals, 1,000 taps (the default)
  --scale liaocheng   2.2 million active cards (of 4.9 million issued), 400 buses, 5 million taps
  --cards/--terminals/--taps override the scale's sizes
  --faults none       a clean day; --fault NAME=RATE sets one rate (e.g. replay=0.01)
  --fare-table FILE   {"defaultFare": 200, "lines": {"101": 300}} in fen
  --workers N         parallel workers (default: one per core, up to 4, from 20,000 taps);
                      the output is the same for any N
Exit codes: 0 written; 1 failed; 2 bad usage.`;

function int(p: ReturnType<typeof parseArgs>, name: string, fallback: number): number {
  const v = str(p, name);
  if (v === undefined) return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) {
    throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
  }
  return Number(v);
}

export const command: Command = {
  summary: "write a simulated world (keys, cards, terminals, batches, ground truth)",
  async run(args) {
    const p = parseArgs(args, {
      out: { type: "string" },
      cards: { type: "string" },
      terminals: { type: "string" },
      taps: { type: "string" },
      seed: { type: "string" },
      scale: { type: "string" },
      date: { type: "string" },
      faults: { type: "string" },
      fault: { type: "string", multiple: true },
      "fare-table": { type: "string" },
      "icc-key-pool": { type: "string" },
      workers: { type: "string" },
      json: { type: "boolean" },
      home: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    const out = str(p, "out");
    if (!out) throw new UsageError("--out DIR is required\n\n" + HELP);
    const scaleName = str(p, "scale") ?? "small";
    const scale = SCALES[scaleName];
    if (!scale) {
      throw new UsageError(`--scale must be one of ${Object.keys(SCALES).join(", ")}`);
    }
    const date = str(p, "date") ?? "2026-06-24";
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || isNaN(Date.parse(date))) {
      throw new UsageError(`--date must be YYYY-MM-DD, got "${date}"`);
    }
    const faultsName = str(p, "faults") ?? "default";
    if (faultsName !== "default" && faultsName !== "none") {
      throw new UsageError(`--faults must be "default" or "none"`);
    }
    let faults = faultsName === "none" ? NO_FAULTS : DEFAULT_FAULTS;
    try {
      faults = withOverrides(faults, (p.values.fault as string[] | undefined) ?? []);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    let fares: FareTable | undefined;
    const fareFile = str(p, "fare-table");
    if (fareFile) {
      let parsed: { defaultFare?: unknown; lines?: unknown };
      try {
        parsed = JSON.parse(await Deno.readTextFile(fareFile));
      } catch (e) {
        throw new UsageError(`--fare-table ${fareFile}: ${(e as Error).message}`);
      }
      const ok = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
      const lines = (parsed.lines ?? {}) as Record<string, unknown>;
      if (!ok(parsed.defaultFare) || typeof lines !== "object" || !Object.values(lines).every(ok)) {
        throw new UsageError(
          `--fare-table: expected {"defaultFare": fen, "lines": {"LINE": fen}} with positive integers`,
        );
      }
      fares = { defaultFare: parsed.defaultFare as number, lines: lines as Record<string, number> };
    }
    const taps = int(p, "taps", scale.taps);
    const cfg: SimulateConfig = {
      seed: str(p, "seed") ?? "1",
      cards: int(p, "cards", scale.cards),
      terminals: int(p, "terminals", scale.terminals),
      taps,
      date,
      faults,
      fares,
      iccKeyPool: int(p, "icc-key-pool", 4),
      workers: int(
        p,
        "workers",
        Math.min(4, navigator.hardwareConcurrency || 1, taps >= 20_000 ? 4 : 1),
      ),
      ...(scaleName === "liaocheng" ? { issuedCards: 4_900_000 } : {}),
    };
    const json = flag(p, "json");
    const tty = !json && Deno.stderr.isTerminal();
    let last = 0;
    const report = await simulateToDir(cfg, out, (done, total) => {
      if (!tty) return;
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      const pct = Math.min(100, Math.floor((done / total) * 100));
      const bar = "#".repeat(Math.floor(pct / 4)).padEnd(25, ".");
      Deno.stderr.writeSync(new TextEncoder().encode(`\r[${bar}] ${pct}% ${done} taps`));
    });
    if (tty) Deno.stderr.writeSync(new TextEncoder().encode("\r" + " ".repeat(60) + "\r"));
    if (json) {
      console.log(JSON.stringify(report));
      return 0;
    }
    const rows: [string, string][] = [
      ["seed / date", `${report.seed} / ${report.date}`],
      ["cards (population / active today)", `${report.cards} / ${report.activeCards}`],
      ["terminals", String(report.terminals)],
      [
        "taps drawn / recorded",
        `${report.tapsDrawn} / ${report.tapsRecorded} (${report.refusedDenyListed} refused: deny list)`,
      ],
      ["EC TC / ODA ARQC", `${report.ecTaps} / ${report.arqcTaps}`],
      ["records / batches / uploads", `${report.records} / ${report.batches} / ${report.uploads}`],
      ["amount", `${(report.amount / 100).toFixed(2)} yuan`],
      ...Object.entries(report.status).sort().map(([k, v]) =>
        [`expect ${k}`, String(v)] as [
          string,
          string,
        ]
      ),
      ["written to", report.out],
      ["time", `${report.seconds} s`],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
    return 0;
  },
};
