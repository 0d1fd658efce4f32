/**
 * Deterministic xorshift32 byte source for differential tests and benchmark fixtures, so a
 * failing input reproduces from its seed. Not cryptographic.
 */
export function xorshiftBytes(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      out[i] = s & 0xff;
    }
    return out;
  };
}
