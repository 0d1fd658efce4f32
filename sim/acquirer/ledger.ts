/**
 * The simulated issuer's approval counter per tap (docs/iso8583.md, "Simulated host"): every
 * approval and every reversal applied, and the most approvals that stood at once. A tap whose
 * `maxLive` exceeds 1 was charged twice — the thing the link must never allow.
 */
import { maskPan } from "../../core/mask.ts";

/** The identity of a tap at the issuer: card (PAN, PSN) and ATC. */
export function tapKey(pan: string, psn: string | undefined, atc: string | undefined): string {
  return `${pan}|${psn ?? ""}|${atc ?? ""}`;
}

export interface TapCount {
  approvals: number;
  reversals: number;
  /** Approvals standing now (approved and not reversed). */
  live: number;
  /** The most approvals that stood at the same time. */
  maxLive: number;
}

export class ApprovalLedger {
  readonly #taps = new Map<string, TapCount>();

  #of(tap: string): TapCount {
    let c = this.#taps.get(tap);
    if (!c) this.#taps.set(tap, c = { approvals: 0, reversals: 0, live: 0, maxLive: 0 });
    return c;
  }

  approve(tap: string): void {
    const c = this.#of(tap);
    c.approvals++;
    c.live++;
    c.maxLive = Math.max(c.maxLive, c.live);
  }

  reverse(tap: string): void {
    const c = this.#of(tap);
    if (c.live < 1) throw new Error("ledger: reversing a tap with no standing approval");
    c.reversals++;
    c.live--;
  }

  /** The counts of one tap (zeros when never seen). */
  count(tap: string): TapCount {
    return { ...(this.#taps.get(tap) ?? { approvals: 0, reversals: 0, live: 0, maxLive: 0 }) };
  }

  /** Taps that had two approvals standing at once. */
  doubleApproved(): string[] {
    return [...this.#taps].filter(([, c]) => c.maxLive > 1).map(([k]) => k);
  }

  summary() {
    let approvals = 0, reversals = 0, live = 0;
    for (const c of this.#taps.values()) {
      approvals += c.approvals;
      reversals += c.reversals;
      live += c.live;
    }
    return {
      taps: this.#taps.size,
      approvals,
      reversals,
      live,
      doubleApproved: this.doubleApproved().length,
    };
  }

  /** Per tap, PAN masked (for reports and files). */
  report(): { pan: string; psn: string; atc: string; count: TapCount }[] {
    return [...this.#taps].map(([k, count]) => {
      const [pan, psn, atc] = k.split("|");
      return { pan: maskPan(pan), psn, atc, count: { ...count } };
    });
  }
}
