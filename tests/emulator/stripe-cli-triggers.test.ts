import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./support/harness";

/** The API calls `stripe trigger <event>` makes (stripe-cli fixtures), replayed against the emulator. */
interface TriggerFile {
  fixtures: Array<{ name: string; path: string; method: string; params?: Record<string, unknown> }>;
}

const dir = new URL("./fixtures/stripe-cli-triggers/", import.meta.url);
const triggers = readdirSync(dir).filter((f) => f.endsWith(".json"));

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.emulator.stop());
beforeEach(() => h.emulator.control.reset());

/** `${name:data.0.id}` → the value at that path in an earlier fixture's response. */
function fill(value: unknown, results: Record<string, unknown>): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([a-z_]+):([a-z0-9_.]+)\}/g, (_m, name: string, path: string) => {
      let node: unknown = results[name];
      for (const key of path.split(".")) node = (node as Record<string, unknown>)[key];
      return String(node);
    });
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, results));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, results)]));
  }
  return value;
}

describe("Stripe CLI triggers", () => {
  it("has trigger files to replay", () => {
    expect(triggers.length).toBeGreaterThanOrEqual(7);
  });

  for (const file of triggers) {
    const eventType = file.replace(/\.json$/, "");
    it(`${eventType} is produced by the calls \`stripe trigger\` makes`, async () => {
      const trigger = JSON.parse(readFileSync(new URL(file, dir), "utf8")) as TriggerFile;
      const results: Record<string, unknown> = {};
      for (const fixture of trigger.fixtures) {
        const method = fixture.method.toUpperCase();
        const path = fill(fixture.path, results) as string;
        const params = fill(fixture.params ?? {}, results) as Record<string, string>;
        // The SDK's rawRequest takes GET parameters in the path.
        results[fixture.name] =
          method === "POST"
            ? await h.stripe.rawRequest(method, path, params)
            : await h.stripe.rawRequest(
                method,
                `${path}?${new URLSearchParams(params).toString()}`,
              );
      }
      const events = await h.stripe.events.list({ type: eventType });
      expect(events.data.length).toBeGreaterThan(0);
    });
  }
});
