/**
 * One collection attempt of one debt, exactly once (docs/iso8583.md, "Exactly once"):
 *
 * 1. the caller allocates a STAN; `journal.sending` makes "sent with this STAN" durable
 *    before the 0200 leaves;
 * 2. an answer with a known meaning ends the attempt (approved, declined, refused);
 * 3. no answer, a bad MAC or an answer whose meaning is not known: the charge may stand, so
 *    the 0200 is never sent again — `journal.reversing` makes "reversing" durable and the
 *    0400 (same STAN) is sent until the host confirms it (00, or 25: never had it);
 * 4. after a crash, a debt found "sent" or "reversing" is finished with `resumeReversal`.
 *
 * A debt whose reversal is confirmed is free for a new attempt with a new STAN. So a tap is
 * charged at most once whatever is lost, late or repeated on the way.
 */
import type { AuthAnswer } from "./answers.ts";
import type { ReversalReason } from "./messages.ts";
import type { AcquirerLink, AuthInput, UnknownReason } from "./link.ts";

/** What the caller makes durable before bytes leave. */
export interface AttemptJournal {
  /** Before the 0200: the debt is "sent" with this STAN. */
  sending(stan: string): Promise<void>;
  /** Before each 0400: the debt is "reversing" this STAN for `reason`. */
  reversing(stan: string, reason: ReversalReason): Promise<void>;
}

/** How an attempt ended. */
export type AttemptOutcome =
  | {
    readonly final: "approved" | "declined" | "refused";
    readonly stan: string;
    readonly answer: AuthAnswer;
  }
  | {
    /** The outcome was unknown and the reversal is confirmed: nothing charged. */
    readonly final: "reversed";
    readonly stan: string;
    /** Why the outcome was unknown (absent when resumed after a restart). */
    readonly reason?: UnknownReason;
    readonly responseCode: string;
  }
  | {
    /** The reversal is not confirmed yet: keep "reversing" and resume later. */
    readonly final: "reversal-pending";
    readonly stan: string;
    readonly reason: string;
  }
  | {
    /** Nothing left; the debt is as before. */
    readonly final: "not-sent";
    readonly stan: string;
    readonly reason: string;
  };

export interface AttemptOptions {
  /** 0400s sent before giving up for now (default 3). */
  readonly reversalTries?: number;
  /** Called when the link must sign on again; false when it could not. */
  readonly signOn?: () => Promise<boolean>;
}

/** Runs one attempt of `req` (its STAN freshly allocated) to a final or pending outcome. */
export async function runAttempt(
  link: AcquirerLink,
  req: AuthInput,
  journal: AttemptJournal,
  opts: AttemptOptions = {},
): Promise<AttemptOutcome> {
  if (!link.signedOn && opts.signOn && !(await opts.signOn())) {
    return { final: "not-sent", stan: req.stan, reason: "not-signed-on" };
  }
  const r = await link.authorize(req, () => journal.sending(req.stan));
  if (r.outcome === "not-sent") return { final: "not-sent", stan: r.stan, reason: r.reason };
  if (r.outcome !== "unknown") return { final: r.outcome, stan: r.stan, answer: r.answer };
  const done = await resumeReversal(link, req, r.reverseWith, journal, opts);
  return done.final === "reversed" ? { ...done, reason: r.reason } : done;
}

/**
 * Sends the 0400 for `req.stan` until the host confirms it or `reversalTries` run out. Used
 * by `runAttempt` and, after a restart, for every debt left "sent" or "reversing".
 */
export async function resumeReversal(
  link: AcquirerLink,
  req: AuthInput,
  reason: ReversalReason,
  journal: AttemptJournal,
  opts: AttemptOptions = {},
): Promise<
  | { final: "reversed"; stan: string; responseCode: string }
  | { final: "reversal-pending"; stan: string; reason: string }
> {
  const tries = opts.reversalTries ?? 3;
  let last = "not tried";
  for (let i = 0; i < tries; i++) {
    if (!link.signedOn && !(opts.signOn && await opts.signOn())) {
      last = "not-signed-on";
      continue;
    }
    const r = await link.reverse(req, reason, () => journal.reversing(req.stan, reason));
    if (r.outcome === "reversed") {
      return { final: "reversed", stan: r.stan, responseCode: r.responseCode };
    }
    last = r.outcome === "unknown" && r.responseCode ? `${r.reason} ${r.responseCode}` : r.reason;
  }
  return { final: "reversal-pending", stan: req.stan, reason: last };
}
