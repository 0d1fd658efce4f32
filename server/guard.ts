/**
 * Who may talk to the upload server: the terminal authentication of docs/upload-api.md
 * ("Authentication") split in the two halves a request allows — the header checks that need no
 * body (format, clock window, known terminal) and the signature over the body's digest — plus
 * the per-terminal rate limit and the upload slots that bound how much work runs at once.
 */
import type { Context } from "hono";
import { ApiError } from "../core/upload/errors.ts";
import {
  AUTH_MESSAGES,
  bodyDigestHex,
  parseAuthorization,
  type ParsedAuth,
  timestampFresh,
  verifySignature,
} from "../core/auth/hmac.ts";
import type { TerminalKeyLookup } from "../core/auth/terminal_keys.ts";
import type { Metrics } from "./metrics.ts";
import { RateLimiter } from "./rate_limit.ts";

/** What a handler may read from the context once the request passed the guard. */
export type Env = { Variables: { requestId: string; terminalId: string; key: CryptoKey } };

/** What the guard needs. */
export interface GuardOptions {
  readonly keys: TerminalKeyLookup;
  readonly metrics: Metrics;
  readonly nowMs: () => number;
  /** Per-terminal rate (tokens a second) and burst. */
  readonly ratePerS: number;
  readonly burst: number;
  /** Uploads processed at once; more answer 429 with Retry-After. */
  readonly maxInFlight: number;
  /** Uploads of one terminal processed at once; more answer 429 with Retry-After. */
  readonly terminalInFlight: number;
}

/** A 429 for lack of an upload slot; `reason` names which (for the metrics). */
export class BusyError extends ApiError {
  constructor(readonly reason: "SERVER_BUSY" | "TERMINAL_BUSY", message: string) {
    super("RATE_LIMITED", message, undefined, 1);
  }
}

const EMPTY_DIGEST = bodyDigestHex(new Uint8Array(0));

/** Terminal authentication, rate limit and upload slots for one app. */
export class Guard {
  readonly #o: GuardOptions;
  readonly #limiter: RateLimiter;
  #inFlight = 0;
  readonly #perTerminal = new Map<string, number>();

  constructor(o: GuardOptions) {
    this.#o = o;
    this.#limiter = new RateLimiter({ ratePerS: o.ratePerS, burst: o.burst });
  }

  /** Header checks that need no body: format, clock window, known terminal. */
  async head(c: Context<Env>): Promise<ParsedAuth> {
    const a = parseAuthorization(c.req.header("authorization"));
    if (typeof a === "string") throw new ApiError(a, AUTH_MESSAGES[a]);
    if (!timestampFresh(a.timestamp, this.#o.nowMs())) {
      throw new ApiError("AUTH_STALE_TIMESTAMP", AUTH_MESSAGES.AUTH_STALE_TIMESTAMP);
    }
    const key = await this.#o.keys.hmacKey(a.terminalId);
    if (!key) throw new ApiError("AUTH_UNKNOWN_TERMINAL", AUTH_MESSAGES.AUTH_UNKNOWN_TERMINAL);
    c.set("key", key);
    c.set("terminalId", a.terminalId);
    return a;
  }

  /** The signature over the body's digest, then the terminal's rate limit. */
  async body(c: Context<Env>, a: ParsedAuth, digest: string): Promise<void> {
    // The path exactly as sent (Hono's c.req.path may be percent-decoded), without the query.
    const path = new URL(c.req.url).pathname;
    const ok = await verifySignature(c.get("key"), a, c.req.method, path, digest);
    if (!ok) throw new ApiError("AUTH_BAD_SIGNATURE", AUTH_MESSAGES.AUTH_BAD_SIGNATURE);
    const wait = this.#limiter.take(a.terminalId);
    if (wait > 0) throw new ApiError("RATE_LIMITED", undefined, undefined, wait);
  }

  /** Authenticates a GET (signed empty body); resolves to the terminal id. */
  async get(c: Context<Env>): Promise<string> {
    const a = await this.head(c);
    await this.body(c, a, await EMPTY_DIGEST);
    return a.terminalId;
  }

  /**
   * Runs an upload in its slots, after the header checks. Beyond `maxInFlight` uploads at once,
   * or `terminalInFlight` of one terminal, the answer is 429 at once instead of a queue without
   * bound (docs/reliability.md: keep accepted latency bounded under overload). The per-terminal
   * cap is what keeps a sender without the key — a known terminal id and a zero signature, whose
   * signature cannot be checked before its body is in — from holding every slot.
   */
  async upload<T>(c: Context<Env>, work: (a: ParsedAuth) => Promise<T>): Promise<T> {
    if (this.#inFlight >= this.#o.maxInFlight) {
      throw new BusyError("SERVER_BUSY", "server busy; retry after the indicated delay");
    }
    this.#inFlight++;
    try {
      const a = await this.head(c);
      const mine = this.#perTerminal.get(a.terminalId) ?? 0;
      if (mine >= this.#o.terminalInFlight) {
        throw new BusyError(
          "TERMINAL_BUSY",
          `this terminal already has ${mine} uploads in progress; retry after the indicated delay`,
        );
      }
      this.#perTerminal.set(a.terminalId, mine + 1);
      try {
        return await work(a);
      } finally {
        const left = this.#perTerminal.get(a.terminalId)! - 1;
        if (left > 0) this.#perTerminal.set(a.terminalId, left);
        else this.#perTerminal.delete(a.terminalId);
      }
    } finally {
      this.#inFlight--;
    }
  }
}
