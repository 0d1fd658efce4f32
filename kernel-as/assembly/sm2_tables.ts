// SM2 fixed-base tables (see sm2.ts for the family): G's table, built once on first use, and
// per-key tables for recurring public keys (issuer keys) in KEY_SLOTS slots with a sightings
// count per key hash; windowsMulAdd adds k·B for a scalar with either. Shapes and addresses
// are in sm2_layout.ts.

import {
  ACC,
  ACC2,
  C_B,
  C_GX,
  C_GY,
  C_ONE,
  F,
  G_ENTRIES,
  G_WINDOWS,
  GTAB,
  KEY_BASE,
  KEY_SEEN,
  KEY_SEEN_BUCKETS,
  KEY_SLOT_BYTES,
  KEY_SLOTS,
  PT,
  PX,
  PY,
  T,
  W_BITS,
  WORK,
  ZERO_F,
} from "./sm2_layout";
import { fpMul, fpSqr, fpSub, B_L, GX_L, GY_L, ONE_L } from "./sm2_field_mul";
import { copyF, fpInv, pointAdd, pointAddAffine, pointDouble, toMont } from "./sm2_point";

/**
 * Sightings of a key before its table is built: a build (45,056 points, ~50 ms) costs about
 * as much as 300 verifications with a new key, so only keys that keep coming back (issuer
 * keys, one per card certificate) get one.
 */
export const SM2_KEY_TABLE_AFTER: u32 = 64;

let tableReady = false;

// ---- fixed-base table for G ----

/**
 * Writes dst[w][j-1] = j·(2E)^w·B (affine, Montgomery form) for w < windows, j = 1..E, where B
 * is the Jacobian point in ACC2 (overwritten). Points are made affine with one inversion per
 * group of windows (Montgomery's batch trick over up to G_ENTRIES points in WORK).
 */
function buildWindows(dst: usize, windows: usize, E: usize): void {
  const base = ACC2;
  const pre = WORK + G_ENTRIES * PT; // prefix products of the Z values
  const perGroup = G_ENTRIES / E;
  let w: usize = 0;
  while (w < windows) {
    const g = min(perGroup, windows - w);
    for (let gi: usize = 0; gi < g; gi++) {
      const off = WORK + gi * E * PT;
      memory.copy(off, base, PT);
      pointDouble(off + PT, base);
      for (let j: usize = 2; j < E; j++) pointAdd(off + j * PT, off + (j - 1) * PT, base);
      pointDouble(base, off + (E - 1) * PT); // next base = 2E·base
    }
    const cnt = g * E;
    // batch inversion of the Z values (none is zero: multiples of a point of order n, j < n)
    copyF(pre, WORK + 2 * F);
    for (let j: usize = 1; j < cnt; j++) fpMul(pre + j * F, pre + (j - 1) * F, WORK + j * PT + 2 * F);
    const inv = T(13);
    fpInv(inv, pre + (cnt - 1) * F);
    for (let j: i32 = <i32>cnt - 1; j >= 0; j--) {
      const pj = WORK + <usize>j * PT;
      const zi = T(12);
      if (j > 0) {
        fpMul(zi, inv, pre + <usize>(j - 1) * F); // 1/Z_j
        fpMul(inv, inv, pj + 2 * F); // 1/(Z_0..Z_{j-1})
      } else {
        copyF(zi, inv);
      }
      const zi2 = T(11);
      fpSqr(zi2, zi);
      const out = dst + (w * E + <usize>j) * 64;
      fpMul(out, pj, zi2);
      fpMul(zi2, zi2, zi);
      fpMul(out + F, pj + F, zi2);
    }
    w += g;
  }
}

/** Builds GTAB[w][j-1] = j·2^(W_BITS·w)·G (affine, Montgomery form), j = 1..G_ENTRIES. */
function buildTable(): void {
  toMont(C_ONE, ONE_L);
  toMont(C_B, B_L);
  toMont(C_GX, GX_L);
  toMont(C_GY, GY_L);
  memory.fill(ZERO_F, 0, F);
  copyF(ACC2, C_GX);
  copyF(ACC2 + F, C_GY);
  copyF(ACC2 + 2 * F, C_ONE);
  buildWindows(GTAB, G_WINDOWS, G_ENTRIES);
  tableReady = true;
}

/** FNV-1a of a 64-byte key. */
function keyHash(pubPtr: usize): u32 {
  let h: u32 = 0x811C9DC5;
  for (let i: usize = 0; i < 64; i++) h = (h ^ <u32>load<u8>(pubPtr + i)) * 0x01000193;
  return h;
}

