/**
 * The frame around an ISO 8583 message on the acquirer link (docs/iso8583.md, "Framing"):
 * a 2-byte big-endian length counting everything after itself, a 5-byte TPDU (`60`,
 * destination 2 bytes, source 2 bytes) and the acquirer's header (6 bytes of BCD for
 * UnionPay POS: application type, software version, terminal status, processing
 * requirement, 3 reserved bytes), then the message. Sources: AFC `qpboc_8583.c:3205`,
 * CL `BuildSignInInfoByte`, LY `trancomm.c:592-607`.
 */
import { Iso8583Error } from "./errors.ts";

/** Largest frame a peer may announce by default (the 2-byte length allows 65,535). */
export const FRAME_BYTES_MAX = 8192;

/** TPDU identifier byte of a transport protocol data unit. */
export const TPDU_ID = 0x60;

/** A payload with its 2-byte length in front. */
export function frameOf(payload: Uint8Array, max = FRAME_BYTES_MAX): Uint8Array {
  if (payload.length === 0 || payload.length > max) {
    throw new Iso8583Error("ISO8583_FRAME", `length: ${payload.length} is outside 1..${max}`);
  }
  const out = new Uint8Array(2 + payload.length);
  out[0] = payload.length >> 8;
  out[1] = payload.length & 0xff;
  out.set(payload, 2);
  return out;
}

/**
 * Cuts a byte stream into frames. `push` returns every frame completed by the chunk; a
 * length of 0 or above `max` is refused (the stream cannot be trusted after that).
 */
export class FrameDecoder {
  #buf = new Uint8Array(0);
  constructor(readonly max = FRAME_BYTES_MAX) {}

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.#buf.length;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    let buf = this.#buf;
    if (chunk.length) {
      const joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf, 0);
      joined.set(chunk, buf.length);
      buf = joined;
    }
    const frames: Uint8Array[] = [];
    let o = 0;
    while (buf.length - o >= 2) {
      const len = (buf[o] << 8) | buf[o + 1];
      if (len === 0 || len > this.max) {
        this.#buf = new Uint8Array(0);
        throw new Iso8583Error("ISO8583_FRAME", `length: ${len} is outside 1..${this.max}`);
      }
      if (buf.length - o - 2 < len) break;
      frames.push(buf.slice(o + 2, o + 2 + len));
      o += 2 + len;
    }
    this.#buf = buf.slice(o);
    return frames;
  }
}

/** TPDU and header in front of a message. */
export interface Envelope {
  readonly tpdu: Uint8Array;
  readonly header: Uint8Array;
  readonly message: Uint8Array;
}

/** Payload = TPDU ‖ header ‖ message. */
export function sealEnvelope(tpdu: Uint8Array, header: Uint8Array, message: Uint8Array) {
  if (tpdu.length !== 5 || tpdu[0] !== TPDU_ID) {
    throw new Iso8583Error("ISO8583_FRAME", "TPDU: must be 5 bytes starting 60");
  }
  const out = new Uint8Array(5 + header.length + message.length);
  out.set(tpdu, 0);
  out.set(header, 5);
  out.set(message, 5 + header.length);
  return out;
}

/** Splits a payload into TPDU, header (`headerBytes` long) and message. */
export function openEnvelope(payload: Uint8Array, headerBytes: number): Envelope {
  if (payload.length < 5 + headerBytes + 2) {
    throw new Iso8583Error("ISO8583_FRAME", `payload: ${payload.length} bytes is too short`);
  }
  if (payload[0] !== TPDU_ID) throw new Iso8583Error("ISO8583_FRAME", "TPDU: id is not 60");
  return {
    tpdu: payload.subarray(0, 5),
    header: payload.subarray(5, 5 + headerBytes),
    message: payload.subarray(5 + headerBytes),
  };
}

/** The TPDU of an answer: destination and source exchanged. */
export function answerTpdu(tpdu: Uint8Array): Uint8Array {
  return Uint8Array.of(tpdu[0], tpdu[3], tpdu[4], tpdu[1], tpdu[2]);
}

/**
 * The processing-requirement digit of a UnionPay header (6th BCD digit): in a response it
 * asks the terminal for its next step — 1 download parameters, 2 upload status, 3 sign on
 * again, 4 download IC public keys, 5 IC parameters, 6 application, 7 deny list
 * (LY `tranproc.c:1641-1690`). 0 or undefined: nothing asked.
 */
export function processingRequirement(header: Uint8Array): number | undefined {
  return header.length >= 3 ? header[2] & 0x0f : undefined;
}
