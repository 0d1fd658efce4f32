/**
 * Generates `assembly/sm2_field_mul.ts`: the SM2 field Montgomery multiplication, squaring,
 * addition and subtraction, fully unrolled (AssemblyScript has no macros, and the loop form
 * is several times slower). 8 little-endian 32-bit limbs, R = 2^256. The SM2 prime p ≡ -1 (mod 2^32), so -p^-1 mod 2^32
 * = 1 and each Montgomery quotient digit is the low limb itself; p's sparse form turns each
 * reduction round into four additions (see lazyReduce).
 *
 * The curve constants (p, n, b, G, R² mod p) come from `sm2_curve.ts`, the one definition.
 *
 * Run: `deno run --allow-write=kernel-as kernel-as/gen_sm2_field.ts`; a test checks that the
 * committed file equals this output.
 */

import { SM2_CURVE } from "./sm2_curve.ts";

/** `x` as 8 little-endian 32-bit limbs. */
function limbs(x: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((x >> BigInt(32 * i)) & 0xFFFFFFFFn));
}

/** SM2 p as 8 little-endian 32-bit limbs. */
const P = limbs(SM2_CURVE.p);

/** The curve constants the kernel needs, as little-endian limbs (from `sm2_curve.ts`). */
function constants(L: string[]): void {
  const { p, n, b, Gx, Gy } = SM2_CURVE;
  const hex = (v: number) => "0x" + v.toString(16).toUpperCase().padStart(8, "0");
  const rows: [string, string, bigint][] = [
    ["P_L", "p", p],
    ["N_L", "n, the group order", n],
    ["PM2_L", "p - 2 (the inversion exponent)", p - 2n],
    ["R2_L", "R² mod p (to Montgomery form)", (1n << 512n) % p],
    ["B_L", "b", b],
    ["GX_L", "G.x", Gx],
    ["GY_L", "G.y", Gy],
    ["ONE_L", "1", 1n],
  ];
  for (const [name, what, v] of rows) {
    L.push(`/** ${what}, little-endian 32-bit limbs. */`);
    L.push(`export const ${name}: usize = memory.data<u32>([`);
    L.push(`  ${limbs(v).map(hex).join(", ")},`);
    L.push("]);");
  }
  L.push("");
}

/** Pushes `t = t - p if t >= p` over t0..t7 with the top carry expression `top` (u64). */
function finalSubtract(L: string[], t: string[], top: string, indent = "  "): void {
  L.push(`${indent}let d: i64 = 0;`);
  for (let j = 0; j < 8; j++) {
    const borrow = j === 0 ? "" : " + (d >> 32)";
    L.push(`${indent}d = <i64>${t[j]} - ${P[j]}${borrow};`);
    L.push(`${indent}const s${j} = <u64>d & M32;`);
  }
  L.push(`${indent}d = <i64>(${top}) + (d >> 32);`);
  L.push(`${indent}if (d >= 0) {`);
  for (let j = 0; j < 8; j++) L.push(`${indent}  ${t[j]} = s${j};`);
  L.push(`${indent}}`);
}

/**
 * Montgomery reduction of the 512-bit t0..t15 (u64 locals holding 32-bit limbs), lazily:
 * p = 2^256 - 2^224 - 2^96 + 2^64 - 1, so adding m·p·2^(32i) with m = the low limb (exact,
 * p ≡ -1 mod 2^32) is +m at limbs i+2 and i+8, -m at limbs i+3 and i+7, and clears limb i
 * (its carry moves to limb i+1). Limbs are i64 with deferred carries (|limb| < 2^36),
 * normalized once at the end; then t < 2p gets one conditional subtraction.
 */
function lazyReduce(L: string[]): void {
  for (let i = 0; i < 16; i++) L.push(`  let r${i}: i64 = <i64>t${i};`);
  L.push("  let m: i64 = 0;");
  for (let i = 0; i < 8; i++) {
    L.push(`  m = r${i} & 0xFFFFFFFF;`);
    L.push(`  r${i + 1} += (r${i} - m) >> 32;`);
    L.push(`  r${i + 2} += m;`);
    L.push(`  r${i + 3} -= m;`);
    L.push(`  r${i + 7} -= m;`);
    L.push(`  r${i + 8} += m;`);
  }
  L.push("  let e: i64 = 0;");
  for (let j = 0; j < 8; j++) {
    const carry = j === 0 ? "" : " + (e >> 32)";
    L.push(`  e = r${j + 8}${carry};`);
    L.push(`  let u${j} = <u64>e & M32;`);
  }
  const u = Array.from({ length: 8 }, (_, j) => `u${j}`);
  finalSubtract(L, u, "<u64>(e >> 32)");
  for (let j = 0; j < 8; j++) L.push(`  store<u32>(out, <u32>u${j}, ${4 * j});`);
}

