/**
 * A simulated day uploaded through the real upload app (server/app.ts over a SQLite store),
 * in manifest order, each request signed with the terminal's key from keys.json: every answer
 * is the one the manifest expects (200 stored, 200 replayed, 422 TOTALS_MISMATCH), and every
 * receipt rejects exactly the records the ground truth marks `uploadRejected`.
 */
import { assertEquals } from "@icfare/assert";
import { simDay } from "./support/sim_day.ts";
import { keysFile } from "../sim/simulate.ts";
import { createApp } from "../server/app.ts";
import { StaticTerminalKeys } from "../core/auth/terminal_keys.ts";
import { signRequest } from "../core/auth/hmac.ts";
import { DevPanProtector } from "../core/store/pan.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";

/** Uploads a simulated day through the app, each answer checked against the manifest. */
async function uploadDay(seed: string, odaLines: number) {
  const { world, batches, manifest } = simDay({
    seed,
    cards: 120,
    terminals: 4,
    taps: 600,
    faults: [
      "totalsMismatch=0.2",
      "batchResend=0.2",
      "truncated-tlv=0.02",
    ],
    odaLines,
  });
  const termKeys: Record<string, string> = {};
  for (const k of keysFile(world).keys) if (k.usage === "terminal-auth") termKeys[k.id] = k.value;
  const tmp = await Deno.makeTempDir({ prefix: "icfare-sim-server-" });
  const store = openSqliteStore(`${tmp}/store.db`);
  try {
    const keys = await StaticTerminalKeys.fromHex(termKeys);
    const { app } = createApp({
      store,
      keys,
      pan: await DevPanProtector.fromHex("11".repeat(32), "22".repeat(32)),
      ratePerS: 10_000,
      burst: 10_000,
    });
    const seen = { stored: 0, replayed: 0, TOTALS_MISMATCH: 0 };
    for (const m of manifest) {
      const out = batches.get(m.file)!;
      const body = new TextEncoder().encode(JSON.stringify(out.body));
      const auth = await signRequest({
        key: (await keys.hmacKey(m.terminalId))!,
        terminalId: m.terminalId,
        method: "POST",
        path: "/v1/batches",
        body,
      });
      const res = await app.request("/v1/batches", {
        method: "POST",
        body,
        headers: { authorization: auth, "content-type": "application/json" },
      });
      const answer = await res.json();
      seen[m.expect]++;
      if (m.expect === "TOTALS_MISMATCH") {
        assertEquals([res.status, answer.error?.code], [422, "TOTALS_MISMATCH"], m.file);
        continue;
      }
      assertEquals(res.status, 200, `${m.file}: ${JSON.stringify(answer)}`);
      assertEquals(answer.replayed, m.expect === "replayed", m.file);
      const rejected = out.truth.filter((t) => t.uploadRejected).map((t) => t.seq);
      assertEquals(
        answer.rejected.map((r: { seq: number }) => r.seq),
        rejected,
        m.file,
      );
      assertEquals(answer.accepted, out.body.records.length - rejected.length, m.file);
    }
    assertEquals(Object.values(seen).every((n) => n > 0), true, JSON.stringify(seen));
  } finally {
    store.close();
    await Deno.remove(tmp, { recursive: true });
  }
  return batches;
}

Deno.test("a simulated day through the upload server gets the answers the manifest expects", async () => {
  await uploadDay("server", 0);
});

Deno.test("an ODA-model day uploads too: cards tapping twice in a batch carry the same tag 57", async () => {
  const batches = await uploadDay("server-oda", 1);
  // The case the day must hold: one card's track 2 data twice in one batch.
  const twice = [...batches.values()].some((b) => {
    const t2 = b.body.records.map((r) =>
      /57(?:10|11)(6235[0-9]+D[0-9]{4}2200000000F?)/.exec(r.icc)?.[1]
    ).filter(Boolean);
    return new Set(t2).size < t2.length;
  });
  assertEquals(twice, true, "some card taps twice in one batch");
});
