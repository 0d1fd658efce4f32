/**
 * DENYLISTED through the store path (docs/denylist.md, "DENYLISTED"): a simulated day uploaded
 * through the real upload app; one card goes on the deny list (version 1) and comes off it when
 * its debt is recovered (version 2). Its tap in a batch that reported version 1 is flagged; its
 * taps in batches that reported 0 (before) or 2 (after) are not; no other record is. The
 * finding is made once per chunk (one store query per chunk, counted), not per record.
 */
import { assert, assertEquals } from "@icfare/assert";
import { simDay } from "./support/sim_day.ts";
import { appUploader } from "./support/sim_store.ts";
import { capkFile, keysFile } from "../sim/simulate.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import type { Store } from "../core/store/store.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import type { CapkRecord } from "../core/keys/store.ts";
import { type StoredVerdictDetail, verifyStore } from "../core/verify_store.ts";
import type { UploadBatch } from "../core/upload/schema.ts";
import type { TruthRow } from "../sim/day.ts";
import { flattenValues, parseTlv } from "../core/tlv/tree.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { cnDigits } from "../core/mask.ts";

function cardOf(iccHex: string): { pan: string; psn: string } {
  const p = parseTlv(fromHex(iccHex));
  if (!p.ok) throw new Error("sim chip data does not parse");
  const v = flattenValues(p.nodes);
  return { pan: cnDigits(v.get("5A")!), psn: toHex(v.get("5F34")!) };
}

type Tap = { batch: UploadBatch; seq: number; truth: TruthRow };

/** A card with clean taps in at least three different batches, and those taps. */
function pickCard(batches: UploadBatch[], truth: Map<string, TruthRow>): Tap[] {
  const byCard = new Map<string, Tap[]>();
  for (const b of batches) {
    for (const r of b.records) {
      const t = truth.get(`${b.terminalId}/${b.batchNo}/${r.seq}`);
      if (!t || t.status !== "OK" || t.copyOf || t.uploadRejected) continue;
      const c = cardOf(r.icc);
      const k = `${c.pan}/${c.psn}`;
      const taps = byCard.get(k) ?? [];
      if (!taps.some((x) => x.batch === b)) taps.push({ batch: b, seq: r.seq, truth: t });
      byCard.set(k, taps);
    }
  }
  const best = [...byCard.values()].sort((a, b) => b.length - a.length)[0];
  assert(best && best.length >= 3, `a card in 3 batches (best ${best?.length})`);
  return best.slice(0, 3);
}

Deno.test("DENYLISTED: a tap in a batch that reported a list with the card on it, set-wise per chunk", async () => {
  const { world, batches, manifest } = simDay({
    seed: "denylisted",
    cards: 12,
    terminals: 3,
    taps: 240,
    faults: ["duplicate=0", "replay=0"],
  });
  const kf = keysFile(world);
  const tmp = await Deno.makeTempDir({ prefix: "icfare-denylisted-" });
  const store = openSqliteStore(`${tmp}/icfare.db`);
  try {
    const { upload, pan } = await appUploader(store, world);
    const stored: UploadBatch[] = [];
    const truth = new Map<string, TruthRow>();
    for (const m of manifest) {
      if (m.expect !== "stored") continue;
      const out = batches.get(m.file)!;
      stored.push(structuredClone(out.body));
      for (const t of out.truth) truth.set(`${t.terminalId}/${t.batchNo}/${t.seq}`, t);
    }
    const [before, during, after] = pickCard(stored, truth);
    for (const b of stored) b.denyListVersion = 0;
    during.batch.denyListVersion = 1;
    after.batch.denyListVersion = 2;

    // the lifecycle: listed in version 1, off again in version 2
    const c = cardOf(during.batch.records.find((r) => r.seq === during.seq)!.icc);
    const card = { cardHash: toHex(await pan.hash(c.pan, c.psn)), psn: c.psn };
    assertEquals(store.denyList.add(card, "DEBT_DECLINED", "icfare collect", "debt-1"), 1);
    assertEquals(store.denyList.remove(card, "DEBT_RECOVERED", "icfare collect", "debt-1"), 2);

    for (const body of stored) {
      const res = await upload(body);
      assertEquals(res.status, 200, await res.text());
    }

    // count the store's deny-list queries: one per claimed chunk, whatever the chunk holds
    let queries = 0, claims = 0;
    const counted = new Proxy(store, {
      get(t, k) {
        if (k === "denyListed") queries++;
        if (k === "completeClaim") claims++;
        const v = Reflect.get(t, k);
        return typeof v === "function" ? v.bind(t) : v;
      },
    }) as Store;
    const pending = (await store.counts()).pending;
    const chunk = 50;
    const summary = await verifyStore(counted, pan, {
      imkAc: parseKeyFile(kf).listImkAc(),
      configs: [],
      capks: capkRecords(world),
    }, { workers: 2, chunk });
    assertEquals(summary.records, pending);
    // claims hold whole batches of up to about `chunk` records
    assert(claims >= Math.ceil(pending / chunk), `${claims} claims`);
    assertEquals(queries, claims);
    assertEquals(summary.status.DENYLISTED, 1);

    const verdict = (b: UploadBatch, seq: number) => {
      const r = store.connection.prepare(
        "SELECT verification FROM records WHERE terminal_id = ? AND batch_no = ? AND seq = ?",
      ).get(b.terminalId, b.batchNo, seq) as { verification: string };
      return JSON.parse(r.verification) as { status: string; detail: StoredVerdictDetail };
    };
    const flagged = verdict(during.batch, during.seq);
    assertEquals(flagged.status, "DENYLISTED");
    assertEquals(flagged.detail.denyListed, { reported: 1, listedIn: 1, reason: "DEBT_DECLINED" });
    assertEquals(flagged.detail.cryptogram, during.truth.cryptogram, "the other checks still ran");
    assert(flagged.detail.message.includes("deny list since version 1"));
    for (const t of [before, after]) {
      assertEquals(verdict(t.batch, t.seq).status, "OK", `reported ${t.batch.denyListVersion}`);
    }
    const all = store.connection.prepare(
      "SELECT count(*) AS n FROM records WHERE verification LIKE '%\"DENYLISTED\"%'",
    ).get() as { n: number };
    assertEquals(all.n, 1);
  } finally {
    store.close();
    await Deno.remove(tmp, { recursive: true });
  }
});

function capkRecords(world: Parameters<typeof capkFile>[0]): CapkRecord[] {
  return capkFile(world).capks.map((c) => ({
    ...c,
    algorithm: c.algorithm as "rsa" | "sm2",
    state: "active" as const,
    importedAt: "2026-06-24T00:00:00Z",
    revokedSerials: [],
  }));
}
