/**
 * Kernel statuses: the stable numeric codes every kernel entry point returns, with a name
 * and a human message. The kernel exports each code as a WASM global `ST_<NAME>`;
 * `status_test.ts` checks that this table and the compiled kernel agree exactly.
 *
 * Ranges: 0 ok; 1-99 general; 100-199 BER-TLV; 200-299 symmetric crypto and hashes;
 * 300-399 public-key crypto; 400-499 EMV verification engine.
 */
import { ENGINE_CALL_STATUSES, RECORD_STATUSES } from "./contract.ts";

export interface StatusInfo {
  readonly code: number;
  readonly name: string;
  readonly message: string;
}

const table: readonly StatusInfo[] = [
  { code: 0, name: "OK", message: "ok" },
  { code: 1, name: "BAD_ARGUMENT", message: "argument outside its memory region or limit" },
  { code: 2, name: "OUTPUT_TOO_SMALL", message: "output region too small for the result" },

  { code: 100, name: "TLV_TRUNCATED_TAG", message: "tag needs more bytes than remain" },
  { code: 101, name: "TLV_TAG_TOO_LONG", message: "tag longer than 4 bytes" },
  { code: 102, name: "TLV_TRUNCATED_LENGTH", message: "length field needs more bytes than remain" },
  {
    code: 103,
    name: "TLV_INDEFINITE_LENGTH",
    message: "indefinite length (80) is not allowed in EMV data",
  },
  {
    code: 104,
    name: "TLV_LENGTH_FORM",
    message: "long-form length with more than 3 length bytes",
  },
  { code: 105, name: "TLV_VALUE_OVERRUN", message: "value runs past the end of its container" },
  { code: 106, name: "TLV_DEPTH_EXCEEDED", message: "templates nested deeper than the limit" },
  { code: 107, name: "TLV_TOO_MANY_OBJECTS", message: "more data objects than the limit" },

  { code: 200, name: "SYM_KEY_LENGTH", message: "key length not allowed for the algorithm" },
  {
    code: 201,
    name: "SYM_DATA_LENGTH",
    message: "data length not a multiple of the block size and no padding asked for",
  },
  { code: 202, name: "SYM_PADDING", message: "padding method must be 0 (none), 1 or 2" },
  { code: 203, name: "SYM_ALGORITHM", message: "unknown algorithm selector" },
  { code: 300, name: "PK_MODULUS_LENGTH", message: "RSA modulus must be 64..256 bytes" },
  {
    code: 301,
    name: "PK_MODULUS_INVALID",
    message: "RSA modulus must be odd with a non-zero first byte",
  },
  {
    code: 302,
    name: "PK_EXPONENT_INVALID",
    message: "RSA exponent must be non-zero and no longer than the modulus",
  },
  { code: 303, name: "PK_INPUT_LENGTH", message: "RSA input must have the modulus length" },
  { code: 304, name: "PK_INPUT_RANGE", message: "RSA input must be less than the modulus" },
  { code: 305, name: "PK_SLOT_EMPTY", message: "RSA context slot holds no modulus" },
  {
    code: 306,
    name: "PK_NOT_CACHED",
    message: "RSA modulus seen for the first time: no context set up (use another path)",
  },
  {
    code: 320,
    name: "SM2_POINT_NOT_ON_CURVE",
    message: "SM2 public key is not a point on the curve (or a coordinate is not below p)",
  },
  { code: 321, name: "SM2_SCALAR_RANGE", message: "SM2 signature r or s outside [1, n-1]" },
  { code: 322, name: "SM2_BAD_SIGNATURE", message: "SM2 signature does not verify" },
  { code: 323, name: "SM2_MESSAGE_TOO_LONG", message: "SM2 message longer than 65536 bytes" },
  { code: 324, name: "SM2_USER_ID_TOO_LONG", message: "SM2 user ID longer than 8191 bytes" },
  // The engine's record and call statuses come from the contract (kernel-as/contract.ts).
  ...RECORD_STATUSES.map((s) => ({
    code: s.code,
    name: `ENGINE_${s.name}`,
    message: `record: ${s.message}`,
  })),
  ...ENGINE_CALL_STATUSES.map((s) => ({
    code: s.code,
    name: `ENGINE_${s.name}`,
    message: s.message,
  })),
];

export const STATUSES: ReadonlyMap<number, StatusInfo> = new Map(table.map((s) => [s.code, s]));

/** Status codes by name, e.g. `Status.TLV_VALUE_OVERRUN`. */
export const Status: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(table.map((s) => [s.name, s.code])),
);

export function statusName(code: number): string {
  return STATUSES.get(code)?.name ?? `UNKNOWN_${code}`;
}

export function statusMessage(code: number): string {
  return STATUSES.get(code)?.message ?? `unknown kernel status ${code}`;
}

/** Thrown only for bugs in the caller (bad arguments), never for data verdicts. */
export class KernelError extends Error {
  constructor(readonly status: number, context: string) {
    super(`${context}: ${statusName(status)} (${statusMessage(status)})`);
    this.name = "KernelError";
  }
}
