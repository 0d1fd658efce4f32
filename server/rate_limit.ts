/**
 * Per-terminal token buckets (docs/reliability.md): `ratePerS` tokens a second up to `burst`.
 * A terminal whose bucket is empty gets 429 with the seconds until its next token.
 */
export interface RateLimitOptions {
  readonly ratePerS: number;
  readonly burst: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(readonly options: RateLimitOptions, private readonly now = () => performance.now()) {
    if (!(options.ratePerS > 0)) throw new RangeError("ratePerS must be positive");
    if (!(options.burst >= 1)) throw new RangeError("burst must be at least 1");
  }

  /** Takes a token; returns 0 when allowed, otherwise seconds to wait (rounded up). */
  take(key: string): number {
    const t = this.now();
    const { ratePerS, burst } = this.options;
    let b = this.#buckets.get(key);
    if (!b) this.#buckets.set(key, b = { tokens: burst, at: t });
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * ratePerS);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / ratePerS));
  }
}
