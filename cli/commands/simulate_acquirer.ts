/**
 * `icfare simulate-acquirer` — run the simulated acquirer/issuer host on a TCP port until
 * SIGINT/SIGTERM (docs/iso8583.md, "Simulated host"). All the work is in sim/acquirer/.
 */
import { flag, parseArgs, type Parsed, str, UsageError } from "../args.ts";
import { type Command, profileOption } from "../common.ts";
import { AcquirerHost } from "../../sim/acquirer/host.ts";
import { seededTruth } from "../../sim/acquirer/truth.ts";
import {
  ALL_FAULTS,
  type FaultRates,
  NO_FAULTS,
  withFaultOverrides,
} from "../../sim/acquirer/faults.ts";
import { simTmk, tmkImportFile } from "../../sim/acquirer/world.ts";
import { worldTruthFromDir } from "../../sim/acquirer/world_truth.ts";
import type { AcquirerProfile } from "../../core/iso8583/profile.ts";

const HELP =
  `usage: icfare simulate-acquirer [--port N] [--hostname ADDR] [--profile NAME|FILE.json]
                                [--seed S] [--faults none|all] [--fault NAME=RATE ...]
                                [--late-ms N] [--terminal ID ...] [--keys-out FILE]
                                [--report FILE] [--tls-cert FILE --tls-key FILE]
                                [--world SIMDIR] [--json]

Runs the simulated acquirer/issuer host of the ISO 8583 link (docs/iso8583.md) until SIGINT or
SIGTERM: sign-on with working keys under each terminal's TMK, 0200 answered by a seeded issuer
(approved, 51 insufficient funds, 62 blocked, 41 lost, 54 expired), 0400 reversals applied once,
the ODA deny list in pages, an approval counter per tap.
  --port N            TCP port (default 0: any free port; the port is printed)
  --profile NAME      afc, cl or icfare-sim (default), or a profile file (JSON)
  --faults all        every fault at 3 %; --fault NAME=RATE sets one (timeout, drop-before,
                      drop-after, late, duplicate, bad-mac, reject-mac)
  --late-ms N         delay of a late answer (default 1500)
  --terminal ID       only these terminals are registered (default: any terminal id)
  --keys-out FILE     write the TMKs of the --terminal ids as a key import file (test keys)
  --report FILE       on exit, write counters and the approvals per tap (PANs masked)
  --world SIMDIR      answer as the issuers of the world icfare simulate wrote to SIMDIR
                      (00, 51, 62, 54 per card and tap, 14 for a card it never issued), so
                      each debt of that day ends as its truth.jsonl says; default: a seeded
                      issuer
Exit codes: 0 stopped by a signal; 1 failed; 2 bad usage.`;

function positiveInt(v: string | undefined, name: string, fallback: number, max: number): number {
  if (v === undefined) return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) > max) throw new UsageError(`--${name} must be 0..${max}`);
  return Number(v);
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (sig: Deno.Signal) => () => {
      Deno.removeSignalListener("SIGINT", onInt);
      Deno.removeSignalListener("SIGTERM", onTerm);
      resolve(sig);
    };
    const onInt = stop("SIGINT"), onTerm = stop("SIGTERM");
    Deno.addSignalListener("SIGINT", onInt);
    Deno.addSignalListener("SIGTERM", onTerm);
  });
}

