/**
 * `icfare demo`: the main job end to end on the embedded default (design.md §4), one step after
 * another, each timed:
 *
 * 1. a fresh home (wiped first, only if it is a demo home) and a DEMO master key file outside it;
 * 2. `keys init` plus the store's own keys (pan-hash, card-data, deny-list signing);
 * 3. a simulated day (`sim/`, in process) in a directory outside the home;
 * 4. the simulated issuer keys (IMK-AC/IMK-MAC), CA public keys (with the revoked issuer
 *    certificate serials) imported into the key store, every terminal registered (fresh keys,
 *    handed to the simulated terminals in memory only);
 * 5. the real upload server as a subprocess with narrow permissions, every batch uploaded in
 *    `uploads.jsonl` order by several concurrent terminals with signed requests (each terminal's
 *    uploads in order), each answer checked against the expected one; the server stopped;
 * 6. store verification (`verifyHome`, parallel workers);
 * 7. every verdict compared with `truth.jsonl`; a report written to HOME/reports.
 *
 * No key value and no clear PAN reaches the output or the report.
 */
import { join, resolve } from "node:path";
import { KeyStore } from "../core/keys/store.ts";
import { importCapks } from "../core/keys/capk.ts";
import { signRequest } from "../core/auth/hmac.ts";
import { toHex } from "../core/hex.ts";
import { openSqliteStore, STORE_FILE } from "../core/store/sqlite.ts";
import { type StoreVerifySummary, verifyHome } from "../core/verify_store.ts";
import { simulateToDir } from "../sim/simulate.ts";
import { DEFAULT_FAULTS } from "../sim/faults.ts";
import type { TruthRow, UploadEntry } from "../sim/day.ts";

/** Marker file that makes a directory a demo home (the only kind `demo` wipes). */
export const DEMO_MARKER = "DEMO-HOME";

/** Options of a demo run. */
export interface DemoOptions {
  /** The demo home (wiped first). */
  readonly home: string;
  /** The DEMO master key file (outside the home; written fresh, mode 600). */
  readonly masterKeyFile: string;
  /** Where the simulated day is written (outside the home; holds clear test keys). */
  readonly simDir: string;
  readonly taps: number;
  readonly seed: string;
  /** Verification workers (default one per core). */
  readonly workers?: number;
  /** Concurrent uploading terminals (default 8). */
  readonly concurrency?: number;
  /** The directory holding `cli/main.ts` (to start the server). */
  readonly root: string;
  /** One line per step. */
  readonly log: (line: string) => void;
}

/** One step's timing. */
export interface StepTiming {
  step: string;
  seconds: number;
}

/** The demo's report (also written as JSON). */
export interface DemoReport {
  date: string;
  home: string;
  seed: string;
  taps: number;
  world: { cards: number; terminals: number; records: number; batches: number; uploads: number };
  upload: {
    requests: number;
    stored: number;
    replayed: number;
    totalsMismatch: number;
    unexpected: string[];
    recordsAccepted: number;
    recordsRejected: number;
    rejectedByCode: Record<string, number>;
    perSecond: number;
  };
  verify: StoreVerifySummary;
  secondRunPending: number;
  truth: {
    rows: number;
    agree: number;
    agreementPercent: number;
    disagreements: string[];
  };
  steps: StepTiming[];
  totalSeconds: number;
  ok: boolean;
}

