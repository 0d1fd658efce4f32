/**
 * The messages of the acquirer link (docs/iso8583.md, "Messages"), as the public UnionPay
 * bus terminals build them:
 *
 * - 0200 deferred authorisation of an ODA tap: 2, 3 `000000`, 4, 11, 22 `072`, 23, 25 `00`,
 *   35, 41, 42, 48 (PA), 49 `156`, [55], 60 `22 batch 000 6 0 1`, [63], 64
 *   (AFC `build8583_qpboc_Purse_0200`, CL `BuildConsumeData` channel 2);
 * - 0400 reversal of a 0200 whose answer is unknown: the original's fields without the
 *   track data (LY `MakeReversalPack`), 39 = the reason (`98` no answer, `A0` bad MAC);
 * - 0800 sign-on (60.3 `001`/`003`/`004`, no MAC) and the ODA deny-list download
 *   (60.3 `570`, paged by field 63).
 *
 * Field 64 is left as 8 zero bytes here; the link signs the packed message (`mac.ts`).
 * Track-2 data, PANs and keys are taken and returned in memory only.
 */
import { fieldError, Iso8583Error } from "./errors.ts";
import { type FieldValue, type IsoMessage, isoMessage } from "./codec.ts";
import { encodePa, type PaData } from "./pa.ts";
import { track2Parts } from "./chip.ts";
import type { AcquirerProfile } from "./profile.ts";
import { signOnCode } from "./keys.ts";

/** The terminal identity every request carries. */
export interface TerminalIdentity {
  /** Field 41: 8 characters. */
  readonly terminalId: string;
  /** Field 42: 15 characters. */
  readonly merchantId: string;
  /** 60.2: the batch number (6 digits), from the last sign-on. */
  readonly batchNo: string;
}

/** A deferred authorisation (0200) of one ODA tap. */
export interface AuthRequest extends TerminalIdentity {
  /** Field 11, allocated by the caller (6 digits). */
  readonly stan: string;
  /** Field 4, in fen (1 .. 999,999,999,999). */
  readonly amountFen: number;
  /** Field 35: track-2 equivalent from the sealed tag 57, in memory only. */
  readonly track2: string;
  /** Field 23 from tag 5F34 (1-3 digits), when the card has one. */
  readonly psn?: string;
  /** The tap's chip data (BER-TLV, with 9F26 the ARQC): field 55 and/or 48 FF56. */
  readonly iccData: Uint8Array;
  /** Field 48 PA items (line, vehicle, time, …); channel and institution come from here. */
  readonly pa: Omit<PaData, "iccData" | "institution" | "channel">;
  /** Field 3, default `000000` (purchase). */
  readonly processingCode?: string;
}

/** Reasons a reversal gives in field 39 (LY `trancomm.c:518-575`). */
export type ReversalReason = "98" | "A0" | "06";

const STAN_RE = /^[0-9]{6}$/;

function checkIdentity(t: TerminalIdentity): void {
  if (typeof t.terminalId !== "string" || !/^[\x20-\x7e]{8}$/.test(t.terminalId)) {
    throw fieldError("ISO8583_FIELD_LENGTH", 41, "terminal id must be 8 characters");
  }
  if (typeof t.merchantId !== "string" || !/^[\x20-\x7e]{15}$/.test(t.merchantId)) {
    throw fieldError("ISO8583_FIELD_LENGTH", 42, "merchant id must be 15 characters");
  }
  if (!/^[0-9]{6}$/.test(t.batchNo)) {
    throw fieldError("ISO8583_FIELD_FORMAT", "60.2", "batch is 6 digits");
  }
}

function checkStan(stan: string): void {
  if (typeof stan !== "string" || !STAN_RE.test(stan)) {
    throw fieldError("ISO8583_FIELD_FORMAT", 11, "STAN must be 6 digits");
  }
}

const MAC_PLACEHOLDER = () => new Uint8Array(8);

function authFields(p: AcquirerProfile, r: AuthRequest): Record<number, FieldValue> {
  checkIdentity(r);
  checkStan(r.stan);
  if (!Number.isSafeInteger(r.amountFen) || r.amountFen < 1 || r.amountFen > 999_999_999_999) {
    throw fieldError("ISO8583_FIELD_LENGTH", 4, "amount must be 1..999999999999 fen");
  }
  const { pan } = track2Parts(r.track2);
  if (r.psn !== undefined && !/^[0-9]{1,3}$/.test(r.psn)) {
    throw fieldError("ISO8583_FIELD_FORMAT", 23, "card sequence number is 1-3 digits");
  }
  const inFf56 = p.chipData !== "field55";
  const inF55 = p.chipData !== "ff56";
  const pa: PaData = {
    ...r.pa,
    channel: "01",
    institution: p.institution,
    ...(inFf56 ? { iccData: r.iccData } : {}),
  };
  const fields: Record<number, FieldValue> = {
    2: pan,
    3: r.processingCode ?? "000000",
    4: String(r.amountFen).padStart(12, "0"),
    11: r.stan,
    22: "072",
    25: "00",
    35: r.track2.replace("=", "D"),
    41: r.terminalId,
    42: r.merchantId,
    48: encodePa(pa),
    49: "156",
    60: `22${r.batchNo}000601`,
    64: MAC_PLACEHOLDER(),
  };
  if (r.psn !== undefined) fields[23] = r.psn.padStart(3, "0");
  if (inF55) fields[55] = r.iccData;
  if (p.field63) fields[63] = p.field63;
  return fields;
}

