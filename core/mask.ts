/**
 * PAN masking for every human-facing output (docs/reliability.md; PCI DSS 3.4.1: BIN and last four
 * at most): first 6 and last 4 digits shown, the rest as '*'.
 */
export function maskPan(pan: string): string {
  const digits = pan.replace(/[^0-9]/g, "");
  if (digits.length <= 10) return "*".repeat(digits.length);
  return digits.slice(0, 6) + "*".repeat(digits.length - 10) + digits.slice(-4);
}

/** Digits of a cn (compressed numeric, F-padded) value such as tag 5A. */
export function cnDigits(value: Uint8Array): string {
  let s = "";
  for (const b of value) s += b.toString(16).padStart(2, "0");
  const f = s.search(/[fF]/);
  return (f >= 0 ? s.slice(0, f) : s).toUpperCase();
}
