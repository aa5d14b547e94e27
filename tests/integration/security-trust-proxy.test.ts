import type { Server } from "node:http";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/test-database";
import { settle } from "../support/admin";
import { createStaffWithSession, pageRequest } from "../support/staff";
import { action as loginAction } from "../../app/routes/login/route";
import { ConfigError, parseEnv } from "../../app/services/infra/env.server";
import { loadContextFor } from "../../app/http/load-context.server";
import { THROTTLE_MAX_FAILURES } from "../../app/services/auth/login.server";

/**
 * Issue 15, item 4: TRUST_PROXY. The address that sign-in throttling and audit records use is
 * the connection's peer unless TRUST_PROXY says the peer is a proxy to believe. The app here is
 * server.ts's wiring in small: Express with `trust proxy` set from the parsed variable and the same
 * load context (loadContextFor), in front of the real sign-in action.
 */
const t = useTestDatabase();

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function startApp(trustProxy: string | undefined) {
  const env = parseEnv({ TRUST_PROXY: trustProxy });
  const app = express();
  app.set("trust proxy", env.TRUST_PROXY);
  app.post("/login", express.urlencoded({ extended: false }), async (req, res) => {
    const result = await settle(
      loginAction({
        request: pageRequest("/login", { form: req.body as Record<string, string> }),
        params: {},
        context: loadContextFor(req, res),
      }),
    );
    res.status(result.status).end();
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return (form: Record<string, string>, forwardedFor?: string) =>
    fetch(`${base}/login`, {
      method: "POST",
      body: new URLSearchParams(form),
      headers: forwardedFor ? { "X-Forwarded-For": forwardedFor } : {},
      redirect: "manual",
    }).then((r) => r.status);
}

const lastAttemptIp = async (email: string) =>
  (await t.db.prisma.loginAttempt.findFirstOrThrow({ where: { email }, orderBy: { id: "desc" } }))
    .ip;
const loginAuditIp = async (staffId: string) =>
  (
    await t.db.prisma.auditLog.findFirstOrThrow({
      where: { action: "staff.login", targetId: staffId },
      orderBy: { id: "desc" },
    })
  ).ip;

describe("TRUST_PROXY off (the default)", () => {
  it("ignores X-Forwarded-For: throttle key and audit address are the connection's", async () => {
    const post = await startApp(undefined);
    const { email, password, staff } = await createStaffWithSession("support");
    expect(await post({ email, password: "wrong guess" }, "203.0.113.7")).toBe(401);
    expect(await lastAttemptIp(email)).toBe("127.0.0.1");
    expect(await post({ email, password }, "203.0.113.7")).toBe(302);
    expect(await loginAuditIp(staff.id)).toBe("127.0.0.1");
  });

  it("so behind a proxy everyone shares its address: forged X-Forwarded-For does not escape the throttle", async () => {
    const post = await startApp(undefined);
    const { email, password } = await createStaffWithSession("admin");
    for (let i = 0; i < THROTTLE_MAX_FAILURES; i++)
      expect(await post({ email, password: `guess ${i}` }, `203.0.113.${i}`)).toBe(401);
    expect(await post({ email, password }, "198.51.100.99")).toBe(429);
  });
});

describe("TRUST_PROXY set", () => {
  it("loopback: the forwarded client address is the throttle key and the audit address", async () => {
    const post = await startApp("loopback");
    const { email, password, staff } = await createStaffWithSession("finance");
    for (let i = 0; i < THROTTLE_MAX_FAILURES; i++)
      expect(await post({ email, password: `guess ${i}` }, "203.0.113.7")).toBe(401);
    expect(await lastAttemptIp(email)).toBe("203.0.113.7");
    // The guesser is blocked; the real person behind the same proxy, at their own address, is not.
    expect(await post({ email, password }, "203.0.113.7")).toBe(429);
    expect(await post({ email, password }, "198.51.100.20")).toBe(302);
    expect(await loginAuditIp(staff.id)).toBe("198.51.100.20");
  });

  it("a hop count believes only the entry its own proxy added, not one the client forged", async () => {
    const post = await startApp("1");
    const { email } = await createStaffWithSession("support");
    expect(await post({ email, password: "wrong guess" }, "10.66.66.66, 203.0.113.8")).toBe(401);
    expect(await lastAttemptIp(email)).toBe("203.0.113.8");
  });

  it("a list of proxy addresses that does not include the peer trusts nothing", async () => {
    const post = await startApp("10.0.0.0/8, 192.0.2.10");
    const { email } = await createStaffWithSession("support");
    expect(await post({ email, password: "wrong guess" }, "203.0.113.9")).toBe(401);
    expect(await lastAttemptIp(email)).toBe("127.0.0.1");
  });
});

describe("TRUST_PROXY is validated at start-up", () => {
  it("accepts off, a hop count, and addresses, CIDRs and Express's range names", () => {
    expect(parseEnv({}).TRUST_PROXY).toBe(false);
    expect(parseEnv({ TRUST_PROXY: "" }).TRUST_PROXY).toBe(false);
    expect(parseEnv({ TRUST_PROXY: "off" }).TRUST_PROXY).toBe(false);
    expect(parseEnv({ TRUST_PROXY: "0" }).TRUST_PROXY).toBe(false);
    expect(parseEnv({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(
      parseEnv({ TRUST_PROXY: "10.0.0.1, 10.0.0.0/8,loopback, fd00::/8" }).TRUST_PROXY,
    ).toEqual(["10.0.0.1", "10.0.0.0/8", "loopback", "fd00::/8"]);
  });

  it.each([
    ["true", /TRUST_PROXY: must be off, the number of proxies/],
    ["33", /TRUST_PROXY: must be off, the number of proxies/],
    ["10.0.0.300", /TRUST_PROXY: not an address, CIDR range.*: 10\.0\.0\.300/],
    ["10.0.0.0/33", /TRUST_PROXY: not an address, CIDR range.*: 10\.0\.0\.0\/33/],
    ["proxy.internal", /TRUST_PROXY: not an address/],
  ])("refuses %j with a message naming the variable", (value, text) => {
    expect(() => parseEnv({ TRUST_PROXY: value })).toThrow(ConfigError);
    expect(() => parseEnv({ TRUST_PROXY: value })).toThrow(text);
  });
});