/** The 0200 deferred authorisation of a tap (field 64 to be signed). */
export function buildAuth(p: AcquirerProfile, r: AuthRequest): IsoMessage {
  return isoMessage("0200", authFields(p, r));
}

/** The 0400 reversal of the 0200 built from `r` (same STAN), without the track data. */
export function buildReversal(
  p: AcquirerProfile,
  r: AuthRequest,
  reason: ReversalReason,
): IsoMessage {
  if (!["98", "A0", "06"].includes(reason)) {
    throw fieldError("ISO8583_FIELD_FORMAT", 39, "reversal reason must be 98, A0 or 06");
  }
  const fields = authFields(p, r);
  delete fields[35];
  fields[39] = reason;
  return isoMessage("0400", fields);
}

/** A sign-on (0800) request. */
export interface SignOnRequest extends TerminalIdentity {
  readonly stan: string;
  /** Field 62 terminal information (e.g. `Sequence No…`), ASCII. */
  readonly terminalInfo?: string;
}

/** The 0800 sign-on for the profile's key layout (no MAC: no key yet). */
export function buildSignOn(p: AcquirerProfile, r: SignOnRequest): IsoMessage {
  checkIdentity(r);
  checkStan(r.stan);
  const fields: Record<number, FieldValue> = {
    11: r.stan,
    41: r.terminalId,
    42: r.merchantId,
    60: `00${r.batchNo}${signOnCode(p.keyLayout)}`,
  };
  if (r.terminalInfo !== undefined) {
    if (!/^[\x20-\x7e]{1,84}$/.test(r.terminalInfo)) {
      throw fieldError("ISO8583_FIELD_FORMAT", 62, "terminal information is 1-84 ASCII characters");
    }
    fields[62] = new TextEncoder().encode(r.terminalInfo);
  }
  if (p.operatorCode) fields[63] = p.operatorCode;
  return isoMessage("0800", fields);
}

/** One request for a page of the ODA deny list. */
export interface DenyListRequest extends TerminalIdentity {
  readonly stan: string;
  /** The cursor of the previous page (10 characters); `0000000000` for the first page. */
  readonly cursor: string;
}

/** Network-management code of the ODA deny-list download (AFC `:2916-3022`). */
export const DENYLIST_CODE = "570";

/** The 0800 deny-list request: 60.3 `570`, 63 = institution (8) ‖ cursor (10). */
export function buildDenyListRequest(p: AcquirerProfile, r: DenyListRequest): IsoMessage {
  checkIdentity(r);
  checkStan(r.stan);
  if (!/^[\x20-\x7e]{10}$/.test(r.cursor)) {
    throw fieldError("ISO8583_FIELD_CONTENT", 63, "cursor must be 10 characters");
  }
  return isoMessage("0800", {
    11: r.stan,
    41: r.terminalId,
    42: r.merchantId,
    60: `00${r.batchNo}${DENYLIST_CODE}`,
    63: p.institution + r.cursor,
  });
}

/** Field 60 subfields 60.1 (type), 60.2 (batch), 60.3 (network-management code). */
export function field60Parts(
  v: FieldValue | undefined,
): { type: string; batch: string; code: string } {
  if (typeof v !== "string" || v.length < 11) {
    throw fieldError("ISO8583_FIELD_CONTENT", 60, "needs 60.1, 60.2 and 60.3 (11 digits)");
  }
  return { type: v.slice(0, 2), batch: v.slice(2, 8), code: v.slice(8, 11) };
}

/** The MTI a request is answered with (0200 → 0210). */
export function answerMti(mti: string): string {
  if (!/^[0-9]{2}[0-9][02468]$/.test(mti)) {
    throw new Iso8583Error("ISO8583_MTI", `MTI ${mti}: not a request`);
  }
  return mti.slice(0, 2) + String(Number(mti[2]) + 1) + mti[3];
}

/** Text of a field or undefined; refuses a binary value where text is expected. */
export function textField(m: IsoMessage, field: number): string | undefined {
  const v = m.fields.get(field);
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw fieldError("ISO8583_FIELD_TYPE", field, "expected text");
  return v;
}
