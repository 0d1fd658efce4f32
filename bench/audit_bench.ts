/**
 * `icfare audit` speed (docs/archive.md, "Speed"; docs/performance.md):
 *   - the command-line audit of an archive of 1,000,000 records (records/s), beside the
 *     verification engine's rate over the same records in the same run (the audit's kernel
 *     part is that engine, whole segments per call);
 *   - the browser audit of a 100,000-record archive in headless Chromium (records/s).
 *
 * The archives are made from a pool: one simulated day (real chip data, ODA evidence, stored
 * verdicts, clearing lines and postings) archived by `icfare archive`'s own code, its records
 * repeated under new references, each re-sealed under the day's evidence key, its card hash
 * made unique; the summary and the clearing trailer are those of the records written, so the
 * audit comes out clean. Repeated evidence lets the kernel's recovered-key caches hit more
 * often than on a real day, for the audit and the engine alike.
 *
 * `deno bench -A bench/audit_bench.ts` runs a small pair (audit of 2,000 records, engine over
 * them). `deno run -A bench/audit_bench.ts --report [--records N] [--browser N]` prints the
 * figures: by default an archive of 20,000 records on the CLI and 5,000 in the browser; with
 * ICFARE_SLOW=1 the issue's sizes, 1,000,000 and 100,000 (about 4 GB of archive on disk).
 */
import { join } from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { type ArchiveHome, archiveHome } from "../tests/support/archive_day.ts";
import { segmentsOf } from "../tests/support/restamp.ts";
import { launchChromium } from "../tests/support/browser.ts";
import { auditArchives } from "../core/audit/audit.ts";
import { trustedSigner } from "../core/audit/head.ts";
import { Books } from "../core/audit/books.ts";
import { Findings } from "../core/audit/findings.ts";
import { type EvidenceKey, openForAuditor } from "../core/archive/evidence.ts";
import { parseAuditorKey } from "../core/archive/auditor_key.ts";
import {
  type HeaderLine,
  hexl,
  type RecordLine,
  refOf,
  sha256Hex,
  type SummaryLine,
} from "../core/archive/format.ts";
import { ArchiveWriter } from "../core/archive/writer.ts";
import type { RawRecord } from "../core/archive/raw.ts";
import { signerFromPrivateKey } from "../core/keys/signing.ts";
import { type BatchRecordBytes, verifyBatchBytes } from "../core/emv/batch.ts";
import { CapkRegistry } from "../core/emv/capk.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { fromHex } from "../core/hex.ts";

const enc = new TextEncoder(), dec = new TextDecoder();

/** A record of the pool with its opened evidence. */
interface PoolRecord {
  line: RecordLine;
  raw: RawRecord;
  detail: string | null;
}

/** The pool: a simulated day archived, its records opened with the auditor's key. */
async function pool(taps: number) {
  const h = await archiveHome([{ day: "2026-06-24", taps }], { seed: "bench" });
  const text = await Deno.readTextFile(h.archives[0].file);
  const segs = segmentsOf(text);
  const header = JSON.parse(segs[0][0]) as HeaderLine;
  const ak = parseAuditorKey(JSON.parse(await Deno.readTextFile(h.files.auditorKey)), true);
  const key = (await openForAuditor(ak.privateKey!, header.day, header.evidence.recipients))!;
  const records: PoolRecord[] = [];
  for (const s of segs.slice(1, -1)) {
    for (const l of s) {
      const line = JSON.parse(l) as RecordLine;
      const v = line.verdict as { detail?: { duplicateOf?: unknown; denyListed?: unknown } };
      if (
        line.state !== "verified" || !line.clearing || v.detail?.duplicateOf || v.detail?.denyListed
      ) continue;
      const o = JSON.parse(dec.decode((await key.open(line.ref, line.evidence))!));
      records.push({ line, raw: o.record, detail: o.detail });
    }
  }
  return { h, segs, header, key, records, privateKey: ak.privateKey! };
}

type Pool = Awaited<ReturnType<typeof pool>>;

