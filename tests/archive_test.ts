/**
 * `icfare archive` (docs/archive.md): a simulated day with faults, verified, cleared and
 * closed, sealed into one file; archived again it keeps its bytes (ECDSA and SM2 heads); the
 * next day chains to it; every refusal has its code; no clear PAN and no key is in the file;
 * the command line seals and audits through real subprocesses.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "@icfare/assert";
import { IcfareError } from "../core/errors.ts";
import { join } from "node:path";
import { archiveHome } from "./support/archive_day.ts";
import { containsBytes, scanFiles } from "./support/key_scan.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import { KeyStore } from "../core/keys/store.ts";
import { openSqliteStore } from "../core/store/sqlite.ts";
import { archiveDay } from "../core/archive/archive.ts";
import { addAuditor } from "../core/archive/auditors.ts";
import { auditorKeyFiles, parseAuditorKey } from "../core/archive/auditor_key.ts";
import { newAuditorKey } from "../core/archive/evidence.ts";
import { fileSha256 } from "../core/archive/files.ts";
import { fromHex, toHex } from "../core/hex.ts";
import { RECORD_FIELDS } from "../core/archive/format.ts";

const DAY1 = "2026-06-24", DAY2 = "2026-06-25";

/** Runs `f` with the home's key store and SQLite store open. */
async function withStores<T>(
  h: { home: string; master: Uint8Array },
  f: (ks: KeyStore, db: ReturnType<typeof openSqliteStore>["connection"]) => Promise<T>,
): Promise<T> {
  const ks = await KeyStore.open(h.home, h.master, "test");
  const store = openSqliteStore(join(h.home, "icfare.db"));
  try {
    return await f(ks, store.connection);
  } finally {
    store.close();
    ks.close();
  }
}

/** The code of the refusal `f` makes. */
async function codeOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (e instanceof IcfareError) return e.code;
    throw e;
  }
  throw new Error("not refused");
}

/** Every BCD and ASCII form of a PAN, for the scan. */
function panForms(pan: string): Uint8Array[] {
  const bcd = fromHex(pan.length % 2 ? pan + "F" : pan);
  return [new TextEncoder().encode(pan), bcd];
}

