/**
 * Fuzzing the ISO 8583 receive path (reliability: every byte string gives a message or a
 * coded error, never a crash or a hang): random byte strings, structure-aware valid messages
 * (which must round-trip) and mutated valid messages (bit flips, byte sets, truncation,
 * insertion, deletion, bitmap bits, length prefixes), through the codec, the answer readers,
 * field 48 "PA" and the frame decoder. Seeded (printed); about 100,000 inputs in the default
 * run, 1,000,000 with ICFARE_SLOW=1 (`deno task test:slow`).
 */
import { assert, assertEquals } from "@icfare/assert";
import { type FieldValue, type IsoMessage, isoMessage, Packager } from "../core/iso8583/codec.ts";
import { type FieldSpec, UNIONPAY_PACKAGER } from "../core/iso8583/fields.ts";
import { Iso8583Error } from "../core/iso8583/errors.ts";
import { decodePa, encodePa } from "../core/iso8583/pa.ts";
import { readAuthAnswer, readDenyListPage, readReversalAnswer } from "../core/iso8583/answers.ts";
import { FrameDecoder, frameOf } from "../core/iso8583/frame.ts";
import { encodePrimitives } from "../core/tlv/encode.ts";
import { fromHex } from "../core/hex.ts";
import { Rng } from "../sim/prng.ts";

const SLOW = Deno.env.get("ICFARE_SLOW") === "1";
const TOTAL = SLOW ? 1_000_000 : 100_000;
const SEED = Deno.env.get("ICFARE_FUZZ_SEED") ?? "iso8583-fuzz-1";
const HANG_MS = 2000; // a hang detector, far above any decode time, not a performance target

const up = new Packager(UNIONPAY_PACKAGER);
const specs = UNIONPAY_PACKAGER.fields;
const CHIP_TAGS = ["9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82"];
const MTIS = ["0200", "0210", "0400", "0410", "0800", "0810", "0500", "0510", "0320"];

function digits(r: Rng, n: number, alphabet = "0123456789"): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)];
  return s;
}

const AN = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ";
const ANS = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("");

function chip(r: Rng): Uint8Array {
  const n = 1 + r.int(CHIP_TAGS.length);
  return encodePrimitives(
    Array.from({ length: n }, (_, i) => [CHIP_TAGS[i], r.bytes(r.int(9))] as const),
  );
}

function value(r: Rng, s: FieldSpec): FieldValue {
  const len = s.prefix === 0 ? s.length : r.int(Math.min(s.length, 40) + 1);
  if (s.content === "ber-tlv") return chip(r);
  if (s.content === "pa") {
    return encodePa({
      channel: "01",
      txnTime: digits(r, 14),
      ...(r.chance(0.5) ? { iccData: chip(r) } : {}),
      ...(r.chance(0.5) ? { line: digits(r, 1 + r.int(6)) } : {}),
      institution: "0000FSGJ",
    });
  }
  switch (s.kind) {
    case "n":
      return digits(r, len);
    case "z":
      return len > 2 ? digits(r, len - 1) + "D" : digits(r, len);
    case "an":
      return digits(r, len, AN);
    case "ans":
      return digits(r, len, ANS);
    default:
      return r.bytes(len);
  }
}

/** A random valid message of the UnionPay table. */
function validMessage(r: Rng): IsoMessage {
  const mti = r.pick(MTIS);
  const fields: Record<number, FieldValue> = {};
  for (const s of specs) {
    if (!r.chance(0.25)) continue;
    const spec = up.fieldSpec(s.field, mti)!;
    fields[s.field] = value(r, spec);
  }
  return isoMessage(mti, fields);
}

function mutate(r: Rng, b: Uint8Array): Uint8Array {
  let c = b.slice();
  const edits = 1 + r.int(4);
  for (let e = 0; e < edits && c.length > 0; e++) {
    const i = r.int(c.length);
    switch (r.int(7)) {
      case 0: // flip one bit
        c[i] ^= 1 << r.int(8);
        break;
      case 1: // any byte
        c[i] = r.int(256);
        break;
      case 2: // truncate
        c = c.slice(0, i);
        break;
      case 3: { // insert bytes
        const ins = r.bytes(1 + r.int(8));
        c = Uint8Array.of(...c.subarray(0, i), ...ins, ...c.subarray(i));
        break;
      }
      case 4: // delete bytes
        c = Uint8Array.of(...c.subarray(0, i), ...c.subarray(i + 1 + r.int(8)));
        break;
      case 5: // a bitmap bit
        if (c.length > 10) c[2 + r.int(8)] ^= 0x80 >> r.int(8);
        break;
      case 6: // a BCD length prefix one up or down
        c[i] = ((c[i] >> 4) * 10 + (c[i] & 15) + (r.chance(0.5) ? 1 : 99)) % 100;
        c[i] = ((Math.floor(c[i] / 10)) << 4) | (c[i] % 10);
        break;
    }
  }
  return c;
}

