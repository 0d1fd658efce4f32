/**
 * Generates `assembly/sym_tables.ts`: the constant tables of the symmetric family, derived
 * here from the definitions in the standards so that the kernel holds no hand-typed magic
 * beyond the primitive definitions below.
 *
 * - DES (FIPS 46-3 / NIST SP 800-67): S-boxes S1..S8, P, PC-1, PC-2 (the kernel computes IP
 *   by delta swaps; sym_tables_test.ts checks them against IP's table). The kernel uses combined
 *   S-box/P tables ("SP boxes") indexed by 6-bit groups already multiplied by 4, byte tables for
 *   PC-1, and byte tables for PC-2 packing each 48-bit subkey into two words that line up with
 *   the round's rotated state (see `assembly/des.ts`).
 * - SM4 (GB/T 32907-2016): the S-box computed from its algebraic form
 *   S(x) = A·I(A·x ⊕ C) ⊕ C over GF(2⁸) mod x⁸+x⁷+x⁶+x⁵+x⁴+x²+1, checked against the first
 *   row printed in the standard; T-tables L(S(a) << 8k); the key schedule's CK constants.
 * - SHA-256 (FIPS 180-4 §4.2.2, §5.3.3): K and H0 from the cube/square roots of the primes.
 *
 * Run: `deno run --allow-write=kernel-as kernel-as/gen_sym_tables.ts` (`--check` compares
 * instead of writing; `sym_tables_test.ts` does that in the suite).
 */

// ---- DES definitions (FIPS 46-3, bit 1 = most significant) ----
// deno-fmt-ignore
const P = [
  16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
  2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];
// deno-fmt-ignore
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
  10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
  14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
// deno-fmt-ignore
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
  23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
  41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
  44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
