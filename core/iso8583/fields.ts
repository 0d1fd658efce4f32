/**
 * ISO 8583 field tables as data (like jPOS packagers): what each field is, how long, how its
 * length is prefixed, how its digits are aligned, and what content rule it carries. The
 * codec (`codec.ts`) interprets these tables and nothing else; an acquirer profile may
 * replace entries (docs/iso8583.md, "Field table" and "Acquirer profile").
 *
 * The UnionPay (CUPS POS) table is what the public terminal sources do (docs/iso8583.md,
 * "Sources"); the ISO 8583:1987 entries beyond field 64 are there for the secondary bitmap.
 */
import type { FieldKind } from "./bcd.ts";

export type { FieldKind } from "./bcd.ts";

/** 0: fixed length; 2: LLVAR; 3: LLLVAR. */
export type LengthPrefix = 0 | 2 | 3;

/** Content rules checked beyond the characters: BER-TLV chip data, the field-48 "PA" usage. */
export type FieldContent = "ber-tlv" | "pa";

/** One field's definition. */
export interface FieldSpec {
  /** Field (data element) number, 2..128. */
  readonly field: number;
  readonly name: string;
  readonly kind: FieldKind;
  /**
   * Fixed length, or the maximum of a variable field: digits for `n`/`z` (the prefix counts
   * digits), characters for `an`/`ans`, bytes for `b` (the prefix counts bytes).
   */
  readonly length: number;
  readonly prefix: LengthPrefix;
  /**
   * BCD digits with an odd count: which side gets the pad nibble 0. Default: `left` for
   * fixed fields (right-aligned numbers), `right` for variable ones (left-aligned).
   */
  readonly pad?: "left" | "right";
  readonly content?: FieldContent;
}

/** How the parts of a message are written: BCD/binary (UnionPay) or ASCII text. */
export interface Dialect {
  /** MTI: 2 BCD bytes or 4 ASCII digits. */
  readonly mti: "bcd" | "ascii";
  /** Bitmaps: 8 binary bytes each, or 16 hex characters. */
  readonly bitmap: "binary" | "hex";
  /** Length prefixes: BCD (1 byte LL, 2 bytes LLL) or ASCII digits (2 or 3). */
  readonly prefix: "bcd" | "ascii";
  /** `n` and `z` values: packed BCD or ASCII digits. */
  readonly numeric: "bcd" | "ascii";
  /** `b` values: raw bytes or hex text (2 characters a byte). */
  readonly binary: "raw" | "hex";
}

/** A complete packager: dialect, fields, and field replacements for some message types. */
export interface PackagerSpec {
  readonly name: string;
  readonly dialect: Dialect;
  readonly fields: readonly FieldSpec[];
  /** Per MTI (e.g. "0510"), fields that replace the base definition. */
  readonly byMti?: Readonly<Record<string, readonly FieldSpec[]>>;
}

/** The UnionPay terminal dialect: BCD MTI and numbers, binary bitmap and binary fields. */
export const BCD_DIALECT: Dialect = {
  mti: "bcd",
  bitmap: "binary",
  prefix: "bcd",
  numeric: "bcd",
  binary: "raw",
};

/** Text dialect (jPOS ISO87APackager style): ASCII MTI, hex bitmap, ASCII digits. */
export const ASCII_DIALECT: Dialect = {
  mti: "ascii",
  bitmap: "hex",
  prefix: "ascii",
  numeric: "ascii",
  binary: "hex",
};

const f = (
  field: number,
  name: string,
  kind: FieldKind,
  length: number,
  prefix: LengthPrefix = 0,
  extra: Partial<Pick<FieldSpec, "pad" | "content">> = {},
): FieldSpec => ({ field, name, kind, length, prefix, ...extra });

/**
 * Fields 2..64 as UnionPay POS terminals send and read them (docs/iso8583.md, "Field
 * table", each row with its source), then ISO 8583:1987 fields of the secondary bitmap.
 */
export const UNIONPAY_FIELDS: readonly FieldSpec[] = [
  f(2, "primary account number", "n", 19, 2),
  f(3, "processing code", "n", 6),
  f(4, "amount, transaction (fen)", "n", 12),
  f(11, "system trace audit number", "n", 6),
  f(12, "time, local transaction hhmmss", "n", 6),
  f(13, "date, local transaction MMDD", "n", 4),
  f(14, "date, expiration YYMM", "n", 4),
  f(15, "date, settlement MMDD", "n", 4),
  // Left-aligned although fixed: "CUP要求bit 22左对齐" (LY `UpdateEntryModeByPIN`).
  f(22, "point of service entry mode", "n", 3, 0, { pad: "right" }),
  f(23, "card sequence number", "n", 3),
  f(25, "point of service condition code", "n", 2),
  f(26, "point of service PIN capture code", "n", 2),
  f(32, "acquiring institution identification", "n", 11, 2),
  f(35, "track 2 equivalent data", "z", 37, 2),
  f(36, "track 3 data", "z", 104, 3),
  f(37, "retrieval reference number", "an", 12),
  f(38, "authorisation identification response", "an", 6),
  f(39, "response code", "an", 2),
  // Response text: GB18030 in the wild, so bytes, not ASCII.
  f(40, "response text", "b", 99, 2),
  f(41, "card acceptor terminal identification", "ans", 8),
  f(42, "card acceptor identification code", "ans", 15),
  f(44, "additional response data", "ans", 25, 2),
  f(48, "additional data, private (PA usage)", "b", 999, 3, { content: "pa" }),
  f(49, "currency code, transaction", "an", 3),
  f(52, "PIN data", "b", 8),
  f(53, "security related control information", "n", 16),
  f(55, "ICC system related data", "b", 255, 3, { content: "ber-tlv" }),
  f(59, "QR voucher", "b", 999, 3),
  f(60, "reserved private: type, batch, network management code", "n", 17, 3),
  f(61, "original message: batch, trace, date", "n", 29, 3),
  f(62, "reserved private: terminal information / working keys", "b", 84, 3),
  f(63, "reserved private: operator code / deny-list cursor", "ans", 999, 3),
  f(64, "message authentication code", "b", 8),
  f(70, "network management information code", "n", 3),
  f(90, "original data elements", "n", 42),
  f(100, "receiving institution identification code", "n", 11, 2),
  f(102, "account identification 1", "ans", 28, 2),
  f(128, "message authentication code (secondary)", "b", 8),
];

/** Settlement messages use field 48 for the totals (LY `st8583.c`; CL 0510 sample). */
const SETTLEMENT_48: readonly FieldSpec[] = [f(48, "settlement totals", "n", 322, 3)];

/** The UnionPay packager (TPDU and header are the frame's, not the message's). */
export const UNIONPAY_PACKAGER: PackagerSpec = {
  name: "unionpay-pos",
  dialect: BCD_DIALECT,
  fields: UNIONPAY_FIELDS,
  byMti: { "0500": SETTLEMENT_48, "0510": SETTLEMENT_48, "0320": SETTLEMENT_48 },
};
