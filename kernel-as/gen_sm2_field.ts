/**
 * Generates `assembly/sm2_field_mul.ts`: the SM2 field Montgomery multiplication, squaring,
 * addition and subtraction, fully unrolled (AssemblyScript has no macros, and the loop form
 * is several times slower). 8 little-endian 32-bit limbs, R = 2^256. The SM2 prime p ≡ -1 (mod 2^32), so -p^-1 mod 2^32
 * = 1 and each Montgomery quotient digit is the low limb itself; p's sparse form turns each
 * reduction round into four additions (see lazyReduce).
 *
 * Run: `deno run --allow-write=kernel-as kernel-as/gen_sm2_field.ts`; a test checks that the
 * committed file equals this output.
 */

/** SM2 p as 8 little-endian 32-bit limbs. */
const P = [
  0xFFFFFFFF,
  0xFFFFFFFF,
  0x00000000,
  0xFFFFFFFF,
  0xFFFFFFFF,
  0xFFFFFFFF,
  0xFFFFFFFF,
  0xFFFFFFFE,
];

/** Pushes `t = t - p if t >= p` over t0..t7 with the top carry expression `top` (u64). */
function finalSubtract(L: string[], t: string[], top: string): void {
  L.push("  let d: i64 = 0;");
  for (let j = 0; j < 8; j++) {
    const borrow = j === 0 ? "" : " + (d >> 32)";
    L.push(`  d = <i64>${t[j]} - ${P[j]}${borrow};`);
    L.push(`  const s${j} = <u64>d & M32;`);
  }
  L.push(`  d = <i64>(${top}) + (d >> 32);`);
  L.push("  if (d >= 0) {");
  for (let j = 0; j < 8; j++) L.push(`    ${t[j]} = s${j};`);
  L.push("  }");
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

/** Montgomery product: operand-scanning 8x8 into 16 limbs, then the lazy reduction. */
function mul(L: string[]): void {
  L.push("/** Montgomery product modulo the SM2 prime; result fully reduced (< p). */");
  L.push("export function fpMul(out: usize, a: usize, b: usize): void {");
  for (let j = 0; j < 8; j++) L.push(`  const a${j} = <u64>load<u32>(a, ${4 * j});`);
  for (let j = 0; j < 8; j++) L.push(`  const b${j} = <u64>load<u32>(b, ${4 * j});`);
  for (let i = 0; i < 16; i++) L.push(`  let t${i}: u64 = 0;`);
  L.push("  let c: u64 = 0;");
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < 8; j++) {
      const carry = j === 0 ? "" : " + (c >> 32)";
      const prev = i === 0 ? "" : `t${i + j} + `;
      L.push(`  c = ${prev}a${j} * b${i}${carry};`);
      L.push(`  t${i + j} = c & M32;`);
    }
    L.push(`  t${i + 8} = c >> 32;`);
  }
  lazyReduce(L);
  L.push("}");
  L.push("");
}

/** Montgomery squaring: separated operand scanning, cross products doubled, then REDC. */
function sqr(L: string[]): void {
  L.push("/** Montgomery square modulo the SM2 prime (28 cross products + 8 squares); < p. */");
  L.push("export function fpSqr(out: usize, a: usize): void {");
  for (let j = 0; j < 8; j++) L.push(`  const a${j} = <u64>load<u32>(a, ${4 * j});`);
  L.push("  let c: u64 = 0;");
  const t = Array.from({ length: 16 }, (_, i) => `t${i}`);
  for (let i = 0; i < 16; i++) L.push(`  let t${i}: u64 = 0;`);
  L.push("  // cross products a_i a_j, i < j");
  for (let i = 0; i < 7; i++) {
    for (let j = i + 1; j < 8; j++) {
      const carry = j === i + 1 ? "" : " + (c >> 32)";
      L.push(`  c = ${t[i + j]} + a${i} * a${j}${carry};`);
      L.push(`  ${t[i + j]} = c & M32;`);
    }
    L.push(`  ${t[i + 8]} = c >> 32;`);
  }
  L.push("  // double");
  for (let i = 15; i >= 1; i--) L.push(`  ${t[i]} = ((${t[i]} << 1) | (${t[i - 1]} >> 31)) & M32;`);
  L.push(`  t0 = (t0 << 1) & M32;`);
  L.push("  // add the squares a_i^2");
  for (let i = 0; i < 8; i++) {
    const carry = i === 0 ? "" : " + (c >> 32)";
    L.push(`  c = ${t[2 * i]} + a${i} * a${i}${carry};`);
    L.push(`  ${t[2 * i]} = c & M32;`);
    L.push(`  c = ${t[2 * i + 1]} + (c >> 32);`);
    L.push(`  ${t[2 * i + 1]} = c & M32;`);
  }
  lazyReduce(L);
  L.push("}");
  L.push("");
}

/** Unrolled modular addition and subtraction. */
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
  finalSubtract(L, t, "c >> 32");
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
  L.push("  if (d < 0) {");
  L.push("    // add p back (the final carry cancels the borrow)");
  L.push("    let c: u64 = 0;");
  for (let j = 0; j < 8; j++) {
    const carry = j === 0 ? "" : " + (c >> 32)";
    L.push(`    c = r${j} + ${P[j]}${carry};`);
    L.push(`    r${j} = c & M32;`);
  }
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
    "// SM2 field arithmetic in Montgomery form (R = 2^256), unrolled: product, square, add, sub.",
  );
  L.push("// `out` may alias `a` or `b`: all loads happen before the first store.");
  L.push("");
  L.push("const M32: u64 = 0xFFFFFFFF;");
  L.push("");
  mul(L);
  sqr(L);
  addSub(L);
  return L.join("\n");
}

if (import.meta.main) {
  Deno.writeTextFileSync(new URL("assembly/sm2_field_mul.ts", import.meta.url), generate());
}