/** Writes an archive of `n` records made from the pool; resolves to its path and signer. */
async function synthetic(p: Pool, n: number, path: string) {
  const priv = crypto.getRandomValues(new Uint8Array(32));
  const s = signerFromPrivateKey("archive-sign-bench", "ecdsa-p256", priv);
  const header: HeaderLine = {
    ...p.header,
    // the kernel calls a segment's records duplicates of each other when they share a card and
    // ATC: a segment no longer than the pool never holds two copies of one pool record
    segmentRecords: Math.min(p.header.segmentRecords, p.records.length),
    signer: { ...s.info },
    previous: null,
  };
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const w = new ArchiveWriter(header, async (t) => {
    const b = enc.encode(t);
    for (let o = 0; o < b.length;) o += await f.write(b.subarray(o));
  }, { ...s.info, sign: (m) => s.sign(m) });
  await w.start(JSON.parse(p.segs[0][1]), JSON.parse(p.segs[0][2]));
  const books = new Books(header, new Findings(header.day));
  const trailer = sha256.create();
  for (let i = 0; i < n; i++) {
    const src = p.records[i % p.records.length];
    const rec = await copyOf(p.key, src, i, books.cleared.count + 1);
    books.record(rec.line, { record: rec.raw, detail: rec.detail, acAmount: "" });
    if (rec.detail !== null) trailer.update(enc.encode(rec.detail + "\n"));
    await w.record(rec.line);
  }
  const z: SummaryLine = {
    t: "Z",
    records: books.records,
    states: books.states,
    outcomes: books.outcomes,
    exceptions: Object.fromEntries(Object.entries(books.exceptions).sort()),
    issuerVerifies: books.issuerVerifies,
    fees: books.fees,
    debts: books.debts,
    ledger: {
      entries: books.entries,
      postings: books.postings,
      total: [...books.accounts.values()].reduce((a, b) => a + b, 0),
      accounts: [...books.accounts].filter(([, v]) => v !== 0).sort((
        a,
        b,
      ) => (a[0] < b[0] ? -1 : 1)),
    },
    clearingFile: {
      name: "bench",
      sha256: "0".repeat(64),
      count: books.cleared.count,
      amount: books.cleared.amount,
      trailer: hexl(trailer.digest()),
    },
  };
  await w.finish({ t: "L", entries: [] }, z);
  f.close();
  s.close();
  return { path, signer: trustedSigner(s.info.publicKey) };
}

/** Record `i` of a synthetic archive: a pool record under a new reference, re-sealed. */
async function copyOf(key: EvidenceKey, src: PoolRecord, i: number, clearedN: number) {
  const batchNo = 1 + Math.floor(i / 5000), seq = 1 + (i % 5000);
  const ref = refOf("BENCH001", batchNo, seq);
  const raw = { ...src.raw, seq };
  let detail: string | null = null;
  if (src.line.clearing?.outcome === "CLEARED" && src.detail) {
    const d = JSON.parse(src.detail);
    d.n = clearedN;
    d.ref = ref;
    detail = JSON.stringify(d);
  }
  const line: RecordLine = {
    ...src.line,
    n: i + 1,
    id: i + 1,
    ref,
    cardHash: sha256Hex(`${src.line.cardHash}/${i}`).toUpperCase(),
    entry: src.line.entry ? { id: i + 1, kind: src.line.entry.kind } : null,
    evidence: await key.seal(ref, enc.encode(JSON.stringify({ record: raw, detail }))),
  };
  return { line, raw, detail };
}

/** The engine over the pool's records repeated to `n`, 1,000 per call (the audit's segments). */
function engineRate(p: Pool, n: number): number {
  const keys = parseKeyFile(JSON.parse(Deno.readTextFileSync(p.h.files.issuerKeys)));
  const capks = new CapkRegistry();
  const k = JSON.parse(p.segs[0][1]);
  for (const c of k.capks) {
    if (c.state !== "active") continue;
    capks.add({
      ...c,
      modulus: c.modulus ? fromHex(c.modulus) : undefined,
      exponent: c.exponent ? fromHex(c.exponent) : undefined,
      publicKey: c.publicKey ? fromHex(c.publicKey) : undefined,
      checksum: fromHex(c.checksum),
    });
  }
  for (const r of k.revoked) capks.revoke(r.rid, r.index, r.serial);
  const bytes: BatchRecordBytes[] = p.records.map((r, i) => ({
    seq: i + 1,
    icc: fromHex(r.raw.icc),
    oda: r.raw.oda ? fromHex(r.raw.oda.tlv) : undefined,
    staticData: r.raw.oda ? fromHex(r.raw.oda.staticData) : undefined,
    fare: r.raw.fare,
  }));
  const t0 = performance.now();
  let done = 0;
  while (done < n) {
    const batch = [];
    for (let i = 0; i < 1000 && done + i < n; i++) batch.push(bytes[(done + i) % bytes.length]);
    verifyBatchBytes(batch, { keys, capks });
    done += batch.length;
  }
  return done / ((performance.now() - t0) / 1000);
}

