/**
 * Injectable faults of the simulated acquirer host (docs/iso8583.md, "Faults"). Each money
 * request (0200, 0400) draws at most one fault from a seeded stream:
 *
 * | fault         | the host …                                                   |
 * |---------------|--------------------------------------------------------------|
 * | `timeout`     | processes the request and never answers                      |
 * | `drop-before` | closes the connection without processing                     |
 * | `drop-after`  | processes, then closes the connection without answering      |
 * | `late`        | processes and answers after `lateMs` (past the client's wait)|
 * | `duplicate`   | processes and answers twice                                  |
 * | `bad-mac`     | processes and answers with a corrupted MAC                   |
 * | `reject-mac`  | refuses the request as if its MAC were wrong (`A0`)          |
 */
import { Rng } from "../prng.ts";

export type FaultKind =
  | "timeout"
  | "drop-before"
  | "drop-after"
  | "late"
  | "duplicate"
  | "bad-mac"
  | "reject-mac";

export const FAULT_KINDS: readonly FaultKind[] = [
  "timeout",
  "drop-before",
  "drop-after",
  "late",
  "duplicate",
  "bad-mac",
  "reject-mac",
];

/** Probability of each fault per request (their sum at most 1). */
export type FaultRates = Readonly<Partial<Record<FaultKind, number>>>;

export const NO_FAULTS: FaultRates = {};

/** Every fault at 3 % (together 21 % of requests). */
export const ALL_FAULTS: FaultRates = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0.03]));

/** Checks rates: known names, each in [0, 1], sum at most 1. */
export function checkRates(rates: FaultRates): FaultRates {
  let sum = 0;
  for (const [k, v] of Object.entries(rates)) {
    if (!FAULT_KINDS.includes(k as FaultKind)) throw new RangeError(`fault "${k}" is not known`);
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new RangeError(`fault ${k}: rate 0..1`);
    sum += v;
  }
  if (sum > 1 + 1e-9) throw new RangeError(`fault rates sum to ${sum.toFixed(3)}, more than 1`);
  return rates;
}

/** `NAME=RATE` settings (the CLI's `--fault`) over `base`. */
export function withFaultOverrides(base: FaultRates, settings: readonly string[]): FaultRates {
  const out: Record<string, number> = { ...base };
  for (const s of settings) {
    const m = /^([a-z-]+)=([0-9.]+)$/.exec(s);
    if (!m) throw new RangeError(`--fault must be NAME=RATE, got "${s}"`);
    out[m[1]] = Number(m[2]);
  }
  return checkRates(out);
}

/** The seeded stream of faults. */
export class FaultPlan {
  readonly #rng: Rng;
  readonly #rates: [FaultKind, number][];
  readonly applied: Record<FaultKind, number> = Object.fromEntries(
    FAULT_KINDS.map((k) => [k, 0]),
  ) as Record<FaultKind, number>;

  constructor(seed: string, rates: FaultRates, readonly lateMs = 1500) {
    this.#rng = new Rng(seed, "acquirer-faults");
    this.#rates = FAULT_KINDS.map((k) => [k, checkRates(rates)[k] ?? 0]);
  }

  /** The fault for the next request, if any. */
  next(): FaultKind | undefined {
    let u = this.#rng.float();
    for (const [k, r] of this.#rates) {
      if (u < r) {
        this.applied[k]++;
        return k;
      }
      u -= r;
    }
    return undefined;
  }
}
