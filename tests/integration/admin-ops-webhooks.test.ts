import { beforeAll, describe, expect, it } from "vitest";
import {
  action as eventAction,
  loader as eventLoader,
} from "../../app/routes/_app.webhooks.events.$eventId/route";
import { loader as webhooksLoader } from "../../app/routes/_app.webhooks._index/route";
import { attentionKeys, raiseAttention } from "../../app/services/attention.server";
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
  sendRaw,
  signedRequest,
  uid,
  useMoneyPath,
} from "../support/money-path";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();
const mp = useMoneyPath({ APP_URL: "https://desk.example.com" });

type Delivery = {
  id: string;
  receivedAt: Date;
  outcome: string;
  eventId: string | null;
  eventType: string | null;
  responseStatus: number;
  error: string | null;
};
type ListData = {
  values: Record<string, string>;
  errors: Record<string, string>;
  page: { rows: Delivery[]; next: string | null; prev: string | null } | null;
  counts: Record<string, number>;
  doctor: {
    expectedUrl: string;
    listenCommand: string;
    source: string;
    findings: { severity: string; title: string; fix: string | null }[];
    endpoints: { url: string }[];
  };
};

let priceId = "";
const cookies = { support: "", finance: "", admin: "" };
beforeAll(async () => {
  priceId = (await createPrice(mp.ctx.stripe, { credits: 100, unitAmount: 1000 })).id;
  await syncPacks();
  cookies.support = (await createStaffWithSession("support")).cookie;
  cookies.finance = (await createStaffWithSession("finance")).cookie;
  cookies.admin = (
    await createStaffWithSession("admin", { email: `ops-admin-${uid()}@staff.test` })
  ).cookie;
});

const list = (query: string, cookie = cookies.support) =>
  callLoader<ListData>(webhooksLoader, `/webhooks${query}`, { cookie });

describe("webhook deliveries list", () => {
  it("lists an invalid-signature delivery as such, newest first, and filters by outcome and type", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    expect((await deliver(mp.ctx, event)).outcome).toBe("processed");
    const bad = await sendRaw(
      signedRequest(JSON.stringify(event), { secret: "whsec_not_the_right_one" }),
    );
    expect(bad.status).toBe(400);

    const all = await list("");
    expect(all.status).toBe(200);
    const rows = all.data!.page!.rows;
    expect(rows[0]).toMatchObject({
      outcome: "invalid_signature",
      eventId: null,
      responseStatus: 400,
    });
    expect(rows[0].error).toMatch(/signature/i);
    expect(rows[1]).toMatchObject({
      outcome: "accepted",
      eventStatus: "processed",
      eventId: event.id,
      eventType: "checkout.session.completed",
    });
    expect(all.data!.counts.invalid_signature).toBeGreaterThanOrEqual(1);

    const invalid = await list("?outcome=invalid_signature");
    expect(invalid.data!.page!.rows.every((r) => r.outcome === "invalid_signature")).toBe(true);
    expect(invalid.data!.page!.rows.length).toBeGreaterThanOrEqual(1);
    const accepted = await list("?outcome=accepted&type=checkout.session.completed");
    expect(accepted.data!.page!.rows.map((r) => r.eventId)).toContain(event.id);
    expect(accepted.data!.page!.rows.every((r) => r.outcome === "accepted")).toBe(true);
    const otherType = await list("?type=charge.refunded");
    expect(otherType.data!.page!.rows.map((r) => r.eventId)).not.toContain(event.id);
  });

  it("answers 400 with the field named for a bad outcome or event type, keeping the values", async () => {
    const res = await list("?outcome=exploded&type=DROP%20TABLE");
    expect(res.status).toBe(400);
    expect(res.data!.errors.outcome).toMatch(/valid outcome/);
    expect(res.data!.errors.type).toMatch(/event type looks like/);
    expect(res.data!.values.outcome).toBe("exploded");
    expect(res.data!.page).toBeNull();
    const cursor = await list("?after=not-a-cursor");
    expect(cursor.status).toBe(400);
  });

  it("pages with keyset cursors: no repeats, newest first, at most 50 per page, and back again", async () => {
    await getDb().$executeRaw`
      INSERT INTO webhook_deliveries (received_at, signature_status, outcome, response_status, duration_ms, body_sha256, body_size, event_type)
      SELECT now() - (g * interval '1 second') - interval '1 day', 'invalid', 'stale', 400, 1, md5(g::text), 10, 'paging.test'
      FROM generate_series(1, 120) g`;
    const seen: string[] = [];
    let query = "?type=paging.test";
    const pages: Delivery[][] = [];
    for (;;) {
      const res = await list(query);
      const page = res.data!.page!;
      expect(page.rows.length).toBeLessThanOrEqual(50);
      pages.push(page.rows);
      seen.push(...page.rows.map((r) => r.id));
      if (!page.next) break;
      query = `?type=paging.test&after=${page.next}`;
    }
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20]);
    expect(new Set(seen).size).toBe(120);
    const times = pages.flat().map((r) => new Date(r.receivedAt).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const third = await list(
      `?type=paging.test&after=${(await list(`?type=paging.test`)).data!.page!.next}`,
    );
    const back = await list(`?type=paging.test&before=${third.data!.page!.prev}`);
    expect(back.data!.page!.rows.map((r) => r.id)).toEqual(pages[0].map((r) => r.id));
  });

  it("shows the webhook doctor's findings with what to change, and checks Stripe on request", async () => {
    const res = await list("?doctor=now", cookies.admin);
    const doctor = res.data!.doctor;
    expect(doctor.expectedUrl).toBe("https://desk.example.com/webhooks/stripe");
    expect(doctor.listenCommand).toMatch(
      /^stripe listen --forward-to https:\/\/desk\.example\.com\/webhooks\/stripe/,
    );
    expect(doctor.source).toBe("live");
    // The emulator account has no endpoint yet: the doctor says so and how to add one.
    const noEndpoint = doctor.findings.find((f) =>
      /No webhook endpoint is configured/.test(f.title),
    );
    expect(noEndpoint?.severity).toBe("error");
    expect(noEndpoint?.fix).toContain("https://desk.example.com/webhooks/stripe");
    expect(
      doctor.findings.some((f) => /signature no configured secret matches/.test(f.title)),
    ).toBe(true);

    await mp.ctx.stripe.webhookEndpoints.create({
      url: "https://desk.example.com/webhooks/stripe",
      enabled_events: ["checkout.session.completed"],
    });
    const again = await list("?doctor=now", cookies.admin);
    expect(again.data!.doctor.endpoints.map((e) => e.url)).toContain(
      "https://desk.example.com/webhooks/stripe",
    );
    const missing = again.data!.doctor.findings.find((f) => /not subscribed to/.test(f.title));
    expect(missing?.fix).toMatch(/charge\.refunded/);
  });
});