/**
 * The per-key table of the key at pubPtr (already loaded into PX/PY and checked), or 0. A key
 * gets a table from its SM2_KEY_TABLE_AFTER-th sighting on, in a free slot or in place of the
 * least-used one when it has been seen more often than that one has been used. An evicted
 * key's sightings restart from zero, so two keys cannot evict each other in turn (each build
 * costs ~50 ms).
 */
export function keyTable(pubPtr: usize): usize {
  let victim: usize = 0;
  let victimUses: u32 = 0xFFFF_FFFF;
  for (let i: u32 = 0; i < KEY_SLOTS; i++) {
    const slot = KEY_BASE + <usize>i * KEY_SLOT_BYTES;
    if (load<u32>(slot) != 1) {
      if (victimUses != 0) {
        victim = slot;
        victimUses = 0;
      }
      continue;
    }
    if (memory.compare(slot + 64, pubPtr, 64) == 0) {
      store<u32>(slot, load<u32>(slot, 4) + 1, 4);
      return slot + 128;
    }
    const uses = load<u32>(slot, 4);
    if (uses < victimUses) {
      victim = slot;
      victimUses = uses;
    }
  }
  const h = keyHash(pubPtr);
  const bucket = KEY_SEEN + (<usize>(h % KEY_SEEN_BUCKETS) << 3);
  if (load<u32>(bucket) != h) {
    store<u32>(bucket, h);
    store<u32>(bucket, 1, 4);
    return 0;
  }
  const seen = load<u32>(bucket, 4) + 1;
  store<u32>(bucket, seen, 4);
  if (seen < SM2_KEY_TABLE_AFTER || victimUses >= seen) return 0;
  if (load<u32>(victim) == 1) {
    const vh = load<u32>(victim, 8);
    const vb = KEY_SEEN + (<usize>(vh % KEY_SEEN_BUCKETS) << 3);
    if (load<u32>(vb) == vh) store<u32>(vb, 0, 4);
  }
  store<u32>(victim, 0);
  copyF(ACC2, PX);
  copyF(ACC2 + F, PY);
  copyF(ACC2 + 2 * F, C_ONE);
  buildWindows(victim + 128, G_WINDOWS, G_ENTRIES);
  memory.copy(victim + 64, pubPtr, 64);
  store<u32>(victim, seen, 4);
  store<u32>(victim, h, 8);
  store<u32>(victim, 1);
  return victim + 128;
}

/** Drops the per-key tables and sightings (tests measure both paths with it). */
export function sm2KeyCacheClear(): void {
  for (let i: u32 = 0; i < KEY_SLOTS; i++) store<u32>(KEY_BASE + <usize>i * KEY_SLOT_BYTES, 0);
  memory.fill(KEY_SEEN, 0, <usize>KEY_SEEN_BUCKETS * 8);
}

/** Builds the fixed-base table now (it is otherwise built on the first verification). */
export function sm2Init(): void {
  if (!tableReady) buildTable();
}

// ---- k·B with a table ----

/** Bits W_BITS·w .. W_BITS·w + W_BITS - 1 of an 8-limb scalar (zero above bit 255). */
// @ts-ignore: decorator
@inline function windowBits(k: usize, w: usize): u32 {
  const b = <u32>w * W_BITS;
  if (b >= 256) return 0;
  const li = <usize>(b >>> 5);
  let v = <u64>load<u32>(k + (li << 2));
  if (li < 7) v |= <u64>load<u32>(k + (li << 2) + 4) << 32;
  return <u32>(v >>> (b & 31)) & ((1 << W_BITS) - 1);
}

/**
 * ACC += k·B for the scalar at `k` with a table of B (GTAB, or a key's): signed W_BITS-bit
 * windows (Booth), one affine addition per non-zero window.
 */
export function windowsMulAdd(tab: usize, k: usize): void {
  let carry: u32 = 0;
  const ny = T(14);
  const half = <u32>G_ENTRIES;
  for (let w: usize = 0; w < G_WINDOWS; w++) {
    const b = windowBits(k, w) + carry;
    let d = <i32>b;
    if (b > half) {
      d -= <i32>(half << 1);
      carry = 1;
    } else {
      carry = 0;
    }
    if (d > 0) {
      const e = tab + (w * G_ENTRIES + <usize>(d - 1)) * 64;
      pointAddAffine(ACC, e, e + F);
    } else if (d < 0) {
      const e = tab + (w * G_ENTRIES + <usize>(-d - 1)) * 64;
      fpSub(ny, ZERO_F, e + F);
      pointAddAffine(ACC, e, ny);
    }
  }
}
