/**
 * `icfare audit` against tampered archives (docs/archive.md, "What audit names"): a clean
 * archive passes; one changed byte, a dropped last segment, two records swapped, a forged
 * record (inserted as is, or stamped again with another key), another signing key, a day
 * rewritten and re-signed with the real key, a verdict changed and re-signed — each is
 * detected and named with the record and field it concerns. The command line says the same
 * as the API, exit 0 only when clean.
 */
import { assert, assertEquals } from "@icfare/assert";
import { join } from "node:path";
import { type ArchiveHome, archiveHome } from "./support/archive_day.ts";
import { otherSigner, restamp, segmentsOf, withHeaderSigner } from "./support/restamp.ts";
import { icfareRun } from "./support/icfare_cli.ts";
import { auditArchives, type AuditReport } from "../core/audit/audit.ts";
import { chunksOf } from "../core/audit/lines.ts";
import { trustedSigner } from "../core/audit/head.ts";
import { parseAuditorKey } from "../core/archive/auditor_key.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { KeyStore } from "../core/keys/store.ts";
import { openSigner } from "../core/keys/signing.ts";
import type { HeadSigner } from "../core/archive/writer.ts";

const DAY1 = "2026-06-24", DAY2 = "2026-06-25";
const enc = new TextEncoder();

interface Ctx {
  h: ArchiveHome;
  day1: string;
  day2: string;
  realSigner: HeadSigner;
  close(): void;
}

async function setup(): Promise<Ctx> {
  const h = await archiveHome([{ day: DAY1, taps: 120 }, { day: DAY2, taps: 40 }], {
    seed: "tamper",
    segmentRecords: 25,
  });
  const ks = await KeyStore.open(h.home, h.master, "test");
  const s = openSigner(ks, "archive-sign");
  ks.close();
  return {
    h,
    day1: await Deno.readTextFile(h.archives[0].file),
    day2: await Deno.readTextFile(h.archives[1].file),
    realSigner: { ...s.info, sign: (m) => s.sign(m) },
    close: () => s.close(),
  };
}

/** Audits archive texts with the auditor key, the pinned signing key and the issuer keys. */
async function audit(c: Ctx, texts: string[], full = true): Promise<AuditReport> {
  const ak = parseAuditorKey(JSON.parse(await Deno.readTextFile(c.h.files.auditorKey)), true);
  const pub = JSON.parse(await Deno.readTextFile(c.h.files.signer)).publicKey;
  return await auditArchives(
    texts.map((t, i) => {
      const b = enc.encode(t);
      return { name: `day${i + 1}`, chunks: chunksOf(b, 4096), size: b.length };
    }),
    {
      auditorKey: full ? ak.privateKey : undefined,
      issuerKeys: full
        ? parseKeyFile(JSON.parse(await Deno.readTextFile(c.h.files.issuerKeys)))
        : undefined,
      signers: [trustedSigner(pub)],
    },
  );
}

function codes(r: AuditReport): string[] {
  return [
    ...new Set(
      r.days.flatMap((d) => d.findings.filter((f) => f.severity === "fail").map((f) => f.code)),
    ),
  ];
}

function finding(r: AuditReport, code: string) {
  const f = r.days.flatMap((d) => d.findings).find((x) => x.code === code);
  assert(f, `no ${code} among ${codes(r).join(", ")}`);
  return f;
}

/** The lines of a text, and a record line's index by its n. */
function lineOf(text: string, n: number): number {
  return text.split("\n").findIndex((l) => l.startsWith(`{"t":"R","n":${n},`));
}

