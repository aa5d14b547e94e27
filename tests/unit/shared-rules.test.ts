import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  DATE_RANGE_ERROR,
  dateRangeFields,
  dayAfter,
  dayStart,
  isDateRangeOrdered,
  refineDateRange,
} from "~/shared/date-range";
import { isCheckoutSessionId, isStripeEventId, isUserId } from "~/shared/ids";

describe("the date-range rule", () => {
  const schema = refineDateRange(z.object(dateRangeFields()));

  it("accepts open ends, one day and ordered ranges", () => {
    expect(schema.safeParse({ from: "", to: "" }).success).toBe(true);
    expect(schema.safeParse({ from: "2026-01-01" }).success).toBe(true);
    expect(schema.safeParse({ from: "2026-01-01", to: "2026-01-01" }).success).toBe(true);
    expect(schema.safeParse({ from: "2026-01-01", to: "2026-02-01" }).success).toBe(true);
  });

  it("puts the one wording beside To when To is before From", () => {
    const r = schema.safeParse({ from: "2026-02-01", to: "2026-01-31" });
    expect(r.success).toBe(false);
    expect(r.error!.issues).toEqual([
      expect.objectContaining({ path: ["to"], message: DATE_RANGE_ERROR }),
    ]);
    expect(isDateRangeOrdered({ from: "2026-02-01", to: "2026-01-31" })).toBe(false);
  });

  it("names the field for days that are malformed or do not exist", () => {
    const bad = schema.safeParse({ from: "2026-02-30", to: "01/02/2026" });
    // The dashboard shows the first message per field.
    const first = (field: string) => bad.error!.issues.find((i) => i.path[0] === field)?.message;
    expect(first("from")).toBe("From is not a real date.");
    expect(first("to")).toBe("To must be a date (YYYY-MM-DD).");
    expect(schema.safeParse({ from: "0000-01-01" }).error!.issues[0]!.message).toBe(
      "From must be between 1970-01-01 and 9999-12-31.",
    );
  });

  it("turns days into a half-open UTC window", () => {
    expect(dayStart("2026-03-01").toISOString()).toBe("2026-03-01T00:00:00.000Z");
    expect(dayAfter("2026-02-28").toISOString()).toBe("2026-03-01T00:00:00.000Z");
  });
});

describe("id formats", () => {
  it("accept the ids Stripe and the main app issue", () => {
    expect(isCheckoutSessionId("cs_test_a1B2c3")).toBe(true);
    expect(isStripeEventId("evt_1Abc")).toBe(true);
    expect(isUserId("user:42@example")).toBe(true);
  });

  it("refuse other prefixes, spaces, and ids past their bound", () => {
    expect(isCheckoutSessionId("pi_123")).toBe(false);
    expect(isCheckoutSessionId("cs_test 1")).toBe(false);
    expect(isCheckoutSessionId(`cs_${"a".repeat(251)}`)).toBe(false);
    expect(isStripeEventId("cs_test_1")).toBe(false);
    expect(isUserId("")).toBe(false);
    expect(isUserId("a/b")).toBe(false);
    expect(isUserId("a".repeat(129))).toBe(false);
  });
});
