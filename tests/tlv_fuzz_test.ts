/**
 * Property and fuzz tests of the kernel's BER-TLV decoder (docs/reliability.md F1/F3):
 * random valid trees round-trip; random and mutated byte strings never crash, never hang,
 * always end in a coded status, and agree exactly with an independent TS decoder.
 * 100,000+ inputs in the normal suite; 1,000,000+ with ICFARE_SLOW=1.
 */
import fc from "fast-check";
import { assert, assertEquals } from "@icfare/assert";
import { decodeTlv } from "../kernel-as/tlv.ts";
import { STATUSES } from "../kernel-as/status.ts";
import { encodeTlv, type TlvInput } from "../core/tlv/encode.ts";
import { type TlvNode, treeFromEntries } from "../core/tlv/tree.ts";
import { refDecode } from "./support/ref_ber.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const CODES = new Set([...STATUSES.values()].map((s) => s.name));

const hexByte = (n: number) => n.toString(16).toUpperCase().padStart(2, "0");

/** Random valid tags: 1-byte (not x1F, not 00/FF), 2- and 3-byte multi-byte tags. */
const tagArb = (constructed: boolean): fc.Arbitrary<string> => {
  const cbit = constructed ? 0x20 : 0;
  const one = fc.integer({ min: 0, max: 0x1e }).chain((num) =>
    fc.integer({ min: 0, max: 3 }).map((cls) => hexByte((cls << 6) | cbit | num))
  ).filter((t) => t !== "00" && t !== "FF");
  const first = fc.integer({ min: 0, max: 3 }).map((cls) => hexByte((cls << 6) | cbit | 0x1f));
  const two = fc.tuple(first, fc.integer({ min: 0, max: 0x7f })).map(([a, b]) => a + hexByte(b));
  const three = fc.tuple(
    first,
    fc.integer({ min: 0x80, max: 0xff }),
    fc.integer({ min: 0, max: 0x7f }),
  )
    .map(([a, b, c]) => a + hexByte(b) + hexByte(c));
  return fc.oneof(one, two, three).filter((t) => t !== "FF" && !t.startsWith("FF"));
};

const { tree } = fc.letrec<{ tree: TlvInput[]; node: TlvInput }>((tie) => ({
  tree: fc.array(tie("node"), { maxLength: 5 }),
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ tag: tagArb(false), value: fc.uint8Array({ maxLength: 300 }) }),
    fc.record({ tag: tagArb(true), children: tie("tree") as fc.Arbitrary<TlvInput[]> }),
  ),
}));

function toInput(nodes: readonly TlvNode[]): TlvInput[] {
  return nodes.map((n) =>
    n.constructed ? { tag: n.tag, children: toInput(n.children) } : { tag: n.tag, value: n.value }
  );
}

function depthOf(items: readonly TlvInput[]): number {
  let d = 0;
  for (const i of items) if ("children" in i) d = Math.max(d, 1 + depthOf(i.children));
  return d;
}

function same(bytes: Uint8Array): void {
  const k = decodeTlv(bytes);
  const r = refDecode(bytes);
  if (k.ok) {
    assert(r.ok, `kernel ok, reference ${!r.ok && r.code}`);
  } else {
    assert(CODES.has(k.code), `uncoded status ${k.status}`);
    assert(!r.ok, `kernel ${k.code}, reference ok`);
    assertEquals([k.code, k.offset], [r.code, r.offset]);
  }
  assertEquals(
    k.entries.map((e) => [e.tag, e.header, e.value, e.length, e.depth, e.constructed, e.parent]),
    r.entries.map((e) => [e.tag, e.header, e.value, e.length, e.depth, e.constructed, e.parent]),
  );
}

Deno.test("random valid trees round-trip through kernel decode and canonical encode", () => {
  fc.assert(
    fc.property(tree, (items) => {
      fc.pre(depthOf(items) < 8);
      const bytes = encodeTlv(items);
      const r = decodeTlv(bytes);
      assert(r.ok, !r.ok ? r.message : "");
      const again = encodeTlv(toInput(treeFromEntries(bytes, r.entries)));
      assertEquals(again, bytes);
    }),
    { numRuns: SLOW ? 20_000 : 2_000 },
  );
});

Deno.test("random byte strings: coded status, agreement with the reference decoder", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (b) => same(b)), {
    numRuns: SLOW ? 600_000 : 60_000,
  });
});

Deno.test("mutated valid records: coded status, agreement, no hang", () => {
  const mutation = fc.tuple(
    tree,
    fc.array(
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 255 })),
      { minLength: 1, maxLength: 4 },
    ),
  );
  fc.assert(
    fc.property(mutation, ([items, edits]) => {
      let b = encodeTlv(items);
      for (const [pos, kind, val] of edits) {
        if (b.length === 0) break;
        const i = pos % b.length;
        const c = b.slice();
        switch (kind) {
          case 0: // length ±1
          case 1:
            c[i] = (c[i] + (kind === 0 ? 1 : 255)) & 0xff;
            b = c;
            break;
          case 2: // set the high bit (long form / tag continuation)
            c[i] |= 0x80;
            b = c;
            break;
          case 3: // truncate
            b = b.subarray(0, i);
            break;
          case 4: // arbitrary byte
            c[i] = val;
            b = c;
            break;
          case 5: { // splice a duplicate of a slice
            const out = new Uint8Array(b.length + Math.min(val, b.length - i));
            out.set(b.subarray(0, i + Math.min(val, b.length - i)));
            out.set(b.subarray(i), i + Math.min(val, b.length - i));
            b = out;
            break;
          }
          case 6: // wrap in a constructed template with a wrong length
            b = Uint8Array.of(0x70, Math.min(b.length + (val % 3) - 1, 0x7f) & 0x7f, ...b);
            break;
        }
      }
      const t0 = performance.now();
      same(b);
      // A hang detector, not a performance target (benchmarks hold those): far above any
      // real decode time even on a loaded machine.
      assert(performance.now() - t0 < 2000, "decode did not finish: hang suspected");
    }),
    { numRuns: SLOW ? 400_000 : 40_000 },
  );
});

Deno.test("absurd nesting 10,000 deep is refused with TLV_DEPTH_EXCEEDED", () => {
  // Every level correctly encloses the rest: 70 83 LLLLLL, 5 bytes a level.
  const n = 10_000;
  const b = new Uint8Array(5 * n);
  for (let i = 0; i < n; i++) {
    const inner = 5 * (n - i - 1);
    b.set([0x70, 0x83, inner >> 16, (inner >> 8) & 0xff, inner & 0xff], 5 * i);
  }
  const r = decodeTlv(b);
  assert(!r.ok);
  assertEquals(r.code, "TLV_DEPTH_EXCEEDED");
  same(b);
});
