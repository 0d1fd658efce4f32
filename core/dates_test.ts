import { assertEquals } from "@icfare/assert";
import { dateProblem, isCalendarDate, isRealDay } from "./dates.ts";

Deno.test("dates: real days only, years 2000-2099, leap years by the Gregorian rule", () => {
  for (const d of ["2000-02-29", "2024-02-29", "2026-12-31", "2099-01-01"]) {
    assertEquals(dateProblem(d), null, d);
  }
  assertEquals(dateProblem("2026-02-30"), "2026-02-30 is not a day of the calendar");
  assertEquals(dateProblem("2100-02-28"), "year 2100 is outside 2000-2099");
  assertEquals(dateProblem("2026-2-3"), '"2026-2-3" is not YYYY-MM-DD');
  for (const d of ["2026-02-29", "2026-04-31", "2026-00-01", "2026-01-00", "2026-01-32"]) {
    assertEquals(isCalendarDate(d), false, d);
  }
  assertEquals(isRealDay(2000, 2, 29), true); // divisible by 400
  assertEquals(isRealDay(2001, 2, 29), false);
});
