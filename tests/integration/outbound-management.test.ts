import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { createEndpoint } from "../../app/services/outbound/endpoints.server";
import { closeSenderConnections, postSigned } from "../../app/services/outbound/sender.server";
import {
  assertSafeUrl,
  checkUrlShape,
  isPrivateAddress,
  UnsafeUrlError,
} from "../../app/services/outbound/ssrf.server";
import { drainOutbound } from "../../app/services/outbound/worker.server";
import { createApiFetch, makeApiKey, makeUser, type ApiFetch } from "../support/api-harness";
import { runCli } from "../support/cli";
import { startReceiver } from "../support/outbound-receiver";
import { useTestDatabase } from "../support/test-database";

const t = useTestDatabase();
let api: ApiFetch;
beforeAll(async () => {
  api = await createApiFetch();
});
afterAll(() => closeSenderConnections());
beforeEach(async () => {
  await t.db.prisma.$executeRawUnsafe(
    "TRUNCATE outbound_attempts, outbound_deliveries, outbound_events, outbound_endpoint_secrets, outbound_endpoints, user_thresholds",
  );
});

const production = { blockPrivate: true, appUrl: "https://credits.example.com" };

describe("endpoint URLs: bad input and server-side request forgery", () => {
  it.each([
    ["ftp://example.com/hook", "url must use http or https, not ftp."],
    ["javascript:alert(1)", "url must use http or https, not javascript."],
    ["not a url", "url must be an absolute http:// or https:// URL."],
    [
      "https://credits.example.com/hooks",
      "url points at creditdesk itself; events would be sent to ourselves.",
    ],
    ["https://user:pw@example.com/", "url must not carry a user name or password."],
    ["", "url is required: the receiver's http(s) address."],
  ])("refuses %j with a field error", async (url, message) => {
    await expect(
      createEndpoint({ url }, { type: "cli" }, { policy: production }),
    ).rejects.toMatchObject({
      status: 400,
      field: "url",
      message,
    });
  });

  it.each([
    "http://127.0.0.1/hook",
    "http://10.1.2.3/hook",
    "http://172.20.0.5/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://localhost:9999/hook",
  ])("in production refuses %s (a non-public address, also by name)", async (url) => {
    await expect(
      createEndpoint({ url }, { type: "cli" }, { policy: production }),
    ).rejects.toMatchObject({
      status: 400,
      field: "url",
      message: expect.stringMatching(
        /resolves to .* a loopback, link-local or private address \(set OUTBOUND_ALLOW_PRIVATE=true to allow\)\.$/,
      ),
    });
  });

  it("allows private addresses when the policy does (development, or OUTBOUND_ALLOW_PRIVATE=true)", async () => {
    const created = await createEndpoint(
      { url: "http://127.0.0.1:9/hook" },
      { type: "cli" },
      { policy: { ...production, blockPrivate: false } },
    );
    expect(created.url).toBe("http://127.0.0.1:9/hook");
  });

  it("classifies addresses", () => {
    expect(["8.8.8.8", "1.1.1.1", "2606:4700::1111"].map(isPrivateAddress)).toEqual([
      false,
      false,
      false,
    ]);
    expect(
      ["127.0.0.2", "100.64.0.1", "224.0.0.1", "::", "not-an-ip"].map(isPrivateAddress),
    ).toEqual([true, true, true, true, true]);
    expect(() =>
      checkUrlShape("http://localhost:3000/x", {
        blockPrivate: false,
        selfOrigins: ["http://localhost:3000"],
      }),
    ).toThrow(UnsafeUrlError);
  });

  it("checks again at send time: a request to a private address is refused without connecting", async () => {
    const r = await startReceiver();
    try {
      const refused = await postSigned(r.url, {}, "{}", { blockPrivate: true });
      expect(refused).toMatchObject({
        status: null,
        error: "refused: 127.0.0.1 is not a public address",
      });
      const byName = await postSigned(r.url.replace("127.0.0.1", "localhost"), {}, "{}", {
        blockPrivate: true,
      });
      expect(byName.status).toBeNull();
      expect(byName.error).toMatch(/localhost resolves to .*, a non-public address/);
      expect(r.received).toHaveLength(0);
      await expect(assertSafeUrl("http://no-such-host.invalid/", production)).rejects.toThrow(
        /does not resolve/,
      );
    } finally {
      await r.close();
    }
  });
});

