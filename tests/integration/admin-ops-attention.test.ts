import { beforeAll, describe, expect, it } from "vitest";
import {
  action as itemAction,
  loader as itemLoader,
} from "../../app/routes/_app.attention.$itemId/route";
import { loader as historyLoader } from "../../app/routes/_app.attention.history/route";
import {
  action as queueAction,
  loader as queueLoader,
} from "../../app/routes/_app.attention._index/route";
import { loader as userSearchLoader } from "../../app/routes/attention.user-search";
import { raiseAttention } from "../../app/services/attention.server";
import { getDb } from "../../app/services/infra/db.server";
import { syncPacks } from "../../app/services/packs.server";
import { callAction, callLoader } from "../support/admin";
import {
  balanceOf,
  createPrice,
  createUser,
  deliver,
  eventOf,
  paidSession,
  uid,
  useMoneyPath,
} from "../support/money-path";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath();

type Item = {
  id: string;
  kind: string;
  status: string;
  checkoutSessionId: string | null;
  resolution: string | null;
  resolvedBy: { email: string } | null;
};
type QueueData = {
  page: { rows: Item[]; next: string | null };
  counts: Record<string, number>;
  canReplay: boolean;
};
// The dashboard's action reply (~/shared/action-reply): errors per field, or an outcome in place.
type Failure = {
  intent: string;
  fieldErrors: Record<string, string>;
  values: Record<string, string>;
};
type Success = {
  intent: string;
  outcome: { tone: string; message: string; packSync?: { created: string[] } };
};

let priceId = "";
const staff = {
  support: { cookie: "", email: "" },
  finance: { cookie: "", email: "" },
  admin: { cookie: "", email: "" },
};
beforeAll(async () => {
  priceId = (await createPrice(mp.ctx.stripe, { credits: 250, unitAmount: 2500 })).id;
  await syncPacks();
  for (const role of ["support", "finance", "admin"] as const) {
    const s = await createStaffWithSession(role, { email: `${role}-${uid()}@staff.test` });
    staff[role] = { cookie: s.cookie, email: s.email };
  }
});

/** A paid session nobody can be matched to (no client reference, an email no user has). */
async function unmatchedSession() {
  const session = await paidSession(mp.ctx, {
    priceId,
    email: `stranger-${uid()}@nowhere.example`,
  });
  const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
  expect((await deliver(mp.ctx, event)).outcome).toBe("needs_attention");
  const item = await getDb().attentionItem.findFirstOrThrow({
    where: { checkoutSessionId: session.id, kind: "unmatched_user" },
  });
  return { session, item };
}

const post = <T = Failure | Success>(
  form: Record<string, string>,
  who: keyof typeof staff = "support",
) => callAction<T>(queueAction, "/attention?index", form, { cookie: staff[who].cookie });

