/**
 * `icfare simulate` — write a simulated world (keys, CA keys, cards' upload batches, ground
 * truth) to a directory. All the work is in sim/.
 */
import { flag, type Parsed, str, UsageError } from "../args.ts";
import { type Command, commandArgs, dateOption, readInputText } from "../common.ts";
import {
  SCALES,
  type SimulateConfig,
  type SimulateReport,
  simulateToDir,
} from "../../sim/simulate.ts";
import { DEFAULT_FAULTS, type FaultRates, NO_FAULTS, withOverrides } from "../../sim/faults.ts";
import type { FareTable } from "../../sim/world.ts";

const HELP = `usage: icfare simulate --out DIR [--cards N] [--terminals N] [--taps N] [--seed S]
                       [--scale small|liaocheng] [--date YYYY-MM-DD] [--faults default|none]
                       [--fault NAME=RATE ...] [--fare-table FILE] [--icc-key-pool N]
                       [--model ec|oda|mixed] [--oda-lines SHARE] [--workers N] [--json]

Writes a deterministic simulated world: keys.json and capk.json (docs/cli.md import files),
batches/*.json (docs/upload-api.md upload bodies), uploads.jsonl (upload order and the answer the
server must give), truth.jsonl (expected verdict of every record), world.json, denylist.json,
summary.json. The same seed gives the same bytes.
  --scale small       200 cards, 6 terminals, 1,000 taps (the default)
  --scale liaocheng   2.2 million active cards (of 4.9 million issued), 400 buses, 5 million taps
  --cards/--terminals/--taps override the scale's sizes
  --faults none       a clean day; --fault NAME=RATE sets one rate (e.g. replay=0.01)
  --fare-table FILE   {"defaultFare": 200, "lines": {"101": 300}} in fen
  --model M           the lines' transit model: ec (electronic cash, the default), oda (deferred
                      debit: every tap an ARQC with tag 57), mixed (half the lines ODA)
  --oda-lines SHARE   the share of lines in the ODA model, 0..1 (instead of --model)
  --workers N         parallel workers (default: one per core, up to 4, from 20,000 taps);
                      the output is the same for any N
  --date D           the service day, a real calendar day YYYY-MM-DD in 2000-2099
Exit codes: 0 written; 1 failed (one coded line, e.g. READ_ONLY_FILESYSTEM, NO_SPACE);
2 bad usage (a date that is not a day, --out naming a file, an unreadable --fare-table).`;

function int(p: Parsed, name: string, fallback: number): number {
  const v = str(p, name);
  if (v === undefined) return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) {
    throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
  }
  return Number(v);
}

