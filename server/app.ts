/**
 * The Hono app of the upload server (docs/upload-api.md). Thin: it authenticates, bounds the
 * body, rate-limits and maps errors; the rules live in core/upload, core/auth and core/store.
 * The routes are sub-apps (`routes.ts`) joined here with `app.route()`; every refusal, thrown
 * from any of them, becomes one coded JSON answer in the one `onError` below.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { ApiError, errorAnswer, ERRORS } from "../core/upload/errors.ts";
import type { TerminalKeyLookup } from "../core/auth/terminal_keys.ts";
import type { Store } from "../core/store/store.ts";
import { StoreUnavailableError } from "../core/store/store.ts";
import type { PanProtector } from "../core/store/pan.ts";
import { LIMITS } from "../core/upload/schema.ts";
import { Metrics } from "./metrics.ts";
import type { Signer } from "../core/keys/signing.ts";
import { type Env, Guard } from "./guard.ts";
import { batchRoutes, denyListRoutes, opsRoutes, type RouteDeps } from "./routes.ts";

export interface AppOptions {
  readonly store: Store;
  readonly keys: TerminalKeyLookup;
  readonly pan: PanProtector;
  readonly metrics?: Metrics;
  /** Body cap in bytes (default 16 MiB, docs/upload-api.md). */
  readonly bodyBytesMax?: number;
  /** Per-terminal rate (default 10/s, burst 20). */
  readonly ratePerS?: number;
  readonly burst?: number;
  /** Time a body may take before the rate floor applies (default 10 s). */
  readonly bodyTimeoutMs?: number;
  /** The body's rate floor after `bodyTimeoutMs`, bytes a second (default 4,096). */
  readonly bodyMinBytesPerS?: number;
  /** Uploads processed at once; more answer 429 with Retry-After (default 64). */
  readonly maxInFlight?: number;
  /** Uploads of one terminal processed at once; more answer 429 (default 4). */
  readonly terminalInFlight?: number;
  /** Server clock in ms (tests). */
  readonly nowMs?: () => number;
  /** The deny-list signer (docs/denylist.md); without it the deny-list routes answer 503. */
  readonly denyListSigner?: Signer;
  /** Where internal errors are reported (default console.error, message only). */
  readonly logError?: (requestId: string, e: unknown) => void;
}

/** The coded JSON answer for an `ApiError` (never a stack trace, never a card number). */
function fail(c: Context<Env>, e: ApiError): Response {
  const a = errorAnswer(e, c.get("requestId"));
  return c.body(a.body, a.status as 400, a.headers);
}

/** Builds the app; `metrics` is exposed for the caller. */
export function createApp(o: AppOptions): { app: Hono<Env>; metrics: Metrics } {
  const metrics = o.metrics ?? new Metrics();
  const nowMs = o.nowMs ?? Date.now;
  const logError = o.logError ??
    ((id: string, e: unknown) =>
      console.error(`[${id}] internal error: ${e instanceof Error ? e.name : typeof e}`));
  const guard = new Guard({
    keys: o.keys,
    metrics,
    nowMs,
    ratePerS: o.ratePerS ?? 10,
    burst: o.burst ?? 20,
    maxInFlight: o.maxInFlight ?? 64,
    terminalInFlight: o.terminalInFlight ?? 4,
  });
  const deps: RouteDeps = {
    store: o.store,
    pan: o.pan,
    guard,
    metrics,
    body: {
      capBytes: o.bodyBytesMax ?? LIMITS.bodyBytesMax,
      graceMs: o.bodyTimeoutMs ?? 10_000,
      minBytesPerS: o.bodyMinBytesPerS ?? 4096,
    },
    denyListSigner: o.denyListSigner,
  };
  const app = new Hono<Env>();

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

  app.route("/v1/batches", batchRoutes(deps));
  app.route("/v1/denylist", denyListRoutes(deps));
  app.route("/", opsRoutes(deps));

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
