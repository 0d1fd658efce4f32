// Two independent DES/3DES blocks in one instruction stream. One block's rounds form a long
// dependency chain (load → xor → rotate → mask → load); interleaving two blocks (ECB pairs,
// the CBC chains of two different records in a batch MAC) lets the CPU overlap them.
// Rounds are unrolled so every subkey load has a constant offset.
//
//   desCryptX2(schedA, schedB, io, decrypt)
//     io: 16 bytes, block A then block B (big-endian bytes); results replace them.
//     Both schedules must have the same number of keys (1 or 3).

import { DES_SP } from "./sym_tables";
import { desFp, desIp } from "./des";

// @ts-ignore: decorator
@inline function f(r: u32, k0: u32, k1: u32): u32 {
  const x = rotl<u32>(r, 7);
  const u = (x ^ k0) & 0xFCFCFCFC;
  const v = (rotr<u32>(x, 4) ^ k1) & 0xFCFCFCFC;
  // XOR as a balanced tree: the round's critical path is 3 XORs after the loads, not 7.
  return ((load<u32>(u & 0xFF, DES_SP) ^
    load<u32>((u >> 8) & 0xFF, DES_SP + 6 * 256)) ^
    (load<u32>((u >> 16) & 0xFF, DES_SP + 4 * 256) ^
      load<u32>(u >> 24, DES_SP + 2 * 256))) ^
    ((load<u32>(v & 0xFF, DES_SP + 7 * 256) ^
      load<u32>((v >> 8) & 0xFF, DES_SP + 5 * 256)) ^
      (load<u32>((v >> 16) & 0xFF, DES_SP + 3 * 256) ^
        load<u32>(v >> 24, DES_SP + 1 * 256)));
}

