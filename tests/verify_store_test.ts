/**
 * Store-mode verification (`core/verify_store.ts`): a simulated day uploaded through the real
 * upload app into a SQLite store, plus a cross-terminal duplicate and a cross-terminal replay
 * made here; every pending record gets exactly its ground-truth verdict (duplicates and replays
 * of records in other batches and other terminals found through the card index, with chunks
 * smaller than a batch so originals and copies land in different chunks and workers), nothing
 * stays pending, and a second run finds nothing to do.
 */
import { assert, assertEquals } from "@icfare/assert";
import type { TruthRow } from "../sim/day.ts";
import { simDay } from "./support/sim_day.ts";
import { keysFile } from "../sim/simulate.ts";
import { appUploader, capkRecords } from "./support/sim_store.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { splitDistinct, type StoredVerdictDetail, verifyStore } from "../core/verify_store.ts";
import type { UploadBatch } from "../core/upload/schema.ts";

Deno.test("splitDistinct: no key twice in a group, order kept, null keys anywhere", () => {
  const g = splitDistinct(["a1", "b1", "a2", "x", "a3", "b2"], (s) => s[0] === "x" ? null : s[0]);
  assertEquals(g, [["a1", "b1", "x"], ["a2", "b2"], ["a3"]]);
});

Deno.test("verify over the store: ground truth for every record, duplicates and replays across batches and terminals, idempotent", async () => {
  const { world, batches, manifest } = simDay({
    seed: "store-verify",
    cards: 150,
    terminals: 4,
    taps: 700,
    faults: ["duplicate=0.03", "replay=0.03"],
  });
  const kf = keysFile(world);
  const tmp = await Deno.makeTempDir({ prefix: "icfare-verify-store-" });
  const store = openSqliteStore(`${tmp}/icfare.db`);
  try {
    const { upload, pan } = await appUploader(store, world);
    const truth = new Map<string, TruthRow>();
    let original: { body: UploadBatch; seq: number } | undefined;
    for (const m of manifest) {
      const out = batches.get(m.file)!;
      const res = await upload(out.body);
      await res.body?.cancel();
      if (m.expect !== "stored") continue;
      assertEquals(res.status, 200, m.file);
      for (const t of out.truth) {
        truth.set(`${t.terminalId}/${t.batchNo}/${t.seq}`, t);
        if (!original && t.status === "OK" && t.cryptogram === "ok") {
          original = { body: out.body, seq: t.seq };
        }
      }
    }
    assert(original, "an OK record to copy");
    // A copy of that record uploaded by another terminal (exact: DUPLICATE), and one with a
    // changed cryptogram (same card and ATC, other AC: REPLAY_SUSPECT, which outranks the
    // AC_MISMATCH it also is).
    const rec = original.body.records.find((r) => r.seq === original!.seq)!;
    const other = world.terminals.find((t) => t.id !== original!.body.terminalId)!.id;
    const flipped = rec.icc.slice(0, 6) + (rec.icc[6] === "0" ? "1" : "0") + rec.icc.slice(7);
    assertEquals(rec.icc.slice(0, 6), "9F2608");
    const extra: UploadBatch = {
      ...original.body,
      terminalId: other,
      batchNo: 999001,
      records: [{ ...rec, seq: 1 }, { ...rec, seq: 2, icc: flipped }],
      totals: { count: 2, amount: 2 * rec.fare },
    };
    const res = await upload(extra);
    assertEquals(res.status, 200, await res.text());
    const origin = { terminalId: original.body.terminalId, batchNo: original.body.batchNo };

    const before = await store.counts();
    const copies = [...truth.values()].filter((t) => t.copyOf).length;
    assert(copies >= 10, `copies in the day: ${copies}`);
    let progress = 0;
    const summary = await verifyStore(
      store,
      pan,
      {
        imkAc: parseKeyFile(kf).listImkAc(),
        configs: [],
        capks: capkRecords(world),
      },
      { workers: 2, chunk: 37, onProgress: (d) => (progress = d) },
    );
    assertEquals(summary.records, before.pending);
    assertEquals(progress, before.pending);
    assertEquals((await store.counts()).pending, 0);
    assert(summary.acrossBatches >= copies + 2, `across batches ${summary.acrossBatches}`);

    const rows = store.connection.prepare(
      "SELECT terminal_id, batch_no, seq, status, verification FROM records WHERE status = 'verified'",
    ).all() as Record<string, string | number>[];
    let compared = 0;
    for (const r of rows) {
      const v = JSON.parse(String(r.verification)) as {
        status: string;
        detail: StoredVerdictDetail;
      };
      if (r.batch_no === 999001) {
        assertEquals(v.status, r.seq === 1 ? "DUPLICATE" : "REPLAY_SUSPECT");
        assertEquals(v.detail.duplicateOf, { ...origin, seq: original.seq });
        if (r.seq === 2) assertEquals(v.detail.cryptogram, "mismatch");
        continue;
      }
      const t = truth.get(`${r.terminal_id}/${r.batch_no}/${r.seq}`)!;
      assertEquals(
        `${v.status}/${v.detail.cryptogram}/${v.detail.oda}`,
        `${t.status}/${t.cryptogram}/${t.oda}`,
        `${r.terminal_id}/${r.batch_no}/${r.seq}`,
      );
      if (t.copyOf) {
        assertEquals(v.detail.duplicateOf?.batchNo, t.copyOf.batchNo);
        assertEquals(v.detail.duplicateOf?.seq, t.copyOf.seq);
      }
      assert(!JSON.stringify(v).match(/6235\d{10}/), "no clear PAN in a stored verdict");
      compared++;
    }
    assertEquals(compared, [...truth.values()].filter((t) => !t.uploadRejected).length);

    // Idempotent: nothing pending, nothing verified again.
    const again = await verifyStore(store, pan, {
      imkAc: parseKeyFile(kf).listImkAc(),
      configs: [],
      capks: capkRecords(world),
    });
    assertEquals(again.records, 0);
  } finally {
    store.close();
    await Deno.remove(tmp, { recursive: true });
  }
});