Deno.test("archive: a closed day sealed, chained, idempotent; refusals coded; no PAN or key in it", async (t) => {
  const h = await archiveHome([{ day: DAY1, taps: 160 }, { day: DAY2, taps: 60 }], {
    segmentRecords: 40,
  });
  try {
    const [a1, a2] = h.archives;
    await t.step("the day is sealed with every record, segments of 40, and the head", async () => {
      assertEquals([a1.state, a2.state], ["written", "written"]);
      assert(a1.records >= 150, `${a1.records} records`);
      assertEquals(a1.segments, Math.ceil(a1.records / 40) + 2);
      const lines = (await Deno.readTextFile(a1.file)).trimEnd().split("\n");
      assertEquals(
        lines.map((l) => JSON.parse(l).t).filter((k, i, a) => k !== a[i - 1]).join(""),
        "AKNS" + "RS".repeat(a1.segments - 2) + "LZSH",
      );
      const r = JSON.parse(lines[4]);
      assertEquals(Object.keys(r), ["t", ...RECORD_FIELDS]);
      assertEquals(r.n, 1);
      assertEquals(a1.previous, null);
      assertEquals(a2.previous, { day: DAY1, head: a1.head });
      assertEquals(a1.signer.algorithm, "ecdsa-p256");
      assertEquals(a1.auditors, [h.auditor.publicFile.kcv]);
    });

    await t.step("archiving the day again leaves the same bytes", async () => {
      const again = await withStores(
        h,
        (ks, db) => archiveDay({ home: h.home, day: DAY1, db, ks }),
      );
      assertEquals(again.state, "unchanged");
      assertEquals(again.sha256, a1.sha256);
      assertEquals(await fileSha256(a1.file), a1.sha256);
      assertEquals(again.head, a1.head);
    });

    await t.step("no clear PAN and no key in the archive", async () => {
      const bytes = await Deno.readFile(a1.file);
      const text = new TextDecoder().decode(bytes);
      let pans = 0;
      for (const pan of h.pans) {
        for (const form of panForms(pan)) {
          assert(!containsBytes(bytes, form), `PAN ${pan.slice(0, 6)}…`);
        }
        pans++;
      }
      assert(pans >= 60, `${pans} PANs scanned`);
      assert(/"pan":"\d{6}\*+\d{4}"/.test(text), "masked PANs are there");
      const secrets: Uint8Array[] = await withStores(
        h,
        (ks) =>
          Promise.resolve(ks.list().keys.map((k) => ks.withKey(k.id, (v) => v.slice(), true))),
      );
      secrets.push(fromHex(h.auditor.privateFile.privateKey!));
      assert(secrets.length >= 8, `${secrets.length} keys`);
      const scan = await scanFiles([join(h.home, "archive")], secrets);
      assertEquals(scan.hits, []);
      assert(scan.files >= 3);
    });

    await t.step(
      "refusals: open day, order, gap, no auditor, lock, no clearing file, changed",
      async () => {
        await withStores(h, async (ks, db) => {
          const e = (day: string, extra = {}) =>
            archiveDay({ home: h.home, day, db, ks, ...extra });
          await assertRejects(() => e("2026-06-26"), Error, "not a closed settlement day");
          db.prepare("INSERT INTO settlement_days (day, state, closed_at) VALUES (?, 'closed', ?)")
            .run("2026-06-20", new Date().toISOString());
          db.prepare("INSERT INTO settlement_days (day, state, closed_at) VALUES (?, 'closed', ?)")
            .run("2026-06-28", new Date().toISOString());
          assertEquals(await codeOf(() => e("2026-06-20")), "ARCHIVE_ORDER");
          await Deno.writeTextFile(join(h.home, "archive", ".lock"), "2026-06-24 pid 1\n");
          assertEquals(await codeOf(() => e(DAY1)), "ARCHIVE_LOCKED");
          await Deno.remove(join(h.home, "archive", ".lock"));
          assertEquals(await codeOf(() => e("2026-06-28")), "ARCHIVE_NO_CLEARING_FILE");
          const registry = join(h.home, "archive", "auditors.json");
          await Deno.copyFile(registry, join(h.tmp, "auditors.orig.json"));
          const other = newAuditorKey();
          await addAuditor(
            h.home,
            auditorKeyFiles("second", other.privateKey, other.publicKey).publicFile,
          );
          assertEquals(await codeOf(() => e(DAY1)), "ARCHIVE_DIFFERS");
          assertEquals(await fileSha256(a1.file), a1.sha256, "the sealed file is left as it was");
          await Deno.rename(join(h.home, "archive", "auditors.json"), join(h.tmp, "auditors.json"));
          assertEquals(await codeOf(() => e(DAY1)), "ARCHIVE_NO_AUDITOR");
          await Deno.rename(join(h.tmp, "auditors.orig.json"), registry);
        });
      },
    );

    await t.step("a day after a closed day that is not archived is refused (gap)", async () => {
      const g = await archiveHome([{ day: DAY1, taps: 40 }], { seed: "gap" });
      try {
        await withStores(g, async (ks, db) => {
          db.prepare("INSERT INTO settlement_days (day, state, closed_at) VALUES (?, 'closed', ?)")
            .run(DAY2, new Date().toISOString());
          db.prepare("INSERT INTO settlement_days (day, state, closed_at) VALUES (?, 'closed', ?)")
            .run("2026-06-26", new Date().toISOString());
          const gap = await assertRejects(
            () => archiveDay({ home: g.home, day: "2026-06-26", db, ks }),
            IcfareError,
            `closed day ${DAY2} is not archived yet`,
          );
          assertEquals((gap as IcfareError).code, "ARCHIVE_GAP");
        });
      } finally {
        await g.close();
      }
    });

    await t.step("the command line: archive list, key, rerun, audit of both days", async () => {
      const env = {
        ICFARE_MASTER_KEY: toHex(h.master),
        ICFARE_HOME: h.home,
        ICFARE_OPERATOR: "test",
        NO_COLOR: "1",
      };
      const list = await icfareRun(["archive", "list", "--json"], { env });
      assertEquals(list.code, 0, list.stderr);
      assertEquals(JSON.parse(list.stdout).days.map((d: { head: string }) => d.head), [
        a1.head,
        a2.head,
      ]);
      const key = await icfareRun(["archive", "key", "--json"], { env });
      assertEquals(key.code, 0, key.stderr);
      assertEquals(JSON.parse(key.stdout).kcv, a1.signer.kcv);
      const rerun = await icfareRun(["archive", "--date", DAY2, "--json"], { env });
      assertEquals(rerun.code, 0, rerun.stderr);
      assertEquals(JSON.parse(rerun.stdout).state, "unchanged");
      const signer = join(h.tmp, "signer.json");
      await Deno.writeTextFile(signer, key.stdout);
      const audit = await icfareRun([
        "audit",
        a1.file,
        a2.file,
        "--auditor-key",
        h.files.auditorKey,
        "--signer",
        signer,
        "--keys",
        h.files.issuerKeys,
      ], { env });
      assertEquals(audit.code, 0, audit.stdout + audit.stderr);
      assert(audit.stdout.includes(`${DAY1}  CLEAN`), audit.stdout);
      assert(audit.stdout.includes(`chains to ${DAY1}`), audit.stdout);
      assert(/audit: CLEAN — 2 archive\(s\)/.test(audit.stdout), audit.stdout);
      const bad = await icfareRun(["archive", "--date", "2026-02-30"], { env });
      assertEquals(bad.code, 2);
    });

    await t.step(
      "an SM2 signing key: a rerun keeps the sealed bytes (its signature is random)",
      async () => {
        const s = await archiveHome([{ day: DAY1, taps: 40 }], { seed: "sm2", signAlg: "sm2" });
        try {
          assertEquals(s.archives[0].signer.algorithm, "sm2");
          const again = await withStores(
            s,
            (ks, db) => archiveDay({ home: s.home, day: DAY1, db, ks }),
          );
          assertEquals([again.state, again.sha256], ["unchanged", s.archives[0].sha256]);
        } finally {
          await s.close();
        }
      },
    );

    await t.step(
      "auditor key files: a wrong KCV or a public half where the private is needed",
      () => {
        const pub = h.auditor.publicFile;
        assertEquals(parseAuditorKey(pub, false).kcv, pub.kcv);
        const wrongKcv = assertThrows(
          () => parseAuditorKey({ ...pub, kcv: "000000" }, false),
          IcfareError,
          "does not match the public key",
        );
        assertEquals((wrongKcv as IcfareError).code, "AUDITOR_KEY_INVALID");
        let msg = "";
        try {
          parseAuditorKey(pub, true);
        } catch (e) {
          msg = (e as Error).message;
        }
        assert(msg.includes("no private key"), msg);
      },
    );
  } finally {
    await h.close();
  }
});
