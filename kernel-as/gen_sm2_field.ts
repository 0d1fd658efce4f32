/**
 * Generates `assembly/sm2_field_mul.ts`: the SM2 field Montgomery multiplication, squaring,
 * addition and subtraction fully unrolled (AssemblyScript has no macros, and the loop form is several times slower).
 * CIOS (Koç, Acar, Kaliski 1996) over 8 little-endian 32-bit limbs with R = 2^256; the
 * SM2 prime p ≡ -1 (mod 2^32), so -p^-1 mod 2^32 = 1 and the quotient digit is t0 itself.
 * Limbs of p that are 0 or 2^32-1 are folded into additions and shifts.
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

/** m * p_j as an AssemblyScript u64 expression (m < 2^32). */
function mulP(j: number): string {
  if (P[j] === 0) return "";
  if (P[j] === 0xFFFFFFFF) return " + ((m << 32) - m)";
  return ` + m * ${P[j]}`;
}

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

/** Montgomery squaring: separated operand scanning, cross products doubled, then REDC. */
function sqr(L: string[]): void {
  L.push("/** Montgomery square modulo the SM2 prime (28 cross products + 8 squares); < p. */");
  L.push("export function fpSqr(out: usize, a: usize): void {");
  for (let j = 0; j < 8; j++) L.push(`  const a${j} = <u64>load<u32>(a, ${4 * j});`);
  L.push("  let c: u64 = 0;");
  L.push("  let m: u64 = 0;");
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
  L.push("  // REDC: 8 rounds of t += m·p·2^(32i), m = t_i (p ≡ -1 mod 2^32)");
  L.push("  let top: u64 = 0;");
  for (let i = 0; i < 8; i++) {
    L.push(`  m = ${t[i]};`);
    L.push(`  c = ${t[i]}${mulP(0)};`);
    for (let j = 1; j < 8; j++) {
      L.push(`  c = ${t[i + j]}${mulP(j)} + (c >> 32);`);
      L.push(`  ${t[i + j]} = c & M32;`);
    }
    L.push(`  c = ${t[i + 8]} + (c >> 32) + top;`);
    L.push(`  ${t[i + 8]} = c & M32;`);
    L.push("  top = c >> 32;");
  }
  const r = t.slice(8);
  finalSubtract(L, r, "top");
  for (let j = 0; j < 8; j++) L.push(`  store<u32>(out, <u32>${r[j]}, ${4 * j});`);
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
  L.push("// SM2 field Montgomery product out = a*b*2^-256 mod p (a, b < p), unrolled CIOS.");
  L.push("// `out` may alias `a` or `b`: all loads happen before the first store.");
  L.push("");
  L.push("const M32: u64 = 0xFFFFFFFF;");
  L.push("");
  L.push("/** Montgomery product modulo the SM2 prime; result fully reduced (< p). */");
  L.push("export function fpMul(out: usize, a: usize, b: usize): void {");
  for (let j = 0; j < 8; j++) L.push(`  const a${j} = <u64>load<u32>(a, ${4 * j});`);
  for (let j = 0; j < 8; j++) L.push(`  const b${j} = <u64>load<u32>(b, ${4 * j});`);
  L.push("  let t0: u64 = 0, t1: u64 = 0, t2: u64 = 0, t3: u64 = 0;");
  L.push("  let t4: u64 = 0, t5: u64 = 0, t6: u64 = 0, t7: u64 = 0, t8: u64 = 0;");
  L.push("  let c: u64 = 0;");
  L.push("  let m: u64 = 0;");
  for (let i = 0; i < 8; i++) {
    L.push(`  // round ${i}: t += a * b${i}`);
    for (let j = 0; j < 8; j++) {
      const carry = j === 0 ? "" : " + (c >> 32)";
      L.push(`  c = t${j} + a${j} * b${i}${carry};`);
      L.push(`  t${j} = c & M32;`);
    }
    L.push("  t8 += c >> 32;");
    L.push("  // t = (t + m*p) / 2^32 with m = t0");
    L.push("  m = t0;");
    L.push(`  c = t0${mulP(0)};`);
    for (let j = 1; j < 8; j++) {
      L.push(`  c = t${j}${mulP(j)} + (c >> 32);`);
      L.push(`  t${j - 1} = c & M32;`);
    }
    L.push("  c = t8 + (c >> 32);");
    L.push("  t7 = c & M32;");
    L.push("  t8 = c >> 32;");
  }
  L.push("  // t < 2p: s = t - p; keep s unless that borrows past t8.");
  finalSubtract(L, ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"], "t8");
  for (let j = 0; j < 8; j++) L.push(`  store<u32>(out, <u32>t${j}, ${4 * j});`);
  L.push("}");
  L.push("");
  sqr(L);
  addSub(L);
  return L.join("\n");
}

if (import.meta.main) {
  Deno.writeTextFileSync(new URL("assembly/sm2_field_mul.ts", import.meta.url), generate());
}