/**
 * Column sums of a 512-bit product as t0..t15 (u64, not normalized: each below 2^36). Every
 * 64-bit partial product is split into its low and high 32 bits, added to the sums of its
 * column and the next one: no carry chain runs through the products (an operand-scanning
 * carry chain is one add-shift-add latency per product), so they issue in parallel.
 */
function columns(
  L: string[],
  terms: (k: number) => string[][],
  doubled: (k: number) => string[][],
) {
  for (let k = 0; k < 16; k++) L.push(`  let t${k}: u64 = 0;`);
  L.push("  let q: u64 = 0;");
  for (let k = 0; k < 15; k++) {
    for (const [x, y] of doubled(k)) {
      L.push(`  q = ${x} * ${y};`);
      L.push(`  t${k} += (q & M32) << 1;`);
      L.push(`  t${k + 1} += (q >> 32) << 1;`);
    }
    for (const [x, y] of terms(k)) {
      L.push(`  q = ${x} * ${y};`);
      L.push(`  t${k} += q & M32;`);
      L.push(`  t${k + 1} += q >> 32;`);
    }
  }
}

/** Montgomery product: column sums of the 8x8 products, then the lazy reduction. */
function mul(L: string[]): void {
  L.push("/** Montgomery product modulo the SM2 prime; result fully reduced (< p). */");
  L.push("export function fpMul(out: usize, a: usize, b: usize): void {");
  for (let j = 0; j < 8; j++) L.push(`  const a${j} = <u64>load<u32>(a, ${4 * j});`);
  for (let j = 0; j < 8; j++) L.push(`  const b${j} = <u64>load<u32>(b, ${4 * j});`);
  const terms = (k: number) => {
    const r: string[][] = [];
    for (let i = Math.max(0, k - 7); i <= Math.min(7, k); i++) r.push([`a${i}`, `b${k - i}`]);
    return r;
  };
  columns(L, terms, () => []);
  lazyReduce(L);
  L.push("}");
  L.push("");
}

/** Montgomery squaring: 28 cross products counted twice and 8 squares, then REDC. */
function sqr(L: string[]): void {
  L.push("/** Montgomery square modulo the SM2 prime (28 cross products + 8 squares); < p. */");
  L.push("export function fpSqr(out: usize, a: usize): void {");
  for (let j = 0; j < 8; j++) L.push(`  const a${j} = <u64>load<u32>(a, ${4 * j});`);
  const squares = (k: number) => (k % 2 === 0 ? [[`a${k / 2}`, `a${k / 2}`]] : []);
  const cross = (k: number) => {
    const r: string[][] = [];
    for (let i = Math.max(0, k - 7); 2 * i < k; i++) r.push([`a${i}`, `a${k - i}`]);
    return r;
  };
  columns(L, squares, cross);
  lazyReduce(L);
  L.push("}");
  L.push("");
}

/** 2^256 - p = 2^224 + 2^96 - 2^64 + 1 as limb offsets: +1 at 0, -1 at 2, +1 at 3 and 7. */
const FOLD: [number, number][] = [[0, 1], [2, -1], [3, 1], [7, 1]];

/** Pushes r0..r7 += (sign) flag·(2^256 - p) with its carry chain in `f` (declared by the caller). */
function fold(L: string[], sign: 1 | -1, flag: string, indent = "  "): void {
  for (let j = 0; j < 8; j++) {
    const term = FOLD.find(([at]) => at === j);
    const add = term ? ` ${term[1] * sign > 0 ? "+" : "-"} ${flag}` : "";
    const carry = j === 0 ? "" : " + (f >> 32)";
    L.push(`${indent}f = <i64>r${j}${add}${carry};`);
    L.push(`${indent}r${j} = <u64>f & M32;`);
  }
}

