import { describe, expect, it } from "vitest";
import { runPool } from "../../app/services/webhooks/queue.server";

/** Runs the pool over `n` items that each take a few ms; reports the most in flight at once. */
async function observe(n: number, concurrency: number, busy: () => boolean) {
  let inFlight = 0;
  let most = 0;
  const done: number[] = [];
  await runPool(
    Array.from({ length: n }, (_, i) => i),
    concurrency,
    async (item) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      done.push(item);
      inFlight -= 1;
    },
    busy,
  );
  return { most, done };
}

describe("the webhook worker's pool", () => {
  it("acts on events `concurrency` at a time when deliveries are not arriving", async () => {
    const { most, done } = await observe(12, 4, () => false);
    expect(most).toBe(4);
    expect([...done].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it("acts on one event at a time while deliveries arrive, and still acts on every one", async () => {
    const { most, done } = await observe(6, 4, () => true);
    expect(most).toBe(1);
    // One lane, in claim order: nothing skipped, nothing twice.
    expect(done).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("widens again once the burst is over", async () => {
    // Deliveries stop arriving 20 ms in; one lane alone would need 300 ms for these.
    const quietFrom = performance.now() + 20;
    const { most, done } = await observe(60, 3, () => performance.now() < quietFrom);
    expect(most).toBe(3);
    expect(done).toHaveLength(60);
    expect(new Set(done).size).toBe(60);
  });
});
