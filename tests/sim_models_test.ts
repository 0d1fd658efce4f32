/**
 * The simulator's two transit models and its money truth (docs/simulator.md): lines in the EC and
 * the ODA model, ODA-model taps as ARQCs carrying tag 57, EC balances falling by the fare, every
 * record's outcome following from its model, cryptogram type, verdict and issuer answer, the
 * issuers' answers served from the world by PAN, and the deny list as a replayable history.
 * Every record of a mixed day still verifies through the kernel batch path exactly as the truth
 * says.
 */
import { assert, assertEquals } from "@icfare/assert";
import { World } from "../sim/world.ts";
import { type BatchOut, generateDay, type TruthRow, type UploadEntry } from "../sim/day.ts";
import { DEFAULT_FAULTS, type FaultRates, NO_FAULTS } from "../sim/faults.ts";
import { capkFile, keysFile, revocationsFile } from "../sim/simulate.ts";
import { ANSWER_CODES, worldIssuerTruth } from "../sim/issuer_answers.ts";
import { denyHistory } from "../sim/denylist.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import { verifyRecordsKernel } from "../core/emv/batch.ts";
import type { TapRecord } from "../core/emv/verify.ts";
import { decodeTlv } from "../kernel-as/tlv.ts";
import { fromHex, toHex } from "../core/hex.ts";

const seed = "models";

function worldOf(odaLines: number, faults: FaultRates, cards = 300, terminals = 24) {
  return new World({
    seed,
    cards,
    terminals,
    date: "2026-06-24",
    expiredCertCards: faults.expiredCertCards,
    revokedCertCards: faults.revokedCertCards,
    staleDenyListTerminals: faults.staleDenyListTerminals,
    denyListedCards: faults.denyListedCards,
    unappliedDenyListTerminals: faults.unappliedDenyListTerminals,
    odaLines,
  });
}

/** The day's stored uploads in manifest order: records with their truth rows. */
function dayOf(world: World, taps: number, faults: FaultRates) {
  const gen = generateDay(world, { taps, faults });
  const batches = new Map<string, BatchOut>();
  let manifest: UploadEntry[] = [];
  for (let s = gen.next();; s = gen.next()) {
    if (s.done) manifest = s.value.manifest;
    else batches.set(s.value.file, s.value);
    if (s.done) break;
  }
  const records: TapRecord[] = [], truth: TruthRow[] = [], versions: [string, number][] = [];
  for (const m of manifest.filter((m) => m.expect === "stored")) {
    const b = batches.get(m.file)!;
    records.push(...b.body.records);
    truth.push(...b.truth);
    versions.push([b.body.terminalId, b.body.denyListVersion]);
  }
  return { records, truth, versions };
}

/** Primitive values of chip data by tag (first occurrence). */
function tags(iccHex: string): Map<string, string> {
  const bytes = fromHex(iccHex);
  const d = decodeTlv(bytes);
  const m = new Map<string, string>();
  if (!d.ok) return m;
  for (const e of d.entries) {
    const tag = e.tag.toString(16).toUpperCase();
    if (!m.has(tag)) m.set(tag, toHex(bytes.subarray(e.value, e.value + e.length)));
  }
  return m;
}

const mixed = worldOf(0.5, DEFAULT_FAULTS);
const day = dayOf(mixed, 2000, DEFAULT_FAULTS);

Deno.test("models: half the lines are ODA; a terminal takes its line's model", () => {
  const oda = mixed.lines.filter((l) => l.model === "ODA").length;
  assertEquals([oda, mixed.lines.length], [2, 3]);
  for (const t of mixed.terminals) {
    assertEquals(t.model, mixed.lines.find((l) => l.id === t.line)!.model);
  }
  assertEquals(worldOf(0, NO_FAULTS).lines.map((l) => l.model), ["EC", "EC", "EC"]);
  assertEquals(worldOf(1, NO_FAULTS).lines.map((l) => l.model), ["ODA", "ODA", "ODA"]);
});