interface Tally {
  inputs: number;
  decoded: number;
  refused: number;
  crashes: number;
  hangs: number;
  firstCrash?: string;
}

/** Decodes through every reader; only Iso8583Error may come out. */
function decodeAll(b: Uint8Array, t: Tally): void {
  t.inputs++;
  const t0 = performance.now();
  try {
    const m = up.unpack(b);
    t.decoded++;
    // A decoded message re-encodes, and decodes to the same message again.
    const again = up.unpack(up.pack(m));
    assertEquals(again.mti, m.mti);
    assertEquals([...again.fields.keys()], [...m.fields.keys()]);
    try {
      if (m.mti === "0210") readAuthAnswer(m);
      if (m.mti === "0410") readReversalAnswer(m);
      if (m.mti === "0810") readDenyListPage(m);
    } catch (e) {
      if (!(e instanceof Iso8583Error)) throw e;
    }
  } catch (e) {
    if (e instanceof Iso8583Error) t.refused++;
    else {
      t.crashes++;
      t.firstCrash ??= `${(e as Error).stack} on ${
        Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")
      }`;
    }
  }
  if (performance.now() - t0 > HANG_MS) t.hangs++;
}

const SAMPLES = [
  "08000020000000C0001600000131303030303135393838303231303031303231303136300011000000010030002953657175656E6365204E6F3136333135305358582D34433330343131390003303120",
  "0810003800010AC00014000002145850111908000965003134353835303333313531303030323031353230383133303535313036343131313030303100110000002400100024B2BE021366619F2785CE901640D96E17766C3F2784001126",
  "0510003A000108C18012000009122424031903190800096500313232343234363130373630323031303033343339353235313036343131313030303100620000000545603470000000000000002000000000000000000000000000000131353600110000231920100003303031",
].map((h) => fromHex(h));

Deno.test(`fuzz: ${TOTAL.toLocaleString("en")} random, valid and mutated messages, 0 crashes or hangs (seed ${SEED})`, () => {
  const r = new Rng(SEED, "messages");
  const t: Tally = { inputs: 0, decoded: 0, refused: 0, crashes: 0, hangs: 0 };
  let random = 0, valid = 0, mutated = 0;
  const corpus: Uint8Array[] = [...SAMPLES];
  while (t.inputs < TOTAL) {
    const kind = r.int(10);
    if (kind < 3) {
      random++;
      const b = r.bytes(r.int(200));
      if (r.chance(0.5) && b.length > 2) (b[0] = r.pick([2, 4, 8])), (b[1] = r.pick([0, 0x10]));
      decodeAll(b, t);
    } else if (kind < 5) {
      valid++;
      const m = validMessage(r);
      const b = up.pack(m);
      const back = up.unpack(b);
      assertEquals(up.pack(back), b, "a valid message round-trips");
      if (corpus.length < 512) corpus.push(b);
      else corpus[r.int(512)] = b;
      t.inputs++;
      t.decoded++;
    } else {
      mutated++;
      decodeAll(mutate(r, r.pick(corpus)), t);
    }
  }
  console.log(
    `iso8583 fuzz (seed ${SEED}): ${t.inputs} inputs — ${random} random, ${valid} valid round trips, ` +
      `${mutated} mutated; ${t.decoded} decoded, ${t.refused} refused with a code, ` +
      `${t.crashes} crashes, ${t.hangs} hangs`,
  );
  assertEquals(t.crashes, 0, t.firstCrash);
  assertEquals(t.hangs, 0);
  assert(t.refused > TOTAL / 4 && t.decoded > TOTAL / 5, "both paths were exercised");
});

Deno.test("fuzz: field 48 PA and the frame decoder on mutated inputs", () => {
  const r = new Rng(SEED, "pa-frames");
  const n = SLOW ? 200_000 : 20_000;
  let refused = 0, decoded = 0, frames = 0;
  for (let i = 0; i < n; i++) {
    const pa = encodePa({
      channel: "01",
      txnTime: digits(r, 14),
      iccData: chip(r),
      line: "101",
      institution: "0000FSGJ",
    });
    try {
      decodePa(mutate(r, pa));
      decoded++;
    } catch (e) {
      if (!(e instanceof Iso8583Error)) throw e;
      refused++;
    }
    // A stream of frames cut at random points yields the same payloads.
    const payloads = Array.from({ length: 1 + r.int(4) }, () => r.bytes(1 + r.int(60)));
    const stream = Uint8Array.of(...payloads.flatMap((p) => [...frameOf(p)]));
    const d = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let o = 0; o < stream.length;) {
      const step = 1 + r.int(20);
      got.push(...d.push(stream.subarray(o, o + step)));
      o += step;
    }
    assertEquals(got, payloads);
    frames += got.length;
  }
  console.log(
    `iso8583 PA fuzz: ${n} inputs, ${decoded} decoded, ${refused} refused, 0 crashes; ${frames} frames re-cut`,
  );
  assert(refused > 0 && decoded > 0);
});