const enc = new TextEncoder();

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Wipes `home` if it is absent, empty or a demo home; refuses any other directory. */
export async function freshDemoHome(home: string): Promise<void> {
  if (await exists(home)) {
    let empty = true;
    for await (const _ of Deno.readDir(home)) {
      empty = false;
      break;
    }
    if (!empty && !(await exists(join(home, DEMO_MARKER)))) {
      throw new Error(
        `${home} exists and is not a demo home (no ${DEMO_MARKER} file); refusing to wipe it`,
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

function isInside(inner: string, outer: string): boolean {
  const a = resolve(inner), b = resolve(outer);
  return a === b || a.startsWith(b.endsWith("/") ? b : b + "/");
}

async function readJsonl<T>(path: string): Promise<T[]> {
  return (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim()).map((l) =>
    JSON.parse(l) as T
  );
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The upload server as a subprocess with narrow permissions; resolves once it listens. */
async function startServer(o: DemoOptions, port: number) {
  const home = resolve(o.home), master = resolve(o.masterKeyFile);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-net=127.0.0.1:${port}`,
      `--allow-read=${home},${master}`,
      `--allow-write=${home}`,
      join(o.root, "cli/main.ts"),
      "serve",
      "--home",
      home,
      "--master-key-file",
      master,
      "--port",
      String(port),
      "--rate",
      "1000",
      "--burst",
      "1000",
      "--json",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + 60_000;
  while (!text.includes("\n")) {
    const t = setTimeout(() => child.kill("SIGKILL"), Math.max(0, deadline - Date.now()));
    const r = await reader.read();
    clearTimeout(t);
    if (r.done) {
      const err = await new Response(child.stderr).text();
      throw new Error(`upload server did not start: ${err.trim().slice(0, 500)}`);
    }
    text += r.value;
  }
  const line = JSON.parse(text.split("\n")[0]) as { listening: string; port: number };
  // Keep draining both streams so the server never blocks on a full pipe.
  const drain = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  const errText = new Response(child.stderr).text();
  return {
    url: line.listening.replace(/\/$/, ""),
    async stop(): Promise<{ code: number; stderr: string }> {
      try {
        child.kill("SIGTERM");
      } catch { /* already ended */ }
      const st = await child.status;
      await drain.catch(() => {});
      return { code: st.code, stderr: await errText };
    },
  };
}

/** Runs the whole demo; returns the report (written to HOME/reports as JSON and text). */
export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  if (!Number.isInteger(o.taps) || o.taps < 10 || o.taps > 1_000_000) {
    throw new RangeError(`taps must be an integer 10..1000000, got ${o.taps}`);
  }
  if (isInside(o.masterKeyFile, o.home)) {
    throw new Error(`the master key file ${o.masterKeyFile} must be outside the home ${o.home}`);
  }
  if (isInside(o.simDir, o.home) || isInside(o.home, o.simDir)) {
    throw new Error(`the simulation directory ${o.simDir} must be outside the home ${o.home}`);
  }
  const t0 = performance.now();
  const steps: StepTiming[] = [];
  let n = 0;
  const total = 7;
  async function step<T>(name: string, f: () => Promise<T>, done: (v: T) => string): Promise<T> {
    n++;
    const s = performance.now();
    const v = await f();
    const sec = (performance.now() - s) / 1000;
    steps.push({ step: name, seconds: Math.round(sec * 100) / 100 });
    o.log(`[${n}/${total}] ${name.padEnd(22)} ${done(v)} (${sec.toFixed(1)} s)`);
    return v;
  }

  // 1. Fresh home and a DEMO master key outside it.
  await step("fresh home", async () => {
    await freshDemoHome(o.home);
    await Deno.remove(o.masterKeyFile).catch(() => {});
    const master = crypto.getRandomValues(new Uint8Array(32));
    await Deno.writeTextFile(o.masterKeyFile, toHex(master) + "\n", { mode: 0o600 });
    await Deno.chmod(o.masterKeyFile, 0o600);
    master.fill(0);
  }, () => `${o.home}; DEMO master key file ${o.masterKeyFile} (mode 600)`);

  const withMaster = async <T>(f: (m: Uint8Array) => Promise<T>): Promise<T> => {
    const text = (await Deno.readTextFile(o.masterKeyFile)).trim();
    const m = new Uint8Array(32);
    for (let i = 0; i < 32; i++) m[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    try {
      return await f(m);
    } finally {
      m.fill(0);
    }
  };

  // 2. keys init and the store's own keys.
  const masterKcv = await step("keys init", () =>
    withMaster(async (m) => {
      const ks = await KeyStore.init(o.home, m, "icfare demo");
      try {
        await ks.generate({ id: "pan-hash-1", usage: "pan-hash", algorithm: "hmac-sha256" });
        await ks.generate({ id: "data-1", usage: "data", algorithm: "aes" });
        await ks.generate({ id: "denylist-1", usage: "denylist-sign", algorithm: "hmac-sha256" });
        return ks.masterKcv;
      } finally {
        ks.close();
      }
    }), (kcv) => `key store created (master KCV ${kcv}); pan-hash, data, denylist keys`);

  // 3. A simulated day.
  const sim = await step(
    "simulate day",
    async () => {
      await Deno.mkdir(o.simDir, { recursive: true });
      return await simulateToDir(
        {
          seed: o.seed,
          cards: Math.max(20, Math.round(o.taps * 0.4)),
          terminals: Math.max(3, Math.min(300, Math.round(o.taps / 65))),
          taps: o.taps,
          date: "2026-06-24",
          faults: DEFAULT_FAULTS,
          iccKeyPool: 4,
          workers: Math.min(4, navigator.hardwareConcurrency || 1, o.taps >= 5000 ? 4 : 1),
        },
        o.simDir,
      );
    },
    (r) =>
      `${r.records} records, ${r.batches} batches, ${r.terminals} terminals, ${r.activeCards} cards`,
  );

  // 4. Import keys, CA keys, revocations; register terminals.
  const terminalKeys = new Map<string, CryptoKey>();
  await step(
    "import keys",
    () =>
      withMaster(async (m) => {
        const ks = await KeyStore.open(o.home, m, "icfare demo");
        try {
          const kf = JSON.parse(await Deno.readTextFile(join(o.simDir, "keys.json"))) as {
            keys: { usage: string }[];
          };
          const issuer = kf.keys.filter((k) => k.usage === "imk-ac" || k.usage === "imk-mac");
          const imported = await ks.importDev({ keys: issuer });
          const capkJson = JSON.parse(await Deno.readTextFile(join(o.simDir, "capk-verify.json")));
          const capks = await importCapks(ks, { capks: capkJson.capks });
          const revoked = (capkJson.revoked ?? []) as {
            rid: string;
            index: string;
            serial: string;
          }[];
          for (const r of revoked) await ks.capkRevoke(r.rid, r.index, r.serial);
          const world = JSON.parse(await Deno.readTextFile(join(o.simDir, "world.json")));
          const ids = (world.terminals as { id: string }[]).map((t) => t.id);
          const added = await ks.terminalAddMany(ids);
          for (const t of added) {
            const raw = new Uint8Array(t.keyHex.length / 2);
            for (let i = 0; i < raw.length; i++) {
              raw[i] = parseInt(t.keyHex.slice(2 * i, 2 * i + 2), 16);
            }
            terminalKeys.set(
              t.terminalId,
              await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
                "sign",
              ]),
            );
            raw.fill(0);
          }
          return {
            keys: imported.length,
            capks: capks.length,
            revoked: revoked.length,
            terminals: added.length,
          };
        } finally {
          ks.close();
        }
      }),
    (r) =>
      `${r.keys} issuer keys, ${r.capks} CA keys (${r.revoked} revoked issuer serials), ${r.terminals} terminals`,
  );

  // 5. Upload through the real server.
  const truth = await readJsonl<TruthRow>(join(o.simDir, "truth.jsonl"));
  const manifest = await readJsonl<UploadEntry>(join(o.simDir, "uploads.jsonl"));
  const truthByBatch = new Map<string, TruthRow[]>();
  for (const t of truth) {
    const k = `${t.terminalId}/${t.batchNo}`;
    const l = truthByBatch.get(k) ?? [];
    l.push(t);
    truthByBatch.set(k, l);
  }
  const upload = await step(
    "upload via server",
    async () => {
      const server = await startServer(o, freePort());
      const u: DemoReport["upload"] = {
        requests: 0,
        stored: 0,
        replayed: 0,
        totalsMismatch: 0,
        unexpected: [],
        recordsAccepted: 0,
        recordsRejected: 0,
        rejectedByCode: {},
        perSecond: 0,
      };
      const s = performance.now();
      try {
        const last = new Map<string, Promise<void>>();
        const inFlight = new Set<Promise<void>>();
        const limit = o.concurrency ?? 8;
        for (const m of manifest) {
          while (inFlight.size >= limit) await Promise.race(inFlight);
          const before = last.get(m.terminalId) ?? Promise.resolve();
          const p: Promise<void> = before.then(() => uploadOne(m));
          last.set(m.terminalId, p);
          inFlight.add(p);
          p.finally(() => inFlight.delete(p)).catch(() => {});
        }
        await Promise.all(last.values());
      } finally {
        const st = await server.stop();
        if (st.code !== 0 && st.code !== 143) {
          u.unexpected.push(`server exited ${st.code}: ${st.stderr.slice(0, 300)}`);
        }
      }
      const sec = (performance.now() - s) / 1000;
      u.perSecond = Math.round((u.recordsAccepted + u.recordsRejected) / sec);
      return u;

      async function uploadOne(m: UploadEntry): Promise<void> {
        const body = await Deno.readFile(join(o.simDir, "batches", m.file));
        const key = terminalKeys.get(m.terminalId);
        if (!key) throw new Error(`terminal ${m.terminalId} has no key`);
        const auth = await signRequest({
          key,
          terminalId: m.terminalId,
          method: "POST",
          path: "/v1/batches",
          body,
        });
        const res = await fetch(`${server.url}/v1/batches`, {
          method: "POST",
          body,
          headers: { authorization: auth, "content-type": "application/json" },
        });
        const answer = await res.json();
        u.requests++;
        const where = `${m.file} (expected ${m.expect})`;
        if (m.expect === "TOTALS_MISMATCH") {
          if (res.status === 422 && answer.error?.code === "TOTALS_MISMATCH") u.totalsMismatch++;
          else u.unexpected.push(`${where}: ${res.status} ${answer.error?.code ?? ""}`);
          return;
        }
        if (res.status !== 200) {
          u.unexpected.push(`${where}: ${res.status} ${answer.error?.code ?? ""}`);
          return;
        }
        if (answer.replayed !== (m.expect === "replayed")) {
          u.unexpected.push(`${where}: replayed ${answer.replayed}`);
          return;
        }
        const want = (truthByBatch.get(`${m.terminalId}/${m.batchNo}`) ?? [])
          .filter((t) => t.uploadRejected).map((t) => t.seq).join(",");
        const got = (answer.rejected as { seq: number }[]).map((r) => r.seq).join(",");
        if (want !== got) u.unexpected.push(`${where}: rejected seqs ${got}, expected ${want}`);
        if (m.expect === "replayed") {
          u.replayed++;
          return;
        }
        u.stored++;
        u.recordsAccepted += answer.accepted;
        u.recordsRejected += answer.rejected.length;
        for (const r of answer.rejected as { code: string }[]) {
          u.rejectedByCode[r.code] = (u.rejectedByCode[r.code] ?? 0) + 1;
        }
      }
    },
    (u) =>
      `${u.requests} requests: ${u.stored} stored, ${u.replayed} replayed, ${u.totalsMismatch} TOTALS_MISMATCH; ` +
      `${u.recordsAccepted} records accepted, ${u.recordsRejected} rejected; ${u.unexpected.length} unexpected answers`,
  );
  for (const x of terminalKeys.keys()) terminalKeys.delete(x);

  // 6. Store verification, then a second run that must find nothing pending.
  let secondRunPending = -1;
  const verify = await step("verify store", () =>
    withMaster(async (m) => {
      const s = await verifyHome({
        home: o.home,
        masterKey: m,
        actor: "icfare demo",
        workers: o.workers,
      });
      const again = await verifyHome({
        home: o.home,
        masterKey: m,
        actor: "icfare demo",
        workers: 1,
      });
      secondRunPending = again.records;
      return s;
    }), (s) =>
    `${s.records} records on ${s.workers} workers (${s.perSecond}/s); ` +
    `${s.acrossBatches} duplicates/replays across batches; second run: ${secondRunPending} pending`);

  // 7. Compare with the ground truth.
  const cmp = await step(
    "compare with truth",
    () => Promise.resolve(compareWithTruth(o.home, truth)),
    (c) => `${c.agree}/${c.rows} agree (${c.agreementPercent.toFixed(2)} %)`,
  );

  const report: DemoReport = {
    date: new Date().toISOString().slice(0, 10),
    home: o.home,
    seed: o.seed,
    taps: o.taps,
    world: {
      cards: sim.cards,
      terminals: sim.terminals,
      records: sim.records,
      batches: sim.batches,
      uploads: sim.uploads,
    },
    upload,
    verify,
    secondRunPending,
    truth: cmp,
    steps,
    totalSeconds: Math.round((performance.now() - t0) / 10) / 100,
    ok: cmp.agree === cmp.rows && cmp.rows > 0 && upload.unexpected.length === 0 &&
      secondRunPending === 0,
  };
  void masterKcv;
  await writeReport(o.home, report);
  return report;
}

/** Every record of the store against its truth row (status, cryptogram and ODA flags). */
export function compareWithTruth(home: string, truth: readonly TruthRow[]): DemoReport["truth"] {
  const store = openSqliteStore(join(home, STORE_FILE));
  const rows = new Map<string, { status: string; reject: string | null; v: string | null }>();
  try {
    const all = store.connection.prepare(
      "SELECT terminal_id, batch_no, seq, status, reject_code, verification FROM records",
    ).all() as Record<string, unknown>[];
    for (const r of all) {
      rows.set(`${r.terminal_id}/${r.batch_no}/${r.seq}`, {
        status: String(r.status),
        reject: r.reject_code == null ? null : String(r.reject_code),
        v: r.verification == null ? null : String(r.verification),
      });
    }
  } finally {
    store.close();
  }
  const dis: string[] = [];
  let agree = 0;
  for (const t of truth) {
    const k = `${t.terminalId}/${t.batchNo}/${t.seq}`;
    const r = rows.get(k);
    rows.delete(k);
    const who = `${k} (${t.pan}, ATC ${t.atc})`;
    if (!r) {
      dis.push(`${who}: not in the store`);
      continue;
    }
    if (t.uploadRejected) {
      if (r.status === "rejected") agree++;
      else dis.push(`${who}: expected rejected at upload, store has ${r.status}`);
      continue;
    }
    if (r.status !== "verified" || !r.v) {
      dis.push(
        `${who}: expected ${t.status}, store has ${r.status}${r.reject ? " " + r.reject : ""}`,
      );
      continue;
    }
    const v = JSON.parse(r.v) as { status: string; detail: { cryptogram: string; oda: string } };
    const got = `${v.status}/${v.detail.cryptogram}/${v.detail.oda}`;
    const want = `${t.status}/${t.cryptogram}/${t.oda}`;
    if (got === want) agree++;
    else dis.push(`${who}: expected ${want}, got ${got}`);
  }
  for (const k of rows.keys()) dis.push(`${k}: in the store but not in the truth`);
  const n = truth.length;
  return {
    rows: n,
    agree,
    agreementPercent: n ? (100 * agree) / n : 0,
    disagreements: dis.slice(0, 50),
  };
}

/** The readable form of a report. */
export function reportText(r: DemoReport): string[] {
  const pct = (k: number, t: number) => (t ? ((100 * k) / t).toFixed(2) : "0.00") + " %";
  const lines = [
    `icfare demo — ${r.date}  (seed ${r.seed}, ${r.taps} taps drawn; test keys only)`,
    ``,
    `world     ${r.world.cards} cards, ${r.world.terminals} terminals, ${r.world.records} records in ${r.world.batches} batches, ${r.world.uploads} uploads`,
    `upload    ${r.upload.requests} requests: ${r.upload.stored} stored, ${r.upload.replayed} replayed, ${r.upload.totalsMismatch} TOTALS_MISMATCH (422), ${r.upload.unexpected.length} unexpected`,
    `          records accepted ${r.upload.recordsAccepted}, rejected ${r.upload.recordsRejected} (${
      Object.entries(r.upload.rejectedByCode).map(([k, n]) => `${k} ${n}`).join(", ") || "none"
    }); ${r.upload.perSecond} records/s through the server`,
    `verify    ${r.verify.records} records on ${r.verify.workers} workers in ${
      r.verify.seconds.toFixed(1)
    } s (${r.verify.perSecond}/s); second run: ${r.secondRunPending} pending`,
    ``,
    `verdicts by status:`,
    ...Object.entries(r.verify.status).sort((a, b) => b[1] - a[1]).map(([k, n]) =>
      `  ${k.padEnd(16)} ${String(n).padStart(8)}  ${pct(n, r.verify.records).padStart(8)}`
    ),
    `  cryptogram: ${Object.entries(r.verify.cryptogram).map(([k, n]) => `${k} ${n}`).join(", ")}`,
    `  oda:        ${Object.entries(r.verify.oda).map(([k, n]) => `${k} ${n}`).join(", ")}`,
    `  duplicates/replays of a record in another batch: ${r.verify.acrossBatches}`,
    ``,
    `ground truth: ${r.truth.agree}/${r.truth.rows} records agree (${
      r.truth.agreementPercent.toFixed(2)
    } %)`,
    ...r.truth.disagreements.slice(0, 10).map((d) => `  ${d}`),
    ...r.upload.unexpected.slice(0, 10).map((d) => `  upload: ${d}`),
    ``,
    `timings:`,
    ...r.steps.map((s) => `  ${s.step.padEnd(22)} ${s.seconds.toFixed(2).padStart(7)} s`),
    `  ${"total".padEnd(22)} ${r.totalSeconds.toFixed(2).padStart(7)} s`,
    ``,
    r.ok ? "RESULT: OK" : "RESULT: FAILED",
  ];
  return lines;
}

/** Writes HOME/reports/demo-YYYY-MM-DD.json and .txt; returns their paths. */
export async function writeReport(
  home: string,
  r: DemoReport,
): Promise<{ json: string; txt: string }> {
  const dir = join(home, "reports");
  await Deno.mkdir(dir, { recursive: true });
  const json = join(dir, `demo-${r.date}.json`);
  const txt = join(dir, `demo-${r.date}.txt`);
  await Deno.writeFile(json, enc.encode(JSON.stringify(r, null, 2) + "\n"));
  await Deno.writeFile(txt, enc.encode(reportText(r).join("\n") + "\n"));
  return { json, txt };
}
