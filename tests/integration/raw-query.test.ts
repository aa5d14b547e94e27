import { describe, expect, it } from "vitest";
import { testDbKind, useTestDatabase } from "../support/test-database";

// Database.query is the raw path of the hottest statements (webhook ingestion, the event queue,
// the ledger's single statement). `prepare: true` must give the same answers as a plain query,
// and on Postgres really leave the statement prepared on the connection (that is its point).
describe(`raw statements (${testDbKind()})`, () => {
  const t = useTestDatabase();

  it("answers a prepared statement like a plain one, run after run with other parameters", async () => {
    const text = "SELECT $1::int * 2 AS doubled, $2::text AS label";
    for (let i = 0; i < 12; i++) {
      const prepared = await t.db.query<{ doubled: number; label: string }>(text, [i, `run ${i}`], {
        prepare: true,
      });
      const plain = await t.db.query<{ doubled: number; label: string }>(text, [i, `run ${i}`]);
      expect(prepared).toEqual([{ doubled: 2 * i, label: `run ${i}` }]);
      expect(plain).toEqual(prepared);
    }
  });

  it("keeps different prepared texts apart, and a failing one does not break the next", async () => {
    const a = "SELECT $1::text || '-a' AS v";
    const b = "SELECT $1::text || '-b' AS v";
    expect(await t.db.query(a, ["x"], { prepare: true })).toEqual([{ v: "x-a" }]);
    expect(await t.db.query(b, ["x"], { prepare: true })).toEqual([{ v: "x-b" }]);
    await expect(
      t.db.query("SELECT $1::int AS v", ["not a number"], { prepare: true }),
    ).rejects.toThrow(/invalid input syntax for type integer/);
    expect(await t.db.query("SELECT $1::int AS v", ["7"], { prepare: true })).toEqual([{ v: 7 }]);
    expect(await t.db.query(a, ["y"], { prepare: true })).toEqual([{ v: "y-a" }]);
  });

  it.runIf(testDbKind() === "postgres")(
    "leaves a prepared statement on its connection and a plain one not",
    async () => {
      // The statement looks itself up: while it runs, the connection lists it if it is prepared.
      const text =
        "SELECT name FROM pg_prepared_statements WHERE statement = $1 AND name LIKE 'creditdesk_%'";
      const prepared = await t.db.query<{ name: string }>(text, [text], { prepare: true });
      expect(prepared).toHaveLength(1);
      expect(prepared[0].name).toMatch(/^creditdesk_[0-9a-f]{24}$/);
      const plainText = `${text} AND true`;
      expect(await t.db.query(plainText, [plainText])).toEqual([]);
    },
  );
});
