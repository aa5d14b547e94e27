import { beforeAll, describe, expect, it } from "vitest";
import { loader as auditLoader } from "../../app/routes/_app.audit/route";
import { action as packsAction, loader as packsLoader } from "../../app/routes/_app.packs/route";
import { writeAudit } from "../../app/services/audit.server";
import { getDb } from "../../app/services/infra/db.server";
import { callAction, callLoader } from "../support/admin";
import { createPrice, createUser, uid, useMoneyPath } from "../support/money-path";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

const staff = {
  admin: { cookie: "", email: "", id: "" },
  finance: { cookie: "", email: "", id: "" },
  support: { cookie: "", email: "", id: "" },
};
beforeAll(async () => {
  for (const role of ["admin", "finance", "support"] as const) {
    const s = await createStaffWithSession(role, { email: `${role}.${uid()}@staff.test` });
    staff[role] = { cookie: s.cookie, email: s.email, id: s.staff.id };
  }
});

type PacksData = {
  packs: { stripePriceId: string; active: boolean; credits: number; grantsTier: string | null }[];
  lastSyncedAt: string | null;
  tiers: {
    code: string;
    users: number;
    isDefault: boolean;
    grantedBy: { packs: { name: string }[] };
  }[];
  canSync: boolean;
};
type SyncData = {
  intent: string;
  outcome: {
    created: string[];
    deactivated: string[];
    errors: { priceId: string; error: string }[];
  };
};

describe("packs and tiers", () => {
  it("syncs packs from Stripe for an admin, reports what changed, greys out inactive packs, counts users per tier", async () => {
    const starter = await createPrice(mp.ctx.stripe, {
      credits: 100,
      unitAmount: 500,
      name: "Starter",
    });
    const pro = await createPrice(mp.ctx.stripe, {
      credits: 1000,
      unitAmount: 4000,
      tier: "pro",
      name: "Pro pack",
    });
    const broken = await createPrice(mp.ctx.stripe, {
      credits: "lots",
      unitAmount: 100,
      name: "Broken",
    });
    await createUser();

    expect(
      (
        await callAction(
          packsAction,
          "/packs",
          { intent: "sync" },
          { cookie: staff.finance.cookie },
        )
      ).status,
    ).toBe(403);
    expect(
      (await callAction(packsAction, "/packs", { intent: "nope" }, { cookie: staff.admin.cookie }))
        .status,
    ).toBe(400);
    const first = await callAction<SyncData>(
      packsAction,
      "/packs",
      { intent: "sync" },
      { cookie: staff.admin.cookie },
    );
    expect(first.status).toBe(200);
    expect(first.data!.outcome.created.sort()).toEqual([starter.id, pro.id].sort());
    expect(first.data!.outcome.errors).toEqual([
      { priceId: broken.id, error: expect.stringMatching(/not a positive whole number/) },
    ]);
    expect(first.headers.get("Set-Cookie")).toMatch(/^cd_flash=/);
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "packs.sync" },
      orderBy: { id: "desc" },
    });
    expect(audit.actorId).toBe(staff.admin.id);
    expect(audit.after).toMatchObject({
      created: expect.arrayContaining([starter.id, pro.id]),
      errors: 1,
    });

    await mp.ctx.stripe.prices.update(starter.id, { active: false });
    const second = await callAction<SyncData>(
      packsAction,
      "/packs",
      { intent: "sync" },
      { cookie: staff.admin.cookie },
    );
    expect(second.data!.outcome.deactivated).toEqual([starter.id]);

    const page = await callLoader<PacksData>(packsLoader, "/packs", { cookie: staff.admin.cookie });
    expect(page.status).toBe(200);
    expect(page.data!.canSync).toBe(true);
    expect(page.data!.lastSyncedAt).not.toBeNull();
    // Active first, the deactivated one after it.
    expect(page.data!.packs.map((p) => [p.stripePriceId, p.active])).toEqual([
      [pro.id, true],
      [starter.id, false],
    ]);
    const proTier = page.data!.tiers.find((t) => t.code === "pro")!;
    expect(proTier.grantedBy.packs.map((p) => p.name)).toEqual(["Pro pack"]);
    const free = page.data!.tiers.find((t) => t.code === "free")!;
    expect(free.isDefault).toBe(true);
    expect(free.users).toBe(await getDb().user.count({ where: { tierCode: "free" } }));
    expect((await callLoader(packsLoader, "/packs", { cookie: staff.support.cookie })).status).toBe(
      403,
    );
  });
});

