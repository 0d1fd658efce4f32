/**
 * Every error the upload API answers, with its HTTP status: the stable codes of docs/upload-api.md.
 * Each answer is `{"error":{"code","message","path"?,"requestId"}}`; messages never carry a
 * stack trace, a key or a card number.
 */

export const ERRORS = {
  INVALID_JSON: { status: 400, message: "body is not valid JSON" },
  JSON_TOO_DEEP: { status: 400, message: "JSON nested deeper than the contract allows" },
  VALIDATION_FAILED: { status: 400, message: "body does not match the upload schema" },
  BAD_QUERY: { status: 400, message: "query parameter out of range" },
  BAD_REQUEST: { status: 400, message: "malformed HTTP request" },
  AUTH_MISSING: { status: 401, message: "Authorization header missing" },
  AUTH_MALFORMED: { status: 401, message: "Authorization header malformed" },
  AUTH_STALE_TIMESTAMP: { status: 401, message: "Timestamp is more than 300 s from server time" },
  AUTH_UNKNOWN_TERMINAL: { status: 401, message: "unknown or disabled terminal" },
  AUTH_BAD_SIGNATURE: { status: 401, message: "signature does not match" },
  AUTH_TERMINAL_MISMATCH: { status: 403, message: "a terminal may act only for itself" },
  NOT_FOUND: { status: 404, message: "no such route" },
  METHOD_NOT_ALLOWED: { status: 405, message: "method not allowed on this path" },
  BATCH_NOT_FOUND: { status: 404, message: "no such batch" },
  REQUEST_TIMEOUT: { status: 408, message: "request headers or body not received in time" },
  BATCH_CONFLICT: {
    status: 409,
    message: "this (terminalId, batchNo) was stored with a different body",
  },
  BODY_TOO_LARGE: { status: 413, message: "body larger than the limit" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "Content-Type must be application/json" },
  TOTALS_MISMATCH: { status: 422, message: "totals do not add up" },
  RATE_LIMITED: { status: 429, message: "too many requests from this terminal" },
  HEADERS_TOO_LARGE: { status: 431, message: "request headers larger than the limit" },
  INTERNAL_ERROR: { status: 500, message: "internal error" },
  STORAGE_UNAVAILABLE: { status: 503, message: "storage unavailable; nothing was acknowledged" },
  DENYLIST_UNAVAILABLE: {
    status: 503,
    message: "the server holds no deny-list signing key; no list is served unsigned",
  },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** An API error on its way to the client. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly path?: string,
    readonly retryAfterS?: number,
    /** For 405: the methods the path allows (the `Allow` header). */
    readonly allow?: string,
  ) {
    super(message ?? ERRORS[code].message);
    this.name = "ApiError";
    this.status = ERRORS[code].status;
  }
}

/** Per-record rejection codes in a receipt (besides the kernel's `TLV_*` codes). */
export const RECORD_CODES = {
  MISSING_TAG: "chip data lacks a tag the contract requires",
  AMOUNT_INVALID: "9F02 is not a 6-byte n12 amount",
  FARE_MISMATCH: "fare differs from 9F02",
  PAN_INVALID: "5A is not a 12-19 digit PAN",
  PSN_INVALID: "5F34 is not one BCD byte",
  ATC_INVALID: "9F36 is not 2 bytes",
} as const;

/** An error answer ready to send: status, headers and the JSON body. */
export interface ErrorAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * The one shape of every error answer (docs/upload-api.md):
 * `{"error":{"code","message","path"?,"requestId"}}`, with `Retry-After` and `Allow` when the
 * error carries them. As a safety net, no run of 12 or more digits (a possible card number)
 * ever leaves in a message.
 */
export function errorAnswer(e: ApiError, requestId: string): ErrorAnswer {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (e.retryAfterS !== undefined) headers["retry-after"] = String(e.retryAfterS);
  if (e.allow !== undefined) headers["allow"] = e.allow;
  const message = e.message.replace(/[0-9]{12,}/g, "[redacted]");
  const error: Record<string, string> = { code: e.code, message };
  if (e.path !== undefined) error.path = e.path;
  error.requestId = requestId;
  return { status: e.status, headers, body: JSON.stringify({ error }) };
}
