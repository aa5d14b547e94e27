import { EventEmitter } from "node:events";
import type { Response as ExpressResponse } from "express";
import { describe, expect, it } from "vitest";
import {
  isoFromEpochMs,
  keysetBatches,
  type CsvExport,
} from "../../app/services/exports/csv-export.server";
import { writeExport } from "../../app/http/exports.server";

/** A response whose socket buffer is "full" after every write until the test says 'drain'. */
class SlowResponse extends EventEmitter {
  written: string[] = [];
  ended = false;
  full = true;
  write(chunk: string) {
    this.written.push(chunk);
    return !this.full;
  }
  end() {
    this.ended = true;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

/** Batches of `size` numbers from 0 to n-1, counting how many the database was asked for. */
function numbers(n: number, size: number) {
  const asked: (number | null)[] = [];
  const batches = keysetBatches<number>(
    async (after) => {
      asked.push(after);
      const from = after === null ? 0 : after + 1;
      return Array.from({ length: Math.max(0, Math.min(size, n - from)) }, (_, i) => from + i);
    },
    (rows) => rows.map((r) => `${r}\r\n`).join(""),
    size,
  );
  return { asked, csv: { header: "n\r\n", batches } satisfies CsvExport };
}

describe("keysetBatches", () => {
  it("yields every row once, asking for batch N+1 while batch N is used", async () => {
    const { asked, csv } = numbers(10, 4);
    const seen: string[] = [];
    for await (const batch of csv.batches) {
      seen.push(batch.text);
      // One batch ahead, never more.
      expect(asked.length).toBeLessThanOrEqual(seen.length + 1);
    }
    expect(seen.join("")).toBe([...Array(10).keys()].map((i) => `${i}\r\n`).join(""));
    // A short batch is the last one: no empty query after it.
    expect(asked).toEqual([null, 3, 7]);
  });
});

describe("writeExport", () => {
  it("waits for 'drain' before writing more, so the database is read only as fast as the client", async () => {
    const { asked, csv } = numbers(100, 10);
    const res = new SlowResponse();
    const done = writeExport(res as unknown as ExpressResponse, csv, false);
    await tick();
    // Header written, socket full: nothing else written, at most one batch fetched ahead.
    expect(res.written).toEqual(["n\r\n"]);
    expect(asked.length).toBeLessThanOrEqual(1);
    res.emit("drain");
    await tick();
    expect(res.written).toHaveLength(2);
    expect(asked.length).toBeLessThanOrEqual(2);
    res.full = false;
    res.emit("drain");
    await done;
    expect(res.ended).toBe(true);
    expect(res.written.join("").split("\r\n").filter(Boolean)).toHaveLength(101);
  });

  it("writes a byte-order mark first when asked", async () => {
    const { csv } = numbers(1, 10);
    const res = new SlowResponse();
    res.full = false;
    await writeExport(res as unknown as ExpressResponse, csv, true);
    expect(res.written[0]).toBe("\uFEFFn\r\n");
  });

  it("stops reading the database when the client goes away", async () => {
    const { asked, csv } = numbers(1_000_000, 10);
    const res = new SlowResponse();
    const done = writeExport(res as unknown as ExpressResponse, csv, false);
    await tick();
    res.emit("drain");
    await tick();
    res.emit("close");
    await done;
    const fetched = asked.length;
    await tick();
    expect(asked.length).toBe(fetched);
    expect(fetched).toBeLessThanOrEqual(3);
    expect(res.ended).toBe(false);
  });
});

describe("isoFromEpochMs", () => {
  it("gives exactly what Date#toISOString gives", () => {
    const samples = [
      0,
      1,
      999,
      86_399_999,
      86_400_000,
      Date.parse("2026-11-22T08:12:00.123Z"),
      Date.parse("2024-02-29T23:59:59.999Z"),
      Date.parse("2026-12-31T23:59:59.009Z"),
      Date.parse("2027-01-01T00:00:00.090Z"),
    ];
    // Random times over 60 years, in and out of order (the day cache must not leak between calls).
    let seed = 42;
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      samples.push(Math.floor((seed / 2 ** 31) * 60 * 365.25 * 86_400_000));
    }
    for (const ms of samples) expect(isoFromEpochMs(String(ms))).toBe(new Date(ms).toISOString());
  });
});
