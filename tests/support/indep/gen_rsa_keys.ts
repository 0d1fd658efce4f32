/**
 * Makes the fixed RSA test keys of the independent tap builder (`rsa_keys.json`) with
 * node:crypto. Run once; the file is committed so that every run builds the same taps:
 *
 *   deno run --allow-write=tests/support/indep tests/support/indep/gen_rsa_keys.ts
 *
 * Sizes: a 1152-bit CA key over a 1024-bit issuer key (issuer remainder 92 of 20 bytes) over a
 * 768-bit ICC key (remainder 9F48 of 10 bytes), all e = 3; and a 1984-bit CA key (the EMV
 * maximum) over a 1408-bit issuer key (no remainder), e = 65537, over a 1024-bit ICC key, e = 3.
 */
import crypto from "node:crypto";

const SPECS: [string, number, number][] = [
  ["ca1152", 1152, 3],
  ["issuer1024", 1024, 3],
  ["icc768", 768, 3],
  ["ca1984", 1984, 65537],
  ["issuer1408", 1408, 65537],
  ["icc1024", 1024, 3],
];

if (import.meta.main) {
  const keys: Record<string, unknown> = {};
  for (const [name, bits, e] of SPECS) {
    const { privateKey } = crypto.generateKeyPairSync("rsa", {
      modulusLength: bits,
      publicExponent: e,
    });
    const jwk = privateKey.export({ format: "jwk" }) as Record<string, string>;
    keys[name] = Object.fromEntries(
      ["n", "e", "d", "p", "q", "dp", "dq", "qi"].map((f) => [f, jwk[f]]),
    );
  }
  const out = {
    description:
      "Test-only RSA keys of the independent tap builder (JWK fields, base64url), made by gen_rsa_keys.ts with node:crypto generateKeyPairSync. Never use outside tests.",
    keys,
  };
  await Deno.writeTextFile(
    new URL("./rsa_keys.json", import.meta.url),
    JSON.stringify(out, null, 2) + "\n",
  );
  console.log(`wrote ${SPECS.length} keys`);
}
