/**
 * The refusals of the ISO 8583 acquirer link (docs/iso8583.md, "Errors"): one coded error
 * type whose message names the field (`field 35: …`) or the part of the frame, never a value.
 * Track-2 data, PANs and keys never reach a message.
 */
import { IcfareError } from "../errors.ts";

/** Stable codes of the ISO 8583 layer. */
export type Iso8583Code =
  | "ISO8583_TABLE" // a field table or dialect that cannot work (configuration)
  | "ISO8583_PROFILE" // an acquirer profile property out of range
  | "ISO8583_MTI" // message type indicator malformed
  | "ISO8583_BITMAP" // bitmap truncated or asking for an unsupported bitmap
  | "ISO8583_FIELD_UNKNOWN" // a field present that the table does not define
  | "ISO8583_FIELD_TYPE" // a value of the wrong JS type handed to the encoder
  | "ISO8583_FIELD_LENGTH" // a length prefix or value length outside the field's rule
  | "ISO8583_FIELD_FORMAT" // a character or nibble the field's kind does not allow
  | "ISO8583_FIELD_TLV" // BER-TLV content (field 55, FF56) malformed
  | "ISO8583_FIELD_CONTENT" // structured content (field 48 "PA", 60, 62, 63) malformed
  | "ISO8583_TRUNCATED" // the message ends inside a field
  | "ISO8583_TRAILING" // bytes after the last field
  | "ISO8583_FRAME" // length framing, TPDU or header wrong
  | "ISO8583_MAC" // MAC missing or not placeable
  | "ISO8583_KCV" // a working key does not match its check value
  | "ISO8583_RESPONSE" // a response that cannot be the answer to the request
  | "ISO8583_LINK"; // the link cannot be used (closed, not signed on)

/** A refusal of the ISO 8583 layer (an `IcfareError`: printed as one coded line). */
export class Iso8583Error extends IcfareError {
  declare readonly code: Iso8583Code;
  constructor(code: Iso8583Code, message: string, options?: { hint?: string; cause?: unknown }) {
    super(code, message, options);
    this.name = "Iso8583Error";
  }
}

/** Shorthand for refusals about one field: the message starts `field N: `. */
export function fieldError(code: Iso8583Code, field: number | string, what: string): Iso8583Error {
  return new Iso8583Error(code, `field ${field}: ${what}`);
}
