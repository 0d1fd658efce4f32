/** Hex conversion with input checks that name the argument. */

const HEX = "0123456789ABCDEF";

/** Upper-case hex, the convention of EMV documents and logs. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return s;
}

/** Parses hex (either case; spaces allowed between bytes). Throws naming `what` on bad input. */
export function fromHex(text: string, what = "hex"): Uint8Array {
  const s = text.replace(/\s+/g, "");
  if (s.length % 2 !== 0) {
    throw new SyntaxError(`${what}: odd number of hex digits (${s.length})`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = digit(s.charCodeAt(2 * i));
    const lo = digit(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new SyntaxError(`${what}: invalid hex digit at position ${2 * i + (hi < 0 ? 0 : 1)}`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** True when `text` is non-empty even-length hex without spaces. */
export function isHex(text: string): boolean {
  return text.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(text);
}

function digit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}
