/**
 * Checks an error answer of the upload API (docs/upload-api.md): status, JSON body
 * `{error:{code,message,path?,requestId}}`, the request id echoed in `x-request-id`, no stack
 * trace, no card number. Every code checked is remembered in `seenCodes` (per test file).
 */
import { assert, assertEquals, assertMatch } from "@icfare/assert";

/** Codes seen by `expectError` in this test file. */
export const seenCodes = new Set<string>();

/** The codes only the HTTP front answers; `server_http_test.ts` reaches each. */
export const FRONT_CODES = ["METHOD_NOT_ALLOWED", "BAD_REQUEST", "HEADERS_TOO_LARGE"] as const;

export async function expectError(res: Response, status: number, code: string, path?: string) {
  const text = await res.text();
  assertEquals(res.status, status, `${code}: ${text}`);
  assertMatch(res.headers.get("content-type") ?? "", /application\/json/);
  const body = JSON.parse(text);
  assertEquals(Object.keys(body), ["error"]);
  assertEquals(body.error.code, code);
  assert(typeof body.error.message === "string" && body.error.message.length > 0);
  assertMatch(body.error.requestId, /^[0-9a-f-]{36}$/);
  assertEquals(res.headers.get("x-request-id"), body.error.requestId);
  if (path !== undefined) assertEquals(body.error.path, path);
  assert(!/\bat .*:\d+:\d+/.test(text), "no stack trace");
  assert(!/[0-9]{12,19}/.test(text.replace(body.error.requestId, "")), "no card number");
  seenCodes.add(code);
  return body.error;
}
