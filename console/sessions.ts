/**
 * Console sessions and the login limit (docs/console.md, "Sessions"). A session is a random
 * 256-bit token held only in this process's memory and in the browser's cookie (Secure, HttpOnly,
 * SameSite=Strict); each has its own CSRF token, which every form carries and every POST must
 * return. A session ends at logout, after 30 minutes without a request, 12 hours after login, or
 * at the first request after its account changed (password, state, role) in any process.
 * The login page gets an anonymous session, so the login form carries a CSRF token too.
 */
import type { Role } from "./accounts.ts";

export const COOKIE = "icfare_console";
export const IDLE_MS = 30 * 60_000;
export const MAX_MS = 12 * 3600_000;

export interface Session {
  readonly token: string;
  readonly csrf: string;
  /** Null before login. */
  readonly account: string | null;
  readonly role: Role | null;
  /**
   * The account's `updated_at` at login: a request finding another (a password change, a
   * disable, a role change by any process) ends the session.
   */
  readonly accountStamp: string | null;
  readonly createdAt: number;
  lastSeen: number;
}

function randomToken(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

/** Constant-time comparison of two strings (CSRF tokens). */
export function sameToken(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  if (x.length !== y.length) return false;
  let d = 0;
  for (let i = 0; i < x.length; i++) d |= x[i] ^ y[i];
  return d === 0;
}

export class Sessions {
  readonly #byToken = new Map<string, Session>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  /** A new session (anonymous when `account` is null). */
  create(account: string | null, role: Role | null, accountStamp: string | null = null): Session {
    this.#sweep();
    const t = this.now();
    const s: Session = {
      token: randomToken(),
      csrf: randomToken(),
      account,
      role,
      accountStamp,
      createdAt: t,
      lastSeen: t,
    };
    this.#byToken.set(s.token, s);
    return s;
  }

  /** The live session of a token (touching it), or null. */
  get(token: string | undefined): Session | null {
    if (!token) return null;
    const s = this.#byToken.get(token);
    if (!s) return null;
    const t = this.now();
    if (t - s.lastSeen > IDLE_MS || t - s.createdAt > MAX_MS) {
      this.#byToken.delete(token);
      return null;
    }
    s.lastSeen = t;
    return s;
  }

  end(token: string): void {
    this.#byToken.delete(token);
  }

  #sweep(): void {
    const t = this.now();
    for (const [k, s] of this.#byToken) {
      if (t - s.lastSeen > IDLE_MS || t - s.createdAt > MAX_MS) this.#byToken.delete(k);
    }
  }
}

/**
 * Failed logins per key (the account name, the client address): after `max` failures within
 * `windowMs` further attempts are refused, without checking the password, until the oldest
 * failure leaves the window. A successful login clears the account's failures.
 */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(
    readonly max = 5,
    readonly windowMs = 15 * 60_000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Seconds until `key` may try again (0: it may try now). */
  wait(key: string): number {
    const t = this.now();
    const f = (this.#failures.get(key) ?? []).filter((x) => t - x < this.windowMs);
    // keys without a failure in the window are dropped: typed names do not pile up
    if (f.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, f);
    if (f.length < this.max) return 0;
    return Math.max(1, Math.ceil((f[0] + this.windowMs - t) / 1000));
  }

  fail(key: string): void {
    const f = this.#failures.get(key) ?? [];
    f.push(this.now());
    this.#failures.set(key, f);
  }

  clear(key: string): void {
    this.#failures.delete(key);
  }
}
