/**
 * The deny list's reads on PostgreSQL (docs/denylist.md; docs/scale.md, "What runs on
 * PostgreSQL"): the list served to terminals and the DENYLISTED finding of verification, over
 * the same journal, holds and listed-card tables as SQLite's (schema step 2), with the same
 * queries as `core/denylist/journal.ts` and `core/denylist/listed.ts`.
 */
import type { ListChange } from "../../denylist/journal.ts";
import type { DenyListedTap } from "../../denylist/listed.ts";
import { listOf, type UnsignedList } from "../../denylist/signed.ts";
import { toHex } from "../../hex.ts";
import type { Sql } from "./connect.ts";

const hexOf = (b: unknown) => toHex(new Uint8Array(b as Uint8Array));

/** The list a holder of version `since` needs, read on one snapshot (REPEATABLE READ). */
export function pgDenyListSince(sql: Sql, since: number): Promise<UnsignedList> {
  return sql.begin("isolation level repeatable read read only", async (tx) => {
    const [v] = await tx`SELECT coalesce(max(version), 0) AS v FROM deny_journal`;
    const version = Number(v.v);
    const full = since === 0 || since > version;
    const from = full ? 0 : since;
    // Each card's last change after `from`, whether it was listed at `from`, and its reason now.
    const rows = await tx`SELECT j.card_hash, j.psn, j.reason, j.version, j.listed,
        coalesce((SELECT b.listed FROM deny_journal b WHERE b.card_hash = j.card_hash
          AND b.version IS NOT NULL AND b.version <= ${from}
          ORDER BY b.version DESC LIMIT 1), 0) AS before,
        c.reason AS listed_reason
      FROM deny_journal j LEFT JOIN deny_cards c ON c.card_hash = j.card_hash
      WHERE j.version > ${from} AND j.version = (SELECT max(x.version) FROM deny_journal x
        WHERE x.card_hash = j.card_hash)
      ORDER BY j.version`;
    const changes: ListChange[] = [];
    for (const x of rows) {
      const now = Number(x.listed) === 1;
      if (now === (Number(x.before) === 1)) continue;
      changes.push({
        cardHash: hexOf(x.card_hash),
        psn: String(x.psn),
        action: now ? "add" : "remove",
        reason: now && x.listed_reason !== null ? String(x.listed_reason) : String(x.reason),
        version: Number(x.version),
      });
    }
    const cards = await tx`SELECT card_hash FROM deny_cards ORDER BY version`;
    return listOf(since, full, { version, changes }, cards.map((c) => hexOf(c.card_hash)));
  });
}

/** The records among `recordIds` whose card was listed in the version their batch reported. */
export async function pgDenyListed(
  sql: Sql,
  recordIds: readonly number[],
): Promise<DenyListedTap[]> {
  if (!recordIds.every(Number.isSafeInteger)) throw new TypeError("recordIds: integers");
  if (recordIds.length === 0) return [];
  const rows = await sql`SELECT x.id, x.reported, j.version, j.reason FROM (
      SELECT r.id, b.deny_list_version AS reported,
        (SELECT d.id FROM deny_journal d WHERE d.card_hash = r.card_hash
          AND d.version IS NOT NULL AND d.version <= b.deny_list_version
          ORDER BY d.version DESC LIMIT 1) AS jid
      FROM records r JOIN batches b ON b.id = r.batch_id
      WHERE r.id IN (SELECT jsonb_array_elements_text(${JSON.stringify(recordIds)}::text::jsonb)
          ::bigint)
        AND r.card_hash IS NOT NULL
    ) x JOIN deny_journal j ON j.id = x.jid
    WHERE j.listed = 1
    ORDER BY x.id`;
  return rows.map((r) => ({
    recordId: Number(r.id),
    reported: Number(r.reported),
    listedIn: Number(r.version),
    reason: String(r.reason),
  }));
}
