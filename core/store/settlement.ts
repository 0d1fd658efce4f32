/**
 * Settlement-day arithmetic (docs/clearing.md, "Settlement day"): a tap belongs to the calendar
 * day of its time in Asia/Shanghai (UTC+08:00, no daylight saving), and a tap at or after the
 * cut-off (default 23:00) belongs to the next day. Computed once at ingest and stored on the
 * record; days are `YYYY-MM-DD` text, compared as text.
 */

/** Shanghai's offset from UTC in minutes (no daylight saving since 1991). */
export const SHANGHAI_OFFSET_MIN = 8 * 60;

/** The default cut-off: 23:00 local time. */
export const DEFAULT_CUTOFF = "23:00";

const DAY_MS = 86_400_000;

/** Minutes after midnight of an `HH:MM` cut-off; throws RangeError for anything else. */
export function cutoffMinutes(hhmm: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new RangeError(`cut-off must be HH:MM (00:00..23:59), got "${hhmm}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function dayOfUtcMs(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The settlement day of a tap: `tappedAt` (ISO 8601 with its offset) in Shanghai time, moved
 * to the next day when at or after the cut-off (minutes after midnight; a cut-off of 0 means
 * the calendar day itself).
 */
export function tapDayOf(tappedAt: string, cutoff = 23 * 60): string {
  const t = Date.parse(tappedAt);
  if (!Number.isFinite(t)) throw new RangeError(`tappedAt is not a date: "${tappedAt}"`);
  const local = t + SHANGHAI_OFFSET_MIN * 60_000;
  const minutes = Math.floor((local % DAY_MS + DAY_MS) % DAY_MS / 60_000);
  return dayOfUtcMs(cutoff > 0 && minutes >= cutoff ? local + DAY_MS : local);
}

/** The Shanghai calendar day of an instant (no cut-off): when a batch reached icfare. */
export function shanghaiDayOf(instant: string): string {
  const t = Date.parse(instant);
  if (!Number.isFinite(t)) throw new RangeError(`not a date: "${instant}"`);
  return dayOfUtcMs(t + SHANGHAI_OFFSET_MIN * 60_000);
}

/** `day` plus `n` calendar days. */
export function addDays(day: string, n: number): string {
  return dayOfUtcMs(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);
}

/** Calendar days from `a` to `b` (negative when `b` is earlier). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);
}

/** The first day at or after `day` that is not closed. */
export function firstOpenDay(day: string, closed: ReadonlySet<string>): string {
  let d = day;
  while (closed.has(d)) d = addDays(d, 1);
  return d;
}
