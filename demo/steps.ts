/**
 * The demo's steps before and after the upload, each a small function of the run's options:
 * a fresh home with a DEMO master key, the key store with its own keys, the simulated day, the
 * simulated issuer keys, CA keys and terminals imported, and the store verified twice.
 */
import { join, resolve } from "node:path";
import { IcfareError } from "../core/errors.ts";
import { KeyStore } from "../core/keys/store.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { type BackOffice, openBackOffice } from "../core/store/back_office.ts";
import { storeLocation } from "../core/store/open.ts";
import { importCapks } from "../core/keys/capk.ts";
import { importHmacKey } from "../core/auth/terminal_keys.ts";
import { fromHex, toHex } from "../core/hex.ts";
import type { StoreVerifySummary } from "../core/verify_store.ts";
import { verifyHome } from "../core/verify_home.ts";
import { type SimulateReport, simulateToDir } from "../sim/simulate.ts";
import { DEFAULT_FAULTS } from "../sim/faults.ts";

/** Marker file that makes a directory a demo home (the only kind `demo` wipes). */
export const DEMO_MARKER = "DEMO-HOME";

/**
 * The demo's settlement day: yesterday in Shanghai (UTC+08:00). The presentment window is
 * counted from the tap day to the day icfare receives the record, so a day from long ago would
 * be all late.
 */
export function demoDay(now: Date): string {
  return new Date(now.getTime() + 8 * 3600_000 - 86400_000).toISOString().slice(0, 10);
}

const ACTOR = "icfare demo";

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function isEmptyDir(dir: string): Promise<boolean> {
  for await (const _ of Deno.readDir(dir)) return false;
  return true;
}

/** Wipes `home` if it is absent, empty or a demo home; refuses any other directory. */
export async function freshDemoHome(home: string): Promise<void> {
  if (await exists(home)) {
    if (!(await isEmptyDir(home)) && !(await exists(join(home, DEMO_MARKER)))) {
      throw new IcfareError(
        "NOT_A_DEMO_HOME",
        `${home} exists and is not a demo home (no ${DEMO_MARKER} file); refusing to wipe it`,
        { hint: "give --home a new or empty directory" },
      );
    }
    await Deno.remove(home, { recursive: true });
  }
  await Deno.mkdir(home, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    join(home, DEMO_MARKER),
    "icfare demo home: wiped and rebuilt by every `icfare demo` run. Test keys only.\n",
  );
}

/** True when `inner` is `outer` or lies below it. */
export function isInside(inner: string, outer: string): boolean {
  const a = resolve(inner), b = resolve(outer);
  return a === b || a.startsWith(b.endsWith("/") ? b : b + "/");
}

/** Step 1: a fresh demo home and a new DEMO master key file outside it (mode 600). */
export async function freshHome(home: string, masterKeyFile: string): Promise<void> {
  await freshDemoHome(home);
  await Deno.remove(masterKeyFile).catch(() => {});
  const master = crypto.getRandomValues(new Uint8Array(32));
  await Deno.writeTextFile(masterKeyFile, toHex(master) + "\n", { mode: 0o600 });
  await Deno.chmod(masterKeyFile, 0o600);
  master.fill(0);
}

/**
 * On PostgreSQL (the demo home cannot hold the database, so it is not wiped with it) the demo
 * needs a database without batches: its checks compare the whole store with one simulated day.
 */
export async function checkEmptyStore(home: string): Promise<void> {
  if (storeLocation(home).kind !== "postgres") return;
  const n = await withOffice(
    home,
    ({ db }) => Number(db.prepare("SELECT count(*) AS n FROM batches").get()!.n),
  );
  if (n > 0) {
    throw new IcfareError(
      "DEMO_STORE_NOT_EMPTY",
      `the demo's PostgreSQL database already holds ${n} batch(es); the demo needs an empty one`,
      { hint: "CREATE DATABASE a new one and give its URL to --store" },
    );
  }
}

/** Runs `f` with the DEMO master key, zeroed afterwards. */
export async function withMaster<T>(
  masterKeyFile: string,
  f: (m: Uint8Array) => Promise<T>,
): Promise<T> {
  const m = fromHex((await Deno.readTextFile(masterKeyFile)).trim(), masterKeyFile);
  try {
    return await f(m);
  } finally {
    m.fill(0);
  }
}

/** What a step working on the store needs: the key store, the store, the card-data protector. */
export interface HomeParts {
  readonly ks: KeyStore;
  readonly store: BackOffice;
  readonly pan: DevPanProtector;
}

/**
 * Runs `f` on the home's back office: the store `ICFARE_DATABASE_URL` names (`icfare demo
 * --store URL` sets it), else `HOME/icfare.db`.
 */
export async function withOffice<T>(
  home: string,
  f: (bo: BackOffice) => T | Promise<T>,
): Promise<T> {
  const bo = await openBackOffice(storeLocation(home));
  try {
    return await f(bo);
  } finally {
    await bo.close();
  }
}

