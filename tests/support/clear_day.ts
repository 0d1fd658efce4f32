/**
 * A store holding a settlement day of verified records with chosen verdicts, for clearing
 * tests: taps are uploaded through the real ingest rules (sampled chip data), then given the
 * verdicts the test asks for, as `icfare verify` would store them.
 */
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { ingestUpload } from "../../core/upload/ingest.ts";
import { bodyDigestHex } from "../../core/auth/hmac.ts";
import { DevPanProtector } from "../../core/store/pan.ts";
import { openSqliteStore, type SqliteStore } from "../../core/store/sqlite.ts";
import { setModel } from "../../core/clearing/settings.ts";
import type { Card as DenyCard, DenyList, DenyReason } from "../../core/denylist/journal.ts";
import { enc, sampleIcc } from "./terminal.ts";

/** One tap of the fixture day and the verdict it is given. */
export interface FixtureTap {
  terminalId?: string;
  line?: string;
  fare?: number;
  /** Card number suffix (the PAN is 62345678 + 8 digits). */
  card?: number;
  /** ATC; default: a fresh one per card. */
  atc?: number;
  tappedAt?: string;
  /** When its batch reached icfare (ISO instant); default the tap time. */
  receivedAt?: string;
  status?: string;
  cryptogram?: string;
  oda?: string;
  cryptogramType?: string;
  odaCheck?: string;
  /** Add a tag 57 object to its chip data. */
  track2?: boolean;
  /** The EC balance after the tap the verdict carries (from the card's IDD). */
  ecBalance?: number;
}

export interface FixtureStore {
  readonly dir: string;
  readonly store: SqliteStore;
  readonly db: DatabaseSync;
  readonly pan: DevPanProtector;
  close(): Promise<void>;
}

export const FIXTURE_DAY = "2026-06-24";
export const PAN_HASH_HEX = "33".repeat(32);
export const DATA_KEY_HEX = "44".repeat(32);

/** The PAN of fixture card `n`. */
export function fixturePan(n: number): string {
  return `62345678${String(n).padStart(8, "0")}`;
}

/** A fresh store; `odaTerminals` are registered under the ODA model before anything arrives. */
export async function fixtureStore(odaTerminals: string[] = []): Promise<FixtureStore> {
  const dir = await Deno.makeTempDir({ prefix: "icfare-clear-" });
  const store = openSqliteStore(join(dir, "icfare.db"));
  const db = store.connection;
  for (const t of odaTerminals) {
    setModel(db, {
      scope: "terminal",
      key: t,
      model: "ODA",
      by: "test",
      at: "2026-06-01T00:00:00Z",
    });
  }
  const pan = await DevPanProtector.fromHex(PAN_HASH_HEX, DATA_KEY_HEX);
  return {
    dir,
    store,
    db,
    pan,
    async close() {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Uploads `taps` (one batch per terminal and receipt time, in order) and stores each
 * record's verdict. Returns the record ids in tap order.
 */
export async function addTaps(f: FixtureStore, taps: FixtureTap[], batchBase = 1) {
  const groups = new Map<string, { t: FixtureTap; i: number }[]>();
  const nextAtc = new Map<number, number>();
  taps.forEach((t, i) => {
    const tappedAt = t.tappedAt ?? `${FIXTURE_DAY}T08:00:00+08:00`;
    const key = `${t.terminalId ?? "LC000123"}|${t.receivedAt ?? tappedAt}`;
    if (!groups.has(key)) groups.set(key, []);
    const card = t.card ?? i;
    const atc = t.atc ?? (nextAtc.get(card) ?? 1);
    if (t.atc === undefined) nextAtc.set(card, atc + 1); // explicit ATCs leave the count alone
    groups.get(key)!.push({ t: { ...t, card, atc, tappedAt }, i });
  });
  const ids: number[] = new Array(taps.length);
  let batchNo = batchBase;
  for (const [key, g] of groups) {
    const [terminalId, receivedAt] = key.split("|");
    const records = g.map(({ t }, k) => ({
      seq: k + 1,
      tappedAt: t.tappedAt!,
      line: t.line ?? "K1",
      vehicle: "LC-1024",
      fare: t.fare ?? 200,
      icc: sampleIcc({
        pan: fixturePan(t.card!),
        atc: t.atc,
        fare: t.fare ?? 200,
        track2: t.track2,
      }),
    }));
    const body = {
      terminalId,
      merchantId: "898371641110001",
      batchNo: batchNo++,
      denyListVersion: 0,
      records,
      totals: { count: records.length, amount: records.reduce((s, r) => s + r.fare, 0) },
    };
    const raw = enc.encode(JSON.stringify(body));
    const when = new Date(receivedAt);
    const a = await ingestUpload(
      { store: f.store, pan: f.pan, now: () => when },
      raw,
      await bodyDigestHex(raw),
      terminalId,
    );
    if (a.rejected > 0) throw new Error(`fixture batch rejected: ${a.body}`);
    const rows = f.db.prepare(
      "SELECT id, seq FROM records WHERE terminal_id = ? AND batch_no = ? ORDER BY seq",
    ).all(terminalId, body.batchNo) as { id: number; seq: number }[];
    rows.forEach((r, k) => (ids[g[k].i] = Number(r.id)));
  }
  const items = taps.map((t, i) => ({
    recordId: ids[i],
    result: {
      status: t.status ?? "OK",
      detail: {
        cryptogram: t.cryptogram ?? "ok",
        oda: t.oda ?? "ok",
        ...(t.cryptogramType === "-" ? {} : { cryptogramType: t.cryptogramType ?? "TC" }),
        ...(t.odaCheck ? { odaCheck: t.odaCheck } : {}),
        message: "fixture",
      },
      ...(t.ecBalance === undefined ? {} : { ecBalance: t.ecBalance }),
    },
  }));
  await f.store.recordVerifications(items);
  return ids;
}

/**
 * An in-memory deny list with the contract's behaviour: a card is listed while it holds at
 * least one `(reason, ref)`; `DEBT_RECOVERED` releases the `DEBT_DECLINED` hold of its ref,
 * `OPERATOR` every hold; the version moves only when a card goes on or off (docs/denylist.md).
 */
export class MemoryDenyList implements DenyList {
  readonly holds = new Map<string, Set<string>>();
  readonly history: { action: "add" | "remove"; card: string; reason: string; ref?: string }[] = [];
  #version = 0;
  #key = (c: DenyCard) => `${c.cardHash}/${c.psn}`;
  add(card: DenyCard, reason: DenyReason, _by: string, ref?: string): number {
    const k = this.#key(card), h = this.holds.get(k) ?? new Set<string>();
    const first = h.size === 0;
    h.add(`${reason}|${ref ?? ""}`);
    this.holds.set(k, h);
    if (!first) return this.#version;
    this.history.push({ action: "add", card: k, reason, ref });
    return ++this.#version;
  }
  remove(card: DenyCard, reason: string, _by: string, ref?: string): number {
    const k = this.#key(card), h = this.holds.get(k);
    if (!h || h.size === 0) return this.#version;
    for (const x of [...h]) {
      if (reason === "OPERATOR" || x === `DEBT_DECLINED|${ref ?? ""}`) h.delete(x);
    }
    if (h.size > 0) return this.#version;
    this.history.push({ action: "remove", card: k, reason, ref });
    return ++this.#version;
  }
  isListed(card: DenyCard): boolean {
    return (this.holds.get(this.#key(card))?.size ?? 0) > 0;
  }
  version(): number {
    return this.#version;
  }
}
