/**
 * Answers on the acquirer link: what a response code means for a debt (docs/iso8583.md,
 * "Response codes"), the readers of 0210/0410/0810, and the builders the simulated host
 * (and any test peer) uses to answer. Response-code meanings: LY `globalvar.c:68-117`,
 * AFC `dis_qboc_ack_code`.
 */
import { fieldError, Iso8583Error } from "./errors.ts";
import { type FieldValue, type IsoMessage, isoMessage } from "./codec.ts";
import { answerMti, field60Parts, textField } from "./messages.ts";
import type { AcquirerProfile } from "./profile.ts";
import { unwrapWorkingKeys, type WorkingKeys } from "./keys.ts";

/**
 * What an answer means for the money: `approved` charged; `declined` the issuer refused the
 * card (deny list); `refused` the system refused, nothing charged, try again later;
 * `unknown` the charge may or may not stand — reverse it.
 */
export type Disposition = "approved" | "declined" | "refused" | "unknown";

export interface ResponseMeaning {
  readonly meaning: string;
  readonly disposition: Disposition;
  /** The terminal must sign on again before the next request. */
  readonly signOn?: true;
}

const m = (meaning: string, disposition: Disposition, signOn?: true): ResponseMeaning =>
  signOn ? { meaning, disposition, signOn } : { meaning, disposition };

/** Response codes of field 39 and their disposition. A code not listed is `unknown`. */
export const RESPONSE_CODES: Readonly<Record<string, ResponseMeaning>> = {
  "00": m("approved", "approved"),
  "05": m("cardholder verification failed / invalid card", "declined"),
  "12": m("invalid transaction", "refused"),
  "13": m("invalid amount", "refused"),
  "14": m("invalid card number", "declined"),
  "22": m("operation error / beyond the allowed days", "refused"),
  "25": m("original transaction not found", "refused"),
  "30": m("format error, retry", "refused"),
  "40": m("function not supported", "refused"),
  "41": m("lost card", "declined"),
  "43": m("stolen card", "declined"),
  "51": m("insufficient funds", "declined"),
  "54": m("expired card", "declined"),
  "55": m("wrong PIN / no-PIN service not enabled", "declined"),
  "57": m("not permitted to the cardholder", "declined"),
  "58": m("not permitted to the terminal", "refused"),
  "59": m("card check error", "declined"),
  "61": m("amount limit exceeded", "declined"),
  "62": m("restricted card", "declined"),
  "65": m("frequency limit exceeded", "declined"),
  // Too late / issuer timeout: the issuer may have acted — the outcome is not known.
  "68": m("response received too late", "unknown"),
  "90": m("cut-over in progress", "refused"),
  "91": m("issuer unavailable", "refused"),
  "92": m("issuer unreachable", "refused"),
  // Duplicate: the host has seen this STAN; what it did with it is not in this answer.
  "94": m("duplicate transmission", "unknown"),
  "96": m("switch fault", "refused"),
  "97": m("terminal not registered", "refused", true),
  "98": m("issuer timeout", "unknown"),
  "99": m("PIN format error / sign on again", "refused", true),
  "A0": m("MAC error, sign on again", "refused", true),
};

/** The meaning of a response code (`unknown` when not listed). */
export function responseMeaning(code: string): ResponseMeaning {
  return RESPONSE_CODES[code] ?? m(`unlisted response code`, "unknown");
}

/** What a 0210 says. */
export interface AuthAnswer {
  readonly responseCode: string;
  readonly disposition: Disposition;
  readonly meaning: string;
  readonly signOn: boolean;
  readonly rrn?: string;
  readonly authCode?: string;
  readonly settlementDate?: string;
}

function responseCode(msg: IsoMessage): string {
  const c = textField(msg, 39);
  if (c === undefined) throw fieldError("ISO8583_RESPONSE", 39, "answer without a response code");
  return c;
}

