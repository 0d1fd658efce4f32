/**
 * Reads a request body with the size cap enforced on the raw stream, before any parsing
 * (docs/reliability.md: Hono's bodyLimit had bypasses; we read at most cap + one chunk), and
 * with a time bound that grows with the size: a body must keep arriving at `minBytesPerS` or
 * faster once `graceMs` have passed — at any moment t after the body began, at least
 * `minBytesPerS · (t − graceMs)` bytes must be in. A slow sender cannot hold an upload slot
 * longer than its bytes justify, and a large batch on a slow line still gets the time it needs.
 */
import { ApiError } from "../core/upload/errors.ts";

/** How much and how fast. */
export interface BodyLimits {
  /** Largest body in bytes. */
  readonly capBytes: number;
  /** Time allowed before the rate floor applies, ms. */
  readonly graceMs: number;
  /** The rate floor, bytes a second. */
  readonly minBytesPerS: number;
}

function tooLarge(capBytes: number): ApiError {
  return new ApiError("BODY_TOO_LARGE", `body larger than ${capBytes} bytes`);
}

/** Joins chunks into one array. */
function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) (out.set(c, o), o += c.length);
  return out;
}

/**
 * The whole body, or `ApiError("BODY_TOO_LARGE")` as soon as it passes the cap, or
 * `ApiError("REQUEST_TIMEOUT")` when it falls behind the rate floor.
 */
export async function readBodyCapped(req: Request, l: BodyLimits): Promise<Uint8Array> {
  const cl = req.headers.get("content-length");
  if (cl !== null && /^[0-9]+$/.test(cl) && Number(cl) > l.capBytes) throw tooLarge(l.capBytes);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const start = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let expire!: (v: "timeout") => void;
  const expired = new Promise<"timeout">((r) => expire = r);
  // The moment the bytes received so far stop being enough.
  const arm = () => {
    clearTimeout(timer);
    const due = start + l.graceMs + (total * 1000) / l.minBytesPerS;
    timer = setTimeout(() => expire("timeout"), Math.max(0, due - performance.now()));
  };
  try {
    for (arm();;) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === "timeout") {
        await reader.cancel().catch(() => {});
        const ms = Math.round(performance.now() - start);
        throw new ApiError(
          "REQUEST_TIMEOUT",
          `body arrived slower than ${l.minBytesPerS} bytes/s after ${l.graceMs} ms ` +
            `(${total} bytes in ${ms} ms)`,
        );
      }
      if (next.done) break;
      total += next.value.length;
      if (total > l.capBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(l.capBytes);
      }
      chunks.push(next.value);
      arm();
    }
  } finally {
    clearTimeout(timer);
  }
  return concat(chunks, total);
}
