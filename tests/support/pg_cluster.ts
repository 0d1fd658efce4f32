/**
 * A throwaway PostgreSQL cluster for tests (docs/scale.md, "Tests"): `initdb` once into a
 * template directory shared by the test processes of this machine, copied into a temporary
 * directory per test file, started on a free port with `fsync=on` and `synchronous_commit=on`
 * (the settings the store refuses to run without), its unix socket in the same directory, and
 * torn down (stopped and deleted) when the test process ends. Running as root, every
 * PostgreSQL command runs as the `postgres` user (the server refuses root).
 *
 * Where no PostgreSQL binaries are found, `pgTest` registers its tests as ignored and one line
 * says so.
 */
import { join } from "node:path";
import { freePort } from "./server_process.ts";

/** The directory holding `initdb`, `pg_ctl` and `postgres`, or null. */
export function pgBinDir(): string | null {
  const env = Deno.env.get("ICFARE_PG_BIN");
  if (env === "none") return null; // to see the suite without PostgreSQL
  const candidates = env ? [env] : [];
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((e) => e.name).filter((n) => /^[0-9]+$/.test(n)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch { /* no Debian layout */ }
  candidates.push("/usr/local/bin", "/usr/bin");
  for (const d of candidates) {
    try {
      if (Deno.statSync(join(d, "initdb")).isFile && Deno.statSync(join(d, "pg_ctl")).isFile) {
        return d;
      }
    } catch { /* not here */ }
  }
  return null;
}

const IS_ROOT = Deno.uid?.() === 0;

/** A command line run as the `postgres` user when we are root. */
function asPostgres(bin: string, args: string[]): Deno.Command {
  return IS_ROOT
    ? new Deno.Command("runuser", { args: ["-u", "postgres", "--", bin, ...args], stdin: "null" })
    : new Deno.Command(bin, { args, stdin: "null" });
}

async function run(bin: string, args: string[]): Promise<string> {
  const r = await asPostgres(bin, args).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`${bin} ${args.join(" ")} failed: ${out.slice(0, 2000)}`);
  return out;
}

async function chownToPostgres(path: string): Promise<void> {
  if (!IS_ROOT) return;
  const r = await new Deno.Command("chown", { args: ["-R", "postgres:postgres", path] }).output();
  if (!r.success) throw new Error(`chown ${path} failed`);
}

/**
 * The initdb'd template, made once per machine and PostgreSQL version (a lock directory keeps
 * two test processes from making it at once; the finished template is renamed into place).
 */
async function template(bin: string): Promise<string> {
  const version = (await run(join(bin, "initdb"), ["--version"])).trim().split(/\s+/).pop();
  const dir = `/tmp/icfare-pg-template-${version}`;
  const lock = `${dir}.lock`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await Deno.stat(join(dir, "PG_VERSION"))).isFile) return dir;
    } catch { /* not yet */ }
    try {
      await Deno.mkdir(lock);
    } catch {
      await new Promise((r) => setTimeout(r, 100)); // another process is making it
      continue;
    }
    try {
      const work = await Deno.makeTempDir({ prefix: "icfare-pg-init-" });
      await chownToPostgres(work);
      await run(join(bin, "initdb"), [
        "-D",
        join(work, "data"),
        "-U",
        "icfare",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
      ]);
      await Deno.rename(join(work, "data"), dir);
      await Deno.remove(work, { recursive: true });
      return dir;
    } finally {
      await Deno.remove(lock).catch(() => {});
    }
  }
  throw new Error(`timed out waiting for the PostgreSQL template ${dir}`);
}

export interface PgCluster {
  readonly port: number;
  readonly dir: string;
  /** URL of a database on the cluster (default: `postgres`). */
  url(database?: string): string;
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Runs one SQL statement through `psql` (maintenance in tests); returns its output. */
  psql(sql: string, database?: string): Promise<string>;
  /** Stops the cluster (fast or immediate) and deletes its directory. */
  stop(mode?: "fast" | "immediate"): Promise<void>;
}

let databases = 0;

/** Starts a cluster from the template (call `pgBinDir()` first: it throws without binaries). */
export async function startPgCluster(): Promise<PgCluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error("no PostgreSQL binaries");
  const tpl = await template(bin);
  const dir = await Deno.makeTempDir({ prefix: "icfare-pg-" });
  const data = join(dir, "data");
  const cp = await new Deno.Command("cp", { args: ["-a", tpl, data] }).output();
  if (!cp.success) throw new Error(`cp ${tpl} failed`);
  // in the configuration file, not on the command line, so a test can still ALTER SYSTEM them
  await Deno.writeTextFile(
    join(data, "postgresql.conf"),
    "\nfsync = on\nsynchronous_commit = on\nfull_page_writes = on\n" +
      "max_connections = 200\nshared_buffers = 64MB\n",
    { append: true },
  );
  await chownToPostgres(dir);
  await Deno.chmod(data, 0o700);
  const port = freePort();
  const opts = [`-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1"].join(" ");
  await run(join(bin, "pg_ctl"), ["-D", data, "-l", join(dir, "log"), "-w", "-o", opts, "start"]);
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    asPostgres(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]).outputSync();
    Deno.removeSync(dir, { recursive: true });
  };
  globalThis.addEventListener("unload", stopSync);
  const url = (db = "postgres") => `postgres://icfare@127.0.0.1:${port}/${db}`;
  const psql = (sql: string, db = "postgres") =>
    run(join(bin, "psql"), ["-h", dir, "-p", String(port), "-U", "icfare", "-d", db, "-Atc", sql]);
  return {
    port,
    dir,
    url,
    psql,
    async createDatabase(prefix = "t") {
      const name = `${prefix}_${Deno.pid}_${++databases}`;
      await psql(`CREATE DATABASE ${name}`);
      return url(name);
    },
    async stop(mode = "fast") {
      if (stopped) return;
      stopped = true;
      globalThis.removeEventListener("unload", stopSync);
      await run(join(bin, "pg_ctl"), ["-D", data, "-m", mode, "-w", "stop"]).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

let shared: Promise<PgCluster> | null = null;
let absentSaid = false;

/** The test file's cluster, started on first use and torn down when the process ends. */
export function pgCluster(): Promise<PgCluster> {
  return shared ??= startPgCluster();
}

/** True when PostgreSQL tests can run here; says once (one line) when they cannot. */
export function pgAvailable(): boolean {
  const ok = pgBinDir() !== null;
  if (!ok && !absentSaid) {
    absentSaid = true;
    console.log(
      "PostgreSQL binaries not found (initdb, pg_ctl; set ICFARE_PG_BIN=DIR): PostgreSQL tests skipped",
    );
  }
  return ok;
}

/** A test that needs PostgreSQL: ignored (counted as skipped) where it is absent. */
export function pgTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({ name, ignore: !pgAvailable(), fn });
}
