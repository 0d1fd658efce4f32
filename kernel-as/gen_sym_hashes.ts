/**
 * Generates `assembly/hash_rounds.ts`: the compression functions of SHA-1 (FIPS 180-4 §6.1.2),
 * SHA-256 (§6.2.2) and SM3 (GB/T 32905-2016 §5.3) fully unrolled. The message schedule lives
 * in 16 locals used as a ring (no W array in memory) and the working variables are renamed
 * from round to round instead of being moved, so each round is only its own arithmetic.
 * Round constants are folded in (SM3's T_j <<< j included).
 *
 * Run: `deno run --allow-write=kernel-as kernel-as/gen_sym_hashes.ts`;
 * `sym_tables_test.ts` checks the committed file is what this script produces.
 */
import { SHA256_K_VALUES } from "./gen_sym_tables.ts";

const hex = (x: number) => "0x" + (x >>> 0).toString(16).toUpperCase().padStart(8, "0");
const rotl32 = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;

function header(name: string, doc: string, stateVars: string[]): string[] {
  return [
    `/** ${doc} */`,
    `export function ${name}(state: usize, p: usize, blocks: u32): void {`,
    ...stateVars.map((v, i) => `  let ${v} = load<u32>(state, ${4 * i});`),
    `  for (let n: u32 = 0; n < blocks; n++, p += 64) {`,
    ...Array.from(
      { length: 16 },
      (_, i) => `    let w${i} = bswap<u32>(load<u32>(p, ${4 * i}));`,
    ),
  ];
}

function sha1(): string {
  const st = ["h0", "h1", "h2", "h3", "h4"];
  const out = header("sha1Compress", "SHA-1 compression of `blocks` 64-byte blocks at `p`.", st);
  out.push("    let a = h0, b = h1, c = h2, d = h3, e = h4;");
  let v = ["a", "b", "c", "d", "e"];
  for (let t = 0; t < 80; t++) {
    const w = `w${t % 16}`;
    if (t >= 16) {
      out.push(
        `    ${w} = rotl<u32>(w${(t - 3) % 16} ^ w${(t - 8) % 16} ^ w${(t - 14) % 16} ^ ${w}, 1);`,
      );
    }
    const [a, b, c, d, e] = v;
    const [f, k] = t < 20
      ? [`(${d} ^ (${b} & (${c} ^ ${d})))`, 0x5a827999]
      : t < 40
      ? [`(${b} ^ ${c} ^ ${d})`, 0x6ed9eba1]
      : t < 60
      ? [`((${b} & ${c}) | (${d} & (${b} | ${c})))`, 0x8f1bbcdc]
      : [`(${b} ^ ${c} ^ ${d})`, 0xca62c1d6];
    out.push(
      `    ${e} += rotl<u32>(${a}, 5) + ${f} + ${hex(k)} + ${w}; ${b} = rotl<u32>(${b}, 30);`,
    );
    v = [e, a, b, c, d];
  }
  out.push(`    h0 += ${v[0]}; h1 += ${v[1]}; h2 += ${v[2]}; h3 += ${v[3]}; h4 += ${v[4]};`);
  out.push("  }");
  st.forEach((s, i) => out.push(`  store<u32>(state, ${s}, ${4 * i});`));
  out.push("}");
  return out.join("\n");
}

function sha256(): string {
  const st = ["h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"];
  const out = header(
    "sha256Compress",
    "SHA-256 compression of `blocks` 64-byte blocks at `p`.",
    st,
  );
  out.push("    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;");
  let v = ["a", "b", "c", "d", "e", "f", "g", "h"];
  for (let t = 0; t < 64; t++) {
    const w = `w${t % 16}`;
    if (t >= 16) {
      const w15 = `w${(t - 15) % 16}`, w2 = `w${(t - 2) % 16}`;
      out.push(
        `    ${w} += (rotr<u32>(${w2}, 17) ^ rotr<u32>(${w2}, 19) ^ (${w2} >>> 10)) + w${
          (t - 7) % 16
        } + (rotr<u32>(${w15}, 7) ^ rotr<u32>(${w15}, 18) ^ (${w15} >>> 3));`,
      );
    }
    const [a, b, c, d, e, f, g, h] = v;
    out.push(
      `    ${h} += (rotr<u32>(${e}, 6) ^ rotr<u32>(${e}, 11) ^ rotr<u32>(${e}, 25)) + (${g} ^ (${e} & (${f} ^ ${g}))) + ${
        hex(SHA256_K_VALUES[t])
      } + ${w};`,
      `    ${d} += ${h};`,
      `    ${h} += (rotr<u32>(${a}, 2) ^ rotr<u32>(${a}, 13) ^ rotr<u32>(${a}, 22)) + ((${a} & ${b}) | (${c} & (${a} | ${b})));`,
    );
    v = [h, a, b, c, d, e, f, g];
  }
  out.push(`    ${st.map((s, i) => `${s} += ${v[i]};`).join(" ")}`);
  out.push("  }");
  st.forEach((s, i) => out.push(`  store<u32>(state, ${s}, ${4 * i});`));
  out.push("}");
  return out.join("\n");
}

