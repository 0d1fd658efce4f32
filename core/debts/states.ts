/**
 * The debt state machine (docs/clearing.md, "Debts"), as data: every state, every allowed
 * transition with the event that takes it, and the retry schedule. The store (`book.ts`) moves
 * a debt only along these edges; anything else is a bug and throws.
 *
 * ```
 *            sending(stan)             approved
 *  pending ───────────────▶ sent ───────────────────────▶ recovered
 *     ▲  ▲                  │ │ ╲ declined (declines ≤ 4)
 *     │  │ refused/reversed │ │  ╲──────────────▶ declined ──sweep: retry due──▶ pending
 *     │  └──────────────────┘ │   declined (5th)
 *     │                       │  ──────────────────────────────────────────────▶ written_off
 *     │      reversed         ▼ reversing(stan)
 *     └─────────────────── reversing ◀─┐ reversal-pending
 *                                 └────┘
 * ```
 *
 * A debt is created `pending`, due at once. Before a request leaves, it is made `sent` with its
 * STAN (`sending`, persisted first; the same STAN again is a retransmission). An approval ends
 * it `recovered`; a decline puts the card on the deny list and schedules a retry 1, 3, 7 and 14
 * days after the first decline; the fifth decline (the one on day 14) ends it `written_off`.
 * A refusal (MAC, format, system error) or a confirmed reversal frees it for a new STAN without
 * counting as a decline. An unknown outcome is `reversing` until the reversal is confirmed.
 */

export const DEBT_STATES = [
  "pending",
  "sent",
  "reversing",
  "declined",
  "recovered",
  "written_off",
] as const;
export type DebtState = typeof DEBT_STATES[number];

/** Final states: nothing moves a debt out of them. */
export const FINAL_STATES: ReadonlySet<DebtState> = new Set(["recovered", "written_off"]);

/** What happens to a debt. */
export type DebtEvent =
  | "sending"
  | "retransmit"
  | "reversing"
  | "approved"
  | "declined"
  | "declined-final"
  | "refused"
  | "reversed"
  | "retry-due";

/** Every allowed edge: `from` → `to` on `event`. */
export const TRANSITIONS: readonly { from: DebtState; event: DebtEvent; to: DebtState }[] = [
  { from: "pending", event: "sending", to: "sent" },
  { from: "sent", event: "retransmit", to: "sent" },
  { from: "sent", event: "reversing", to: "reversing" },
  { from: "reversing", event: "reversing", to: "reversing" },
  { from: "sent", event: "approved", to: "recovered" },
  { from: "sent", event: "declined", to: "declined" },
  { from: "sent", event: "declined-final", to: "written_off" },
  { from: "sent", event: "refused", to: "pending" },
  { from: "sent", event: "reversed", to: "pending" },
  { from: "reversing", event: "reversed", to: "pending" },
  { from: "declined", event: "retry-due", to: "pending" },
];

/** The state `event` takes a debt in `from` to, or null when the edge does not exist. */
export function nextState(from: DebtState, event: DebtEvent): DebtState | null {
  return TRANSITIONS.find((t) => t.from === from && t.event === event)?.to ?? null;
}

/**
 * Retry schedule: days after the first decline at which the debt is tried again. After a
 * decline on the last of them the debt is written off: up to 14 days, as acquirers do for
 * transit debts (docs/clearing.md, "Debts").
 */
export const RETRY_DAYS = [1, 3, 7, 14] as const;

/** The retry time after the `declines`-th decline, or null when the debt is to be written off. */
export function retryAt(firstDeclinedAt: string, declines: number): string | null {
  if (declines < 1) throw new RangeError(`declines must be at least 1, got ${declines}`);
  if (declines > RETRY_DAYS.length) return null;
  const t = Date.parse(firstDeclinedAt);
  if (!Number.isFinite(t)) throw new RangeError(`not a time: ${firstDeclinedAt}`);
  return new Date(t + RETRY_DAYS[declines - 1] * 86_400_000).toISOString();
}

/** The outcome of one attempt as collection (`core/iso8583` runAttempt) or an intake reports it. */
export type AttemptResult =
  | {
    readonly final: "approved" | "declined" | "refused";
    readonly stan: string;
    readonly responseCode?: string;
    readonly authCode?: string;
    readonly rrn?: string;
  }
  | { readonly final: "reversed"; readonly stan: string; readonly responseCode?: string }
  | { readonly final: "reversal-pending" | "not-sent"; readonly stan: string };
