/**
 * Random tampering (docs/reliability.md row A2): at least 1,000 tamperings of a sealed archive
 * — a byte changed, removed or inserted, a line removed, swapped or repeated, the file cut, a
 * record edited and stamped again without the signing key or with another one, bytes after the
 * head — and the audit must flag every one (100 %). The seed is printed (`ICFARE_SEED` replays
 * a run; `ICFARE_SLOW=1` runs 10,000).
 */
import { assert, assertEquals } from "@icfare/assert";
import { archiveHome } from "./support/archive_day.ts";
import { otherSigner, segmentsOf, stamp, withHeaderSigner } from "./support/restamp.ts";
import { auditArchives } from "../core/audit/audit.ts";
import { chunksOf } from "../core/audit/lines.ts";
import { trustedSigner } from "../core/audit/head.ts";
import type { HeadSigner } from "../core/archive/writer.ts";

const KINDS = [
  "flip",
  "delete-byte",
  "insert-byte",
  "delete-line",
  "swap-lines",
  "repeat-line",
  "cut",
  "restamp-unsigned",
  "restamp-other-key",
  "after-head",
] as const;
type Kind = typeof KINDS[number];

/** A small seeded generator (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

const enc = new TextEncoder(), dec = new TextDecoder();

function splice(b: Uint8Array, at: number, remove: number, insert: number[] = []): Uint8Array {
  const out = new Uint8Array(b.length - remove + insert.length);
  out.set(b.subarray(0, at));
  out.set(insert, at);
  out.set(b.subarray(at + remove), at + insert.length);
  return out;
}

/** One tampering of `orig` of the given kind; null when it would leave the bytes as they are. */
function tamper(
  kind: Kind,
  orig: Uint8Array,
  r: ReturnType<typeof rng>,
  forged: HeadSigner,
  forgedKey: { publicKey: string; kcv: string },
): Uint8Array | null {
  const text = dec.decode(orig);
  const lines = text.slice(0, -1).split("\n");
  switch (kind) {
    case "flip": {
      const at = r.int(orig.length), v = (orig[at] + 1 + r.int(255)) & 0xff;
      return splice(orig, at, 1, [v]);
    }
    case "delete-byte":
      return splice(orig, r.int(orig.length), 1);
    case "insert-byte":
      return splice(orig, r.int(orig.length + 1), 0, [r.int(256)]);
    case "delete-line":
      lines.splice(r.int(lines.length), 1);
      break;
    case "swap-lines": {
      const i = r.int(lines.length), j = r.int(lines.length);
      if (lines[i] === lines[j]) return null;
      [lines[i], lines[j]] = [lines[j], lines[i]];
      break;
    }
    case "repeat-line": {
      const i = r.int(lines.length);
      lines.splice(i, 0, lines[i]);
      break;
    }
    case "cut":
      return orig.slice(0, r.int(orig.length));
    case "after-head":
      return new Uint8Array([...orig, ...enc.encode(`{"t":"R","n":${r.int(99)}}\n`)]);
    case "restamp-unsigned":
    case "restamp-other-key": {
      const segs = segmentsOf(text);
      const s = 1 + r.int(segs.length - 2), k = r.int(segs[s].length);
      const rec = JSON.parse(segs[s][k]);
      rec.fare = (rec.fare ?? 0) + 1 + r.int(100);
      segs[s][k] = JSON.stringify(rec);
      if (kind === "restamp-other-key") {
        withHeaderSigner(segs, forgedKey);
        return enc.encode(stamp(segs, forged));
      }
      // the old signature kept: the forger has no key
      const out = stamp(segs, { ...forged, sign: () => new Uint8Array(64) }).split("\n");
      out[out.length - 2] = out[out.length - 2].replace(
        /"sig":"[0-9a-f]+"/,
        lines[lines.length - 1].match(/"sig":"[0-9a-f]+"/)![0],
      );
      return enc.encode(out.join("\n"));
    }
  }
  return enc.encode(lines.join("\n") + "\n");
}

Deno.test("audit: random tamperings are all detected (seed printed)", async () => {
  const seed = Number(Deno.env.get("ICFARE_SEED") ?? Math.floor(Math.random() * 1e9));
  const runs = Deno.env.get("ICFARE_SLOW") ? 10_000 : 1_000;
  const h = await archiveHome([{ day: "2026-06-24", taps: 50 }], {
    seed: "property",
    segmentRecords: 16,
  });
  try {
    const orig = await Deno.readFile(h.archives[0].file);
    const signer = trustedSigner(JSON.parse(await Deno.readTextFile(h.files.signer)).publicKey);
    const run = (b: Uint8Array) =>
      auditArchives([{ name: "t", chunks: chunksOf(b, 1 << 16), size: b.length }], {
        signers: [signer],
      });
    assert((await run(orig)).clean, "the untouched archive is clean");
    const evil = otherSigner();
    const r = rng(seed);
    const by: Record<string, { runs: number; detected: number }> = {};
    const missed: string[] = [];
    const firstCodes: Record<string, number> = {};
    let done = 0;
    while (done < runs) {
      const kind = KINDS[done % KINDS.length];
      const t = tamper(kind, orig, r, evil.signer, evil);
      if (!t || (t.length === orig.length && t.every((v, i) => v === orig[i]))) continue;
      done++;
      const rep = await run(t);
      const s = by[kind] ??= { runs: 0, detected: 0 };
      s.runs++;
      if (!rep.clean) {
        s.detected++;
        const code = rep.days[0].findings.find((f) => f.severity === "fail")!.code;
        firstCodes[code] = (firstCodes[code] ?? 0) + 1;
      } else missed.push(`${kind} #${done}`);
    }
    console.log(
      `audit tampering: seed ${seed}, ${done} tamperings, ${done - missed.length} detected; ` +
        `by kind ${JSON.stringify(by)}; first finding ${JSON.stringify(firstCodes)}`,
    );
    assertEquals(missed, [], `seed ${seed}`);
    assert(done >= 1000);
  } finally {
    await h.close();
  }
});