/** Runs `f` with the home's key store, store and card-data protector, all closed afterwards. */
export function withHome<T>(
  home: string,
  masterKeyFile: string,
  f: (h: HomeParts) => Promise<T>,
): Promise<T> {
  return withMaster(masterKeyFile, async (m) => {
    const ks = await KeyStore.open(home, m, ACTOR);
    try {
      const pan = DevPanProtector.fromCryptoKeys(
        await ks.hmacCryptoKey("pan-hash"),
        await ks.dataCryptoKey(),
      );
      return await withOffice(home, (store) => f({ ks, store, pan }));
    } finally {
      ks.close();
    }
  });
}

/** Step 2: `keys init` plus the store's own keys (archive-sign included); resolves to the master key's KCV. */
export function keysInit(home: string, masterKeyFile: string): Promise<string> {
  return withMaster(masterKeyFile, async (m) => {
    const ks = await KeyStore.init(home, m, ACTOR);
    try {
      await ks.generate({ id: "pan-hash-1", usage: "pan-hash", algorithm: "hmac-sha256" });
      await ks.generate({ id: "data-1", usage: "data", algorithm: "aes" });
      await ks.generate({ id: "denylist-1", usage: "denylist-sign", algorithm: "ecdsa-p256" });
      await ks.generate({ id: "clearing-1", usage: "clearing", algorithm: "aes" });
      await ks.generate({ id: "archive-sign-1", usage: "archive-sign", algorithm: "ecdsa-p256" });
      return ks.masterKcv;
    } finally {
      ks.close();
    }
  });
}

/** The share of ODA lines of each `--model`. */
const ODA_LINES = { ec: 0, oda: 1, mixed: 0.5 } as const;

/** Step 3: a simulated day with the default fault mix, written to `simDir`. */
export async function simulateDay(
  simDir: string,
  seed: string,
  taps: number,
  date: string,
  model: keyof typeof ODA_LINES,
) {
  await Deno.mkdir(simDir, { recursive: true });
  return await simulateToDir(
    {
      seed,
      cards: Math.max(20, Math.round(taps * 0.4)),
      terminals: Math.max(3, Math.min(300, Math.round(taps / 65))),
      taps,
      date,
      odaLines: ODA_LINES[model],
      faults: DEFAULT_FAULTS,
      iccKeyPool: 4,
      workers: Math.min(4, navigator.hardwareConcurrency || 1, taps >= 5000 ? 4 : 1),
    },
    simDir,
  ) satisfies SimulateReport;
}

/** What step 4 imported. */
export interface Imported {
  keys: number;
  capks: number;
  revoked: number;
  terminals: number;
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path)) as T;
}

/** The simulated issuer keys (IMK-AC, IMK-MAC), CA keys and revoked issuer serials. */
async function importIssuerWorld(ks: KeyStore, simDir: string) {
  const kf = await readJson<{ keys: { usage: string }[] }>(join(simDir, "keys.json"));
  const issuer = kf.keys.filter((k) => k.usage === "imk-ac" || k.usage === "imk-mac");
  const imported = await ks.importDev({ keys: issuer });
  const capkJson = await readJson<{
    capks: unknown[];
    revoked?: { rid: string; index: string; serial: string }[];
  }>(join(simDir, "capk-verify.json"));
  const capks = await importCapks(ks, { capks: capkJson.capks });
  const revoked = capkJson.revoked ?? [];
  for (const r of revoked) await ks.capkRevoke(r.rid, r.index, r.serial);
  return { keys: imported.length, capks: capks.length, revoked: revoked.length };
}

/** Every terminal of the world registered with a fresh key, handed back in memory only. */
async function registerTerminals(
  ks: KeyStore,
  simDir: string,
  terminalKeys: Map<string, CryptoKey>,
): Promise<number> {
  const world = await readJson<{ terminals: { id: string }[] }>(join(simDir, "world.json"));
  const added = await ks.terminalAddMany(world.terminals.map((t) => t.id));
  for (const t of added) {
    const raw = fromHex(t.keyHex, `key of terminal ${t.terminalId}`);
    terminalKeys.set(t.terminalId, await importHmacKey(raw));
    raw.fill(0);
  }
  return added.length;
}

/**
 * Step 4: issuer keys, CA keys and revocations imported; every terminal registered, its key
 * put in `terminalKeys` for the simulated terminals.
 */
export function importKeys(
  home: string,
  masterKeyFile: string,
  simDir: string,
  terminalKeys: Map<string, CryptoKey>,
): Promise<Imported> {
  return withMaster(masterKeyFile, async (m) => {
    const ks = await KeyStore.open(home, m, ACTOR);
    try {
      const issuer = await importIssuerWorld(ks, simDir);
      return { ...issuer, terminals: await registerTerminals(ks, simDir, terminalKeys) };
    } finally {
      ks.close();
    }
  });
}

/** Step 6: the store verified, then a second run that must find nothing pending. */
export function verifyTwice(
  home: string,
  masterKeyFile: string,
  workers: number | undefined,
): Promise<{ summary: StoreVerifySummary; secondRunPending: number }> {
  return withMaster(masterKeyFile, async (m) => {
    const summary = await verifyHome({ home, masterKey: m, actor: ACTOR, workers });
    const again = await verifyHome({ home, masterKey: m, actor: ACTOR, workers: 1 });
    return { summary, secondRunPending: again.records };
  });
}
