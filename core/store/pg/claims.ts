/**
 * Shared verification work and operator locks on PostgreSQL (docs/scale.md, "Several
 * verifiers"). Work is leased per batch: a claim takes the oldest batches with pending records
 * whose lease is free or has run out (`FOR UPDATE SKIP LOCKED`, so verifiers never wait on each
 * other) and stamps them with its owner and an expiry; the verdicts are written only while the
 * claim still owns every batch (checked under the same row locks), so a verifier whose lease ran
 * out and was taken over writes nothing, and every record gets exactly one verdict.
 */
import {
  LeaseLostError,
  LockBusyError,
  type VerificationResult,
  type WorkClaim,
} from "../store.ts";
import type { Sql } from "./connect.ts";
import { unavailable } from "./connect.ts";
import { PENDING_COLUMNS, pendingOf, writeVerdicts } from "./rows.ts";

function checkClaimArgs(owner: string, maxRecords: number, leaseMs: number): void {
  if (typeof owner !== "string" || owner.length === 0 || owner.length > 200) {
    throw new TypeError("owner must be a non-empty string of at most 200 characters");
  }
  if (!Number.isInteger(maxRecords) || maxRecords < 1) {
    throw new RangeError(`maxRecords must be a positive integer, got ${maxRecords}`);
  }
  if (!Number.isInteger(leaseMs) || leaseMs < 1) {
    throw new RangeError(`leaseMs must be a positive integer, got ${leaseMs}`);
  }
}

/** `Store.claimPending` on PostgreSQL. */
export async function claimPending(
  sql: Sql,
  owner: string,
  maxRecords: number,
  leaseMs: number,
): Promise<WorkClaim | null> {
  checkClaimArgs(owner, maxRecords, leaseMs);
  const ids = await sql.begin(async (tx) => {
    const take: number[] = [];
    let n = 0, after = 0;
    // a few batches at a time until the claim holds about maxRecords pending records
    for (let look = Math.min(64, maxRecords); n < maxRecords; look = Math.min(1000, look * 2)) {
      const cands = await tx`SELECT id, pending FROM batches
        WHERE pending > 0 AND id > ${after}
          AND (lease_until IS NULL OR lease_until < clock_timestamp())
        ORDER BY id LIMIT ${look} FOR UPDATE SKIP LOCKED`;
      for (const c of cands) {
        if (take.length > 0 && n + Number(c.pending) > maxRecords) {
          n = maxRecords;
          break;
        }
        take.push(Number(c.id));
        n += Number(c.pending);
      }
      if (cands.length < look) break;
      after = Number(cands[cands.length - 1].id);
    }
    if (take.length === 0) return take;
    await tx`UPDATE batches SET lease_owner = ${owner},
      lease_until = clock_timestamp() + ${leaseMs} * interval '1 millisecond'
      WHERE id = ANY(${take}::bigint[])`;
    return take;
  });
  if (ids.length === 0) return null;
  const rows = await sql`SELECT ${sql.unsafe(PENDING_COLUMNS)} FROM records
    WHERE batch_id = ANY(${ids}::bigint[]) AND status = 'pending' ORDER BY id`;
  return { owner, batchIds: ids, records: rows.map(pendingOf) };
}

/** `Store.completeClaim` on PostgreSQL. */
export async function completeClaim(
  sql: Sql,
  claim: WorkClaim,
  items: readonly { readonly recordId: number; readonly result: VerificationResult }[],
): Promise<void> {
  const ids = [...claim.batchIds];
  await sql.begin(async (tx) => {
    const held = await tx`SELECT id FROM batches
      WHERE id = ANY(${ids}::bigint[]) AND lease_owner = ${claim.owner} FOR UPDATE`;
    if (held.length !== ids.length) {
      throw new LeaseLostError(
        `verifier ${claim.owner}: the lease on ${ids.length - held.length} of ${ids.length} ` +
          "batches passed to another verifier; nothing written",
      );
    }
    if (items.length > 0) await writeVerdicts(tx, items);
    await tx`UPDATE batches SET lease_owner = NULL, lease_until = NULL
      WHERE id = ANY(${ids}::bigint[])`;
  }).catch((e) => {
    throw e instanceof LeaseLostError ? e : unavailable(e);
  });
}

/** `Store.releaseClaim` on PostgreSQL. */
export async function releaseClaim(sql: Sql, claim: WorkClaim): Promise<void> {
  await sql`UPDATE batches SET lease_owner = NULL, lease_until = NULL
    WHERE id = ANY(${[...claim.batchIds]}::bigint[]) AND lease_owner = ${claim.owner}`;
}

/**
 * Runs `fn` holding a session advisory lock named `name` on a connection reserved for it; the
 * server releases the lock if this process dies. `wait` false: a held lock is `LockBusyError`.
 */
export async function withAdvisoryLock<T>(
  sql: Sql,
  name: string,
  fn: () => Promise<T>,
  wait: boolean,
): Promise<T> {
  if (typeof name !== "string" || !/^[A-Za-z0-9._:-]{1,100}$/.test(name)) {
    throw new TypeError(`lock name must be 1-100 of [A-Za-z0-9._:-], got "${name}"`);
  }
  const key = `icfare:${name}`;
  let conn;
  try {
    conn = await sql.reserve();
  } catch (e) {
    throw unavailable(e);
  }
  try {
    if (wait) {
      await conn`SELECT pg_advisory_lock(hashtextextended(${key}, 0))`;
    } else {
      const [r] = await conn`SELECT pg_try_advisory_lock(hashtextextended(${key}, 0)) AS ok`;
      if (!r.ok) throw new LockBusyError(name);
    }
  } catch (e) {
    conn.release();
    throw e instanceof LockBusyError ? e : unavailable(e);
  }
  try {
    return await fn();
  } finally {
    await conn`SELECT pg_advisory_unlock(hashtextextended(${key}, 0))`.catch(() => {});
    conn.release();
  }
}
