/**
 * Reads a request body with the size cap enforced on the raw stream, before any parsing
 * (docs/reliability.md: Hono's bodyLimit had bypasses; we read at most cap + one chunk).
 */
import { ApiError } from "../core/upload/errors.ts";

/**
 * The whole body, or `ApiError("BODY_TOO_LARGE")` as soon as it passes `capBytes`, or
 * `ApiError("REQUEST_TIMEOUT")` when it has not arrived within `timeoutMs` (slow senders must not
 * hold an upload slot forever).
 */
export async function readBodyCapped(
  req: Request,
  capBytes: number,
  timeoutMs = 30_000,
): Promise<Uint8Array> {
  const cl = req.headers.get("content-length");
  if (cl !== null && /^[0-9]+$/.test(cl) && Number(cl) > capBytes) {
    throw new ApiError("BODY_TOO_LARGE", `body larger than ${capBytes} bytes`);
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs));
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === "timeout") {
        await reader.cancel().catch(() => {});
        throw new ApiError("REQUEST_TIMEOUT", `body not received within ${timeoutMs} ms`);
      }
      const { done, value } = next;
      if (done) break;
      total += value.length;
      if (total > capBytes) {
        await reader.cancel().catch(() => {});
        throw new ApiError("BODY_TOO_LARGE", `body larger than ${capBytes} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) (out.set(c, o), o += c.length);
  return out;
}
