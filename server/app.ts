/**
 * The Hono app of the upload server (design.md §3). Thin: it authenticates, bounds the body,
 * rate-limits and maps errors; the rules live in core/upload, core/auth and core/store.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { ApiError, ERRORS } from "../core/upload/errors.ts";
import { ingestUpload } from "../core/upload/ingest.ts";
import {
  AUTH_MESSAGES,
  bodyDigestHex,
  parseAuthorization,
  type ParsedAuth,
  timestampFresh,
  verifySignature,
} from "../core/auth/hmac.ts";
import type { TerminalKeyLookup } from "../core/auth/terminal_keys.ts";
import type { Store } from "../core/store/store.ts";
import { StoreUnavailableError } from "../core/store/store.ts";
import type { PanProtector } from "../core/store/pan.ts";
import { LIMITS } from "../core/upload/schema.ts";
import { toHex } from "../core/hex.ts";
import { readBodyCapped } from "./body.ts";
import { Metrics } from "./metrics.ts";
import { RateLimiter } from "./rate_limit.ts";
import { openApiDocument } from "./openapi.ts";

export interface AppOptions {
  readonly store: Store;
  readonly keys: TerminalKeyLookup;
  readonly pan: PanProtector;
  readonly metrics?: Metrics;
  /** Body cap in bytes (default 16 MiB, design.md §3). */
  readonly bodyBytesMax?: number;
  /** Per-terminal rate (default 10/s, burst 20). */
  readonly ratePerS?: number;
  readonly burst?: number;
  /** How long a body may take to arrive (default 30 s). */
  readonly bodyTimeoutMs?: number;
  /** Uploads processed at once; more answer 429 with Retry-After (default 64). */
  readonly maxInFlight?: number;
  /** Server clock in ms (tests). */
  readonly nowMs?: () => number;
  /** Where internal errors are reported (default console.error, message only). */
  readonly logError?: (requestId: string, e: unknown) => void;
}

type Env = { Variables: { requestId: string; terminalId: string; key: CryptoKey } };

const JSON_TYPE = { "content-type": "application/json" };

