/** `explain`: steps with KCVs (never keys), masked PANs, and the mismatch diagnosis. */
import { assert, assertEquals, assertMatch } from "@icfare/assert";
import { fromHex, toHex } from "../core/hex.ts";
import { flattenValues, parseTlv } from "../core/tlv/tree.ts";
import { encodePrimitives } from "../core/tlv/encode.ts";
import { explainRecord, renderExplanation } from "../core/emv/explain.ts";
import { parseKeyFile } from "../core/emv/issuer_keys.ts";
import { parseCapkFile } from "../core/emv/capk.ts";
import { computeAc, deriveIccMk } from "../core/emv/ac.ts";
import { PROFILES } from "../core/emv/profiles.ts";
import type { TapRecord } from "../core/emv/verify.ts";
import { tap, TEST_IMK, testCapkFile, testKeyFile } from "./support/emv_signing.ts";

const ctx = { keys: parseKeyFile(testKeyFile()), capks: parseCapkFile(testCapkFile()) };

/** Re-computes 9F26 of a tap with a variant of the PBOC profile. */
function withAc(
  t: TapRecord,
  variant: Partial<typeof PROFILES["pboc-cvn01-3des"]>,
  imk = TEST_IMK,
  psn = "01",
): TapRecord {
  const p = parseTlv(fromHex(t.icc));
  if (!p.ok) throw new Error("bad tap");
  const values = flattenValues(p.nodes);
  const profile = { ...PROFILES["pboc-cvn01-3des"], ...variant };
  const ac = computeAc(profile, deriveIccMk(profile, imk, "6212345678901234", psn), values).ac;
  values.set("9F26", ac);
  return { ...t, icc: toHex(encodePrimitives([...values])) };
}

Deno.test("explain a good record: every step, KCVs only, PAN masked", () => {
  const x = explainRecord(tap(), ctx);
  assertEquals([x.status, x.cryptogram, x.oda], ["OK", "ok", "ok"]);
  assertEquals(x.diagnosis, undefined);
  const text = renderExplanation(x).join("\n");
  assertMatch(text, /KCV 99A0EA/); // ICC MK of docs/emv-pboc.md, test vectors
  assertMatch(text, /data block MACed/);
  assertMatch(text, /000000000200000000000000015600000000000156250101001234567 ?8/);
  assertMatch(text, /621234\*\*\*\*\*\*1234/);
  assert(!text.includes("6212345678901234"), "full PAN must not appear");
  assert(!text.includes(toHex(TEST_IMK)), "the IMK must not appear");
  assert(!text.includes("D943A14951D0F48C1662D692E6977976"), "the ICC MK must not appear");
  assert(!text.includes("8397010DF4F7C29D893D0494F7ECFD1C"), "the session key must not appear");
  assertMatch(text, /ok {3}recover 9F46 with issuer key/);
});

Deno.test("diagnosis names padding, session-key method, data set, PSN", () => {
  const cases: [Partial<typeof PROFILES["pboc-cvn01-3des"]>, string, RegExp][] = [
    [{ padding: 1 }, "01", /padding method 1 instead of 2/],
    [{ sessionKey: "common-atc" }, "01", /session key by EMV common session key/],
    [{ sessionKey: "none" }, "01", /session key by none/],
    [{ data: PROFILES["pboc-cvn01-3des"].data.slice(0, 10) }, "01", /without the CVR/],
    [
      {
        data: [...PROFILES["pboc-cvn01-3des"].data.slice(0, 10), {
          tag: "9F10",
          whole: true,
          max: 64,
        }],
      },
      "01",
      /whole 9F10/,
    ],
    [{}, "00", /PSN 00 instead of 01/],
  ];
  for (const [variant, psn, re] of cases) {
    const x = explainRecord(withAc(tap(), variant, TEST_IMK, psn), ctx);
    assertEquals(x.cryptogram, "mismatch");
    assert(x.diagnosis, "a diagnosis is given");
    assertMatch(x.diagnosis![0], re);
  }
});

Deno.test("diagnosis points at the key when nothing reproduces the cryptogram", () => {
  const other = fromHex("00112233445566778899AABBCCDDEEFF");
  const x = explainRecord(withAc(tap(), {}, other), ctx);
  assertEquals(x.cryptogram, "mismatch");
  assertMatch(x.diagnosis!.join(" "), /No variant .* issuer key .*KCV 08D7B4.* DKI in 9F10 = 01/);
});

Deno.test("explain reports a failing ODA check by name and no-key without a key", () => {
  const t = tap();
  const sd = fromHex(t.oda!.staticData!);
  sd[2] ^= 1;
  const x = explainRecord({ ...t, oda: { ...t.oda!, staticData: toHex(sd) } }, ctx);
  assertMatch(renderExplanation(x).join("\n"), /failed check ICC_CERT_HASH/);
  const y = explainRecord(tap(), { capks: ctx.capks });
  assertEquals(y.cryptogram, "no-key");
  assertMatch(renderExplanation(y).join("\n"), /no 3des IMK-AC held for 621234\*\*\*\*\*\*1234/);
});