/** Two blocks at `io` (A then B) through their schedules, in place. */
export function desCryptX2(schedA: usize, schedB: usize, io: usize, decrypt: bool): void {
  const xa = desIp(bswap<u32>(load<u32>(io)), bswap<u32>(load<u32>(io, 4)));
  const xb = desIp(bswap<u32>(load<u32>(io, 8)), bswap<u32>(load<u32>(io, 12)));
  let la = <u32>(xa >> 32), ra = <u32>xa;
  let lb = <u32>(xb >> 32), rb = <u32>xb;
  const stages: i32 = load<u32>(schedA) == 1 ? 1 : 3;
  for (let s: i32 = 0; s < stages; s++) {
    // EDE: encrypt runs K1 e, K2 d, K3 e; decrypt runs K3 d, K2 e, K1 d.
    const keyIndex: i32 = decrypt ? stages - 1 - s : s;
    const off: usize = 16 + <usize>keyIndex * 128;
    const ka = schedA + off, kb = schedB + off;
    const d = decrypt != ((s & 1) == 1);
    if (!d) {
    la ^= f(ra, load<u32>(ka, 0), load<u32>(ka, 4)); lb ^= f(rb, load<u32>(kb, 0), load<u32>(kb, 4));
    ra ^= f(la, load<u32>(ka, 8), load<u32>(ka, 12)); rb ^= f(lb, load<u32>(kb, 8), load<u32>(kb, 12));
    la ^= f(ra, load<u32>(ka, 16), load<u32>(ka, 20)); lb ^= f(rb, load<u32>(kb, 16), load<u32>(kb, 20));
    ra ^= f(la, load<u32>(ka, 24), load<u32>(ka, 28)); rb ^= f(lb, load<u32>(kb, 24), load<u32>(kb, 28));
    la ^= f(ra, load<u32>(ka, 32), load<u32>(ka, 36)); lb ^= f(rb, load<u32>(kb, 32), load<u32>(kb, 36));
    ra ^= f(la, load<u32>(ka, 40), load<u32>(ka, 44)); rb ^= f(lb, load<u32>(kb, 40), load<u32>(kb, 44));
    la ^= f(ra, load<u32>(ka, 48), load<u32>(ka, 52)); lb ^= f(rb, load<u32>(kb, 48), load<u32>(kb, 52));
    ra ^= f(la, load<u32>(ka, 56), load<u32>(ka, 60)); rb ^= f(lb, load<u32>(kb, 56), load<u32>(kb, 60));
    la ^= f(ra, load<u32>(ka, 64), load<u32>(ka, 68)); lb ^= f(rb, load<u32>(kb, 64), load<u32>(kb, 68));
    ra ^= f(la, load<u32>(ka, 72), load<u32>(ka, 76)); rb ^= f(lb, load<u32>(kb, 72), load<u32>(kb, 76));
    la ^= f(ra, load<u32>(ka, 80), load<u32>(ka, 84)); lb ^= f(rb, load<u32>(kb, 80), load<u32>(kb, 84));
    ra ^= f(la, load<u32>(ka, 88), load<u32>(ka, 92)); rb ^= f(lb, load<u32>(kb, 88), load<u32>(kb, 92));
    la ^= f(ra, load<u32>(ka, 96), load<u32>(ka, 100)); lb ^= f(rb, load<u32>(kb, 96), load<u32>(kb, 100));
    ra ^= f(la, load<u32>(ka, 104), load<u32>(ka, 108)); rb ^= f(lb, load<u32>(kb, 104), load<u32>(kb, 108));
    la ^= f(ra, load<u32>(ka, 112), load<u32>(ka, 116)); lb ^= f(rb, load<u32>(kb, 112), load<u32>(kb, 116));
    ra ^= f(la, load<u32>(ka, 120), load<u32>(ka, 124)); rb ^= f(lb, load<u32>(kb, 120), load<u32>(kb, 124));
    } else {
    la ^= f(ra, load<u32>(ka, 120), load<u32>(ka, 124)); lb ^= f(rb, load<u32>(kb, 120), load<u32>(kb, 124));
    ra ^= f(la, load<u32>(ka, 112), load<u32>(ka, 116)); rb ^= f(lb, load<u32>(kb, 112), load<u32>(kb, 116));
    la ^= f(ra, load<u32>(ka, 104), load<u32>(ka, 108)); lb ^= f(rb, load<u32>(kb, 104), load<u32>(kb, 108));
    ra ^= f(la, load<u32>(ka, 96), load<u32>(ka, 100)); rb ^= f(lb, load<u32>(kb, 96), load<u32>(kb, 100));
    la ^= f(ra, load<u32>(ka, 88), load<u32>(ka, 92)); lb ^= f(rb, load<u32>(kb, 88), load<u32>(kb, 92));
    ra ^= f(la, load<u32>(ka, 80), load<u32>(ka, 84)); rb ^= f(lb, load<u32>(kb, 80), load<u32>(kb, 84));
    la ^= f(ra, load<u32>(ka, 72), load<u32>(ka, 76)); lb ^= f(rb, load<u32>(kb, 72), load<u32>(kb, 76));
    ra ^= f(la, load<u32>(ka, 64), load<u32>(ka, 68)); rb ^= f(lb, load<u32>(kb, 64), load<u32>(kb, 68));
    la ^= f(ra, load<u32>(ka, 56), load<u32>(ka, 60)); lb ^= f(rb, load<u32>(kb, 56), load<u32>(kb, 60));
    ra ^= f(la, load<u32>(ka, 48), load<u32>(ka, 52)); rb ^= f(lb, load<u32>(kb, 48), load<u32>(kb, 52));
    la ^= f(ra, load<u32>(ka, 40), load<u32>(ka, 44)); lb ^= f(rb, load<u32>(kb, 40), load<u32>(kb, 44));
    ra ^= f(la, load<u32>(ka, 32), load<u32>(ka, 36)); rb ^= f(lb, load<u32>(kb, 32), load<u32>(kb, 36));
    la ^= f(ra, load<u32>(ka, 24), load<u32>(ka, 28)); lb ^= f(rb, load<u32>(kb, 24), load<u32>(kb, 28));
    ra ^= f(la, load<u32>(ka, 16), load<u32>(ka, 20)); rb ^= f(lb, load<u32>(kb, 16), load<u32>(kb, 20));
    la ^= f(ra, load<u32>(ka, 8), load<u32>(ka, 12)); lb ^= f(rb, load<u32>(kb, 8), load<u32>(kb, 12));
    ra ^= f(la, load<u32>(ka, 0), load<u32>(ka, 4)); rb ^= f(lb, load<u32>(kb, 0), load<u32>(kb, 4));
    }
    let t = la; la = ra; ra = t;
    t = lb; lb = rb; rb = t;
  }
  store<u64>(io, bswap<u64>(desFp(la, ra)));
  store<u64>(io + 8, bswap<u64>(desFp(lb, rb)));
}

/**
 * Four blocks at `io` (32 bytes, A B C D) through four schedules with the same number of keys,
 * in place: the batch MACs' step, where each record's CBC chain is serial and only independent
 * records can overlap.
 */
