/**
 * A home with closed, archived settlement days, for the archive and audit tests: a real key
 * store (card-data, pan-hash, clearing and archive-sign keys, the simulated issuer and CA
 * keys), a simulated day with faults ingested through the upload rules into a real SQLite
 * store, verified by the store path, cleared (files written), closed, and archived for an
 * auditor whose key pair is made here.
 */
import { join } from "node:path";
import { KeyStore } from "../../core/keys/store.ts";
import { importCapks } from "../../core/keys/capk.ts";
import { toHex } from "../../core/hex.ts";
import { openSqliteStore, type SqliteStore } from "../../core/store/sqlite.ts";
import { DevPanProtector } from "../../core/store/pan.ts";
import { ingestUpload } from "../../core/upload/ingest.ts";
import { bodyDigestHex } from "../../core/auth/hmac.ts";
import { verifyHome } from "../../core/verify_home.ts";
import { clearDay, closeDay } from "../../core/clearing/clear.ts";
import { clearingKeyOf } from "../../core/clearing/clearing_key.ts";
import { writeDayFiles } from "../../core/clearing/day_files.ts";
import { setModel } from "../../core/clearing/settings.ts";
import { newAuditorKey } from "../../core/archive/evidence.ts";
import { type AuditorKeyFile, auditorKeyFiles } from "../../core/archive/auditor_key.ts";
import { addAuditor } from "../../core/archive/auditors.ts";
import { archiveDay, type ArchiveResult } from "../../core/archive/archive.ts";
import { capkFile, keysFile, revocationsFile } from "../../sim/simulate.ts";
import { World } from "../../sim/world.ts";
import { generateDay } from "../../sim/day.ts";
import { DEFAULT_FAULTS, withOverrides } from "../../sim/faults.ts";

export interface ArchiveHome {
  readonly tmp: string;
  readonly home: string;
  readonly masterFile: string;
  readonly master: Uint8Array;
  /** The auditor's own key file (with the private key) and its public half. */
  readonly auditor: { privateFile: AuditorKeyFile; publicFile: AuditorKeyFile };
  /** Paths of the auditor key file, the issuer keys file and the signer public key file. */
  readonly files: { auditorKey: string; issuerKeys: string; signer: string };
  /** The PANs of the simulated cards (for the scans). */
  readonly pans: string[];
  readonly archives: ArchiveResult[];
  close(): Promise<void>;
}

/** One day of the home: its date and size (every day shares the world of `seed`). */
export interface DayPlan {
  readonly day: string;
  readonly taps: number;
  readonly faults?: string[];
}

async function keyStore(home: string, master: Uint8Array, signAlg: "ecdsa-p256" | "sm2") {
  const ks = await KeyStore.init(home, master, "test");
  await ks.generate({ id: "pan-hash-1", usage: "pan-hash", algorithm: "hmac-sha256" });
  await ks.generate({ id: "data-1", usage: "data", algorithm: "aes" });
  await ks.generate({ id: "clearing-1", usage: "clearing", algorithm: "aes", exportable: true });
  await ks.generate({ id: "archive-sign-1", usage: "archive-sign", algorithm: signAlg });
  return ks;
}