describe("webhook doctor from the last run", () => {
  it("uses the newest run's Stripe-side findings but recounts deliveries since then", async () => {
    const now = new Date();
    const stale = {
      checkedAt: new Date(now.getTime() - 3_600_000).toISOString(),
      ok: false,
      expectedUrl: "https://desk.example.com/webhooks/stripe",
      endpoints: [
        {
          id: "we_1",
          url: "https://desk.example.com/webhooks/stripe",
          status: "disabled",
          enabledEvents: ["*"],
          matchesAppUrl: true,
        },
      ],
      findings: [
        {
          code: "endpoint_disabled",
          severity: "error",
          title: "Webhook endpoint we_1 is disabled",
          detail: "d",
          fix: "Enable endpoint we_1.",
        },
        {
          code: "signing_secret_mismatch",
          severity: "warning",
          title: "OLD COUNT of bad signatures",
          detail: "d",
          fix: "f",
        },
      ],
      deliveries: { lastValidAt: null, valid24h: 0, invalidSignature24h: 0, serverErrors24h: 0 },
      completedSessions24h: null,
      webhooksSilent: false,
    };
    await getDb().reconciliationRun.create({
      data: {
        trigger: "schedule",
        status: "completed",
        windowSince: now,
        windowUntil: now,
        finishedAt: now,
        doctor: stale,
      },
    });
    await sendRaw(signedRequest(JSON.stringify({ id: "evt_x" }), { secret: "whsec_wrong" }));
    const res = await list("", cookies.support);
    const doctor = res.data!.doctor;
    expect(doctor.source).toBe("last_run");
    const titles = doctor.findings.map((f) => f.title);
    expect(titles).toContain("Webhook endpoint we_1 is disabled");
    expect(titles).not.toContain("OLD COUNT of bad signatures");
    expect(
      titles.some((t) =>
        /deliver(y|ies) in the last 24 h had a signature no configured secret matches/.test(t),
      ),
    ).toBe(true);
  });
});

type EventData = {
  detail: {
    event: {
      id: string;
      status: string;
      payload: string;
      lastError: string | null;
      attempts: number;
    };
    deliveries: Delivery[];
    purchase: { id: string; checkoutSessionId: string } | null;
    user: { id: string; balance: number } | null;
    replays: unknown[];
  };
  canReplay: boolean;
};

