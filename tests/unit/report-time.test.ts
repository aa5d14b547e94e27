import { describe, expect, it } from "vitest";
import { parseEnv } from "../../app/services/infra/env.server";
import {
  daysOfMonth,
  isTimeZone,
  monthRange,
  shiftMonth,
  zonedDay,
  zonedDayAfter,
  zonedDayStart,
  zonedMonth,
} from "../../app/shared/report-time";

describe("report time zone calendar", () => {
  it("cuts months at local midnight (UTC+2 in November, UTC-5 in New York)", () => {
    expect(monthRange("2026-11", "Europe/Athens")).toEqual({
      start: new Date("2026-10-31T22:00:00Z"),
      end: new Date("2026-11-30T22:00:00Z"),
    });
    expect(monthRange("2026-11", "UTC")).toEqual({
      start: new Date("2026-11-01T00:00:00Z"),
      end: new Date("2026-12-01T00:00:00Z"),
    });
    // New York leaves daylight time on Nov 1: the month starts at UTC-4 and ends at UTC-5.
    expect(monthRange("2026-11", "America/New_York")).toEqual({
      start: new Date("2026-11-01T04:00:00Z"),
      end: new Date("2026-12-01T05:00:00Z"),
    });
    expect(monthRange("2026-12", "UTC").end).toEqual(new Date("2027-01-01T00:00:00Z"));
  });

  it("names the local day and month of an instant", () => {
    expect(zonedDay(new Date("2026-11-30T21:59:00Z"), "Europe/Athens")).toBe("2026-11-30");
    expect(zonedDay(new Date("2026-11-30T22:00:00Z"), "Europe/Athens")).toBe("2026-12-01");
    expect(zonedMonth(new Date("2026-11-30T22:00:00Z"), "Europe/Athens")).toBe("2026-12");
    expect(zonedDay(new Date("2026-11-30T23:59:59Z"), "UTC")).toBe("2026-11-30");
  });

  it("handles a day with a DST change (Berlin, 29 March 2026 is 23 hours long)", () => {
    const start = zonedDayStart("2026-03-29", "Europe/Berlin");
    const end = zonedDayAfter("2026-03-29", "Europe/Berlin");
    expect(start).toEqual(new Date("2026-03-28T23:00:00Z"));
    expect(end).toEqual(new Date("2026-03-29T22:00:00Z"));
  });

  it("walks months and days", () => {
    expect(shiftMonth("2026-01", -1)).toBe("2025-12");
    expect(shiftMonth("2026-12", 1)).toBe("2027-01");
    expect(daysOfMonth("2028-02")).toHaveLength(29);
  });

  it("REPORT_TZ defaults to UTC and refuses a zone that does not exist, naming the variable", () => {
    expect(isTimeZone("Europe/Berlin")).toBe(true);
    expect(isTimeZone("Mars/Olympus")).toBe(false);
    expect(parseEnv({}).REPORT_TZ).toBe("UTC");
    expect(parseEnv({ REPORT_TZ: "Asia/Tokyo" }).REPORT_TZ).toBe("Asia/Tokyo");
    expect(() => parseEnv({ REPORT_TZ: "Mars/Olympus" })).toThrow(
      /REPORT_TZ: must be an IANA time zone/,
    );
  });
});