type AuditData = {
  values: Record<string, string>;
  errors: Record<string, string>;
  page: {
    rows: {
      id: string;
      action: string;
      actorLabel: string | null;
      targetType: string | null;
      targetId: string | null;
    }[];
    next: string | null;
    prev: string | null;
  } | null;
};
const audit = (query: string, cookie = staff.finance.cookie) =>
  callLoader<AuditData>(auditLoader, `/audit${query}`, { cookie });

describe("audit log", () => {
  it("filters by actor, action (exact or family), target and date, newest first", async () => {
    const target = `usr_${uid()}`;
    await writeAudit({
      actor: { type: "staff", id: staff.support.id },
      action: "user.tier_change",
      targetType: "user",
      targetId: target,
      reason: "upgrade",
    });
    await writeAudit({
      actor: {
        type: "api_key",
        id: "00000000-0000-4000-8000-000000000001",
        label: "Main app (ak_1…)",
      },
      action: "credits.debit",
      targetType: "user",
      targetId: target,
    });
    await writeAudit({
      actor: { type: "system", label: "fulfillment:webhook" },
      action: "purchase.credited",
      targetType: "purchase",
      targetId: "p_1",
    });

    const byTarget = await audit(`?targetType=user&targetId=${target}`);
    expect(byTarget.status).toBe(200);
    expect(byTarget.data!.page!.rows.map((r) => r.action)).toEqual([
      "credits.debit",
      "user.tier_change",
    ]);
    // A staff row without a label is shown (and found) by the person's email.
    const byEmail = await audit(`?actor=${encodeURIComponent(staff.support.email.slice(0, 14))}`);
    expect(byEmail.data!.page!.rows.map((r) => [r.action, r.actorLabel])).toEqual([
      ["user.tier_change", staff.support.email],
    ]);
    const byKey = await audit("?actorType=api_key&actor=main%20app");
    expect(byKey.data!.page!.rows.map((r) => r.action)).toContain("credits.debit");
    const family = await audit("?action=user.");
    expect(family.data!.page!.rows.every((r) => r.action.startsWith("user."))).toBe(true);
    expect(family.data!.page!.rows.length).toBeGreaterThanOrEqual(1);
    const exact = await audit("?action=purchase.credited");
    expect(exact.data!.page!.rows.map((r) => r.targetId)).toContain("p_1");
    const today = new Date().toISOString().slice(0, 10);
    const dated = await audit(`?from=${today}&to=${today}&targetId=${target}`);
    expect(dated.data!.page!.rows).toHaveLength(2);
    const past = await audit(`?to=2020-01-01&targetId=${target}`);
    expect(past.data!.page!.rows).toHaveLength(0);
  });

  it("validates filters with the field named, and pages with keyset cursors", async () => {
    const bad = await audit("?actorType=robot&action=rm%20-rf&from=2026-13-01");
    expect(bad.status).toBe(400);
    expect(bad.data!.errors.actorType).toMatch(/valid actor type/);
    expect(bad.data!.errors.action).toMatch(/An action looks like/);
    expect(bad.data!.errors.from).toMatch(/not a real date/);
    expect(bad.data!.values.action).toBe("rm -rf");

    for (let i = 0; i < 60; i++)
      await writeAudit({
        actor: { type: "cli", label: "pager" },
        action: "test.page",
        targetType: "ledger",
        targetId: String(i),
      });
    const first = await audit("?action=test.page");
    expect(first.data!.page!.rows).toHaveLength(50);
    const second = await audit(`?action=test.page&after=${first.data!.page!.next}`);
    expect(second.data!.page!.rows).toHaveLength(10);
    expect(second.data!.page!.next).toBeNull();
    const ids = [...first.data!.page!.rows, ...second.data!.page!.rows].map((r) => r.targetId);
    expect(new Set(ids).size).toBe(60);
    expect(ids[0]).toBe("59");
    expect((await audit("", staff.support.cookie)).status).toBe(403);
  });
});