describe("event detail and replay", () => {
  it("shows the payload pretty-printed, every delivery and links to the user and purchase", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    await deliver(mp.ctx, event);
    await deliver(mp.ctx, event);
    const res = await callLoader<EventData>(eventLoader, `/webhooks/events/${event.id}`, {
      cookie: cookies.support,
      params: { eventId: event.id },
    });
    expect(res.status).toBe(200);
    const { detail, canReplay } = res.data!;
    expect(canReplay).toBe(false);
    expect(detail.event.payload).toContain(`\n  "id": "${event.id}"`);
    expect(detail.deliveries.map((d) => d.outcome)).toEqual(["duplicate", "accepted"]);
    expect(detail.purchase?.checkoutSessionId).toBe(session.id);
    expect(detail.user).toMatchObject({ id: user.id, balance: 100 });

    const missing = await callLoader(eventLoader, "/webhooks/events/evt_nope", {
      cookie: cookies.support,
      params: { eventId: "evt_nope" },
    });
    expect(missing.status).toBe(404);
  });

  it("replays a failed event for an admin: credited once, audited, the failed-event item closed", async () => {
    const user = await createUser();
    const session = await paidSession(mp.ctx, { priceId, clientReferenceId: user.id });
    const event = await eventOf(mp.ctx.stripe, session.id, "checkout.session.completed");
    mp.ctx.emu.control.setFaults({ api500Rate: 1 });
    try {
      // Accepted, then the queue's attempt fails against the unavailable Stripe…
      expect((await deliver(mp.ctx, event)).outcome).toBe("received");
    } finally {
      mp.ctx.emu.control.setFaults({ api500Rate: 0 });
    }
    // … until it gave up (as after MAX_ATTEMPTS).
    await getDb().stripeEvent.update({
      where: { id: event.id },
      data: { status: "failed", availableAt: null },
    });
    const item = await raiseAttention({
      kind: "failed_event",
      dedupeKey: attentionKeys.failedEvent(event.id),
      title: "failed",
      stripeEventId: event.id,
    });
    const params = { eventId: event.id };

    for (const who of ["support", "finance"] as const) {
      const refused = await callAction(
        eventAction,
        `/webhooks/events/${event.id}`,
        { intent: "replay" },
        { cookie: cookies[who], params },
      );
      expect(refused.status).toBe(403);
    }
    expect(await balanceOf(user.id)).toBe(0);
    const unknown = await callAction(
      eventAction,
      `/webhooks/events/${event.id}`,
      { intent: "explode" },
      { cookie: cookies.admin, params },
    );
    expect(unknown.status).toBe(400);

    const replay = await callAction<{
      intent: string;
      outcome: { status: string; detail: string };
    }>(
      eventAction,
      `/webhooks/events/${event.id}`,
      { intent: "replay" },
      { cookie: cookies.admin, params },
    );
    expect(replay.status).toBe(200);
    expect(replay.data).toMatchObject({ intent: "replay", outcome: { status: "processed" } });
    expect(replay.data!.outcome.detail).toMatch(/credited 100 credits/);
    expect(replay.headers.get("Set-Cookie")).toMatch(/^cd_flash=/);
    expect(await balanceOf(user.id)).toBe(100);
    expect((await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).status).toBe(
      "processed",
    );
    const closed = await getDb().attentionItem.findUniqueOrThrow({ where: { id: item.id } });
    expect(closed.status).toBe("resolved");
    expect(closed.resolution).toMatch(/Replayed by ops-admin-.*: processed/);
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "webhook.replay", targetId: event.id },
    });
    expect(audit.before).toEqual({ status: "failed" });
    expect(audit.after).toMatchObject({ status: "processed", userId: user.id });

    // A second replay changes nothing: the purchase is already credited.
    const again = await callAction<{ outcome: { detail: string } }>(
      eventAction,
      `/webhooks/events/${event.id}`,
      { intent: "replay" },
      { cookie: cookies.admin, params },
    );
    expect(again.data!.outcome.detail).toBe("already credited");
    expect(await balanceOf(user.id)).toBe(100);

    const page = await callLoader<EventData>(eventLoader, `/webhooks/events/${event.id}`, {
      cookie: cookies.admin,
      params,
    });
    expect(page.data!.detail.replays).toHaveLength(2);
    expect(page.data!.canReplay).toBe(true);
  });

  it("reports a replay that still fails, and keeps the item open", async () => {
    const fake = {
      id: `evt_${uid()}`,
      object: "event",
      type: "checkout.session.completed",
      livemode: false,
      created: Math.floor(Date.now() / 1000),
      api_version: "2026-10-28.endive",
      data: { object: { id: "cs_test_gone_forever", object: "checkout.session" } },
    };
    expect((await deliver(mp.ctx, JSON.stringify(fake))).outcome).toBe("failed");
    const replay = await callAction<{
      intent: string;
      outcome: { status: string; detail: string };
    }>(
      eventAction,
      `/webhooks/events/${fake.id}`,
      { intent: "replay" },
      { cookie: cookies.admin, params: { eventId: fake.id } },
    );
    expect(replay.data).toMatchObject({ intent: "replay", outcome: { status: "failed" } });
    expect(replay.data!.outcome.detail).toMatch(/cs_test_gone_forever was not found/);
    const item = await getDb().attentionItem.findFirstOrThrow({
      where: { stripeEventId: fake.id },
    });
    expect(item.status).toBe("open");
    const missing = await callAction(
      eventAction,
      "/webhooks/events/evt_missing",
      { intent: "replay" },
      { cookie: cookies.admin, params: { eventId: "evt_missing" } },
    );
    expect(missing.status).toBe(404);
  });
});
