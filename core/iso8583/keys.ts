/**
 * Working keys delivered in field 62 of the 0810 sign-on response, encrypted under the
 * terminal master key (TMK), each followed by its check value (docs/iso8583.md, "Sign-on and
 * working keys"). Layouts by network-management code 60.3:
 *
 * | layout   | bytes | content                                         | source               |
 * |----------|-------|-------------------------------------------------|----------------------|
 * | `001`    | 24    | PIK 8, CV 4, MAK 8, CV 4                        | AFC, LY, CL sample   |
 * | `003`    | 40    | PIK 16, CV 4, MAK 16 (first 8 used), CV 4       | AFC active code, LY  |
 * | `003-32` | 32    | PIK 16, CV 4, MAK 8, CV 4                       | AFC variant, JS      |
 * | `004`    | 60    | as `003`, then TDK 16, CV 4                     | LY                   |
 *
 * Keys are decrypted with the TMK in ECB (3DES EDE when the TMK is 16 bytes, DES when 8); a
 * check value is the leftmost bytes of the clear key encrypting a zero block — 3DES for
 * double-length keys, single DES for the MAK (AFC `:3987`, `:4013`). 4-byte check values
 * are what the sign-on carries; `kcvBytes: 3` compares only the first 3 (the key store's
 * convention). A mismatch refuses the keys. Clear keys live only in memory; `wipe()` zeroes
 * them.
 */
import { desDecryptEcb, desEncryptEcb, equalBytes, kcv } from "../emv/primitives.ts";
import { fieldError, Iso8583Error } from "./errors.ts";

/** The field-62 layouts of the sign-on response. */
export type KeyLayout = "001" | "003" | "003-32" | "004";

export const KEY_LAYOUTS: readonly KeyLayout[] = ["001", "003", "003-32", "004"];

interface Slot {
  readonly name: "PIK" | "MAK" | "TDK";
  /** Encrypted key bytes in field 62. */
  readonly bytes: 8 | 16;
  /** Clear bytes used (the MAK of `003` is 16 bytes of which the first 8 are used). */
  readonly used: 8 | 16;
}

const SLOTS: Record<KeyLayout, readonly Slot[]> = {
  "001": [{ name: "PIK", bytes: 8, used: 8 }, { name: "MAK", bytes: 8, used: 8 }],
  "003": [{ name: "PIK", bytes: 16, used: 16 }, { name: "MAK", bytes: 16, used: 8 }],
  "003-32": [{ name: "PIK", bytes: 16, used: 16 }, { name: "MAK", bytes: 8, used: 8 }],
  "004": [
    { name: "PIK", bytes: 16, used: 16 },
    { name: "MAK", bytes: 16, used: 8 },
    { name: "TDK", bytes: 16, used: 16 },
  ],
};

/** The 60.3 code a sign-on sends for a layout. */
export function signOnCode(layout: KeyLayout): "001" | "003" | "004" {
  return layout === "001" ? "001" : layout === "004" ? "004" : "003";
}

/** Field-62 length of a layout. */
export function layoutBytes(layout: KeyLayout): number {
  return SLOTS[layout].reduce((n, s) => n + s.bytes + 4, 0);
}

/** The clear working keys of one sign-on (PIN key, MAC key, track-data key). */
export interface WorkingKeys {
  readonly pik: Uint8Array;
  readonly mak: Uint8Array;
  readonly tdk?: Uint8Array;
  /** Zeroes every key. */
  wipe(): void;
}

function checkTmk(tmk: Uint8Array): void {
  if (!(tmk instanceof Uint8Array) || ![8, 16, 24].includes(tmk.length)) {
    throw new Iso8583Error("ISO8583_KCV", "TMK: must be 8, 16 or 24 bytes");
  }
}

function checkValue(key: Uint8Array): Uint8Array {
  return kcv(key.length === 8 ? "des" : "3des", key, 4);
}

function makeKeys(found: Map<string, Uint8Array>): WorkingKeys {
  const keys = {
    pik: found.get("PIK")!,
    mak: found.get("MAK")!,
    ...(found.has("TDK") ? { tdk: found.get("TDK")! } : {}),
    wipe() {
      for (const k of found.values()) k.fill(0);
    },
  };
  return keys;
}

/**
 * Decrypts and checks the working keys of a sign-on response field 62. Refuses a wrong
 * length (`ISO8583_FIELD_CONTENT`) and a check value that does not match (`ISO8583_KCV`).
 */
export function unwrapWorkingKeys(
  field62: Uint8Array,
  layout: KeyLayout,
  tmk: Uint8Array,
  kcvBytes: 3 | 4 = 4,
): WorkingKeys {
  checkTmk(tmk);
  const slots = SLOTS[layout];
  if (!slots) throw new Iso8583Error("ISO8583_PROFILE", `key layout "${layout}" is not known`);
  if (field62.length !== layoutBytes(layout)) {
    throw fieldError(
      "ISO8583_FIELD_CONTENT",
      62,
      `${field62.length} bytes, layout ${layout} has ${layoutBytes(layout)}`,
    );
  }
  const found = new Map<string, Uint8Array>();
  let o = 0;
  try {
    for (const s of slots) {
      const clear = desDecryptEcb(tmk, field62.subarray(o, o + s.bytes));
      const key = clear.slice(0, s.used);
      clear.fill(0);
      found.set(s.name, key);
      const given = field62.subarray(o + s.bytes, o + s.bytes + kcvBytes);
      if (!equalBytes(checkValue(key).subarray(0, kcvBytes), given)) {
        throw fieldError("ISO8583_KCV", 62, `${s.name} does not match its check value`);
      }
      o += s.bytes + 4;
    }
  } catch (e) {
    for (const k of found.values()) k.fill(0);
    throw e;
  }
  return makeKeys(found);
}

/**
 * The host side: field 62 for `keys` under `tmk` in `layout` (each key encrypted in ECB,
 * followed by its 4-byte check value). For `003`/`004` the 8-byte MAK is sent as MAK ‖ MAK
 * (a double-length key whose first half is the MAC key).
 */
export function wrapWorkingKeys(
  keys: { pik: Uint8Array; mak: Uint8Array; tdk?: Uint8Array },
  layout: KeyLayout,
  tmk: Uint8Array,
): Uint8Array {
  checkTmk(tmk);
  const out = new Uint8Array(layoutBytes(layout));
  let o = 0;
  for (const s of SLOTS[layout]) {
    const key = s.name === "PIK" ? keys.pik : s.name === "MAK" ? keys.mak : keys.tdk;
    if (!key || key.length !== s.used) {
      throw new Iso8583Error("ISO8583_KCV", `${s.name}: layout ${layout} needs ${s.used} bytes`);
    }
    const clear = new Uint8Array(s.bytes);
    clear.set(key, 0);
    if (s.bytes > s.used) clear.set(key, s.used);
    out.set(desEncryptEcb(tmk, clear), o);
    clear.fill(0);
    out.set(checkValue(key), o + s.bytes);
    o += s.bytes + 4;
  }
  return out;
}
