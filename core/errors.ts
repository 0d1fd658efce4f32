/**
 * One error type for every refusal icfare makes at a boundary (docs/cli.md, "Errors and exit
 * codes"): a stable code a script can match, a one-line human message naming the field or file,
 * and optionally the command that fixes it. Bugs are not refusals and stay plain `Error`s;
 * verification outcomes are statuses per record, never thrown.
 */

/** A refused operation: `code` is stable, `message` names what was wrong. */
export class IcfareError extends Error {
  /** Stable upper-case code, e.g. `KEY_NOT_FOUND`. */
  readonly code: string;
  /** What to run or change to get past the refusal, when there is one. */
  readonly hint?: string;

  constructor(code: string, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "IcfareError";
    this.code = code;
    if (options?.hint) this.hint = options.hint;
  }
}

/** The one-line form the CLI prints: `message [CODE]` plus the hint when there is one. */
export function describeError(e: IcfareError): string {
  return `${e.message} [${e.code}]${e.hint ? ` — ${e.hint}` : ""}`;
}