/** Builds the app; `metrics` is exposed for the caller. */
export function createApp(o: AppOptions): { app: Hono<Env>; metrics: Metrics } {
  const metrics = o.metrics ?? new Metrics();
  const cap = o.bodyBytesMax ?? LIMITS.bodyBytesMax;
  const limiter = new RateLimiter({ ratePerS: o.ratePerS ?? 10, burst: o.burst ?? 20 });
  const nowMs = o.nowMs ?? Date.now;
  const maxInFlight = o.maxInFlight ?? 64;
  let inFlight = 0;
  const logError = o.logError ??
    ((id: string, e: unknown) =>
      console.error(`[${id}] internal error: ${e instanceof Error ? e.name : typeof e}`));
  const openapi = JSON.stringify(openApiDocument());
  const app = new Hono<Env>();

  const fail = (c: Context<Env>, e: ApiError): Response => {
    const headers: Record<string, string> = { ...JSON_TYPE };
    if (e.retryAfterS !== undefined) headers["retry-after"] = String(e.retryAfterS);
    // Safety net: no run of 12+ digits (a possible card number) ever leaves in a message.
    const message = e.message.replace(/[0-9]{12,}/g, "[redacted]");
    const error: Record<string, string> = { code: e.code, message };
    if (e.path !== undefined) error.path = e.path;
    error.requestId = c.get("requestId");
    return c.body(JSON.stringify({ error }), e.status as 400, headers);
  };

  app.use("*", async (c, next) => {
    const t0 = performance.now();
    const id = crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.header("x-request-id", id);
    c.header("x-server-time", String(Math.floor(nowMs() / 1000)));
    const route = c.req.routePath && c.req.routePath !== "/*" && c.req.routePath !== "*"
      ? c.req.routePath
      : "unmatched";
    metrics.request(route, c.res.status, (performance.now() - t0) / 1000);
  });

  app.onError((e, c) => {
    if (e instanceof ApiError) return fail(c, e);
    if (e instanceof StoreUnavailableError) {
      return fail(c, new ApiError("STORAGE_UNAVAILABLE", undefined, undefined, 1));
    }
    logError(c.get("requestId"), e);
    return fail(c, new ApiError("INTERNAL_ERROR"));
  });
  app.notFound((c) => fail(c, new ApiError("NOT_FOUND")));

  /** Header checks that need no body: format, clock window, known terminal. */
  async function authHead(c: Context<Env>): Promise<ParsedAuth> {
    const a = parseAuthorization(c.req.header("authorization"));
    if (typeof a === "string") throw new ApiError(a, AUTH_MESSAGES[a]);
    if (!timestampFresh(a.timestamp, nowMs())) {
      throw new ApiError("AUTH_STALE_TIMESTAMP", AUTH_MESSAGES.AUTH_STALE_TIMESTAMP);
    }
    const key = await o.keys.hmacKey(a.terminalId);
    if (!key) throw new ApiError("AUTH_UNKNOWN_TERMINAL", AUTH_MESSAGES.AUTH_UNKNOWN_TERMINAL);
    c.set("key", key);
    c.set("terminalId", a.terminalId);
    return a;
  }

  async function authBody(c: Context<Env>, a: ParsedAuth, digest: string): Promise<void> {
    // The path exactly as sent (Hono's c.req.path may be percent-decoded), without the query.
    const path = new URL(c.req.url).pathname;
    const ok = await verifySignature(c.get("key"), a, c.req.method, path, digest);
    if (!ok) throw new ApiError("AUTH_BAD_SIGNATURE", AUTH_MESSAGES.AUTH_BAD_SIGNATURE);
    const wait = limiter.take(a.terminalId);
    if (wait > 0) throw new ApiError("RATE_LIMITED", undefined, undefined, wait);
  }

  const EMPTY_DIGEST = bodyDigestHex(new Uint8Array(0));

  /** Authenticates a GET (signed empty body). */
  async function authGet(c: Context<Env>): Promise<string> {
    const a = await authHead(c);
    await authBody(c, a, await EMPTY_DIGEST);
    return a.terminalId;
  }

  app.post("/v1/batches", async (c) => {
    // Load shedding: beyond maxInFlight uploads at once, answer 429 at once instead of queueing
    // without bound (reliability.md §2.6: keep accepted latency bounded under overload).
    if (inFlight >= maxInFlight) {
      metrics.batchRejected("SERVER_BUSY");
      throw new ApiError(
        "RATE_LIMITED",
        "server busy; retry after the indicated delay",
        undefined,
        1,
      );
    }
    inFlight++;
    try {
      const a = await authHead(c);
      const raw = await readBodyCapped(c.req.raw, cap, o.bodyTimeoutMs ?? 30_000);
      const digest = await bodyDigestHex(raw);
      await authBody(c, a, digest);
      const ct = c.req.header("content-type") ?? "";
      if (!/^application\/json\s*(;|$)/i.test(ct)) throw new ApiError("UNSUPPORTED_MEDIA_TYPE");
      const r = await ingestUpload({ store: o.store, pan: o.pan }, raw, digest, a.terminalId);
      if (r.replayed) metrics.batchReplayed();
      else metrics.batchStored(r.accepted, r.rejected);
      return c.body(r.body, 200, JSON_TYPE);
    } catch (e) {
      metrics.batchRejected(e instanceof ApiError ? e.code : "INTERNAL_ERROR");
      if (e instanceof ApiError && e.code === "STORAGE_UNAVAILABLE") {
        throw new ApiError("STORAGE_UNAVAILABLE", undefined, undefined, 1);
      }
      throw e;
    } finally {
      inFlight--;
    }
  });

  app.get("/v1/batches/:terminalId/:batchNo", async (c) => {
    const who = await authGet(c);
    const tid = c.req.param("terminalId");
    if (tid !== who) {
      throw new ApiError("AUTH_TERMINAL_MISMATCH", "a terminal may read only its own batches");
    }
    const nText = c.req.param("batchNo");
    const n = /^[0-9]{1,6}$/.test(nText) ? Number(nText) : 0;
    if (n < 1) throw new ApiError("BAD_QUERY", "batchNo must be an integer 1..999999", "batchNo");
    const receipt = await o.store.receipt(tid, n);
    if (receipt === null) throw new ApiError("BATCH_NOT_FOUND");
    return c.body(receipt, 200, JSON_TYPE);
  });

  app.get("/v1/denylist", async (c) => {
    await authGet(c);
    const s = c.req.query("since") ?? "0";
    if (!/^[0-9]{1,15}$/.test(s)) {
      throw new ApiError("BAD_QUERY", "since must be a non-negative integer", "since");
    }
    const body = JSON.stringify(await o.store.denyListSince(Number(s)));
    const sig = await crypto.subtle.sign("HMAC", c.get("key"), new TextEncoder().encode(body));
    return c.body(body, 200, {
      ...JSON_TYPE,
      "x-icfare-signature": toHex(new Uint8Array(sig)).toLowerCase(),
    });
  });

  app.get("/healthz", async (c) => {
    await o.store.counts();
    return c.body('{"status":"ok"}', 200, JSON_TYPE);
  });

  app.get(
    "/metrics",
    (c) => c.body(metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );

  app.get("/openapi.json", (c) => c.body(openapi, 200, JSON_TYPE));

  return { app, metrics };
}

/** The error table as documentation rows: code, status, message. */
export function errorTable(): { code: string; status: number; message: string }[] {
  return Object.entries(ERRORS).map(([code, e]) => ({
    code,
    status: e.status,
    message: e.message,
  }));
}
