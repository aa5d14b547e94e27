import { describe, expect, it } from "vitest";
import {
  csvCell,
  csvLine,
  csvStream,
  exportFilename,
  neutralise,
} from "../../app/services/admin/csv.server";
import { prefetchPages } from "../../app/services/admin/keyset.server";
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

describe("CSV streaming", () => {
  async function* batches(n: number, size: number) {
    for (let i = 0; i < n; i += size)
      yield Array.from({ length: Math.min(size, n - i) }, (_, k) => ({
        id: i + k,
        note: k % 2 ? "=x" : "ok",
      }));
  }
  const columns = [
    { header: "id", value: (r: { id: number }) => r.id },
    { header: "note", value: (r: { note: string }) => r.note },
  ];

  it("writes the header then every row, pulling one batch at a time", async () => {
    let pulled = 0;
    async function* counting() {
      for await (const b of batches(2500, 1000)) {
        pulled += 1;
        yield b;
      }
    }
    const stream = csvStream(columns, counting());
    const reader = stream.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("id,note\r\n");
    expect(pulled).toBeLessThanOrEqual(1);
    let text = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const rows = parseCsv(text);
    expect(rows).toHaveLength(2501);
    expect(rows[2500]).toEqual(["2499", "'=x"]);
    expect(pulled).toBe(3);
  });

  it("adds a UTF-8 byte-order mark only when asked", async () => {
    const withBom = new Uint8Array(
      await new Response(csvStream(columns, batches(1, 1), { bom: true })).arrayBuffer(),
    );
    expect([...withBom.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const without = new Uint8Array(
      await new Response(csvStream(columns, batches(1, 1))).arrayBuffer(),
    );
    expect(without[0]).toBe("i".charCodeAt(0));
  });

  it("stops reading the source when the client cancels", async () => {
    let finished = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield [{ id: i, note: "ok" }];
      } finally {
        finished = true;
      }
    }
    const reader = csvStream(columns, endless()).getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    expect(finished).toBe(true);
  });

  it("names files with a UTC stamp", () => {
    expect(exportFilename("purchases", new Date("2026-11-22T08:12:59Z"))).toBe(
      "purchases-2026-11-22T0812Z.csv",
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

describe("prefetchPages", () => {
  const pages = [
    { rows: [1, 2], next: "a", prev: null },
    { rows: [3, 4], next: "b", prev: null },
    { rows: [5], next: null, prev: null },
  ];

  it("yields every page in order, asking for page N+1 while page N is being used", async () => {
    const asked: (string | undefined)[] = [];
    const seen: number[][] = [];
    for await (const rows of prefetchPages(async (after) => {
      asked.push(after);
      return pages[asked.length - 1];
    })) {
      seen.push(rows);
      // One page ahead, never more.
      expect(asked.length).toBe(Math.min(seen.length + 1, pages.length));
    }
    expect(seen).toEqual([[1, 2], [3, 4], [5]]);
    expect(asked).toEqual([undefined, "a", "b"]);
  });

  it("stops fetching when the consumer stops", async () => {
    let fetched = 0;
    for await (const rows of prefetchPages(async () => {
      fetched += 1;
      return { rows: [fetched], next: "more", prev: null };
    })) {
      if (rows[0] === 2) break;
    }
    expect(fetched).toBe(3);
  });
});