describe("attention queue: unmatched sessions", () => {
  it("groups open items by kind, finds the user and credits the session to them once", async () => {
    const { session, item } = await unmatchedSession();
    const user = await createUser({ email: `real-owner-${uid()}@example.com` });

    const queue = await callLoader<QueueData>(queueLoader, "/attention?kind=unmatched_user", {
      cookie: staff.support.cookie,
    });
    expect(queue.status).toBe(200);
    expect(queue.data!.page.rows.map((r) => r.id)).toContain(item.id);
    expect(queue.data!.page.rows.every((r) => r.kind === "unmatched_user")).toBe(true);
    expect(queue.data!.counts.unmatched_user).toBeGreaterThanOrEqual(1);

    const search = await callLoader(
      userSearchLoader,
      `/attention/user-search?q=${encodeURIComponent(user.email.slice(0, 12))}`,
      { cookie: staff.support.cookie },
    );
    const found = (await search.response!.json()) as { users: { id: string }[] };
    expect(found.users.map((u) => u.id)).toContain(user.id);
    const tooShort = await callLoader(userSearchLoader, "/attention/user-search?q=r", {
      cookie: staff.support.cookie,
    });
    expect(((await tooShort.response!.json()) as { users: unknown[] }).users).toEqual([]);

    const missing = await post({ intent: "assign", itemId: item.id });
    expect(missing.status).toBe(400);
    expect((missing.data as Failure).fieldErrors.userId).toBe("Choose the user to credit.");
    const nobody = await post({ intent: "assign", itemId: item.id, userId: "usr_does_not_exist" });
    expect(nobody.status).toBe(400);
    expect((nobody.data as Failure).fieldErrors.userId).toMatch(
      /No user has the id usr_does_not_exist/,
    );
    expect(await balanceOf(user.id)).toBe(0);

    const done = await post({ intent: "assign", itemId: item.id, userId: user.id });
    expect(done.status).toBe(302);
    expect(done.location).toBe("/attention");
    expect(done.headers.get("Set-Cookie")).toMatch(/^cd_flash=/);
    expect(await balanceOf(user.id)).toBe(250);
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: session.id },
    });
    expect(purchase).toMatchObject({
      userId: user.id,
      creditedVia: "manual",
      userResolvedBy: "manual",
    });
    const closed = await getDb().attentionItem.findUniqueOrThrow({
      where: { id: item.id },
      include: { resolvedBy: { select: { email: true } } },
    });
    expect(closed.status).toBe("resolved");
    expect(closed.resolvedBy?.email).toBe(staff.support.email);
    expect(closed.resolution).toMatch(new RegExp(`Credited via manual to user ${user.id}`));
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "attention.assign_credit", targetId: item.id },
    });
    expect(audit.after).toMatchObject({
      sessionId: session.id,
      assignedUserId: user.id,
      outcome: "credited",
    });

    // The same form sent again: the item is closed, nothing is credited twice.
    const twice = await post({ intent: "assign", itemId: item.id, userId: user.id });
    expect(twice.status).toBe(409);
    expect((twice.data as Failure).fieldErrors.form).toMatch(/already resolved/);
    expect(await balanceOf(user.id)).toBe(250);
  });

  it("is refused to finance; the item page offers the same fixes", async () => {
    const { item } = await unmatchedSession();
    const refused = await post(
      { intent: "dismiss", itemId: item.id, reason: "a long enough reason" },
      "finance",
    );
    expect(refused.status).toBe(403);
    const page = await callLoader<{ detail: { item: Item } }>(itemLoader, `/attention/${item.id}`, {
      cookie: staff.admin.cookie,
      params: { itemId: item.id },
    });
    expect(page.data!.detail.item.status).toBe("open");
    const short = await callAction<Failure>(
      itemAction,
      `/attention/${item.id}`,
      { intent: "dismiss", reason: "dup" },
      { cookie: staff.admin.cookie, params: { itemId: item.id } },
    );
    expect(short.status).toBe(400);
    expect(short.data!.fieldErrors.reason).toMatch(/at least 10 characters/);
    expect(short.data!.values.reason).toBe("dup");
    const ok = await callAction(
      itemAction,
      `/attention/${item.id}`,
      { intent: "dismiss", reason: "Test purchase by our own QA team, refunded in Stripe." },
      {
        cookie: staff.admin.cookie,
        params: { itemId: item.id },
      },
    );
    expect(ok.status).toBe(302);
    expect(ok.location).toBe(`/attention/${item.id}`);
    const after = await getDb().attentionItem.findUniqueOrThrow({ where: { id: item.id } });
    expect(after).toMatchObject({
      status: "dismissed",
      resolution: "Test purchase by our own QA team, refunded in Stripe.",
    });

    const notFound = await callLoader(itemLoader, "/attention/not-a-uuid", {
      cookie: staff.admin.cookie,
      params: { itemId: "not-a-uuid" },
    });
    expect(notFound.status).toBe(404);
  });
});