export function desCryptX4(
  sa: usize, sb: usize, sc: usize, sd: usize, io: usize, decrypt: bool,
): void {
  const xa = desIp(bswap<u32>(load<u32>(io)), bswap<u32>(load<u32>(io, 4)));
  const xb = desIp(bswap<u32>(load<u32>(io, 8)), bswap<u32>(load<u32>(io, 12)));
  const xc = desIp(bswap<u32>(load<u32>(io, 16)), bswap<u32>(load<u32>(io, 20)));
  const xd = desIp(bswap<u32>(load<u32>(io, 24)), bswap<u32>(load<u32>(io, 28)));
  let la = <u32>(xa >> 32), ra = <u32>xa, lb = <u32>(xb >> 32), rb = <u32>xb;
  let lc = <u32>(xc >> 32), rc = <u32>xc, ld = <u32>(xd >> 32), rd = <u32>xd;
  const stages: i32 = load<u32>(sa) == 1 ? 1 : 3;
  for (let s: i32 = 0; s < stages; s++) {
    const keyIndex: i32 = decrypt ? stages - 1 - s : s;
    const off: usize = 16 + <usize>keyIndex * 128;
    const ka = sa + off, kb = sb + off, kc = sc + off, kd = sd + off;
    if (decrypt == ((s & 1) == 1)) {
      la ^= f(ra, load<u32>(ka, 0), load<u32>(ka, 4)); lb ^= f(rb, load<u32>(kb, 0), load<u32>(kb, 4)); lc ^= f(rc, load<u32>(kc, 0), load<u32>(kc, 4)); ld ^= f(rd, load<u32>(kd, 0), load<u32>(kd, 4));
      ra ^= f(la, load<u32>(ka, 8), load<u32>(ka, 12)); rb ^= f(lb, load<u32>(kb, 8), load<u32>(kb, 12)); rc ^= f(lc, load<u32>(kc, 8), load<u32>(kc, 12)); rd ^= f(ld, load<u32>(kd, 8), load<u32>(kd, 12));
      la ^= f(ra, load<u32>(ka, 16), load<u32>(ka, 20)); lb ^= f(rb, load<u32>(kb, 16), load<u32>(kb, 20)); lc ^= f(rc, load<u32>(kc, 16), load<u32>(kc, 20)); ld ^= f(rd, load<u32>(kd, 16), load<u32>(kd, 20));
      ra ^= f(la, load<u32>(ka, 24), load<u32>(ka, 28)); rb ^= f(lb, load<u32>(kb, 24), load<u32>(kb, 28)); rc ^= f(lc, load<u32>(kc, 24), load<u32>(kc, 28)); rd ^= f(ld, load<u32>(kd, 24), load<u32>(kd, 28));
      la ^= f(ra, load<u32>(ka, 32), load<u32>(ka, 36)); lb ^= f(rb, load<u32>(kb, 32), load<u32>(kb, 36)); lc ^= f(rc, load<u32>(kc, 32), load<u32>(kc, 36)); ld ^= f(rd, load<u32>(kd, 32), load<u32>(kd, 36));
      ra ^= f(la, load<u32>(ka, 40), load<u32>(ka, 44)); rb ^= f(lb, load<u32>(kb, 40), load<u32>(kb, 44)); rc ^= f(lc, load<u32>(kc, 40), load<u32>(kc, 44)); rd ^= f(ld, load<u32>(kd, 40), load<u32>(kd, 44));
      la ^= f(ra, load<u32>(ka, 48), load<u32>(ka, 52)); lb ^= f(rb, load<u32>(kb, 48), load<u32>(kb, 52)); lc ^= f(rc, load<u32>(kc, 48), load<u32>(kc, 52)); ld ^= f(rd, load<u32>(kd, 48), load<u32>(kd, 52));
      ra ^= f(la, load<u32>(ka, 56), load<u32>(ka, 60)); rb ^= f(lb, load<u32>(kb, 56), load<u32>(kb, 60)); rc ^= f(lc, load<u32>(kc, 56), load<u32>(kc, 60)); rd ^= f(ld, load<u32>(kd, 56), load<u32>(kd, 60));
      la ^= f(ra, load<u32>(ka, 64), load<u32>(ka, 68)); lb ^= f(rb, load<u32>(kb, 64), load<u32>(kb, 68)); lc ^= f(rc, load<u32>(kc, 64), load<u32>(kc, 68)); ld ^= f(rd, load<u32>(kd, 64), load<u32>(kd, 68));
      ra ^= f(la, load<u32>(ka, 72), load<u32>(ka, 76)); rb ^= f(lb, load<u32>(kb, 72), load<u32>(kb, 76)); rc ^= f(lc, load<u32>(kc, 72), load<u32>(kc, 76)); rd ^= f(ld, load<u32>(kd, 72), load<u32>(kd, 76));
      la ^= f(ra, load<u32>(ka, 80), load<u32>(ka, 84)); lb ^= f(rb, load<u32>(kb, 80), load<u32>(kb, 84)); lc ^= f(rc, load<u32>(kc, 80), load<u32>(kc, 84)); ld ^= f(rd, load<u32>(kd, 80), load<u32>(kd, 84));
      ra ^= f(la, load<u32>(ka, 88), load<u32>(ka, 92)); rb ^= f(lb, load<u32>(kb, 88), load<u32>(kb, 92)); rc ^= f(lc, load<u32>(kc, 88), load<u32>(kc, 92)); rd ^= f(ld, load<u32>(kd, 88), load<u32>(kd, 92));
      la ^= f(ra, load<u32>(ka, 96), load<u32>(ka, 100)); lb ^= f(rb, load<u32>(kb, 96), load<u32>(kb, 100)); lc ^= f(rc, load<u32>(kc, 96), load<u32>(kc, 100)); ld ^= f(rd, load<u32>(kd, 96), load<u32>(kd, 100));
      ra ^= f(la, load<u32>(ka, 104), load<u32>(ka, 108)); rb ^= f(lb, load<u32>(kb, 104), load<u32>(kb, 108)); rc ^= f(lc, load<u32>(kc, 104), load<u32>(kc, 108)); rd ^= f(ld, load<u32>(kd, 104), load<u32>(kd, 108));
      la ^= f(ra, load<u32>(ka, 112), load<u32>(ka, 116)); lb ^= f(rb, load<u32>(kb, 112), load<u32>(kb, 116)); lc ^= f(rc, load<u32>(kc, 112), load<u32>(kc, 116)); ld ^= f(rd, load<u32>(kd, 112), load<u32>(kd, 116));
      ra ^= f(la, load<u32>(ka, 120), load<u32>(ka, 124)); rb ^= f(lb, load<u32>(kb, 120), load<u32>(kb, 124)); rc ^= f(lc, load<u32>(kc, 120), load<u32>(kc, 124)); rd ^= f(ld, load<u32>(kd, 120), load<u32>(kd, 124));
    } else {
      la ^= f(ra, load<u32>(ka, 120), load<u32>(ka, 124)); lb ^= f(rb, load<u32>(kb, 120), load<u32>(kb, 124)); lc ^= f(rc, load<u32>(kc, 120), load<u32>(kc, 124)); ld ^= f(rd, load<u32>(kd, 120), load<u32>(kd, 124));
      ra ^= f(la, load<u32>(ka, 112), load<u32>(ka, 116)); rb ^= f(lb, load<u32>(kb, 112), load<u32>(kb, 116)); rc ^= f(lc, load<u32>(kc, 112), load<u32>(kc, 116)); rd ^= f(ld, load<u32>(kd, 112), load<u32>(kd, 116));
      la ^= f(ra, load<u32>(ka, 104), load<u32>(ka, 108)); lb ^= f(rb, load<u32>(kb, 104), load<u32>(kb, 108)); lc ^= f(rc, load<u32>(kc, 104), load<u32>(kc, 108)); ld ^= f(rd, load<u32>(kd, 104), load<u32>(kd, 108));
      ra ^= f(la, load<u32>(ka, 96), load<u32>(ka, 100)); rb ^= f(lb, load<u32>(kb, 96), load<u32>(kb, 100)); rc ^= f(lc, load<u32>(kc, 96), load<u32>(kc, 100)); rd ^= f(ld, load<u32>(kd, 96), load<u32>(kd, 100));
      la ^= f(ra, load<u32>(ka, 88), load<u32>(ka, 92)); lb ^= f(rb, load<u32>(kb, 88), load<u32>(kb, 92)); lc ^= f(rc, load<u32>(kc, 88), load<u32>(kc, 92)); ld ^= f(rd, load<u32>(kd, 88), load<u32>(kd, 92));
      ra ^= f(la, load<u32>(ka, 80), load<u32>(ka, 84)); rb ^= f(lb, load<u32>(kb, 80), load<u32>(kb, 84)); rc ^= f(lc, load<u32>(kc, 80), load<u32>(kc, 84)); rd ^= f(ld, load<u32>(kd, 80), load<u32>(kd, 84));
      la ^= f(ra, load<u32>(ka, 72), load<u32>(ka, 76)); lb ^= f(rb, load<u32>(kb, 72), load<u32>(kb, 76)); lc ^= f(rc, load<u32>(kc, 72), load<u32>(kc, 76)); ld ^= f(rd, load<u32>(kd, 72), load<u32>(kd, 76));
      ra ^= f(la, load<u32>(ka, 64), load<u32>(ka, 68)); rb ^= f(lb, load<u32>(kb, 64), load<u32>(kb, 68)); rc ^= f(lc, load<u32>(kc, 64), load<u32>(kc, 68)); rd ^= f(ld, load<u32>(kd, 64), load<u32>(kd, 68));
      la ^= f(ra, load<u32>(ka, 56), load<u32>(ka, 60)); lb ^= f(rb, load<u32>(kb, 56), load<u32>(kb, 60)); lc ^= f(rc, load<u32>(kc, 56), load<u32>(kc, 60)); ld ^= f(rd, load<u32>(kd, 56), load<u32>(kd, 60));
      ra ^= f(la, load<u32>(ka, 48), load<u32>(ka, 52)); rb ^= f(lb, load<u32>(kb, 48), load<u32>(kb, 52)); rc ^= f(lc, load<u32>(kc, 48), load<u32>(kc, 52)); rd ^= f(ld, load<u32>(kd, 48), load<u32>(kd, 52));
      la ^= f(ra, load<u32>(ka, 40), load<u32>(ka, 44)); lb ^= f(rb, load<u32>(kb, 40), load<u32>(kb, 44)); lc ^= f(rc, load<u32>(kc, 40), load<u32>(kc, 44)); ld ^= f(rd, load<u32>(kd, 40), load<u32>(kd, 44));
      ra ^= f(la, load<u32>(ka, 32), load<u32>(ka, 36)); rb ^= f(lb, load<u32>(kb, 32), load<u32>(kb, 36)); rc ^= f(lc, load<u32>(kc, 32), load<u32>(kc, 36)); rd ^= f(ld, load<u32>(kd, 32), load<u32>(kd, 36));
      la ^= f(ra, load<u32>(ka, 24), load<u32>(ka, 28)); lb ^= f(rb, load<u32>(kb, 24), load<u32>(kb, 28)); lc ^= f(rc, load<u32>(kc, 24), load<u32>(kc, 28)); ld ^= f(rd, load<u32>(kd, 24), load<u32>(kd, 28));
      ra ^= f(la, load<u32>(ka, 16), load<u32>(ka, 20)); rb ^= f(lb, load<u32>(kb, 16), load<u32>(kb, 20)); rc ^= f(lc, load<u32>(kc, 16), load<u32>(kc, 20)); rd ^= f(ld, load<u32>(kd, 16), load<u32>(kd, 20));
      la ^= f(ra, load<u32>(ka, 8), load<u32>(ka, 12)); lb ^= f(rb, load<u32>(kb, 8), load<u32>(kb, 12)); lc ^= f(rc, load<u32>(kc, 8), load<u32>(kc, 12)); ld ^= f(rd, load<u32>(kd, 8), load<u32>(kd, 12));
      ra ^= f(la, load<u32>(ka, 0), load<u32>(ka, 4)); rb ^= f(lb, load<u32>(kb, 0), load<u32>(kb, 4)); rc ^= f(lc, load<u32>(kc, 0), load<u32>(kc, 4)); rd ^= f(ld, load<u32>(kd, 0), load<u32>(kd, 4));
    }
    let t = la; la = ra; ra = t;
    t = lb; lb = rb; rb = t;
    t = lc; lc = rc; rc = t;
    t = ld; ld = rd; rd = t;
  }
  store<u64>(io, bswap<u64>(desFp(la, ra)));
  store<u64>(io + 8, bswap<u64>(desFp(lb, rb)));
  store<u64>(io + 16, bswap<u64>(desFp(lc, rc)));
  store<u64>(io + 24, bswap<u64>(desFp(ld, rd)));
}
