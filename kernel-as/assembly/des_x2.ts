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
