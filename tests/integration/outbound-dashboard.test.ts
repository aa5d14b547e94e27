import { beforeAll, describe, expect, it } from "vitest";
import {
  action as detailAction,
  loader as detailLoader,
} from "../../app/routes/_app.outbound.$endpointId/route";
import {
  action as listAction,
  loader as listLoader,
} from "../../app/routes/_app.outbound._index/route";
import { action as receiverAction } from "../../app/routes/[_demo].receiver_.events";
import { loader as receiverLoader } from "../../app/routes/[_demo].receiver/route";
import { isDashboardPath } from "../../app/http/dashboard-guards.server";
import { clearReceivedEvents, ensureDemoEndpoint } from "../../app/services/demo/receiver.server";
import { getDb } from "../../app/services/infra/db.server";
import { getEnv, setEnv } from "../../app/services/infra/env.server";
import { signedHeaders } from "../../app/services/outbound/signing.server";
import { callAction, callLoader, settle } from "../support/admin";
import { createStaffWithSession, pageRequest } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();

const cookies = { admin: "", support: "", finance: "" };
beforeAll(async () => {
  cookies.admin = (await createStaffWithSession("admin")).cookie;
  cookies.support = (await createStaffWithSession("support")).cookie;
  cookies.finance = (await createStaffWithSession("finance")).cookie;
});

type Reply = {
  fieldErrors: Record<string, string>;
  outcome?: { id: string; url: string; secret: string };
};
type ListData = {
  endpoints: {
    id: string;
    url: string;
    enabled: boolean;
    successRate24h: number | null;
    eventTypes: string[];
  }[];
};
type DetailData = {
  endpoint: { id: string; enabled: boolean; disabledReason: string | null };
  deliveries: { id: string; status: string; type: string }[];
  older: string | null;
};

const serialized = (value: unknown) =>
  JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v));

const audits = (action: string, targetId: string) =>
  getDb().auditLog.count({ where: { action, targetId } });

async function createViaPage(url = `https://receiver-${Date.now()}.example.com/hook`) {
  const res = await callAction<Reply>(
    listAction,
    "/outbound",
    { intent: "create", url, eventTypes: "credits.granted", description: "billing app" },
    { cookie: cookies.admin },
  );
  expect(res.status).toBe(200);
  return res;
}

const detailPost = (endpointId: string, form: Record<string, string>, cookie = cookies.admin) =>
  callAction<Reply>(detailAction, `/outbound/${endpointId}`, form, {
    cookie,
    params: { endpointId },
  });