Deno.test("audit: tampered archives are detected and named; the clean one passes", async (t) => {
  const c = await setup();
  try {
    await t.step("the clean days pass, with every verdict re-derived", async () => {
      const r = await audit(c, [c.day1, c.day2]);
      assertEquals(codes(r), []);
      assert(r.clean);
      const d = r.days[0];
      assertEquals(d.checked.evidenceOpened, d.records);
      assert(d.checked.verdicts >= d.records - 5, `${d.checked.verdicts} of ${d.records}`);
      assertEquals(d.checked.cryptograms, d.checked.verdicts);
      assert(d.checked.trailerSha256);
      assertEquals(r.days[1].previous?.head, r.days[0].head);
    });

    await t.step("one changed byte: the record and the field", async () => {
      const lines = c.day1.split("\n");
      const i = lineOf(c.day1, 7);
      lines[i] = lines[i].replace(/"fare":(\d)/, (_, d) => `"fare":${(Number(d) + 1) % 10}`);
      const r = await audit(c, [lines.join("\n")]);
      const f = finding(r, "RECORD_ALTERED");
      assertEquals(f.record?.n, 7);
      assertEquals(f.field, "fare");
      assert(f.message.includes("fare"), f.message);
      assert(!r.clean);
    });

    await t.step("the last segment dropped: truncated", async () => {
      const lines = c.day1.trimEnd().split("\n");
      const lastSeal = lines.length - 2;
      const cut = lines.slice(
        0,
        lines.findLastIndex((l, k) => k < lastSeal && l.startsWith('{"t":"S"')) + 1,
      );
      const r = await audit(c, [cut.join("\n") + "\n"], false);
      assert(finding(r, "TRUNCATED").message.includes("no signed head"));
      // and the last record segment taken out of a file that keeps its end
      const segs = c.day1.trimEnd().split("\n");
      const seals = segs.map((l, k) => (l.startsWith('{"t":"S"') ? k : -1)).filter((k) => k >= 0);
      const [a, b] = [seals[seals.length - 3], seals[seals.length - 2]];
      const r2 = await audit(
        c,
        [[...segs.slice(0, a + 1), ...segs.slice(b + 1)].join("\n") + "\n"],
        false,
      );
      finding(r2, "CHAIN_BROKEN");
      const truncated = r2.days[0].findings.filter((f) => f.code === "TRUNCATED");
      assert(
        truncated.some((f) => / records; the archive holds /.test(f.message)),
        JSON.stringify(truncated),
      );
    });

    await t.step("two records swapped: reordered, named", async () => {
      const lines = c.day1.split("\n");
      const [i, j] = [lineOf(c.day1, 3), lineOf(c.day1, 5)];
      [lines[i], lines[j]] = [lines[j], lines[i]];
      const r = await audit(c, [lines.join("\n")]);
      const f = finding(r, "RECORDS_REORDERED");
      assert(f.message.includes(JSON.parse(lines[j]).ref), f.message);
      // re-stamped with another key so every seal fits: the order itself still tells
      const evil = otherSigner();
      const swapped = restamp(c.day1, evil.signer, (segs) => {
        const s = segs[1];
        [s[2], s[4]] = [s[4], s[2]];
        withHeaderSigner(segs, evil);
      });
      const r2 = await audit(c, [swapped]);
      finding(r2, "ORDER_BROKEN");
      finding(r2, "SIGNER_UNEXPECTED");
    });

    await t.step(
      "a forged record inserted: added; stamped again: another key, evidence refused",
      async () => {
        const lines = c.day1.split("\n");
        const i = lineOf(c.day1, 10);
        const forged = JSON.parse(lines[i]);
        forged.ref = forged.ref.replace(/\/(\d+)$/, "/9$1");
        forged.fare = 1;
        lines.splice(i + 1, 0, JSON.stringify(forged));
        const r = await audit(c, [lines.join("\n")]);
        const f = finding(r, "RECORD_ADDED");
        assert(f.message.includes(forged.ref), f.message);
        const evil = otherSigner();
        const stamped = restamp(c.day1, evil.signer, (segs) => {
          segs[1].splice(3, 0, JSON.stringify({ ...JSON.parse(segs[1][2]), ref: forged.ref }));
          withHeaderSigner(segs, evil);
        });
        const r2 = await audit(c, [stamped]);
        finding(r2, "SIGNER_UNEXPECTED");
        assert(finding(r2, "EVIDENCE_UNOPENED").record?.ref === forged.ref);
      },
    );

    await t.step("another signing key: named, even with every seal recomputed", async () => {
      const evil = otherSigner();
      const r = await audit(c, [
        restamp(c.day1, evil.signer, (segs) => withHeaderSigner(segs, evil)),
      ]);
      assertEquals(codes(r), ["SIGNER_UNEXPECTED"]);
      assert(finding(r, "SIGNER_UNEXPECTED").message.includes(evil.kcv));
      // the head signed by another key than the header names: the signature fails
      const lines = c.day1.trimEnd().split("\n");
      const head = JSON.parse(lines[lines.length - 1]);
      head.sig = "00".repeat(64);
      lines[lines.length - 1] = JSON.stringify(head);
      finding(await audit(c, [lines.join("\n") + "\n"], false), "SIGNATURE_INVALID");
    });

    await t.step(
      "day 1 rewritten and re-signed with the real key: day 2's link names it",
      async () => {
        const rewritten = restamp(c.day1, c.realSigner, (segs) => {
          const r = JSON.parse(segs[1][0]);
          r.vehicle = "LC-9999";
          segs[1][0] = JSON.stringify(r);
        });
        const r = await audit(c, [rewritten, c.day2]);
        assert(r.days[0].findings.every((f) => f.code !== "SIGNATURE_INVALID"), "validly signed");
        const f = finding(r, "PREVIOUS_DAY_LINK");
        assertEquals(f.day, DAY2);
        finding(r, "EVIDENCE_MISMATCH"); // the sealed raw record still says the old vehicle
      },
    );

    await t.step("a verdict changed and re-signed: it does not re-derive", async () => {
      const day1 = segmentsOf(c.day1);
      const failing = (l: string) => {
        const v = JSON.parse(l).verdict;
        return v?.status !== "OK" && v?.detail?.oda === "failed";
      };
      const seg = day1.findIndex((s, i) => i > 0 && s.some(failing));
      assert(seg > 0, "a record whose ODA failed");
      const k = day1[seg].findIndex(failing);
      const changed = restamp(c.day1, c.realSigner, (segs) => {
        const r = JSON.parse(segs[seg][k]);
        r.verdict.status = "OK";
        r.verdict.detail.oda = "ok";
        delete r.verdict.detail.odaCheck;
        segs[seg][k] = JSON.stringify(r);
      });
      const r = await audit(c, [changed]);
      const f = finding(r, "VERDICT_MISMATCH");
      assertEquals(f.record?.n, JSON.parse(day1[seg][k]).n);
      assert(f.field?.startsWith("verdict."), f.field);
      finding(r, "CLEARING_MISMATCH");
    });

    await t.step("the command line names the same finding, exit 1; clean exit 0", async () => {
      const bad = join(c.h.tmp, "tampered.jsonl");
      const lines = c.day1.split("\n");
      const i = lineOf(c.day1, 7);
      lines[i] = lines[i].replace(/"fare":(\d)/, (_, d) => `"fare":${(Number(d) + 1) % 10}`);
      await Deno.writeTextFile(bad, lines.join("\n"));
      const args = ["--auditor-key", c.h.files.auditorKey, "--signer", c.h.files.signer, "--json"];
      const run = await icfareRun(["audit", bad, ...args]);
      assertEquals(run.code, 1, run.stderr);
      const out = JSON.parse(run.stdout) as AuditReport;
      const f = out.days[0].findings.find((x) => x.code === "RECORD_ALTERED")!;
      assertEquals([f.record?.n, f.field], [7, "fare"]);
      const ok = await icfareRun(["audit", c.h.archives[0].file, ...args]);
      assertEquals(ok.code, 0, ok.stdout);
      assertEquals(JSON.parse(ok.stdout).clean, true);
      const text = await icfareRun(["audit", bad, "--signer", c.h.files.signer]);
      assert(/FAIL RECORD_ALTERED n=7 \S+ \[fare\]/.test(text.stdout), text.stdout);
      const usage = await icfareRun(["audit", join(c.h.tmp, "missing.jsonl")]);
      assertEquals(usage.code, 2);
    });
  } finally {
    c.close();
    await c.h.close();
  }
});
