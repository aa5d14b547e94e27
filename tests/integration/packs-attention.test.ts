import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { run } from "../../jobs/cli-runner";
import { commands } from "../../jobs/commands/index";
import {
  raiseAttention,
  dismissAttention,
  resolveAttention,
} from "../../app/services/attention.server";
import { getDb } from "../../app/services/infra/db.server";
import { listActivePacks, syncPacks } from "../../app/services/packs.server";
import { createPrice, uid, useMoneyPath } from "../support/money-path";
import { testDbKind, useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

async function cli(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await run(
    argv,
    commands,
    { stdout, stderr, stdin: new PassThrough() },
    { useOpenDatabase: true },
  );
  return { code, out, err };
}

async function staffMember() {
  return getDb().staffUser.create({
    data: { email: `${uid()}@staff.example`, role: "support", passwordHash: "x" },
  });
}

describe("packs sync", () => {
  it("mirrors new, changed and retired prices, and reports bad metadata per price", async () => {
    const pro = await createPrice(mp.ctx.stripe, {
      credits: 500,
      unitAmount: 4000,
      tier: "pro",
      name: "Big pack",
    });
    const small = await createPrice(mp.ctx.stripe, { credits: 50, unitAmount: 500 });
    const retiring = await createPrice(mp.ctx.stripe, { credits: 10, unitAmount: 100 });
    const noCredits = await createPrice(mp.ctx.stripe, { credits: null });
    const badCredits = await createPrice(mp.ctx.stripe, { credits: "ten" });
    const badTier = await createPrice(mp.ctx.stripe, { credits: 5, tier: "platinum" });

    const first = await syncPacks();
    expect(first.created).toEqual(expect.arrayContaining([pro.id, small.id, retiring.id]));
    expect(first.created).not.toContain(noCredits.id);
    expect(first.errors).toEqual(
      expect.arrayContaining([
        { priceId: badCredits.id, error: 'metadata.credits "ten" is not a positive whole number' },
        {
          priceId: badTier.id,
          error: expect.stringMatching(/^metadata.tier "platinum" is not a known tier/),
        },
      ]),
    );
    const proPack = await getDb().creditPack.findUniqueOrThrow({
      where: { stripePriceId: pro.id },
    });
    expect(proPack).toMatchObject({
      credits: 500,
      unitAmount: 4000,
      currency: "usd",
      grantsTier: "pro",
      active: true,
      name: "Big pack",
      priceType: "one_time",
    });

    await mp.ctx.stripe.prices.update(small.id, { metadata: { credits: "60" } });
    await mp.ctx.stripe.prices.update(retiring.id, { active: false });
    const second = await syncPacks();
    expect(second.updated).toContain(small.id);
    expect(second.deactivated).toContain(retiring.id);
    expect(second.unchanged).toBeGreaterThanOrEqual(1);
    expect(
      (await getDb().creditPack.findUniqueOrThrow({ where: { stripePriceId: small.id } })).credits,
    ).toBe(60);

    await mp.ctx.stripe.prices.update(pro.id, { metadata: { credits: "" } });
    const third = await syncPacks();
    expect(third.deactivated).toContain(pro.id);
    const active = (await listActivePacks()).map((p) => p.stripePriceId);
    expect(active).toContain(small.id);
    expect(active).not.toContain(pro.id);
    expect(active).not.toContain(retiring.id);
  });

  it("is a CLI command with --json, exiting 1 when a price could not be mirrored", async () => {
    const ok = await createPrice(mp.ctx.stripe, { credits: 7 });
    const res = await cli(["packs", "sync", "--json"]);
    const report = JSON.parse(res.out) as { created: string[]; errors: { priceId: string }[] };
    expect(report.created).toContain(ok.id);
    // The earlier test left prices with bad metadata in this emulator: they are reported.
    expect(report.errors.length).toBeGreaterThan(0);
    expect(res.code).toBe(1);

    const human = await cli(["packs", "sync"]);
    expect(human.out).toMatch(
      /^Packs synced from \d+ Stripe price\(s\): 0 created, 0 updated, 0 deactivated, \d+ unchanged, \d+ error\(s\)\./,
    );
    expect(human.out).toMatch(/error {7}price_\S+: metadata.credits "ten"/);
  });
});

describe("attention items", () => {
  it("keeps one open item per key and counts repeats, also when raised concurrently", async () => {
    const key = `unknown_price:cs_test_${uid()}`;
    const raise = () =>
      raiseAttention({
        kind: "unknown_price",
        dedupeKey: key,
        title: "Unknown price",
        detail: "first",
      });
    const n = testDbKind() === "postgres" ? 12 : 4;
    const results =
      testDbKind() === "postgres" ? await Promise.all(Array.from({ length: n }, raise)) : [];
    if (testDbKind() !== "postgres") for (let i = 0; i < n; i++) results.push(await raise());
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const item = await getDb().attentionItem.findUniqueOrThrow({ where: { id: results[0].id } });
    expect(item).toMatchObject({ occurrences: n, status: "open", openKey: key, dedupeKey: key });
  });

  it("resolves with an audit record, and a new occurrence after closing opens a new item", async () => {
    const staff = await staffMember();
    const key = `webhook_gap:${uid()}`;
    const first = await raiseAttention({ kind: "webhook_gap", dedupeKey: key, title: "Gap" });
    await expect(
      resolveAttention(first.id, { staffId: staff.id, resolution: "  " }),
    ).rejects.toMatchObject({ status: 400, field: "resolution" });
    const resolved = await resolveAttention(first.id, {
      staffId: staff.id,
      resolution: "Endpoint re-enabled in Stripe.",
    });
    expect(resolved).toMatchObject({
      status: "resolved",
      openKey: null,
      resolvedById: staff.id,
      resolution: "Endpoint re-enabled in Stripe.",
    });
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "attention.resolve", targetId: first.id },
    });
    expect(audit).toMatchObject({
      actorType: "staff",
      actorId: staff.id,
      reason: "Endpoint re-enabled in Stripe.",
    });
    await expect(
      resolveAttention(first.id, { staffId: staff.id, resolution: "again" }),
    ).rejects.toMatchObject({ status: 409 });

    const second = await raiseAttention({
      kind: "webhook_gap",
      dedupeKey: key,
      title: "Gap again",
    });
    expect(second.created).toBe(true);
    expect(second.id).not.toBe(first.id);
    await dismissAttention(second.id, { staffId: staff.id, reason: "Known outage, reconciled." });
    expect(
      (await getDb().attentionItem.findUniqueOrThrow({ where: { id: second.id } })).status,
    ).toBe("dismissed");
    expect(
      await getDb().auditLog.count({ where: { action: "attention.dismiss", targetId: second.id } }),
    ).toBe(1);
  });

  it("rejects unknown kinds and unknown items with specific errors", async () => {
    await expect(
      raiseAttention({ kind: "nonsense" as "webhook_gap", dedupeKey: "k", title: "t" }),
    ).rejects.toMatchObject({ status: 400, field: "kind" });
    const staff = await staffMember();
    await expect(
      dismissAttention("00000000-0000-0000-0000-000000000000", { staffId: staff.id, reason: "x" }),
    ).rejects.toMatchObject({ status: 404, field: "id" });
  });
});
