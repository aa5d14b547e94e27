import { describe, expect, it } from "vitest";
import {
  csvCell,
  csvLine,
  csvText,
  exportFilename,
  periodFilename,
  neutralise,
} from "../../app/services/admin/csv.server";
import { minorToDecimal } from "../../app/services/admin/purchases-query.server";
import { parseCsv } from "../support/csv-parse";

describe("CSV cells (RFC 4180)", () => {
  it("leaves plain text alone and quotes fields with commas, quotes, CR or LF", () => {
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
    expect(csvCell("cr\rhere")).toBe('"cr\rhere"');
    expect(csvCell("")).toBe("");
    expect(csvCell(null)).toBe("");
    expect(csvCell(undefined)).toBe("");
  });

  it("writes numbers, booleans, bigints and dates as data", () => {
    expect(csvCell(1500)).toBe("1500");
    expect(csvCell(-500)).toBe("-500");
    expect(csvCell(12345678901234567890n)).toBe("12345678901234567890");
    expect(csvCell(true)).toBe("true");
    expect(csvCell(new Date("2026-11-22T08:12:00.123Z"))).toBe("2026-11-22T08:12:00.123Z");
  });

  it("neutralises text that a spreadsheet would run as a formula", () => {
    for (const start of ["=", "+", "-", "@", "\t", "\r"])
      expect(neutralise(`${start}1+1`)).toBe(`'${start}1+1`);
    expect(csvCell('=HYPERLINK("http://evil","x")')).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("-2+3")).toBe("'-2+3");
    expect(csvCell("+49 30 1234")).toBe("'+49 30 1234");
    // A text cell that only looks like a negative number is still text (it came from a person).
    expect(csvCell("-500")).toBe("'-500");
    expect(neutralise("a=b")).toBe("a=b");
  });

  it("does not neutralise integer columns: a negative delta stays a number", () => {
    expect(csvLine([-500, "-500", 0, "note"])).toBe("-500,'-500,0,note\r\n");
  });

  it("treats non-integer numbers as text", () => {
    expect(csvCell(Number.NaN)).toBe("NaN");
    expect(csvCell(-1.5)).toBe("'-1.5");
  });

  it("round-trips through a strict parser", () => {
    const cells = ['He said "no", twice', "line1\r\nline2", "=cmd", -7, "ünïcødé ✓", ""];
    const text = csvLine(["a", "b", "c", "d", "e", "f"]) + csvLine(cells);
    expect(parseCsv(text)).toEqual([
      ["a", "b", "c", "d", "e", "f"],
      ['He said "no", twice', "line1\r\nline2", "'=cmd", "-7", "ünïcødé ✓", ""],
    ]);
  });
});

describe("csvText (the exports' text cells)", () => {
  it("matches csvCell on every kind of text, fast path or not", () => {
    const samples = [
      "plain",
      "",
      "a,b",
      'say "hi"',
      "two\nlines",
      "cr\rhere",
      "=1+1",
      "+49 30 1234",
      "-500",
      "@SUM(A1)",
      "\tindent",
      '=HYPERLINK("http://evil","x")',
      "ünïcødé ✓",
      "a=b",
    ];
    for (const text of samples) expect(csvText(text)).toBe(csvCell(text));
    expect(csvText(null)).toBe("");
    expect(csvText(undefined)).toBe("");
  });
});

describe("export files", () => {
  it("names files with a UTC stamp", () => {
    expect(exportFilename("purchases", new Date("2026-11-22T08:12:59Z"))).toBe(
      "purchases-2026-11-22T0812Z.csv",
    );
  });

  it("names finance exports after their period and the report time zone", () => {
    expect(periodFilename("purchases", { from: "2026-11-01", to: "2026-11-30" }, "UTC")).toBe(
      "purchases-2026-11-utc.csv",
    );
    expect(periodFilename("refunds", { month: "2026-02" }, "Europe/Berlin")).toBe(
      "refunds-2026-02-europe-berlin.csv",
    );
    expect(periodFilename("ledger", { from: "2026-11-03", to: "2026-11-09" }, "UTC")).toBe(
      "ledger-2026-11-03_2026-11-09-utc.csv",
    );
    // Not a whole month: Nov 1-29 is a range.
    expect(periodFilename("ledger", { from: "2026-11-01", to: "2026-11-29" }, "UTC")).toBe(
      "ledger-2026-11-01_2026-11-29-utc.csv",
    );
    expect(periodFilename("purchases", { from: "2026-11-01" }, "UTC")).toBe(
      "purchases-2026-11-01_now-utc.csv",
    );
    expect(periodFilename("purchases", {}, "America/New_York")).toBe(
      "purchases-all-america-new-york.csv",
    );
  });

  it("formats minor units as exact decimals per currency", () => {
    expect(minorToDecimal(123456, "usd")).toBe("1234.56");
    expect(minorToDecimal(5, "eur")).toBe("0.05");
    expect(minorToDecimal(-5, "eur")).toBe("-0.05");
    expect(minorToDecimal(1500, "jpy")).toBe("1500");
    expect(minorToDecimal(1234, "kwd")).toBe("1.234");
  });
});