describe("outbound dashboard", () => {
  it("shows the list to admins and refuses support and finance (403)", async () => {
    const { data } = await createViaPage();
    const list = await callLoader<ListData>(listLoader, "/outbound", { cookie: cookies.admin });
    expect(list.status).toBe(200);
    const row = list.data!.endpoints.find((e) => e.id === data!.outcome!.id)!;
    expect(row).toMatchObject({
      enabled: true,
      successRate24h: null,
      eventTypes: ["credits.granted"],
    });
    for (const cookie of [cookies.support, cookies.finance]) {
      expect((await callLoader(listLoader, "/outbound", { cookie })).status).toBe(403);
      const refused = await callAction(
        listAction,
        "/outbound",
        { intent: "create", url: "https://x.example.com/", eventTypes: "credits.granted" },
        { cookie },
      );
      expect(refused.status).toBe(403);
      const id = data!.outcome!.id;
      expect(
        (await callLoader(detailLoader, `/outbound/${id}`, { cookie, params: { endpointId: id } }))
          .status,
      ).toBe(403);
      for (const form of [{ intent: "rotate" }, { intent: "test" }, { intent: "disable" }]) {
        expect((await detailPost(id, form, cookie)).status).toBe(403);
      }
    }
    // Nothing a refused role posted changed anything.
    expect(await audits("outbound_endpoint.rotate_secret", data!.outcome!.id)).toBe(0);
    expect(await audits("outbound_endpoint.disable", data!.outcome!.id)).toBe(0);
  });

  it("answers a bad URL with a field error and creates nothing", async () => {
    const before = await getDb().outboundEndpoint.count();
    for (const url of ["ftp://example.com/hook", "not a url", ""]) {
      const res = await callAction<Reply>(
        listAction,
        "/outbound",
        { intent: "create", url, eventTypes: "credits.granted" },
        { cookie: cookies.admin },
      );
      expect(res.status).toBe(400);
      expect(res.data!.fieldErrors.url).toMatch(/url/);
    }
    const noTypes = await callAction<Reply>(
      listAction,
      "/outbound",
      { intent: "create", url: "https://ok.example.com/", eventTypes: "" },
      { cookie: cookies.admin },
    );
    expect(noTypes.status).toBe(400);
    expect(noTypes.data!.fieldErrors.eventTypes).toMatch(/at least one/);
    expect(await getDb().outboundEndpoint.count()).toBe(before);
  });

  it("shows the new secret once; the list and detail pages never carry it; creation audited", async () => {
    const res = await createViaPage();
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const { id, secret } = res.data!.outcome!;
    expect(secret).toMatch(/^whsec_/);
    expect(await audits("outbound_endpoint.create", id)).toBe(1);
    const list = await callLoader(listLoader, "/outbound", { cookie: cookies.admin });
    const detail = await callLoader<DetailData>(detailLoader, `/outbound/${id}`, {
      cookie: cookies.admin,
      params: { endpointId: id },
    });
    expect(detail.status).toBe(200);
    expect(serialized(list.data)).not.toContain(secret);
    expect(serialized(detail.data)).not.toContain(secret);
    expect(serialized(detail.data)).not.toContain(secret.slice(6, 20));
  });

  it("rotates the secret (shown once, audited), disables and enables (audited)", async () => {
    const { id, secret } = (await createViaPage()).data!.outcome!;
    const rotated = await detailPost(id, { intent: "rotate" });
    expect(rotated.status).toBe(200);
    const newSecret = rotated.data!.outcome!.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(secret);
    expect(await audits("outbound_endpoint.rotate_secret", id)).toBe(1);
    const detail = await callLoader(detailLoader, `/outbound/${id}`, {
      cookie: cookies.admin,
      params: { endpointId: id },
    });
    expect(serialized(detail.data)).not.toContain(newSecret);

    // Success answers with a redirect back to the page and a toast.
    expect((await detailPost(id, { intent: "disable" })).status).toBe(302);
    const disabled = await callLoader<DetailData>(detailLoader, `/outbound/${id}`, {
      cookie: cookies.admin,
      params: { endpointId: id },
    });
    expect(disabled.data!.endpoint).toMatchObject({
      enabled: false,
      disabledReason: "disabled by staff",
    });
    expect(await audits("outbound_endpoint.disable", id)).toBe(1);
    // A test event to a disabled endpoint is refused, naming why.
    const refused = await detailPost(id, { intent: "test" });
    expect(refused.status).toBe(409);
    expect(Object.values(refused.data!.fieldErrors).join(" ")).toMatch(/Enable the endpoint/);
    expect((await detailPost(id, { intent: "enable" })).status).toBe(302);
    expect(await audits("outbound_endpoint.enable", id)).toBe(1);
    // Enabling twice is a clear conflict, not a 500.
    expect((await detailPost(id, { intent: "enable" })).status).toBe(409);
  });

  it("queues a test event for this endpoint only (audited)", async () => {
    const { id } = (await createViaPage()).data!.outcome!;
    const res = await detailPost(id, { intent: "test" });
    expect(res.status).toBe(302);
    const events = await getDb().$queryRaw<{ type: string }[]>`
      SELECT type FROM outbound_events WHERE test_endpoint_id = ${id}`;
    expect(events.map((e) => e.type)).toEqual(["credits.granted"]);
    expect(await audits("outbound_endpoint.test", id)).toBe(1);
  });

  it("lists deliveries and replays a failed one and all failed in a range (audited)", async () => {
    const { id } = (await createViaPage()).data!.outcome!;
    const [e1, e2] = await getDb().$queryRaw<{ id: bigint }[]>`
      INSERT INTO outbound_events (type, user_id, data, dispatched_at)
      VALUES ('credits.granted', NULL, '{}'::jsonb, now()), ('credits.granted', NULL, '{}'::jsonb, now())
      RETURNING id`;
    const rows = await getDb().$queryRaw<{ id: bigint }[]>`
      INSERT INTO outbound_deliveries (event_id, endpoint_id, status, attempts, last_status, last_error)
      VALUES (${e1.id}, ${id}, 'failed', 5, 500, 'HTTP 500'),
             (${e2.id}, ${id}, 'failed', 5, 502, 'HTTP 502')
      RETURNING id`;
    const [first, second] = rows.map((r) => r.id.toString());
    const detail = await callLoader<DetailData>(detailLoader, `/outbound/${id}`, {
      cookie: cookies.admin,
      params: { endpointId: id },
    });
    expect(detail.data!.deliveries.map((d) => [d.id, d.status])).toEqual([
      [second, "failed"],
      [first, "failed"],
    ]);

    const replayed = await detailPost(id, { intent: "replay", deliveryId: first });
    expect(replayed.status).toBe(302);
    const status = async (deliveryId: string) =>
      (
        await getDb().$queryRaw<{ status: string }[]>`
          SELECT status::text FROM outbound_deliveries WHERE id = ${BigInt(deliveryId)}`
      )[0].status;
    expect(await status(first)).toBe("pending");
    expect(await audits("outbound_delivery.replay", first)).toBe(1);
    // A pending delivery needs no replay: a clear 409.
    expect((await detailPost(id, { intent: "replay", deliveryId: first })).status).toBe(409);
    // A bad delivery number names the field.
    const bad = await detailPost(id, { intent: "replay", deliveryId: "abc" });
    expect(bad.status).toBe(400);
    expect(bad.data!.fieldErrors.deliveryId).toMatch(/delivery number/);

    // Replay all failed: To before From is refused by the shared rule; nothing changes.
    const backwards = await detailPost(id, {
      intent: "replayFailed",
      from: "2026-12-02",
      to: "2026-12-01",
    });
    expect(backwards.status).toBe(400);
    expect(backwards.data!.fieldErrors.to).toMatch(/end date/);
    expect(await status(second)).toBe("failed");
    const missingFrom = await detailPost(id, { intent: "replayFailed", from: "", to: "" });
    expect(missingFrom.status).toBe(400);
    expect(missingFrom.data!.fieldErrors.from).toMatch(/From/);

    const today = new Date().toISOString().slice(0, 10);
    const all = await detailPost(id, { intent: "replayFailed", from: today, to: today });
    expect(all.status).toBe(302);
    expect(await status(second)).toBe("pending");
    expect(await audits("outbound_delivery.replay_failed", id)).toBe(1);
  });

  it("answers 404 for an unknown endpoint", async () => {
    const res = await callLoader(detailLoader, "/outbound/nope", {
      cookie: cookies.admin,
      params: { endpointId: "nope" },
    });
    expect(res.status).toBe(404);
  });
});