describe("attention queue: unknown prices and failed events", () => {
  it("syncs packs and retries a session whose price was missing metadata.credits", async () => {
    const user = await createUser();
    const price = await createPrice(mp.ctx.stripe, { credits: null, unitAmount: 700 });
    const session = await paidSession(mp.ctx, { priceId: price.id, clientReferenceId: user.id });
    expect(
      (
        await deliver(
          mp.ctx,
          await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed"),
        )
      ).outcome,
    ).toBe("needs_attention");
    const item = await getDb().attentionItem.findFirstOrThrow({
      where: { checkoutSessionId: session.id, kind: "unknown_price" },
    });

    // Still unknown: the fix says so beside the item and the item stays open.
    const still = await post<Success>({ intent: "retry-session", itemId: item.id });
    expect(still.status).toBe(200);
    expect(still.data!.outcome.tone).toBe("error");
    expect(still.data!.outcome.message).toMatch(/Still not credited/);
    expect((await getDb().attentionItem.findUniqueOrThrow({ where: { id: item.id } })).status).toBe(
      "open",
    );

    await mp.ctx.stripe.prices.update(price.id, { metadata: { credits: "70" } });
    const fixed = await post({ intent: "retry-session", itemId: item.id });
    expect(fixed.status).toBe(302);
    expect(await balanceOf(user.id)).toBe(70);
    expect((await getDb().attentionItem.findUniqueOrThrow({ where: { id: item.id } })).status).toBe(
      "resolved",
    );
    const audits = await getDb().auditLog.findMany({
      where: { action: "attention.retry_session", targetId: item.id },
      orderBy: { id: "asc" },
    });
    expect(audits.map((a) => (a.after as { outcome: string }).outcome)).toEqual([
      "unknown_price",
      "credited",
    ]);
  });

  it("replays a failed event for an admin only; a permanent failure keeps the item open", async () => {
    const fake = {
      id: `evt_${uid()}`,
      object: "event",
      type: "checkout.session.completed",
      livemode: false,
      created: Math.floor(Date.now() / 1000),
      api_version: "2026-10-28.endive",
      data: { object: { id: "cs_test_vanished", object: "checkout.session" } },
    };
    expect((await deliver(mp.ctx, JSON.stringify(fake))).outcome).toBe("failed");
    const item = await getDb().attentionItem.findFirstOrThrow({
      where: { stripeEventId: fake.id, kind: "failed_event" },
    });
    const support = await post({ intent: "retry-event", itemId: item.id });
    expect(support.status).toBe(403);
    expect((support.data as Failure).fieldErrors.form).toMatch(/Only an admin/);
    const admin = await post<Success>({ intent: "retry-event", itemId: item.id }, "admin");
    expect(admin.status).toBe(200);
    expect(admin.data!.outcome.message).toMatch(/still failed/);
    expect((await getDb().attentionItem.findUniqueOrThrow({ where: { id: item.id } })).status).toBe(
      "open",
    );
    const queue = await callLoader<QueueData>(queueLoader, "/attention", {
      cookie: staff.admin.cookie,
    });
    expect(queue.data!.canReplay).toBe(true);
  });

  it("resolves an item without a session with a note, and lists closed items with who, when and how", async () => {
    const gap = await raiseAttention({
      kind: "webhook_gap",
      dedupeKey: `webhook_gap:${uid()}`,
      title: "Reconciliation credited 2 purchases",
    });
    const empty = await post({ intent: "resolve", itemId: gap.id, resolution: "" });
    expect((empty.data as Failure).fieldErrors.resolution).toMatch(/at least 10 characters/);
    const bogus = await post({
      intent: "resolve",
      itemId: "7d7e9c1c-0000-4000-8000-000000000000",
      resolution: "Fixed the endpoint URL in Stripe.",
    });
    expect(bogus.status).toBe(404);
    const unknownIntent = await post({ intent: "explode", itemId: gap.id });
    expect(unknownIntent.status).toBe(400);
    const ok = await post({
      intent: "resolve",
      itemId: gap.id,
      resolution: "Fixed the endpoint URL in Stripe.",
    });
    expect(ok.status).toBe(302);

    type History = { page: { rows: Item[] } | null; errors: Record<string, string> };
    const history = await callLoader<History>(
      historyLoader,
      `/attention/history?status=resolved&kind=webhook_gap&by=${staff.support.email.slice(0, 10)}`,
      {
        cookie: staff.support.cookie,
      },
    );
    const row = history.data!.page!.rows.find((r) => r.id === gap.id);
    expect(row).toMatchObject({
      status: "resolved",
      resolution: "Fixed the endpoint URL in Stripe.",
      resolvedBy: { email: staff.support.email },
    });
    const dismissedOnly = await callLoader<History>(
      historyLoader,
      "/attention/history?status=dismissed",
      { cookie: staff.support.cookie },
    );
    expect(dismissedOnly.data!.page!.rows.every((r) => r.status === "dismissed")).toBe(true);
    const bad = await callLoader<History>(
      historyLoader,
      "/attention/history?from=2026-02-30&to=2026-01-01",
      { cookie: staff.support.cookie },
    );
    expect(bad.status).toBe(400);
    expect(bad.data!.errors.from).toMatch(/not a real date/);
  });
});
