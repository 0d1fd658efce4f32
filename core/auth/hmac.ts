/**
 * Terminal request authentication (docs/upload-api.md):
 *
 *   Authorization: ICFARE-HMAC-SHA256 Credential=<terminalId>, Timestamp=<unix s>, Signature=<hex>
 *   Signature = hex(HMAC-SHA256(key, METHOD "\n" PATH "\n" Timestamp "\n" hex(SHA-256(body))))
 *
 * PATH is without the query string; a GET signs the empty body. Timestamps more than 300 s from
 * the server clock are refused. Signatures are checked with `crypto.subtle.verify` (constant
 * time inside WebCrypto), over the raw body bytes, before any JSON parsing.
 */
import { toHex } from "../hex.ts";

/** The scheme name in the Authorization header. */
export const AUTH_SCHEME = "ICFARE-HMAC-SHA256";
/** Allowed clock difference between terminal and server, seconds. */
export const AUTH_WINDOW_S = 300;

const enc = new TextEncoder();

/** Lower-case hex SHA-256 of the body (the empty body for GET). */
export async function bodyDigestHex(body: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", body as BufferSource)))
    .toLowerCase();
}

/** The string that is signed. */
export function canonicalString(
  method: string,
  path: string,
  timestamp: number,
  bodySha256Hex: string,
): string {
  return `${method.toUpperCase()}\n${path}\n${timestamp}\n${bodySha256Hex}`;
}

export interface SignInput {
  readonly key: CryptoKey;
  readonly terminalId: string;
  readonly method: string;
  /** Path without query string, e.g. `/v1/batches`. */
  readonly path: string;
  readonly body?: Uint8Array;
  /** Unix seconds; default now. */
  readonly timestamp?: number;
}

/**
 * Builds the Authorization header value for a terminal request (terminals, tests, the
 * simulator and the demo use this).
 *
 * @example
 * ```ts
 * import { assertMatch } from "@icfare/assert";
 * import { signRequest } from "./hmac.ts";
 * const key = await crypto.subtle.importKey(
 *   "raw",
 *   new Uint8Array(32).fill(0x11),
 *   { name: "HMAC", hash: "SHA-256" },
 *   false,
 *   ["sign"],
 * );
 * const body = new TextEncoder().encode('{"batchNo":1}');
 * const auth = await signRequest({
 *   key,
 *   terminalId: "LC000123",
 *   method: "POST",
 *   path: "/v1/batches",
 *   body,
 *   timestamp: 1764547200,
 * });
 * // sent as the Authorization header of POST /v1/batches (docs/upload-api.md)
 * assertMatch(auth, /Credential=LC000123, Timestamp=1764547200, Signature=[0-9a-f]{64}$/);
 * ```
 */
export async function signRequest(input: SignInput): Promise<string> {
  if (!/^[0-9A-Za-z]{8}$/.test(input.terminalId)) {
    throw new RangeError("terminalId must be 8 letters or digits");
  }
  if (!input.path.startsWith("/") || input.path.includes("?")) {
    throw new RangeError("path must start with / and carry no query string");
  }
  const ts = input.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(ts) || ts < 0) throw new RangeError("timestamp must be unix seconds");
  const digest = await bodyDigestHex(input.body ?? new Uint8Array(0));
  const mac = await crypto.subtle.sign(
    "HMAC",
    input.key,
    enc.encode(canonicalString(input.method, input.path, ts, digest)),
  );
  return `${AUTH_SCHEME} Credential=${input.terminalId}, Timestamp=${ts}, Signature=${
    toHex(new Uint8Array(mac)).toLowerCase()
  }`;
}

/** The parts of a well-formed Authorization header. */
export interface ParsedAuth {
  readonly terminalId: string;
  readonly timestamp: number;
  readonly signature: Uint8Array;
}

export type AuthFailure =
  | "AUTH_MISSING"
  | "AUTH_MALFORMED"
  | "AUTH_STALE_TIMESTAMP"
  | "AUTH_UNKNOWN_TERMINAL"
  | "AUTH_BAD_SIGNATURE";

/** Human messages for each failure (no secrets, no echo of the header). */
export const AUTH_MESSAGES: Record<AuthFailure, string> = {
  AUTH_MISSING: "Authorization header missing",
  AUTH_MALFORMED: `Authorization must be "${AUTH_SCHEME} Credential=<terminalId>, ` +
    `Timestamp=<unix seconds>, Signature=<64 hex>"`,
  AUTH_STALE_TIMESTAMP: `Timestamp is more than ${AUTH_WINDOW_S} s from the server clock`,
  AUTH_UNKNOWN_TERMINAL: "unknown or disabled terminal",
  AUTH_BAD_SIGNATURE: "signature does not match",
};

const HEADER_RE = new RegExp(
  `^${AUTH_SCHEME} Credential=([0-9A-Za-z]{8}), ?Timestamp=([0-9]{1,12}), ?Signature=([0-9a-fA-F]{64})$`,
);

/** Parses the header; a failure code when absent or malformed. */
export function parseAuthorization(header: string | null | undefined): ParsedAuth | AuthFailure {
  if (header === null || header === undefined || header === "") return "AUTH_MISSING";
  if (header.length > 300) return "AUTH_MALFORMED";
  const m = HEADER_RE.exec(header.trim());
  if (!m) return "AUTH_MALFORMED";
  const sig = new Uint8Array(32);
  for (let i = 0; i < 32; i++) sig[i] = parseInt(m[3].slice(2 * i, 2 * i + 2), 16);
  return { terminalId: m[1], timestamp: Number(m[2]), signature: sig };
}

/** True when `timestamp` (unix s) lies within the window around `nowMs`. */
export function timestampFresh(timestamp: number, nowMs: number = Date.now()): boolean {
  return Math.abs(nowMs / 1000 - timestamp) <= AUTH_WINDOW_S;
}

/** Constant-time signature check of a parsed header against the request. */
export async function verifySignature(
  key: CryptoKey,
  auth: ParsedAuth,
  method: string,
  path: string,
  bodySha256Hex: string,
): Promise<boolean> {
  return await crypto.subtle.verify(
    "HMAC",
    key,
    auth.signature as BufferSource,
    enc.encode(canonicalString(method, path, auth.timestamp, bodySha256Hex)),
  );
}