describe("demo receiver", () => {
  const post = (headers: Record<string, string>, body: string) =>
    settle<unknown>(
      receiverAction({
        request: pageRequest("/_demo/receiver/events", {
          method: "POST",
          headers: { ...headers, "Content-Type": "application/json" },
          body,
        }),
        params: {},
        context: { ip: "127.0.0.1" },
      }),
    );

  it("is 404 outside demo mode", async () => {
    const env = getEnv();
    setEnv({ ...env, demoMode: false });
    try {
      const get = await callLoader(receiverLoader, "/_demo/receiver", { cookie: cookies.admin });
      expect(get.status).toBe(404);
      expect((await post({}, "{}")).status).toBe(404);
    } finally {
      setEnv(env);
    }
  });

  it("in demo mode: one demo endpoint (the self-URL exception), signed events listed, bad signatures refused", async () => {
    const env = getEnv();
    setEnv({ ...env, demoMode: true });
    try {
      clearReceivedEvents();
      const receiverUrl = new URL("/_demo/receiver/events", env.appUrl).toString();
      // Through the page, the app's own address is refused as always.
      const refused = await callAction<Reply>(
        listAction,
        "/outbound",
        { intent: "create", url: receiverUrl, eventTypes: "credits.granted" },
        { cookie: cookies.admin },
      );
      expect(refused.status).toBe(400);
      expect(refused.data!.fieldErrors.url).toMatch(/url/);

      const first = await ensureDemoEndpoint(env.appUrl);
      const again = await ensureDemoEndpoint(env.appUrl);
      expect(again.id).toBe(first.id);
      const rows = await getDb().outboundEndpoint.findMany({ where: { demo: true } });
      expect(rows.map((r) => [r.id, r.url])).toEqual([[first.id, receiverUrl]]);
      expect(rows[0].eventTypes).toHaveLength(11);
      expect(await audits("outbound_endpoint.create", first.id)).toBe(1);

      const [{ secret }] = await getDb().outboundEndpointSecret.findMany({
        where: { endpointId: first.id },
      });
      const body = JSON.stringify({
        type: "credits.granted",
        timestamp: new Date().toISOString(),
        data: { userId: "user_demo_1", delta: 5 },
      });
      const now = Math.floor(Date.now() / 1000);
      const ok = await post({ ...signedHeaders([secret], "msg_1", now, body) }, body);
      expect(ok.status).toBe(204);
      // JSON from the worker: not held to the dashboard's form rules (415, same origin).
      expect(isDashboardPath("/_demo/receiver/events")).toBe(false);
      expect(isDashboardPath("/_demo/receiver")).toBe(true);
      const forged = await post(
        {
          ...signedHeaders(
            ["whsec_" + Buffer.from("x".repeat(32)).toString("base64")],
            "msg_2",
            now,
            body,
          ),
        },
        body,
      );
      expect(forged.status).toBe(401);
      const unsigned = await post({}, body);
      expect(unsigned.status).toBe(400);

      const page = await callLoader<{
        events: { type: string; userId: string | null; webhookId: string; payload: string }[];
      }>(receiverLoader, "/_demo/receiver", { cookie: cookies.admin });
      expect(page.status).toBe(200);
      expect(page.data!.events).toHaveLength(1);
      expect(page.data!.events[0]).toMatchObject({
        type: "credits.granted",
        userId: "user_demo_1",
        webhookId: "msg_1",
      });
      expect(page.data!.events[0].payload).toContain('"delta": 5');
      // Signed-in staff only.
      expect((await callLoader(receiverLoader, "/_demo/receiver")).status).toBe(302);
    } finally {
      setEnv(env);
      clearReceivedEvents();
    }
  });
});
