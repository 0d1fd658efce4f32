/**
 * The worker behind `PgSyncDb` (`sync_db.ts`): one PostgreSQL session, reserved from an
 * `npm:postgres` pool of one, that runs each request the main thread posts and wakes it through
 * the shared flag (docs/scale.md, "The back office on PostgreSQL").
 */
import { type MessagePort, workerData } from "node:worker_threads";
import { pgClient, type Sql } from "./connect.ts";

/** A request from `PgSyncDb`. */
export type SyncRequest =
  | { readonly op: "query"; readonly sql: string; readonly params: readonly unknown[] }
  | { readonly op: "script"; readonly sql: string }
  /** Writes sent together (pipelined) inside a transaction; answers their affected counts. */
  | {
    readonly op: "batch";
    readonly items: readonly { readonly sql: string; readonly params: readonly unknown[] }[];
  }
  | { readonly op: "close" };

/** The answer: rows and the affected count, or the error's message and SQLSTATE. */
export type SyncAnswer =
  | {
    readonly ok: true;
    readonly rows: Record<string, unknown>[];
    readonly count: number;
    readonly counts?: number[];
  }
  | {
    readonly ok: false;
    readonly message: string;
    readonly code?: string;
    readonly detail?: string;
  };

const { port, flag: sab, url } = workerData as {
  port: MessagePort;
  flag: SharedArrayBuffer;
  url: string;
};
const flag = new Int32Array(sab);
// numeric (sum of bigint) as a number, as SQLite answers: fen amounts are integers below 2^53
const sql: Sql = pgClient(url, {
  max: 1,
  numericAsNumber: true,
});
let session: Awaited<ReturnType<Sql["reserve"]>> | undefined;

function answer(a: SyncAnswer): void {
  port.postMessage(a);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

async function run(r: SyncRequest): Promise<SyncAnswer> {
  if (r.op === "close") {
    session?.release();
    await sql.end({ timeout: 5 });
    return { ok: true, rows: [], count: 0 };
  }
  session ??= await sql.reserve();
  if (r.op === "script") {
    const res = await session.unsafe(r.sql);
    return { ok: true, rows: [], count: Number(res.count ?? 0) };
  }
  if (r.op === "batch") {
    const s = session;
    // all sent before the first answer (the client pipelines them on the one connection)
    const runs = r.items.map((x) =>
      // deno-lint-ignore no-explicit-any
      s.unsafe(x.sql, x.params as any[], { prepare: true }).then((res) => Number(res.count ?? 0))
    );
    const done = await Promise.allSettled(runs);
    const failed = done.find((d) => d.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason; // the first, in order
    const counts = done.map((d) => (d as PromiseFulfilledResult<number>).value);
    return { ok: true, rows: [], count: counts.length, counts };
  }
  // deno-lint-ignore no-explicit-any
  const res = await session.unsafe(r.sql, r.params as any[], { prepare: true });
  return { ok: true, rows: res.map((row) => ({ ...row })), count: Number(res.count ?? 0) };
}

// One request at a time: the main thread waits for each answer before it posts the next.
port.on("message", (r: SyncRequest) => {
  run(r).then(
    answer,
    (e: Error & { code?: string; detail?: string }) =>
      answer({ ok: false, message: e.message, code: e.code, detail: e.detail }),
  );
});