Deno.test("models: every record of a mixed faulty day verifies as its truth says (kernel path)", () => {
  const keys = parseKeyFile(JSON.parse(JSON.stringify(keysFile(mixed))));
  const capks = parseCapkFile(
    JSON.parse(JSON.stringify({ ...capkFile(mixed), ...revocationsFile(mixed) })),
  );
  const results = verifyRecordsKernel(day.records, { keys, capks });
  const bad = results.flatMap((r, i) => {
    const t = day.truth[i];
    const got = `${r.status}/${r.cryptogram}/${r.oda}`,
      want = `${t.status}/${t.cryptogram}/${t.oda}`;
    return got === want
      ? []
      : [`${t.terminalId}/${t.batchNo}/${t.seq} ${t.model}: ${got} ≠ ${want}`];
  });
  assertEquals(bad.slice(0, 5), []);
  assert(day.truth.some((t) => t.model === "ODA") && day.truth.some((t) => t.model === "EC"));
});

Deno.test("models: ODA taps are ARQCs with tag 57; EC taps carry no tag 57", () => {
  let oda = 0, ec = 0;
  day.records.forEach((r, i) => {
    const t = day.truth[i];
    if (t.uploadRejected) return;
    const v = tags(r.icc);
    const cvrType = parseInt(v.get("9F10")!.slice(8, 10), 16) & 0x30; // CVR byte 2, b6-b5
    if (t.model === "ODA") {
      oda++;
      assertEquals(cvrType, 0x20, "ARQC");
      const pan = v.get("5A")!.replace(/F+$/, "");
      const expiry = v.get("5F24")!.slice(0, 4);
      const t2 = `${pan}D${expiry}2200000000`;
      assertEquals(v.get("57"), t2 + (t2.length % 2 ? "F" : ""));
      assertEquals(v.has("9F74"), false);
    } else {
      ec++;
      assertEquals(v.has("57"), false);
      assertEquals(cvrType === 0x10, v.has("9F74"), "a TC carries 9F74 ECC001");
    }
  });
  assert(oda > 300 && ec > 300, `${oda} ODA, ${ec} EC`);
});

Deno.test("models: a card's EC balance (IDD type 01 in 9F10) falls by the fare on every TC", () => {
  const last = new Map<string, { atc: number; bal: number }>();
  let steps = 0;
  const rows = day.records.map((r, i) => ({ r, t: day.truth[i], v: tags(r.icc) }))
    .filter((x) => !x.t.uploadRejected && !x.t.fault)
    .sort((a, b) => parseInt(a.v.get("9F36")!, 16) - parseInt(b.v.get("9F36")!, 16));
  for (const { t, v } of rows) {
    const iad = v.get("9F10")!;
    assertEquals(iad.slice(16, 20), "0A01", "IDD length 10, type 01");
    const bal = Number(iad.slice(20, 30)), atc = parseInt(v.get("9F36")!, 16);
    const key = v.get("5A")! + v.get("5F34");
    const before = last.get(key);
    if (before && before.atc === atc - 1) {
      assertEquals(before.bal - bal, v.has("9F74") ? t.fare : 0, `${t.pan} ATC ${atc}`);
      steps++;
    }
    last.set(key, { atc, bal });
  }
  assert(steps > 100, `consecutive taps checked: ${steps}`);
});

Deno.test("models: outcomes follow model, cryptogram type, verdict and issuer answer", () => {
  const seen = new Set<string>();
  day.records.forEach((r, i) => {
    const t = day.truth[i];
    const tc = tags(r.icc).has("9F74");
    const want = t.uploadRejected
      ? "REJECTED"
      : t.status === "DUPLICATE"
      ? "DUPLICATE"
      : t.status !== "OK"
      ? "EXCEPTION"
      : tc
      ? "CLEARED"
      : t.model === "EC"
      ? "EXCEPTION"
      : "DEBT";
    assertEquals(t.outcome, want, `${t.terminalId}/${t.batchNo}/${t.seq}`);
    if (t.outcome === "EXCEPTION") {
      assertEquals(t.reason, t.status === "OK" ? "EC_ARQC" : t.status);
    }
    if (t.outcome === "DEBT") {
      assertEquals(t.responseCode, ANSWER_CODES[t.issuer!]);
      assertEquals(t.debtEnd, t.issuer === "approved" ? "RECOVERED" : "WRITTEN_OFF");
    } else assertEquals([t.issuer, t.debtEnd], [undefined, undefined]);
    seen.add(t.outcome + (t.reason ? ":" + t.reason : t.issuer ? ":" + t.issuer : ""));
  });
  for (
    const o of [
      "CLEARED",
      "DUPLICATE",
      "EXCEPTION:EC_ARQC",
      "EXCEPTION:AC_MISMATCH",
      "DEBT:approved",
      "DEBT:insufficient-funds",
      "DEBT:card-blocked",
      "REJECTED:MALFORMED_TLV",
    ]
  ) assert(seen.has(o), `the day shows ${o}`);
});