/** Reads a 0210 (MAC checked by the caller). */
export function readAuthAnswer(msg: IsoMessage): AuthAnswer {
  if (msg.mti !== "0210") throw new Iso8583Error("ISO8583_RESPONSE", `MTI ${msg.mti}: not 0210`);
  const code = responseCode(msg);
  const r = responseMeaning(code);
  const out: Record<string, unknown> = {
    responseCode: code,
    disposition: r.disposition,
    meaning: r.meaning,
    signOn: r.signOn === true,
  };
  for (const [k, f] of [["rrn", 37], ["authCode", 38], ["settlementDate", 15]] as const) {
    const v = textField(msg, f);
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as AuthAnswer;
}

/** A 0410: `reversed` when the host confirms (00) or never had the original (25). */
export function readReversalAnswer(msg: IsoMessage): { responseCode: string; reversed: boolean } {
  if (msg.mti !== "0410") throw new Iso8583Error("ISO8583_RESPONSE", `MTI ${msg.mti}: not 0410`);
  const code = responseCode(msg);
  return { responseCode: code, reversed: code === "00" || code === "25" };
}

/** What a sign-on 0810 gives: the new batch and the checked working keys. */
export interface SignOnAnswer {
  readonly responseCode: string;
  readonly batchNo?: string;
  readonly keys?: WorkingKeys;
}

/** Reads a sign-on 0810; with `00` the keys are decrypted under the TMK and checked. */
export function readSignOnAnswer(
  p: AcquirerProfile,
  msg: IsoMessage,
  tmk: Uint8Array,
): SignOnAnswer {
  if (msg.mti !== "0810") throw new Iso8583Error("ISO8583_RESPONSE", `MTI ${msg.mti}: not 0810`);
  const code = responseCode(msg);
  if (code !== "00") return { responseCode: code };
  const { batch } = field60Parts(msg.fields.get(60));
  const f62 = msg.fields.get(62);
  if (!(f62 instanceof Uint8Array)) throw fieldError("ISO8583_RESPONSE", 62, "no working keys");
  const keys = unwrapWorkingKeys(f62, p.keyLayout, tmk, p.kcvBytes);
  return { responseCode: code, batchNo: batch, keys };
}

// ------------------------------------------------------------------------ deny-list pages

/** One deny-list change: a card (PAN, optionally PSN) added or removed. */
export interface DenyListEntry {
  readonly action: "add" | "remove";
  readonly pan: string;
  readonly psn?: string;
}

/** One page of the ODA deny list. */
export interface DenyListPage {
  /** No more pages after this one. */
  readonly last: boolean;
  /** The cursor to ask the next page with (10 characters). */
  readonly cursor: string;
  readonly entries: readonly DenyListEntry[];
}

/** Entries per page: field 63 holds 999 characters, 11 of them status and cursor. */
export const DENYLIST_PAGE_MAX = 29;
const ENTRY_CHARS = 33;

/**
 * Field 63 of a deny-list 0810: status (`0` nothing, `1` last page, `2` more pages follow)
 * ‖ cursor (10) ‖ entries of 33 characters: action (`1` add, `0` remove) ‖ PAN (20,
 * left-aligned, space-padded) ‖ PSN (3 digits or spaces) ‖ 9 reserved. Status and cursor
 * follow AFC (`deal_qpoc_blk`), the 33-character entry CL (`HandelBlacklist`); the entry
 * content is INFERRED (docs/iso8583.md, "Deny-list pages").
 */
export function encodeDenyListPage(page: DenyListPage): string {
  if (page.entries.length > DENYLIST_PAGE_MAX) {
    throw fieldError("ISO8583_FIELD_CONTENT", 63, `more than ${DENYLIST_PAGE_MAX} entries`);
  }
  if (!/^[\x20-\x7e]{10}$/.test(page.cursor)) {
    throw fieldError("ISO8583_FIELD_CONTENT", 63, "cursor must be 10 characters");
  }
  const status = page.entries.length === 0 ? "0" : page.last ? "1" : "2";
  let s = status + page.cursor;
  for (const e of page.entries) {
    if (!/^[0-9]{12,19}$/.test(e.pan) || (e.psn !== undefined && !/^[0-9]{3}$/.test(e.psn))) {
      throw fieldError(
        "ISO8583_FIELD_CONTENT",
        63,
        "entry needs a 12-19 digit PAN and 3-digit PSN",
      );
    }
    s += (e.action === "add" ? "1" : "0") + e.pan.padEnd(20, " ") + (e.psn ?? "   ") +
      " ".repeat(9);
  }
  return s;
}

function readEntry(s: string, i: number): DenyListEntry {
  const e = s.slice(11 + i * ENTRY_CHARS, 11 + (i + 1) * ENTRY_CHARS);
  const pan = e.slice(1, 21).trimEnd();
  const psn = e.slice(21, 24);
  if (!"01".includes(e[0]) || !/^[0-9]{12,19}$/.test(pan) || !/^([0-9]{3}| {3})$/.test(psn)) {
    throw fieldError("ISO8583_FIELD_CONTENT", 63, `entry ${i + 1} is malformed`);
  }
  return { action: e[0] === "1" ? "add" : "remove", pan, ...(psn === "   " ? {} : { psn }) };
}

/** Reads a deny-list 0810 (its 60.3 must be `570`). */
export function readDenyListPage(msg: IsoMessage): DenyListPage & { responseCode: string } {
  if (msg.mti !== "0810") throw new Iso8583Error("ISO8583_RESPONSE", `MTI ${msg.mti}: not 0810`);
  const code = responseCode(msg);
  if (field60Parts(msg.fields.get(60)).code !== "570") {
    throw fieldError("ISO8583_RESPONSE", "60.3", "not a deny-list answer");
  }
  if (code !== "00") return { responseCode: code, last: true, cursor: "", entries: [] };
  const s = textField(msg, 63) ?? "";
  if (s.length < 11 || (s.length - 11) % ENTRY_CHARS !== 0 || !"012".includes(s[0])) {
    throw fieldError("ISO8583_FIELD_CONTENT", 63, "not status, cursor and 33-character entries");
  }
  const n = (s.length - 11) / ENTRY_CHARS;
  if ((s[0] === "0") !== (n === 0)) {
    throw fieldError("ISO8583_FIELD_CONTENT", 63, "status and entry count disagree");
  }
  const entries = Array.from({ length: n }, (_, i) => readEntry(s, i));
  return { responseCode: code, last: s[0] !== "2", cursor: s.slice(1, 11), entries };
}

// ------------------------------------------------------------------------ host side

/** Host local time fields (Asia/Shanghai, UTC+8): 12 hhmmss, 13 MMDD. */
export function hostTimeFields(now: Date): { 12: string; 13: string } {
  const t = new Date(now.getTime() + 8 * 3600_000).toISOString();
  return {
    12: t.slice(11, 13) + t.slice(14, 16) + t.slice(17, 19),
    13: t.slice(5, 7) + t.slice(8, 10),
  };
}

/** What the host puts in an answer beyond the echoed request fields. */
export interface AnswerParts {
  readonly responseCode: string;
  readonly now: Date;
  /** Field 37 (12 characters). */
  readonly rrn: string;
  /** Field 32: the acquiring institution (digits). */
  readonly acquirer: string;
  /** Field 38 for approvals. */
  readonly authCode?: string;
  /** Field 64 placeholder: present when the answer is to be MAC'd. */
  readonly mac?: boolean;
}

const ECHO_AUTH = [3, 4, 11, 25, 41, 42, 49, 60];

/** A 0210 or 0410 answering `req` (field 64 to be signed when `mac`). */
export function buildAuthAnswer(req: IsoMessage, a: AnswerParts): IsoMessage {
  const fields: Record<number, FieldValue> = {};
  for (const f of ECHO_AUTH) {
    const v = req.fields.get(f);
    if (v !== undefined) fields[f] = v;
  }
  Object.assign(fields, hostTimeFields(a.now));
  fields[15] = fields[13];
  fields[32] = a.acquirer;
  fields[37] = a.rrn;
  fields[39] = a.responseCode;
  if (a.authCode !== undefined) fields[38] = a.authCode;
  if (a.mac) fields[64] = new Uint8Array(8);
  return isoMessage(answerMti(req.mti), fields);
}

/** A sign-on 0810: 60.2 the new batch, 62 the wrapped working keys when approved. */
export function buildSignOnAnswer(
  req: IsoMessage,
  a: AnswerParts & { batchNo: string; field62?: Uint8Array },
): IsoMessage {
  const { code } = field60Parts(req.fields.get(60));
  const fields: Record<number, FieldValue> = {
    11: req.fields.get(11) ?? "000000",
    ...hostTimeFields(a.now),
    32: a.acquirer,
    37: a.rrn,
    39: a.responseCode,
    41: req.fields.get(41)!,
    42: req.fields.get(42)!,
    60: `00${a.batchNo}${code}`,
  };
  if (a.field62) fields[62] = a.field62;
  return isoMessage("0810", fields);
}

/** A deny-list 0810 carrying one page in field 63. */
export function buildDenyListAnswer(req: IsoMessage, code: string, page?: DenyListPage) {
  const fields: Record<number, FieldValue> = {
    11: req.fields.get(11) ?? "000000",
    39: code,
    41: req.fields.get(41)!,
    42: req.fields.get(42)!,
    60: req.fields.get(60)!,
  };
  if (page) fields[63] = encodeDenyListPage(page);
  return isoMessage("0810", fields);
}