/** Simulates, ingests, verifies, clears, closes one day; returns the card PANs it used. */
async function oneDay(
  home: string,
  master: Uint8Array,
  store: SqliteStore,
  p: DayPlan & { seed: string; cards: number },
  first: boolean,
) {
  const faults = withOverrides(DEFAULT_FAULTS, p.faults ?? []);
  const world = new World({
    seed: p.seed,
    cards: p.cards,
    terminals: 3,
    date: p.day,
    expiredCertCards: faults.expiredCertCards,
    revokedCertCards: faults.revokedCertCards,
  });
  // The same cards on a later day: their counters go on from where the last day left them.
  const cards = Array.from({ length: p.cards }, (_, i) => world.card(i));
  for (const c of cards) (c as { atc: number }).atc += first ? 0 : 1000;
  const ks = await KeyStore.open(home, master, "test");
  try {
    if (first) {
      const issuer = keysFile(world).keys.filter((k) => k.usage.startsWith("imk-"));
      await ks.importDev({ keys: issuer });
      await importCapks(ks, { capks: capkFile(world).capks });
      for (const r of revocationsFile(world).revoked) await ks.capkRevoke(r.rid, r.index, r.serial);
      setModel(store.connection, {
        scope: "terminal",
        key: world.terminals[0].id,
        model: "ODA",
        by: "test",
        at: `${p.day}T00:00:00Z`,
      });
    }
    const pan = DevPanProtector.fromCryptoKeys(
      await ks.hmacCryptoKey("pan-hash"),
      await ks.dataCryptoKey(),
    );
    const gen = generateDay(world, { taps: p.taps, faults });
    const when = new Date(`${p.day}T23:30:00+08:00`);
    for (let s = gen.next(); !s.done; s = gen.next()) {
      // batch numbers of a later day follow on (same terminals, same simulator)
      const body = { ...s.value.body, batchNo: s.value.body.batchNo + (first ? 0 : 100_000) };
      const raw = new TextEncoder().encode(JSON.stringify(body));
      await ingestUpload(
        { store, pan, now: () => when },
        raw,
        await bodyDigestHex(raw),
        s.value.body.terminalId,
      )
        .catch(() => {}); // the simulator's deliberately bad uploads are refused
    }
    await verifyHome({ home, masterKey: master, actor: "test", workers: 1 });
    const db = store.connection;
    clearDay(db, { day: p.day, by: "test", deny: store.denyList, now: () => when });
    await writeDayFiles({
      db,
      pan,
      key: await clearingKeyOf(ks),
      day: p.day,
      dir: join(home, "clearing", p.day),
    });
    closeDay(db, p.day, "test", new Date().toISOString());
    return {
      pans: cards.map((c) => c.pan),
      issuerKeys: keysFile(world).keys.filter((k) => k.usage === "imk-ac"),
    };
  } finally {
    ks.close();
  }
}

/** A home with `days` closed and archived in order. */
export async function archiveHome(
  days: DayPlan[],
  o: { seed?: string; signAlg?: "ecdsa-p256" | "sm2"; segmentRecords?: number } = {},
): Promise<ArchiveHome> {
  const tmp = await Deno.makeTempDir({ prefix: "icfare-archive-" });
  const home = join(tmp, "home");
  const master = crypto.getRandomValues(new Uint8Array(32));
  const masterFile = join(tmp, "master.key");
  await Deno.writeTextFile(masterFile, toHex(master) + "\n", { mode: 0o600 });
  const ks0 = await keyStore(home, master, o.signAlg ?? "ecdsa-p256");
  const signer = ks0.list().keys.find((k) => k.usage === "archive-sign")!;
  ks0.close();
  const a = newAuditorKey();
  const auditor = auditorKeyFiles("test auditor", a.privateKey, a.publicKey);
  await addAuditor(home, auditor.publicFile);
  const files = {
    auditorKey: join(tmp, "auditor.key"),
    issuerKeys: join(tmp, "issuer-keys.json"),
    signer: join(tmp, "archive-sign.pub"),
  };
  await Deno.writeTextFile(files.auditorKey, JSON.stringify(auditor.privateFile), { mode: 0o600 });
  await Deno.writeTextFile(
    files.signer,
    JSON.stringify({ algorithm: signer.algorithm, publicKey: signer.publicKey, kcv: signer.kcv }),
  );
  const store = openSqliteStore(join(home, "icfare.db"));
  const pans: string[] = [];
  const archives: ArchiveResult[] = [];
  try {
    const cards = Math.max(20, Math.round(Math.max(...days.map((d) => d.taps)) * 0.4));
    for (const [i, p] of days.entries()) {
      const d = await oneDay(
        home,
        master,
        store,
        { ...p, seed: o.seed ?? "archive", cards },
        i === 0,
      );
      if (i === 0) {
        pans.push(...d.pans);
        await Deno.writeTextFile(files.issuerKeys, JSON.stringify({ keys: d.issuerKeys }));
      }
      const ks = await KeyStore.open(home, master, "test");
      try {
        archives.push(
          await archiveDay({
            home,
            day: p.day,
            db: store.connection,
            ks,
            segmentRecords: o.segmentRecords,
          }),
        );
      } finally {
        ks.close();
      }
    }
  } finally {
    store.close();
  }
  return {
    tmp,
    home,
    masterFile,
    master,
    auditor,
    files,
    pans,
    archives,
    close: () => Deno.remove(tmp, { recursive: true }),
  };
}