// deno-fmt-ignore
const S = [
  [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
   0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
   4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
   15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
  [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
   3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
   0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
   13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
  [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
   13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
   13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
   1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
  [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
   13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
   10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
   3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
  [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
   14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
   4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
   11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
  [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
   10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
   9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
   4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
  [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
   13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
   1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
   6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
  [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
   1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
   7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
   2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
];

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`table definition check failed: ${what}`);
}

// Sanity checks on the typed definitions: permutations are permutations, S-box rows are
// permutations of 0..15.
check(new Set(P).size === 32 && P.every((v) => v >= 1 && v <= 32), "P");
check(new Set(PC1).size === 56 && PC1.every((v) => v % 8 !== 0), "PC1");
check(new Set(PC2).size === 48 && PC2.every((v) => v >= 1 && v <= 56), "PC2");
for (const [i, s] of S.entries()) {
  for (let r = 0; r < 4; r++) {
    check(new Set(s.slice(16 * r, 16 * r + 16)).size === 16, `S${i + 1} row ${r}`);
  }
}

/** Bit `pos` (1 = MSB) of a `width`-bit big number held as bigint. */
function bit(x: bigint, pos: number, width: number): number {
  return Number((x >> BigInt(width - pos)) & 1n);
}
function permute(x: bigint, table: number[], inWidth: number): bigint {
  let r = 0n;
  for (const p of table) r = (r << 1n) | BigInt(bit(x, p, inWidth));
  return r;
}
const u32 = (x: bigint | number) => Number(BigInt(x) & 0xffffffffn) >>> 0;

/** SP box i (0..7): entry for the 6-bit group b1..b6, stored at index b (kernel scales by 4). */
function spTables(): number[] {
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    for (let b = 0; b < 64; b++) {
      const row = ((b >> 4) & 2) | (b & 1);
      const col = (b >> 1) & 15;
      const s = BigInt(S[i][row * 16 + col]) << BigInt(28 - 4 * i);
      out.push(u32(permute(s, P, 32)));
    }
  }
  return out;
}

/** PC-1 byte tables: [key byte j][value] → (C, D), 28 bits each. */
function pc1Tables(): number[] {
  const out: number[] = [];
  for (let j = 0; j < 8; j++) {
    for (let v = 0; v < 256; v++) {
      const y = permute(BigInt(v) << BigInt(56 - 8 * j), PC1, 64);
      out.push(u32(y >> 28n), u32(y & 0xfffffffn));
    }
  }
  return out;
}

/**
 * Packs a 48-bit subkey (groups k0..k7 of 6 bits, k0 first) into the kernel's two words:
 * ka = k0<<2 | k6<<10 | k4<<18 | k2<<26, kb = k7<<2 | k5<<10 | k3<<18 | k1<<26.
 */
function packSubkey(k48: bigint): [number, number] {
  const g = (i: number) => Number((k48 >> BigInt(42 - 6 * i)) & 63n);
  const ka = (g(0) << 2) | (g(6) << 10) | (g(4) << 18) | (g(2) << 26);
  const kb = (g(7) << 2) | (g(5) << 10) | (g(3) << 18) | (g(1) << 26);
  return [ka >>> 0, kb >>> 0];
}

/**
 * PC-2 byte tables over C‖D: each 28-bit half is cut into chunks of 8, 8, 8 and 4 bits (bits
 * 27-20, 19-12, 11-4, 3-0); table [chunk n][value] → (ka, kb), chunks 0-3 from C, 4-7 from D.
 */
function pc2Tables(): number[] {
  const out: number[] = [];
  const shifts = [20, 12, 4, 0];
  for (let n = 0; n < 8; n++) {
    const half = n < 4 ? 28n : 0n;
    const width = n % 4 === 3 ? 16 : 256;
    for (let v = 0; v < 256; v++) {
      if (v >= width) {
        out.push(0, 0);
        continue;
      }
      const cd = BigInt(v) << (BigInt(shifts[n % 4]) + half);
      out.push(...packSubkey(permute(cd, PC2, 56)));
    }
  }
  return out;
}

// ---- SM4 (GB/T 32907-2016) ----
function gfMul(a: number, b: number): number {
  let r = 0;
  while (b) {
    if (b & 1) r ^= a;
    a <<= 1;
    if (a & 0x100) a ^= 0x1f5;
    b >>= 1;
  }
  return r;
}
function gfInv(a: number): number {
  if (a === 0) return 0;
  for (let x = 1; x < 256; x++) if (gfMul(a, x) === 1) return x;
  throw new Error("no inverse");
}
/**
 * Affine map A·x ⊕ C: output bit i (0 = least significant) is the parity of x AND the row
 * 0xA7 rotated left by i (the circulant matrix of the standard's algebraic description).
 */
function affine(x: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) {
    const row = ((0xa7 << i) | (0xa7 >> (8 - i))) & 0xff;
    let p = row & x;
    p ^= p >> 4;
    p ^= p >> 2;
    p ^= p >> 1;
    r |= (p & 1) << i;
  }
  return r ^ 0xd3;
}
const SM4_SBOX = Array.from({ length: 256 }, (_, x) => affine(gfInv(affine(x))));
// First row of the S-box table in GB/T 32907-2016 §6.2 (and every published copy).
const SM4_SBOX_ROW0 = [
  0xd6,
  0x90,
  0xe9,
  0xfe,
  0xcc,
  0xe1,
  0x3d,
  0xb7,
  0x16,
  0xb6,
  0x14,
  0xc2,
  0x28,
  0xfb,
  0x2c,
  0x05,
];
check(SM4_SBOX_ROW0.every((v, i) => SM4_SBOX[i] === v), "SM4 S-box row 0");
check(new Set(SM4_SBOX).size === 256, "SM4 S-box is a permutation");

const rotl = (x: number, n: number) => ((x << n) | (x >>> (32 - n))) >>> 0;
function sm4L(b: number): number {
  return (b ^ rotl(b, 2) ^ rotl(b, 10) ^ rotl(b, 18) ^ rotl(b, 24)) >>> 0;
}
/** T-tables: table k (0..3) maps a byte at position k (0 = most significant) to L(S(a)). */
function sm4TTables(): number[] {
  const out: number[] = [];
  for (let k = 0; k < 4; k++) {
    for (let a = 0; a < 256; a++) out.push(sm4L((SM4_SBOX[a] << (24 - 8 * k)) >>> 0));
  }
  return out;
}
function sm4Lk(b: number): number {
  return (b ^ rotl(b, 13) ^ rotl(b, 23)) >>> 0;
}
/** Key-schedule T'-tables: table k maps a byte at position k to L'(S(a) << 24-8k). */
function sm4TkTables(): number[] {
  const out: number[] = [];
  for (let k = 0; k < 4; k++) {
    for (let a = 0; a < 256; a++) out.push(sm4Lk((SM4_SBOX[a] << (24 - 8 * k)) >>> 0));
  }
  return out;
}
/** CK_i bytes ck_{i,j} = (4i + j)·7 mod 256. */
const SM4_CK = Array.from({ length: 32 }, (_, i) => {
  let w = 0;
  for (let j = 0; j < 4; j++) w = (w << 8) | (((4 * i + j) * 7) & 0xff);
  return w >>> 0;
});

// ---- SHA-256 constants (FIPS 180-4 §4.2.2 and §5.3.3) ----
function primes(n: number): number[] {
  const ps: number[] = [];
  for (let c = 2; ps.length < n; c++) if (ps.every((p) => c % p !== 0)) ps.push(c);
  return ps;
}
function iroot(x: bigint, k: bigint): bigint {
  let r = 1n << (BigInt(x.toString(2).length) / k + 1n);
  while (true) {
    const next = ((k - 1n) * r + x / r ** (k - 1n)) / k;
    if (next >= r) break;
    r = next;
  }
  while (r ** k > x) r--;
  while ((r + 1n) ** k <= x) r++;
  return r;
}
const SHA256_K = primes(64).map((p) => u32(iroot(BigInt(p) << 96n, 3n)));
const SHA256_H0 = primes(8).map((p) => u32(iroot(BigInt(p) << 64n, 2n)));
/** SHA-256 round constants, for the unrolled hash generator. */
export const SHA256_K_VALUES: readonly number[] = SHA256_K;
check(SHA256_K[0] === 0x428a2f98 && SHA256_K[63] === 0xc67178f2, "SHA-256 K");
check(SHA256_H0[0] === 0x6a09e667 && SHA256_H0[7] === 0x5be0cd19, "SHA-256 H0");

function emit(name: string, doc: string, type: "u32" | "u8", values: number[]): string {
  const hex = values.map((v) => "0x" + v.toString(16).padStart(type === "u8" ? 2 : 8, "0"));
  const lines: string[] = [];
  const per = type === "u8" ? 16 : 8;
  for (let i = 0; i < hex.length; i += per) {
    lines.push("  " + hex.slice(i, i + per).join(", ") + ",");
  }
  return `/** ${doc} */\nexport const ${name}: usize = memory.data<${type}>([\n${
    lines.join("\n")
  }\n]);\n`;
}

/** The generated AssemblyScript source. */
export function generate(): string {
  return [
    "// Generated by kernel-as/gen_sym_tables.ts from the standards' definitions — do not edit.",
    "// prettier-ignore",
    "",
    emit(
      "DES_SP",
      "DES S-box+P tables: 8 × 64 u32, box i at byte offset 256·i, index·4.",
      "u32",
      spTables(),
    ),
    emit("DES_PC1", "DES PC-1: [key byte j][value] → (C, D), 8 × 256 × 2 u32.", "u32", pc1Tables()),
    emit(
      "DES_PC2",
      "DES PC-2 over C‖D chunks (8,8,8,4 bits per half): [chunk n][value] → (ka, kb), 8 × 256 × 2 u32.",
      "u32",
      pc2Tables(),
    ),
    emit(
      "SM4_T",
      "SM4 T-tables: [byte position k][a] → L(S(a) << (24 − 8k)), 4 × 256 u32.",
      "u32",
      sm4TTables(),
    ),
    emit(
      "SM4_TK",
      "SM4 key-schedule T'-tables: [k][a] → L'(S(a) << (24 − 8k)), 4 × 256 u32.",
      "u32",
      sm4TkTables(),
    ),
    emit("SM4_SBOX", "SM4 S-box (GB/T 32907-2016 §6.2).", "u8", SM4_SBOX),
    emit("SM4_CK", "SM4 key-schedule constants CK0..CK31.", "u32", SM4_CK),
    emit("SHA256_K", "SHA-256 round constants K0..K63 (FIPS 180-4 §4.2.2).", "u32", SHA256_K),
    emit("SHA256_H0", "SHA-256 initial hash value (FIPS 180-4 §5.3.3).", "u32", SHA256_H0),
  ].join("\n");
}

if (import.meta.main) {
  const target = new URL("assembly/sym_tables.ts", import.meta.url);
  const text = generate();
  if (Deno.args.includes("--check")) {
    const current = await Deno.readTextFile(target);
    if (current !== text) {
      console.error("assembly/sym_tables.ts is out of date");
      Deno.exit(1);
    }
  } else {
    await Deno.writeTextFile(target, text);
  }
}
