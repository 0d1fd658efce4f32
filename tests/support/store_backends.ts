/**
 * The two store backends for parameterised tests: SQLite in a temporary file, PostgreSQL in a
 * fresh database of the test file's throwaway cluster (`pg_cluster.ts`). `open()` opens another
 * connection (pool) to the same database each time, as a second server or verifier would.
 */
import { join } from "node:path";
import { closeStore, type OpenStore, openStore } from "../../core/store/open.ts";
import type { NewBatch, NewRecord } from "../../core/store/store.ts";
import { pgAvailable, pgCluster } from "./pg_cluster.ts";

export interface Backend {
  readonly name: "sqlite" | "postgres";
  /** False where the backend cannot run here (PostgreSQL without binaries). */
  readonly available: boolean;
  /** A fresh, empty database: its `--store` value. */
  fresh(): Promise<string>;
  /** Opens a store on a database made by `fresh`. */
  open(location: string): Promise<OpenStore>;
}

export const SQLITE: Backend = {
  name: "sqlite",
  available: true,
  async fresh() {
    return join(await Deno.makeTempDir({ prefix: "icfare-contract-" }), "icfare.db");
  },
  open: (path) => openStore({ kind: "sqlite", path }),
};

export const POSTGRES: Backend = {
  name: "postgres",
  get available() {
    return pgAvailable();
  },
  async fresh() {
    return await (await pgCluster()).createDatabase("contract");
  },
  open: (url) => openStore({ kind: "postgres", url }, { poolSize: 4 }),
};

export const BACKENDS: readonly Backend[] = [SQLITE, POSTGRES];

/** Registers `fn` once per backend (`store <backend>: name`), ignored where unavailable. */
export function eachBackend(
  name: string,
  fn: (b: Backend, location: string) => Promise<void>,
): void {
  for (const b of BACKENDS) {
    Deno.test({
      name: `store ${b.name}: ${name}`,
      ignore: !b.available,
      fn: async () => fn(b, await b.fresh()),
    });
  }
}

/** Opens, runs, closes. */
export async function withStore<T>(
  b: Backend,
  location: string,
  fn: (s: OpenStore) => Promise<T>,
): Promise<T> {
  const s = await b.open(location);
  try {
    return await fn(s);
  } finally {
    await closeStore(s);
  }
}

/** A record as ingest hands it over. */
export function record(seq: number, over: Partial<NewRecord> = {}): NewRecord {
  return {
    seq,
    tappedAt: "2016-06-24T07:31:02+08:00",
    line: "K1",
    vehicle: "LC-1024",
    stop: null,
    fare: 200,
    cardHash: new Uint8Array(32).fill(seq),
    panMasked: "623456******1234",
    psn: "01",
    atc: seq,
    status: "pending",
    reject: null,
    index: seq - 1,
    ...over,
  };
}

/** A batch of `records` under (terminal, batchNo) with a receipt naming its digest. */
export function batch(
  batchNo: number,
  digest: string,
  records: NewRecord[],
  terminalId = "LC000123",
): NewBatch {
  return {
    terminalId,
    batchNo,
    merchantId: "898371641110001",
    denyListVersion: 0,
    digest,
    body: new Uint8Array([batchNo & 255, 9, 9]),
    bodyBytes: 3,
    amount: records.reduce((s, r) => s + r.fare, 0),
    receivedAt: "2026-11-27T00:00:00Z",
    records,
    receipt: `{"batchId":"${terminalId}-${batchNo}","digest":"${digest}","replayed":false}`,
  };
}

/**
 * Runs raw SQL on a store of either backend (tests only: rows the contract has no call for,
 * such as the deny list's journal, which only the SQLite deny list writes). `bytes(hex)` gives
 * the backend's literal for a byte string.
 */
export async function rawSql(
  b: Backend,
  s: OpenStore,
  text: (bytes: (hex: string) => string) => string,
): Promise<Record<string, unknown>[]> {
  if (b.name === "sqlite") {
    const db = (s as unknown as { connection: import("node:sqlite").DatabaseSync }).connection;
    return db.prepare(text((h) => `X'${h}'`)).all() as Record<string, unknown>[];
  }
  const sql = (s as unknown as { sql: { unsafe(q: string): Promise<Record<string, unknown>[]> } })
    .sql;
  return [...await sql.unsafe(text((h) => `'\\x${h}'::bytea`))];
}