const OPTIONS = {
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
  model: { type: "string" },
  "oda-lines": { type: "string" },
  json: { type: "boolean" },
  home: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** `--faults default|none` with the `--fault NAME=RATE` overrides. */
function faultsOf(p: Parsed): FaultRates {
  const faultsName = str(p, "faults") ?? "default";
  if (faultsName !== "default" && faultsName !== "none") {
    throw new UsageError(`--faults must be "default" or "none"`);
  }
  try {
    return withOverrides(
      faultsName === "none" ? NO_FAULTS : DEFAULT_FAULTS,
      (p.values.fault as string[] | undefined) ?? [],
    );
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** `--fare-table FILE`: `{"defaultFare": fen, "lines": {"LINE": fen}}`. */
async function fareTableOf(p: Parsed): Promise<FareTable | undefined> {
  const fareFile = str(p, "fare-table");
  if (!fareFile) return undefined;
  let parsed: { defaultFare?: unknown; lines?: unknown };
  const text = await readInputText(fareFile, "--fare-table");
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--fare-table ${fareFile}: ${(e as Error).message}`, "BAD_INPUT");
  }
  const ok = (v: unknown) => Number.isSafeInteger(v) && (v as number) > 0;
  const lines = (parsed.lines ?? {}) as Record<string, unknown>;
  if (!ok(parsed.defaultFare) || typeof lines !== "object" || !Object.values(lines).every(ok)) {
    throw new UsageError(
      `--fare-table: expected {"defaultFare": fen, "lines": {"LINE": fen}} with positive integers`,
    );
  }
  return { defaultFare: parsed.defaultFare as number, lines: lines as Record<string, number> };
}

/** The shares of lines in the ODA model that `--model` names. */
export const MODEL_SHARES: Readonly<Record<string, number>> = { ec: 0, oda: 1, mixed: 0.5 };

/** `--model ec|oda|mixed` or `--oda-lines SHARE` (not both): the share of ODA lines. */
function odaLinesOf(p: Parsed): number {
  const model = str(p, "model"), share = str(p, "oda-lines");
  if (model !== undefined && share !== undefined) {
    throw new UsageError("give --model or --oda-lines, not both");
  }
  if (share !== undefined) {
    if (!/^(0(\.[0-9]+)?|1(\.0+)?)$/.test(share)) {
      throw new UsageError(`--oda-lines must be a number 0..1, got "${share}"`);
    }
    return Number(share);
  }
  const v = MODEL_SHARES[model ?? "ec"];
  if (v === undefined) throw new UsageError(`--model must be ec, oda or mixed, got "${model}"`);
  return v;
}

/** `--out` must be a directory or not exist yet (it is created). */
async function outDirUsable(out: string): Promise<void> {
  const st = await Deno.stat(out).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  });
  if (st && !st.isDirectory) {
    throw new UsageError(`--out ${out} is a file, not a directory`, "NOT_A_DIRECTORY");
  }
}

/** The simulation's configuration from the command line. */
async function configOf(p: Parsed): Promise<SimulateConfig> {
  const scaleName = str(p, "scale") ?? "small";
  const scale = SCALES[scaleName];
  if (!scale) {
    throw new UsageError(`--scale must be one of ${Object.keys(SCALES).join(", ")}`);
  }
  const date = dateOption(p, "date") ?? "2026-06-24";
  const faults = faultsOf(p);
  const fares = await fareTableOf(p);
  const taps = int(p, "taps", scale.taps);
  return {
    seed: str(p, "seed") ?? "1",
    cards: int(p, "cards", scale.cards),
    terminals: int(p, "terminals", scale.terminals),
    taps,
    date,
    faults,
    fares,
    iccKeyPool: int(p, "icc-key-pool", 4),
    odaLines: odaLinesOf(p),
    workers: int(
      p,
      "workers",
      Math.min(4, navigator.hardwareConcurrency || 1, taps >= 20_000 ? 4 : 1),
    ),
    ...(scaleName === "liaocheng" ? { issuedCards: 4_900_000 } : {}),
  };
}

/** A progress bar on standard error at most five times a second; `end` clears it. */
function progressLine(tty: boolean) {
  let last = 0;
  const enc = new TextEncoder();
  return {
    update(done: number, total: number) {
      if (!tty) return;
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      const pct = Math.min(100, Math.floor((done / total) * 100));
      const bar = "#".repeat(Math.floor(pct / 4)).padEnd(25, ".");
      Deno.stderr.writeSync(enc.encode(`\r[${bar}] ${pct}% ${done} taps`));
    },
    end() {
      if (tty) Deno.stderr.writeSync(enc.encode("\r" + " ".repeat(60) + "\r"));
    },
  };
}

/** The report as aligned "name  value" lines. */
function reportLines(report: SimulateReport): string[] {
  const rows: [string, string][] = [
    ["seed / date", `${report.seed} / ${report.date}`],
    ["cards (population / active today)", `${report.cards} / ${report.activeCards}`],
    ["terminals", String(report.terminals)],
    [
      "taps drawn / recorded",
      `${report.tapsDrawn} / ${report.tapsRecorded} (${report.refusedDenyListed} refused: deny list)`,
    ],
    ["EC TC / ARQC", `${report.ecTaps} / ${report.arqcTaps}`],
    ["records / batches / uploads", `${report.records} / ${report.batches} / ${report.uploads}`],
    ["amount", `${(report.amount / 100).toFixed(2)} yuan`],
    ...Object.entries(report.status).sort().map(([k, v]): [string, string] => [
      `expect ${k}`,
      String(v),
    ]),
    ...Object.entries(report.outcomes).sort().map(([k, v]): [string, string] => [
      `outcome ${k}`,
      String(v),
    ]),
    ["written to", report.out],
    ["time", `${report.seconds} s`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`);
}

export const command: Command = {
  summary: "write a simulated world (keys, cards, terminals, batches, ground truth)",
  async run(args) {
    const p = commandArgs(args, OPTIONS, HELP);
    if (!p) return 0;
    const out = str(p, "out");
    if (!out) throw new UsageError("--out DIR is required\n\n" + HELP);
    await outDirUsable(out);
    const cfg = await configOf(p);
    const json = flag(p, "json");
    const progress = progressLine(!json && Deno.stderr.isTerminal());
    const report = await simulateToDir(cfg, out, progress.update);
    progress.end();
    if (json) console.log(JSON.stringify(report));
    else console.log(reportLines(report).join("\n"));
    return 0;
  },
};