const OPTIONS = {
  port: { type: "string" },
  hostname: { type: "string" },
  profile: { type: "string" },
  seed: { type: "string" },
  faults: { type: "string" },
  fault: { type: "string", multiple: true },
  "late-ms": { type: "string" },
  terminal: { type: "string", multiple: true },
  "keys-out": { type: "string" },
  report: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  world: { type: "string" },
  json: { type: "boolean" },
  home: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The checked options: refusals are usage errors (exit 2). */
function optionsOf(p: Parsed) {
  if (p.positionals.length) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
  const faultsName = str(p, "faults") ?? "none";
  if (faultsName !== "none" && faultsName !== "all") {
    throw new UsageError(`--faults must be none or all`);
  }
  let faults: FaultRates;
  try {
    faults = withFaultOverrides(
      faultsName === "all" ? ALL_FAULTS : NO_FAULTS,
      (p.values.fault as string[]) ?? [],
    );
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const terminals = (p.values.terminal as string[] | undefined) ?? [];
  for (const t of terminals) {
    if (!/^[\x20-\x7e]{8}$/.test(t)) {
      throw new UsageError(`--terminal must be 8 characters, got "${t}"`);
    }
  }
  const keysOut = str(p, "keys-out");
  if (keysOut && !terminals.length) {
    throw new UsageError("--keys-out needs at least one --terminal");
  }
  const certFile = str(p, "tls-cert"), keyFile = str(p, "tls-key");
  if (!certFile !== !keyFile) throw new UsageError("--tls-cert and --tls-key go together");
  return {
    json: flag(p, "json"),
    port: positiveInt(str(p, "port"), "port", 0, 65535),
    lateMs: positiveInt(str(p, "late-ms"), "late-ms", 1500, 600_000),
    hostname: str(p, "hostname") ?? "127.0.0.1",
    seed: str(p, "seed") ?? "acquirer",
    faults,
    terminals,
    keysOut,
    report: str(p, "report"),
    world: str(p, "world"),
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
  };
}

type Options = ReturnType<typeof optionsOf>;

async function worldTruthOf(dir: string) {
  try {
    return await worldTruthFromDir(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof SyntaxError) {
      throw new UsageError(
        `--world ${dir}: not an icfare simulate output (${(e as Error).message})`,
      );
    }
    throw e;
  }
}

async function startHost(o: Options, profile: AcquirerProfile): Promise<AcquirerHost> {
  if (o.keysOut) {
    const file = JSON.stringify(tmkImportFile(o.seed, o.terminals), null, 2) + "\n";
    await Deno.writeTextFile(o.keysOut, file, { mode: 0o600 });
  }
  const tls = o.tls
    ? { cert: await Deno.readTextFile(o.tls.certFile), key: await Deno.readTextFile(o.tls.keyFile) }
    : undefined;
  return AcquirerHost.start({
    profile,
    tmkOf: (
      id,
    ) => (o.terminals.length && !o.terminals.includes(id) ? undefined : simTmk(o.seed, id)),
    truth: o.world ? await worldTruthOf(o.world) : seededTruth(o.seed),
    seed: o.seed,
    faults: o.faults,
    lateMs: o.lateMs,
    hostname: o.hostname,
    port: o.port,
    ...(tls ? { tls } : {}),
  });
}

async function report(o: Options, host: AcquirerHost, signal: string): Promise<void> {
  const summary = host.ledger.summary();
  const r = {
    stoppedBy: signal,
    profile: host.profile.name,
    seed: o.seed,
    host: host.stats,
    issuer: host.issuer.stats,
    ledger: summary,
    taps: host.ledger.report(),
  };
  if (o.report) await Deno.writeTextFile(o.report, JSON.stringify(r, null, 2) + "\n");
  if (o.json) console.log(JSON.stringify({ stopped: { ...r, taps: undefined } }));
  else {
    console.log(
      `simulate-acquirer: stopped by ${signal}; ${summary.approvals} approvals, ` +
        `${summary.reversals} reversals, ${summary.live} standing on ${summary.taps} taps; ` +
        `${summary.doubleApproved} taps approved twice`,
    );
  }
}

export const command: Command = {
  summary: "run the simulated acquirer/issuer host (ISO 8583 over TCP) with faults",
  async run(args) {
    const p = parseArgs(args, OPTIONS);
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    const o = optionsOf(p);
    const profile = await profileOption(str(p, "profile"));
    const host = await startHost(o, profile);
    const faultText = Object.entries(o.faults).map(([k, v]) => `${k}=${v}`).join(",") || "none";
    const where = { hostname: o.hostname, port: host.port };
    if (o.json) {
      console.log(JSON.stringify({ listening: { ...where, profile: profile.name, tls: !!o.tls } }));
    } else {
      console.log(
        `simulate-acquirer: listening on ${where.hostname}:${where.port} ` +
          `(profile ${profile.name}, faults ${faultText})`,
      );
    }
    const signal = await untilSignal();
    await host.stop();
    await report(o, host, signal);
    return 0;
  },
};
