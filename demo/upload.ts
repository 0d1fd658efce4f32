/**
 * The demo's upload step: the real upload server as a subprocess with narrow permissions, and
 * every batch of the simulated day sent to it in `uploads.jsonl` order by several concurrent
 * terminals (each terminal's uploads in order), each answer checked against the one the
 * simulator expects.
 */
import { join, resolve } from "node:path";
import { signRequest } from "../core/auth/hmac.ts";
import type { TruthRow, UploadEntry } from "../sim/day.ts";
import type { UploadSummary } from "./report.ts";
import { storeLocation } from "../core/store/open.ts";

/** A running server subprocess. */
export interface ServerProcess {
  readonly url: string;
  /** Stops it (SIGTERM) and reports how it ended. */
  stop(): Promise<{ code: number; stderr: string }>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * The narrow command line: this port, the home and the master key file, nothing else; with a
 * PostgreSQL store also its host and the libpq variables (docs/scale.md).
 */
function serveArgs(
  root: string,
  home: string,
  master: string,
  port: number,
  db?: string,
): string[] {
  const host = db === undefined ? null : /^postgres(?:ql)?:\/\/(?:[^@/]*@)?([^/?]+)/i.exec(db)?.[1];
  return [
    "run",
    host
      ? `--allow-net=127.0.0.1:${port},${host.includes(":") ? host : `${host}:5432`}`
      : `--allow-net=127.0.0.1:${port}`,
    ...(host ? ["--allow-env=PG*"] : []),
    `--allow-read=${home},${master}`,
    `--allow-write=${home}`,
    join(root, "cli/main.ts"),
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
    ...(db === undefined ? [] : ["--store", db]),
  ];
}

/** Reads the server's first stdout line (its JSON listening line); kills it after a minute. */
async function firstLine(
  child: Deno.ChildProcess,
  reader: ReadableStreamDefaultReader<string>,
): Promise<string> {
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
  return text.split("\n")[0];
}

/** The upload server as a subprocess with narrow permissions; resolves once it listens. */
export async function startServerProcess(
  root: string,
  home: string,
  masterKeyFile: string,
): Promise<ServerProcess> {
  const l = storeLocation(home);
  const db = l.kind === "postgres" ? l.url : undefined;
  const args = serveArgs(root, resolve(home), resolve(masterKeyFile), freePort(), db);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const line = JSON.parse(await firstLine(child, reader)) as { listening: string };
  // Keep draining both streams so the server never blocks on a full pipe.
  const drain = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  const errText = new Response(child.stderr).text();
  return {
    url: line.listening.replace(/\/$/, ""),
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* already ended */ }
      const st = await child.status;
      await drain.catch(() => {});
      return { code: st.code, stderr: await errText };
    },
  };
}

/** What uploading needs. */
export interface UploadInput {
  readonly url: string;
  readonly simDir: string;
  readonly manifest: readonly UploadEntry[];
  readonly truth: readonly TruthRow[];
  /** Each terminal's HMAC key (handed over in memory only). */
  readonly terminalKeys: ReadonlyMap<string, CryptoKey>;
  /** Terminals uploading at once. */
  readonly concurrency: number;
}

export function emptyUploadSummary(): UploadSummary {
  return {
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
}

/** The seqs the server must reject for structure in each batch, by `terminal/batchNo`. */
function rejectedSeqs(truth: readonly TruthRow[]): Map<string, string> {
  const by = new Map<string, number[]>();
  for (const t of truth) {
    if (!t.uploadRejected) continue;
    const k = `${t.terminalId}/${t.batchNo}`;
    by.set(k, [...(by.get(k) ?? []), t.seq]);
  }
  return new Map([...by].map(([k, seqs]) => [k, seqs.join(",")]));
}

type Answer = {
  replayed?: boolean;
  accepted: number;
  rejected: { seq: number; code: string }[];
  error?: { code: string };
};

/** Checks one answer against the manifest's expectation and counts it into `u`. */
function tally(
  u: UploadSummary,
  m: UploadEntry,
  status: number,
  answer: Answer,
  wantRejected: string,
): void {
  u.requests++;
  const where = `${m.file} (expected ${m.expect})`;
  if (m.expect === "TOTALS_MISMATCH") {
    if (status === 422 && answer.error?.code === "TOTALS_MISMATCH") u.totalsMismatch++;
    else u.unexpected.push(`${where}: ${status} ${answer.error?.code ?? ""}`);
    return;
  }
  if (status !== 200) {
    u.unexpected.push(`${where}: ${status} ${answer.error?.code ?? ""}`);
    return;
  }
  if (answer.replayed !== (m.expect === "replayed")) {
    u.unexpected.push(`${where}: replayed ${answer.replayed}`);
    return;
  }
  const got = answer.rejected.map((r) => r.seq).join(",");
  if (wantRejected !== got) {
    u.unexpected.push(`${where}: rejected seqs ${got}, expected ${wantRejected}`);
  }
  if (m.expect === "replayed") {
    u.replayed++;
    return;
  }
  u.stored++;
  u.recordsAccepted += answer.accepted;
  u.recordsRejected += answer.rejected.length;
  for (const r of answer.rejected) u.rejectedByCode[r.code] = (u.rejectedByCode[r.code] ?? 0) + 1;
}

/** Sends one batch file, signed with its terminal's key. */
async function sendBatch(o: UploadInput, m: UploadEntry): Promise<[number, Answer]> {
  const body = await Deno.readFile(join(o.simDir, "batches", m.file));
  const key = o.terminalKeys.get(m.terminalId);
  if (!key) throw new Error(`terminal ${m.terminalId} has no key`);
  const auth = await signRequest({
    key,
    terminalId: m.terminalId,
    method: "POST",
    path: "/v1/batches",
    body,
  });
  const res = await fetch(`${o.url}/v1/batches`, {
    method: "POST",
    body,
    headers: { authorization: auth, "content-type": "application/json" },
  });
  return [res.status, await res.json()];
}

/**
 * Uploads the manifest: at most `concurrency` requests at once, each terminal's uploads one
 * after the other in manifest order.
 */
export async function uploadAll(o: UploadInput): Promise<UploadSummary> {
  const u = emptyUploadSummary();
  const want = rejectedSeqs(o.truth);
  const s = performance.now();
  const last = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<void>>();
  for (const m of o.manifest) {
    while (inFlight.size >= o.concurrency) await Promise.race(inFlight);
    const before = last.get(m.terminalId) ?? Promise.resolve();
    const p: Promise<void> = before.then(async () => {
      const [status, answer] = await sendBatch(o, m);
      tally(u, m, status, answer, want.get(`${m.terminalId}/${m.batchNo}`) ?? "");
    });
    last.set(m.terminalId, p);
    inFlight.add(p);
    p.finally(() => inFlight.delete(p)).catch(() => {});
  }
  await Promise.all(last.values());
  const sec = (performance.now() - s) / 1000;
  u.perSecond = Math.round((u.recordsAccepted + u.recordsRejected) / sec);
  return u;
}