function sm3(): string {
  const st = ["v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7"];
  const out = header("sm3Compress", "SM3 compression of `blocks` 64-byte blocks at `p`.", st);
  out.push("    let a = v0, b = v1, c = v2, d = v3, e = v4, f = v5, g = v6, h = v7;");
  out.push("    let a12: u32, ss1: u32, x: u32;");
  let v = ["a", "b", "c", "d", "e", "f", "g", "h"];
  for (let j = 0; j < 64; j++) {
    // W[j+4] is needed by round j (W'_j = W_j ^ W_j+4): expand it now when j+4 >= 16.
    if (j + 4 >= 16) {
      const k = j + 4;
      const s = (i: number) => `w${i % 16}`;
      out.push(
        `    x = ${s(k - 16)} ^ ${s(k - 9)} ^ rotl<u32>(${s(k - 3)}, 15);`,
        `    ${s(k)} = x ^ rotl<u32>(x, 15) ^ rotl<u32>(x, 23) ^ rotl<u32>(${s(k - 13)}, 7) ^ ${
          s(k - 6)
        };`,
      );
    }
    const [a, b, c, d, e, f, g, h] = v;
    const tj = rotl32(j < 16 ? 0x79cc4519 : 0x7a879d8a, j % 32);
    const ff = j < 16 ? `(${a} ^ ${b} ^ ${c})` : `((${a} & ${b}) | (${c} & (${a} | ${b})))`;
    const gg = j < 16 ? `(${e} ^ ${f} ^ ${g})` : `(${g} ^ (${e} & (${f} ^ ${g})))`;
    const wj = `w${j % 16}`, wj4 = `w${(j + 4) % 16}`;
    out.push(
      `    a12 = rotl<u32>(${a}, 12); ss1 = rotl<u32>(a12 + ${e} + ${hex(tj)}, 7);`,
      `    ${d} += ${ff} + (ss1 ^ a12) + (${wj} ^ ${wj4});`,
      `    ${h} += ${gg} + ss1 + ${wj};`,
      `    ${h} = ${h} ^ rotl<u32>(${h}, 9) ^ rotl<u32>(${h}, 17);`,
      `    ${b} = rotl<u32>(${b}, 9); ${f} = rotl<u32>(${f}, 19);`,
    );
    // New (A,B,C,D) = (TT1, A, B<<<9, C); new (E,F,G,H) = (P0(TT2), E, F<<<19, G).
    v = [d, a, b, c, h, e, f, g];
  }
  out.push(`    ${st.map((s, i) => `${s} ^= ${v[i]};`).join(" ")}`);
  out.push("  }");
  st.forEach((s, i) => out.push(`  store<u32>(state, ${s}, ${4 * i});`));
  out.push("}");
  return out.join("\n");
}

/** The generated AssemblyScript source. */
export function generate(): string {
  return [
    "// Generated by kernel-as/gen_sym_hashes.ts — do not edit. Unrolled compression functions:",
    "// `state` holds the chaining value as host-order u32 words (5 for SHA-1, 8 otherwise).",
    "",
    sha1(),
    "",
    sha256(),
    "",
    sm3(),
    "",
  ].join("\n");
}

if (import.meta.main) {
  await Deno.writeTextFile(new URL("assembly/hash_rounds.ts", import.meta.url), generate());
}