Deno.test("models: the issuers answer the acquirer host from the world, by PAN, PSN and ATC", () => {
  const truth = worldIssuerTruth(mixed, DEFAULT_FAULTS);
  let asked = 0;
  day.records.forEach((r, i) => {
    const t = day.truth[i];
    if (t.outcome !== "DEBT") return;
    const v = tags(r.icc);
    const q = {
      pan: v.get("5A")!.replace(/F+$/, ""),
      psn: v.get("5F34")!,
      atc: v.get("9F36")!,
      amountFen: r.fare ?? 0,
      expiry: v.get("5F24")!.slice(0, 4),
      terminalId: t.terminalId,
      stan: "000001",
    };
    assertEquals(truth(q), t.responseCode);
    if (asked++ === 0) {
      assertEquals(truth({ ...q, psn: q.psn === "00" ? "01" : "00" }), "14", "another PSN");
      const other = q.pan.slice(0, -1) + String((Number(q.pan.at(-1)) + 1) % 10);
      assertEquals(truth({ ...q, pan: other }), "14", "a PAN the world never issued");
    }
  });
  assert(asked > 300, `debts asked ${asked}`);
  for (let c = 0; c < 300; c++) assertEquals(mixed.cardByPan(mixed.card(c).pan)?.index, c);
  const blocked = worldIssuerTruth(mixed, { ...NO_FAULTS, blockedCards: 1 });
  assertEquals(
    blocked({
      pan: mixed.card(5).pan,
      atc: "0001",
      amountFen: 200,
      expiry: "3012",
      terminalId: "T",
      stan: "1",
    }),
    "62",
  );
});

Deno.test("deny list: a history of one version per change; stale terminals run the older list", () => {
  const faults: FaultRates = {
    ...DEFAULT_FAULTS,
    denyListedCards: 0.05,
    staleDenyListTerminals: 0.3,
    unappliedDenyListTerminals: 0.5,
  };
  const w = worldOf(0.5, faults, 400, 24);
  const h = w.denyList();
  assertEquals(h.changes.map((c) => c.version), h.changes.map((_, i) => i + 1));
  assertEquals(h.current, h.changes.length);
  assert(h.stale > 0 && h.stale < h.current, `stale ${h.stale}, current ${h.current}`);
  assertEquals(h, denyHistory(seed, 400, 0.05));
  for (const c of h.changes.filter((c) => c.version <= h.stale)) assert(!h.listed.has(c.card));
  const d = dayOf(w, 1500, faults);
  const listedPans = new Set([...h.listed.keys()].map((c) => w.card(c).pan));
  const byId = new Map(w.terminals.map((t) => [t.id, t]));
  for (const [id, v] of d.versions) assertEquals(v, w.reportedDenyVersion(byId.get(id)!));
  let rode = 0;
  d.records.forEach((r, i) => {
    const pan = tags(r.icc).get("5A")?.replace(/F+$/, "");
    if (!pan || !listedPans.has(pan)) return;
    const t = byId.get(d.truth[i].terminalId)!;
    assert(t.staleDenyList, "a listed card rides only where the list is stale");
    assertEquals(d.truth[i].denyListed, true);
    rode++;
  });
  assert(rode > 0, "some listed card rode on a stale terminal");
  assert(w.terminals.some((t) => t.denyListUnapplied), "an unapplied terminal");
  assert(w.terminals.every((t) => !t.denyListUnapplied || t.staleDenyList));
});