/**
 * Unrolled modular addition, subtraction and small multiple (k·a in one pass), branch-free on
 * the carry (a data-dependent branch mispredicts half the time): a carry out of 2^256 is folded
 * back as 2^256 - p (sparse), a borrow as -(2^256 - p). The one case left, a carry-free result
 * in [p, 2^256), has probability about 2^-32 and a well-predicted branch.
 */
function addSub(L: string[]): void {
  const t = Array.from({ length: 8 }, (_, i) => `r${i}`);
  L.push("/** out = a + b mod p (a, b < p). */");
  L.push("export function fpAdd(out: usize, a: usize, b: usize): void {");
  L.push("  let c: u64 = 0;");
  for (let j = 0; j < 8; j++) {
    const carry = j === 0 ? "" : " + (c >> 32)";
    L.push(`  c = <u64>load<u32>(a, ${4 * j}) + <u64>load<u32>(b, ${4 * j})${carry};`);
    L.push(`  let r${j} = c & M32;`);
  }
  // a + b - 2^256 + (2^256 - p) = a + b - p < p: no second carry.
  L.push("  const k = <i64>(c >> 32);");
  L.push("  let f: i64 = 0;");
  fold(L, 1, "k");
  L.push("  if (r7 >= 0xFFFFFFFE) {");
  finalSubtract(L, t, "0", "    ");
  L.push("  }");
  for (let j = 0; j < 8; j++) L.push(`  store<u32>(out, <u32>r${j}, ${4 * j});`);
  L.push("}");
  L.push("");
  L.push("/** out = a - b mod p (a, b < p). */");
  L.push("export function fpSub(out: usize, a: usize, b: usize): void {");
  L.push("  let d: i64 = 0;");
  for (let j = 0; j < 8; j++) {
    const borrow = j === 0 ? "" : " + (d >> 32)";
    L.push(`  d = <i64>load<u32>(a, ${4 * j}) - <i64>load<u32>(b, ${4 * j})${borrow};`);
    L.push(`  let r${j} = <u64>d & M32;`);
  }
  // a - b + 2^256 - (2^256 - p) = a - b + p, in [0, p) when a < b.
  L.push("  const k = <i64>(0 - (d >> 32));");
  L.push("  let f: i64 = 0;");
  fold(L, -1, "k");
  for (let j = 0; j < 8; j++) L.push(`  store<u32>(out, <u32>r${j}, ${4 * j});`);
  L.push("}");
  L.push("");
  L.push(
    "/** out = k·a mod p for a small k (2..8, a < p): one pass where k - 1 additions were. */",
  );
  L.push("export function fpMulSmall(out: usize, a: usize, k: u64): void {");
  L.push("  let c: u64 = 0;");
  for (let j = 0; j < 8; j++) {
    const carry = j === 0 ? "" : " + (c >> 32)";
    L.push(`  c = <u64>load<u32>(a, ${4 * j}) * k${carry};`);
    L.push(`  let r${j} = c & M32;`);
  }
  // k·a = h·2^256 + low ≡ low + h·(2^256 - p); that sum passes 2^256 only rarely (fold once
  // more), and what is left is below p + 2^228: at most one subtraction of p.
  L.push("  const h = <i64>(c >> 32);");
  L.push("  let f: i64 = 0;");
  fold(L, 1, "h");
  L.push("  if ((f >> 32) != 0) {");
  fold(L, 1, "1", "    ");
  L.push("  }");
  L.push("  if (r7 >= 0xFFFFFFFE) {");
  finalSubtract(L, t, "0", "    ");
  L.push("  }");
  for (let j = 0; j < 8; j++) L.push(`  store<u32>(out, <u32>r${j}, ${4 * j});`);
  L.push("}");
  L.push("");
}

/** The generated AssemblyScript source. */
export function generate(): string {
  const L: string[] = [];
  L.push("// Generated by kernel-as/gen_sm2_field.ts — do not edit; change the generator.");
  L.push(
    "// SM2 field arithmetic in Montgomery form (R = 2^256), unrolled: product, square, add, sub, k·a.",
  );
  L.push("// `out` may alias `a` or `b`: all loads happen before the first store.");
  L.push("");
  L.push("const M32: u64 = 0xFFFFFFFF;");
  L.push("");
  constants(L);
  mul(L);
  sqr(L);
  addSub(L);
  return L.join("\n");
}

if (import.meta.main) {
  Deno.writeTextFileSync(new URL("assembly/sm2_field_mul.ts", import.meta.url), generate());
}
