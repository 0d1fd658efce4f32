/**
 * `icfare serve` — the terminal upload server (docs/upload-api.md).
 */
import { flag, parseArgs, str, UsageError } from "../args.ts";
import { type Command, fsRefusal } from "../common.ts";
import { IcfareError } from "../../core/errors.ts";
import { startServer } from "../../server/serve.ts";

const HELP = `usage: icfare serve [--port N] [--hostname H] [--home DIR] [--master-key-file F]

Serves the v1 upload API (POST /v1/batches, GET /v1/batches/:terminalId/:batchNo,
GET /v1/denylist, /healthz, /metrics, /openapi.json). The store is HOME/icfare.db (SQLite,
WAL + synchronous=FULL; the server refuses to start otherwise) unless --store names another.
  --port N            TCP port (default 8080)
  --hostname H        address to bind (default 127.0.0.1)
  --home DIR          icfare home (env ICFARE_HOME, default ./.icfare)
Keys: the key store of the home (HOME/keys, icfare keys/terminals) when it exists: terminal
keys, the pan-hash key and the card-data key; the master key from --master-key-file (outside
the home; give the server --allow-read for it) or ICFARE_MASTER_KEY (--allow-env for it).
Without a key store: the development key file HOME/dev-keys.json (clear keys: tests, demos).
  --master-key-file F master key of the key store
  --dev-keys FILE     use this development key file (clear keys) instead of the key store
  --rate N, --burst N per-terminal rate limit (default 10/s, burst 20)
  --busy-timeout-ms N how long a write waits for a lock before 503 (default 5000)
  --max-inflight N    uploads processed at once; beyond, 429 + Retry-After (default 64)
  --terminal-inflight N  uploads of one terminal at once; beyond, 429 (default 4)
  --header-timeout-ms N  time for a request's headers before 408 and close (default 10000)
  --body-timeout-ms N time a body may take before its rate floor applies (default 10000)
  --body-min-rate N   then at least N bytes/s must keep arriving, else 408 (default 4096):
                      a body may take body-timeout-ms + size / body-min-rate
  --max-connections N open connections; beyond, 429 and close (default 1024)
  --store-thread T    auto (default), worker or main: SQLite and its fsyncs on their own
                      thread, which needs --allow-read=<icfare>/core for the worker modules;
                      auto takes the worker when that permission is granted, else main
  --store URL|FILE    postgres://USER@HOST:PORT/DB (several servers on one database;
                      fsync and synchronous_commit must be on) or an SQLite file; default
                      env ICFARE_DATABASE_URL, else HOME/icfare.db (docs/scale.md)
  --pool-size N       PostgreSQL connections of this server (default 10)
  --json              print the listening address as JSON
Narrow permissions (no -A):
  deno run --allow-net=127.0.0.1:8080 --allow-read=HOME,MASTER_FILE --allow-write=HOME \
    cli/main.ts serve --home HOME --master-key-file MASTER_FILE
  with PostgreSQL add the database's host:port to --allow-net and --allow-env for the
  PG* variables the client reads, or pass -A to trusted deployments only`;

function intOpt(v: string | undefined, name: string, dflt: number, min: number, max: number) {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`--${name} must be an integer ${min}..${max}, got "${v}"`);
  }
  return Number(v);
}

function storeThread(v: string | undefined): "worker" | "main" | "auto" {
  if (v === undefined || v === "worker" || v === "main" || v === "auto") return v ?? "auto";
  throw new UsageError(`--store-thread must be auto, worker or main, got "${v}"`);
}

function homeDir(p: ReturnType<typeof parseArgs>): string {
  const h = str(p, "home");
  if (h) return h;
  // Query first: reading an env var without permission would prompt on a terminal.
  const env = Deno.permissions.querySync({ name: "env", variable: "ICFARE_HOME" });
  if (env.state !== "granted") return "./.icfare"; // the narrow server passes --home
  return Deno.env.get("ICFARE_HOME") ?? "./.icfare";
}

/** The HTTP limits and timeouts (docs/upload-api.md, "Limits"). */
function limitsOf(p: ReturnType<typeof parseArgs>) {
  const n = (name: string, dflt: number, min: number, max: number) =>
    intOpt(str(p, name), name, dflt, min, max);
  return {
    bodyTimeoutMs: n("body-timeout-ms", 10_000, 1, 600_000),
    bodyMinBytesPerS: n("body-min-rate", 4096, 1, 1 << 30),
    headerTimeoutMs: n("header-timeout-ms", 10_000, 1, 600_000),
    maxInFlight: n("max-inflight", 64, 1, 100_000),
    terminalInFlight: n("terminal-inflight", 4, 1, 100_000),
    maxConnections: n("max-connections", 1024, 1, 1_000_000),
  };
}

/** Why the server could not start, as a coded refusal. */
function startRefusal(e: unknown): IcfareError {
  if (e instanceof IcfareError) return e;
  const fs = fsRefusal(e);
  if (fs) return fs;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof Deno.errors.AddrInUse) return new IcfareError("ADDRESS_IN_USE", message);
  return new IcfareError("SERVE_FAILED", message);
}

export const command: Command = {
  summary: "the terminal upload server (Hono)",
  async run(args) {
    const p = parseArgs(args, {
      port: { type: "string" },
      hostname: { type: "string" },
      home: { type: "string" },
      "dev-keys": { type: "string" },
      "master-key-file": { type: "string" },
      rate: { type: "string" },
      burst: { type: "string" },
      "busy-timeout-ms": { type: "string" },
      "max-inflight": { type: "string" },
      "body-timeout-ms": { type: "string" },
      "body-min-rate": { type: "string" },
      "header-timeout-ms": { type: "string" },
      "terminal-inflight": { type: "string" },
      "max-connections": { type: "string" },
      "store-thread": { type: "string" },
      store: { type: "string" },
      "pool-size": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
    if (flag(p, "help")) {
      console.log(HELP);
      return 0;
    }
    if (p.positionals.length > 0) throw new UsageError(`unexpected argument "${p.positionals[0]}"`);
    const home = homeDir(p);
    await Deno.mkdir(home, { recursive: true });
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer({
        home,
        hostname: str(p, "hostname") ?? "127.0.0.1",
        port: intOpt(str(p, "port"), "port", 8080, 0, 65535),
        devKeys: str(p, "dev-keys"),
        masterKeyFile: str(p, "master-key-file"),
        ratePerS: intOpt(str(p, "rate"), "rate", 10, 1, 1_000_000),
        burst: intOpt(str(p, "burst"), "burst", 20, 1, 1_000_000),
        storeThread: storeThread(str(p, "store-thread")),
        store: str(p, "store"),
        poolSize: intOpt(str(p, "pool-size"), "pool-size", 10, 1, 1000),
        ...limitsOf(p),
        busyTimeoutMs: intOpt(str(p, "busy-timeout-ms"), "busy-timeout-ms", 5000, 0, 600_000),
      });
    } catch (e) {
      // Refusals (durability settings, schema, keys, port in use, a read-only home) end the
      // process with one coded line, never a stack trace.
      throw startRefusal(e);
    }
    if (flag(p, "json")) console.log(JSON.stringify({ listening: server.url, port: server.port }));
    else {
      console.log(
        `icfare serve: listening on ${server.url} (store ${server.storeName}; keys from ${server.keySource})`,
      );
      console.log(`icfare serve: ${server.denyListKey}`);
    }
    const stop = () => server.close();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    await server.finished;
    return 0;
  },
};