describe("PUT /api/v1/users/{id}/thresholds", () => {
  it("sets the user's low-balance threshold, which balance.low then uses", async () => {
    const { key } = await makeApiKey("thresholds", { scopes: ["users:write"] });
    const user = await makeUser({ balance: 1000 });
    const res = await api.fetch("PUT", `/api/v1/users/${user.id}/thresholds`, {
      key,
      json: { lowBalance: 800 },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ userId: user.id, lowBalance: 800 });
    const audit = await t.db.prisma.auditLog.findFirstOrThrow({
      where: { action: "user.thresholds", targetId: user.id },
    });
    expect(audit).toMatchObject({ actorType: "api_key", after: { lowBalance: 800 } });

    const r = await startReceiver();
    try {
      const ep = await createEndpoint({ url: r.url, eventTypes: ["balance.low"] }, { type: "cli" });
      await postLedgerEntry({
        userId: user.id,
        delta: -250,
        kind: "usage",
        idempotencyKey: `k_${user.id}`,
      });
      await drainOutbound();
      expect(r.received).toHaveLength(1);
      expect(
        new Webhook(ep.secret).verify(r.received[0].body, r.received[0].headers),
      ).toMatchObject({
        type: "balance.low",
        data: { userId: user.id, threshold: 800, balanceBefore: 1000, balanceAfter: 750 },
      });
    } finally {
      await r.close();
    }
  });

  it.each([
    [{ lowBalance: -1 }, "lowBalance must be a whole number of credits from 0 to 1000000000"],
    [{ lowBalance: 1.5 }, "lowBalance must be a whole number of credits from 0 to 1000000000"],
    [{ lowBalance: "10" }, "lowBalance must be a whole number of credits from 0 to 1000000000"],
    [{}, "lowBalance is required"],
  ])("refuses %j naming the field", async (json, message) => {
    const { key } = await makeApiKey("thresholds", { scopes: ["users:write"] });
    const user = await makeUser();
    const res = await api.fetch("PUT", `/api/v1/users/${user.id}/thresholds`, { key, json });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const body = (await res.json()) as { error: { message: string; field: string } };
    expect(body.error.field).toBe("lowBalance");
    expect(body.error.message).toContain(message);
  });

  it("answers 404 for an unknown user and 403 without the users:write scope", async () => {
    const { key } = await makeApiKey("thresholds", { scopes: ["users:write"] });
    const missing = await api.fetch("PUT", "/api/v1/users/nobody_here/thresholds", {
      key,
      json: { lowBalance: 5 },
    });
    expect(missing.status).toBe(404);
    const { key: readOnly } = await makeApiKey("ro", { scopes: ["users:read"] });
    const user = await makeUser();
    const forbidden = await api.fetch("PUT", `/api/v1/users/${user.id}/thresholds`, {
      key: readOnly,
      json: { lowBalance: 5 },
    });
    expect(forbidden.status).toBe(403);
  });
});

describe("CLI: endpoints and events replay", () => {
  it("creates (secret printed once), lists (never the secret), rotates, disables and replays", async () => {
    const r = await startReceiver(() => ({ status: 410 }));
    try {
      const created = await runCli([
        "endpoints",
        "create",
        "--url",
        r.url,
        "--types",
        "credits.granted",
        "--json",
      ]);
      expect(created.code).toBe(0);
      const { id, secret } = created.json<{ id: string; secret: string }>();
      expect(secret).toMatch(/^whsec_/);

      const listed = await runCli(["endpoints", "list"]);
      expect(listed.code).toBe(0);
      expect(listed.stdout + listed.stderr).toContain(r.url);
      expect(listed.stdout + listed.stderr).not.toContain(secret.slice(6));

      const rotated = await runCli(["endpoints", "rotate-secret", "--id", id, "--json"]);
      expect(rotated.code).toBe(0);
      expect(rotated.json<{ secret: string }>().secret).not.toBe(secret);

      const user = await makeUser({ balance: 5 }); // credits.granted → 410 → failed, endpoint disabled
      await drainOutbound();
      expect(
        (await t.db.prisma.outboundEndpoint.findUniqueOrThrow({ where: { id } })).enabled,
      ).toBe(false);
      expect(user.id).toMatch(/^u_/);

      const enabled = await runCli(["endpoints", "disable", "--id", id, "--enable"]);
      expect(enabled.code).toBe(0);
      const replay = await runCli([
        "events",
        "replay",
        "--since",
        new Date(Date.now() - 60_000).toISOString(),
        "--json",
      ]);
      expect(replay.code).toBe(0);
      expect(replay.json()).toEqual({ replayed: 1 });
      const disabled = await runCli(["endpoints", "disable", "--id", id]);
      expect(disabled.code).toBe(0);

      const bad = await runCli(["endpoints", "create", "--url", "ftp://x.example/"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--url: url must use http or https, not ftp.");
      const badSince = await runCli(["events", "replay", "--since", "yesterday"]);
      expect(badSince.code).toBe(2);
    } finally {
      await r.close();
    }
  });
});
