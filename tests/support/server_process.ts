/**
 * Runs `icfare serve` as a subprocess with the narrow permissions the README documents
 * (network port, read/write of the icfare home; nothing else), for end-to-end tests.
 */
import { join } from "node:path";
import { testKeyHex } from "./terminal.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;

/** A fresh icfare home with the interim dev key file for `terminals`. */
export async function makeHome(terminals: string[]): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "icfare-home-" });
  await Deno.writeTextFile(
    join(home, "dev-keys.json"),
    JSON.stringify({
      interim: "development keys for tests only",
      panHashKey: "5A".repeat(32),
      dataKey: "D4".repeat(32),
      terminals: Object.fromEntries(terminals.map((t) => [t, testKeyHex(t)])),
    }),
  );
  return home;
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The home, plus the master-key file and the worker modules when the options need them. */
function readList(home: string, extra: string[]): string {
  const paths = [home];
  const m = extra.indexOf("--master-key-file");
  if (m >= 0) paths.push(extra[m + 1]);
  // the worker-thread store loads its modules from the source tree: allow exactly that
  if (extra.includes("worker")) paths.push(join(ROOT, "core"));
  return paths.join(",");
}

/** A PostgreSQL `--store` URL's host:port (the server must reach it), or null. */
function databaseHost(extra: string[]): string | null {
  const i = extra.indexOf("--store");
  const m = i >= 0 ? /^postgres(?:ql)?:\/\/(?:[^@/]*@)?([^/?]+)/i.exec(extra[i + 1]) : null;
  return m ? (m[1].includes(":") ? m[1] : `${m[1]}:5432`) : null;
}

/** The exact narrow command line (also in the README; docs/scale.md for PostgreSQL). */
export function serveArgs(home: string, port: number, extra: string[] = []): string[] {
  const db = databaseHost(extra);
  return [
    "run",
    db ? `--allow-net=127.0.0.1:${port},${db}` : `--allow-net=127.0.0.1:${port}`,
    // the PostgreSQL client reads the libpq variables (PGHOST, PGPORT, …) and nothing else
    ...(db ? ["--allow-env=PG*"] : []),
    `--allow-read=${readList(home, extra)}`,
    `--allow-write=${home}`,
    join(ROOT, "cli/main.ts"),
    "serve",
    "--home",
    home,
    "--port",
    String(port),
    ...extra,
  ];
}

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: Deno.ChildProcess;
  readonly stderr: () => string;
  /** What the server printed up to and including its "listening on" line. */
  readonly banner: string;
  /** Sends a signal and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Spawns the server and waits until it listens (throws with its stderr if it exits first). */
export async function spawnServer(
  home: string,
  port: number = freePort(),
  extra: string[] = [],
  /** A command to run the server under, e.g. `["strace", "-f", …]`. */
  wrap: string[] = [],
): Promise<ServerProcess> {
  const cmd = wrap.length > 0 ? wrap[0] : Deno.execPath();
  const args = wrap.length > 0
    ? [...wrap.slice(1), Deno.execPath(), ...serveArgs(home, port, extra)]
    : serveArgs(home, port, extra);
  return await spawnListening(cmd, args, port);
}

/**
 * Spawns `cmd args…` (an icfare process that prints "listening on" when it is ready: the upload
 * server, the console) and waits until it listens on `port`.
 */
export async function spawnListening(
  cmd: string,
  args: string[],
  port: number,
): Promise<ServerProcess> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let err = "";
  const dec = new TextDecoder();
  (async () => {
    for await (const c of child.stderr) err += dec.decode(c);
  })().catch(() => {});
  const reader = child.stdout.getReader();
  let out = "";
  while (!out.includes("listening on")) {
    const r = await Promise.race([
      reader.read(),
      child.status.then(() => ({ done: true, value: undefined })),
    ]);
    if (r.done) {
      throw new Error(`server exited before listening: ${err.slice(0, 2000)}`);
    }
    out += dec.decode(r.value);
  }
  // keep draining stdout so the pipe never blocks
  (async () => {
    for (;;) if ((await reader.read()).done) break;
  })().catch(() => {});
  let stopped: Promise<Deno.CommandStatus> | null = null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    stderr: () => err,
    banner: out,
    stop(signal: Deno.Signal = "SIGTERM") {
      if (!stopped) {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        stopped = child.status;
      }
      return stopped;
    },
  };
}
