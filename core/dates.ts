/**
 * Calendar dates where they enter icfare (command-line options, upload fields, the simulator):
 * `YYYY-MM-DD` must name a real day — `Date.parse` alone rolls 2026-02-30 over into March — and
 * a year icfare can plausibly meet (2000-2099: PBOC tap dates 9A carry two-digit years, read as
 * 20YY; docs/verification.md). The range is fixed, not relative to today, so that the same input
 * is judged the same way in every later run (replays, archives).
 */

/** First and last year icfare accepts. */
export const YEAR_MIN = 2000;
export const YEAR_MAX = 2099;

/** Days in month `m` (1-12) of year `y`. */
function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** True when `y`, `m`, `d` name a real day in a plausible year. */
export function isRealDay(y: number, m: number, d: number): boolean {
  return Number.isInteger(y) && y >= YEAR_MIN && y <= YEAR_MAX && m >= 1 && m <= 12 && d >= 1 &&
    d <= daysIn(y, m);
}

/**
 * Why `s` is not a calendar date `YYYY-MM-DD`, or null when it is one: `"2026-02-28"` gives
 * null, `"2026-02-30"` gives "2026-02-30 is not a day of the calendar".
 */
export function dateProblem(s: string): string | null {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s);
  if (!m) return `"${s}" is not YYYY-MM-DD`;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < YEAR_MIN || y > YEAR_MAX) return `year ${y} is outside ${YEAR_MIN}-${YEAR_MAX}`;
  if (!isRealDay(y, mo, d)) return `${s} is not a day of the calendar`;
  return null;
}

/** True when `s` is a real calendar date `YYYY-MM-DD` in a plausible year. */
export function isCalendarDate(s: string): boolean {
  return dateProblem(s) === null;
}
