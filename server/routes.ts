/**
 * The routes of the upload server as Hono sub-apps, each handler next to its path
 * (docs/upload-api.md): the batches (upload and receipt), the deny list, and the operational
 * routes (health, metrics, the OpenAPI document). `app.ts` joins them with `app.route()`.
 */
import { type Context, Hono } from "hono";
import { ApiError } from "../core/upload/errors.ts";
import { ingestUpload } from "../core/upload/ingest.ts";
import { bodyDigestHex } from "../core/auth/hmac.ts";
import type { Store } from "../core/store/store.ts";
import type { PanProtector } from "../core/store/pan.ts";
import { toHex } from "../core/hex.ts";
import { type BodyLimits, readBodyCapped } from "./body.ts";
import { BusyError, type Env, type Guard } from "./guard.ts";
import type { Metrics } from "./metrics.ts";
import { openApiDocument } from "./openapi.ts";
import { signList } from "../core/denylist/signed.ts";
import type { Signer } from "../core/keys/signing.ts";
import { SM2_USER_ID } from "../core/keys/ec.ts";

/** What the routes share. */
export interface RouteDeps {
  readonly store: Store;
  readonly pan: PanProtector;
  readonly guard: Guard;
  readonly metrics: Metrics;
  /** Body cap and rate floor. */
  readonly body: BodyLimits;
  /** The deny-list signer; without one the deny-list routes answer 503 DENYLIST_UNAVAILABLE. */
  readonly denyListSigner?: Signer;
}

export const JSON_TYPE = { "content-type": "application/json" };

/**
 * The answer for any other method on a known path: 405 with `Allow` (Hono also answers HEAD
 * through a GET route, so paths with a GET allow HEAD too).
 */
function methodNotAllowed(allow: string): (c: Context<Env>) => never {
  return (c) => {
    const method = c.req.method.slice(0, 16).replace(/[^A-Z]/g, "?");
    const message = `${method} is not allowed on this path; allowed: ${allow}`;
    throw new ApiError("METHOD_NOT_ALLOWED", message, undefined, undefined, allow);
  };
}

/** `POST /v1/batches` and `GET /v1/batches/:terminalId/:batchNo`. */
export function batchRoutes(d: RouteDeps): Hono<Env> {
  const r = new Hono<Env>();

  r.post("/", async (c) => {
    try {
      return await d.guard.upload(c, async (a) => {
        const raw = await readBodyCapped(c.req.raw, d.body);
        const digest = await bodyDigestHex(raw);
        await d.guard.body(c, a, digest);
        const ct = c.req.header("content-type") ?? "";
        if (!/^application\/json\s*(;|$)/i.test(ct)) throw new ApiError("UNSUPPORTED_MEDIA_TYPE");
        const res = await ingestUpload({ store: d.store, pan: d.pan }, raw, digest, a.terminalId);
        if (res.replayed) d.metrics.batchReplayed();
        else d.metrics.batchStored(res.accepted, res.rejected);
        return c.body(res.body, 200, JSON_TYPE);
      });
    } catch (e) {
      const reason = e instanceof BusyError ? e.reason : e instanceof ApiError ? e.code : null;
      d.metrics.batchRejected(reason ?? "INTERNAL_ERROR");
      if (e instanceof ApiError && e.code === "STORAGE_UNAVAILABLE") {
        throw new ApiError("STORAGE_UNAVAILABLE", undefined, undefined, 1);
      }
      throw e;
    }
  });

  r.get("/:terminalId/:batchNo", async (c) => {
    const who = await d.guard.get(c);
    const tid = c.req.param("terminalId");
    if (tid !== who) {
      throw new ApiError("AUTH_TERMINAL_MISMATCH", "a terminal may read only its own batches");
    }
    const nText = c.req.param("batchNo");
    const n = /^[0-9]{1,6}$/.test(nText) ? Number(nText) : 0;
    if (n < 1) throw new ApiError("BAD_QUERY", "batchNo must be an integer 1..999999", "batchNo");
    const receipt = await d.store.receipt(tid, n);
    if (receipt === null) throw new ApiError("BATCH_NOT_FOUND");
    return c.body(receipt, 200, JSON_TYPE);
  });

  r.all("/", methodNotAllowed("POST"));
  r.all("/:terminalId/:batchNo", methodNotAllowed("GET, HEAD"));
  return r;
}

/**
 * `GET /v1/denylist?since=N`: the list (full, or the changes after version N) signed by the
 * deny-list signing key; `GET /v1/denylist/key`: that key's public part, the answer MACed with
 * the asking terminal's own key (docs/denylist.md, "Endpoints").
 */
export function denyListRoutes(d: RouteDeps): Hono<Env> {
  const r = new Hono<Env>();
  const signer = () => {
    if (!d.denyListSigner) throw new ApiError("DENYLIST_UNAVAILABLE");
    return d.denyListSigner;
  };

  r.get("/", async (c) => {
    await d.guard.get(c);
    const s = c.req.query("since") ?? "0";
    if (!/^[0-9]{1,15}$/.test(s)) {
      throw new ApiError("BAD_QUERY", "since must be a non-negative integer", "since");
    }
    const sign = signer();
    const body = JSON.stringify(signList(await d.store.denyListSince(Number(s)), sign));
    return c.body(body, 200, JSON_TYPE);
  });

  r.get("/key", async (c) => {
    await d.guard.get(c);
    const k = signer().info;
    const body = JSON.stringify({
      ...k,
      ...(k.algorithm === "sm2" ? { userId: SM2_USER_ID } : {}),
    });
    const mac = await crypto.subtle.sign("HMAC", c.get("key"), new TextEncoder().encode(body));
    return c.body(body, 200, {
      ...JSON_TYPE,
      "x-icfare-signature": toHex(new Uint8Array(mac)).toLowerCase(),
    });
  });

  r.all("/", methodNotAllowed("GET, HEAD"));
  return r;
}

/** `GET /healthz`, `GET /metrics`, `GET /openapi.json` (no authentication). */
export function opsRoutes(d: RouteDeps): Hono<Env> {
  const r = new Hono<Env>();
  const openapi = JSON.stringify(openApiDocument());

  r.get("/healthz", async (c) => {
    await d.store.counts();
    return c.body('{"status":"ok"}', 200, JSON_TYPE);
  });

  r.get(
    "/metrics",
    (c) => c.body(d.metrics.render(), 200, { "content-type": "text/plain; version=0.0.4" }),
  );

  r.get("/openapi.json", (c) => c.body(openapi, 200, JSON_TYPE));

  for (const path of ["/healthz", "/metrics", "/openapi.json"]) {
    r.all(path, methodNotAllowed("GET, HEAD"));
  }
  return r;
}