/** The CLI audit's core on a file: records/s. */
async function cliRate(path: string, signer: ReturnType<typeof trustedSigner>, p: Pool) {
  const f = await Deno.open(path);
  const size = (await f.stat()).size;
  const r = await auditArchives([{ name: path, chunks: f.readable, size }], {
    auditorKey: p.privateKey,
    issuerKeys: parseKeyFile(JSON.parse(await Deno.readTextFile(p.h.files.issuerKeys))),
    signers: [signer],
  });
  if (!r.clean) {
    throw new Error(`bench archive not clean: ${JSON.stringify(r.days[0].findings.slice(0, 3))}`);
  }
  return { rate: r.recordsPerSecond, seconds: r.seconds, records: r.records, bytes: size };
}

/** The browser page on a file in headless Chromium: records/s from click to verdict. */
async function browserRate(path: string, h: ArchiveHome, signerFile: string) {
  const page = new URL("../web/audit/dist/icfare-audit.html", import.meta.url).pathname;
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../web/audit/build.ts", import.meta.url).pathname],
  }).output();
  if (built.code !== 0) throw new Error("audit page build failed");
  const b = await launchChromium();
  try {
    const pg = await b.newPage();
    await pg.goto(`file://${page}`);
    await pg.setInputFiles("#archives", [path]);
    await pg.setInputFiles("#auditor-key", h.files.auditorKey);
    await pg.setInputFiles("#signer", signerFile);
    await pg.setInputFiles("#keys", h.files.issuerKeys);
    const t0 = performance.now();
    await pg.click("#run");
    await pg.waitForSelector('#verdict[data-state="done"]', { timeout: 3_600_000 });
    const s = (performance.now() - t0) / 1000;
    const clean = await pg.evaluate(`document.getElementById("verdict").dataset.clean`);
    if (clean !== "true") throw new Error("browser audit not clean");
    return { seconds: s };
  } finally {
    await b.close();
  }
}

async function report(records: number, browser: number) {
  const p = await pool(2000);
  try {
    console.log(
      `pool: ${p.records.length} records of a simulated day; machine: 2 cores, shared, load ${
        Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
      }`,
    );
    const file = join(p.h.tmp, "bench-cli.jsonl");
    let t0 = performance.now();
    const a = await synthetic(p, records, file);
    console.log(
      `archive of ${records} records written in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
    const engine = engineRate(p, Math.min(records, 200_000));
    const cli = await cliRate(a.path, a.signer, p);
    await Deno.remove(file);
    console.log(
      `CLI audit: ${cli.records} records, ${(cli.bytes / 2 ** 20).toFixed(0)} MiB in ` +
        `${cli.seconds.toFixed(1)} s = ${cli.rate} records/s; engine alone ${
          Math.round(engine)
        } records/s ` +
        `(audit at ${(cli.rate / engine * 100).toFixed(0)} % of the engine's rate)`,
    );
    if (browser > 0) {
      const bf = join(p.h.tmp, "bench-browser.jsonl");
      t0 = performance.now();
      const bb = await synthetic(p, browser, bf);
      const signerFile = join(p.h.tmp, "bench-signer.txt");
      await Deno.writeTextFile(signerFile, bb.signer.publicKey);
      const br = await browserRate(bf, p.h, signerFile);
      console.log(
        `browser audit (headless Chromium): ${browser} records in ${br.seconds.toFixed(1)} s = ` +
          `${Math.round(browser / br.seconds)} records/s (written in ${
            ((performance.now() - t0) / 1000).toFixed(0)
          } s incl.)`,
      );
    }
  } finally {
    await p.h.close();
  }
}

function arg(name: string, dflt: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
}

if (Deno.args.includes("--report")) {
  const slow = Deno.env.get("ICFARE_SLOW") === "1";
  await report(
    arg("--records", slow ? 1_000_000 : 20_000),
    arg("--browser", slow ? 100_000 : 5_000),
  );
} else {
  const p = await pool(300);
  const file = join(p.h.tmp, "bench-small.jsonl");
  const a = await synthetic(p, 2000, file);
  Deno.bench({
    name: "audit of 2,000 records (CLI core)",
    group: "audit",
    n: 3,
    async fn() {
      await cliRate(a.path, a.signer, p);
    },
  });
  Deno.bench({
    name: "engine over the same 2,000 records",
    group: "audit",
    baseline: true,
    n: 3,
    fn() {
      engineRate(p, 2000);
    },
  });
  addEventListener("unload", () => Deno.removeSync(p.h.tmp, { recursive: true }));
}
