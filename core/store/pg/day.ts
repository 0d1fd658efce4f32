/**
 * The settlement day of a tap until the clearing rules stamp it (docs/clearing.md,
 * "Settlement day"): the tap's instant in Asia/Shanghai (UTC+08:00, no daylight saving), taps at
 * or after the 23:00 cut-off belonging to the next calendar day.
 */
const HOUR = 3_600_000;

/** `YYYY-MM-DD` settlement day of an RFC 3339 `tappedAt` with the 23:00 cut-off. */
export function defaultSettlementDay(tappedAt: string): string {
  const t = Date.parse(tappedAt);
  if (!Number.isFinite(t)) throw new RangeError(`tappedAt is not a date: ${tappedAt}`);
  return new Date(t + 9 * HOUR).toISOString().slice(0, 10);
}
