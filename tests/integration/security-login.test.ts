import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/test-database";
import { callAction, callLoader, settle } from "../support/admin";
import { createStaffWithSession, pageRequest } from "../support/staff";
import { action as loginAction, loader as loginLoader } from "../../app/routes/login/route";
import { action as passwordAction } from "../../app/routes/account.password/route";
import {
  attemptLogin,
  THROTTLE_MAX_FAILURES,
  THROTTLE_WINDOW_MS,
} from "../../app/services/auth/login.server";
import { verifyPassword } from "../../app/services/auth/password.server";

/**
 * Issue 15, items 1 and 5: where a signed-in person is sent (never off the site), and the
 * password-guess throttle (counted before the check, atomically, per email and address).
 */
const t = useTestDatabase();

function postLogin(form: Record<string, string>, ip: string) {
  return settle<{ error: string | null }>(
    loginAction({ request: pageRequest("/login", { form }), params: {}, context: { ip } }),
  );
}

describe("redirect after sign-in stays on the site", () => {
  const hostile = [
    "/\t/evil.example",
    "/%09/evil.example",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "/\n/evil.example",
  ];

  it("after signing in: each hostile redirectTo becomes /, a same-site path is kept", async () => {
    const { email, password } = await createStaffWithSession("support");
    for (const [i, target] of hostile.entries()) {
      const r = await postLogin({ email, password, redirectTo: target }, `10.15.1.${i}`);
      expect(r.status, target).toBe(302);
      expect(r.location, target).toBe("/");
    }
    const kept = await postLogin({ email, password, redirectTo: "/users?q=ava" }, "10.15.1.99");
    expect(kept.location).toBe("/users?q=ava");
  });

  it("for someone already signed in who opens /login?redirectTo=…", async () => {
    const { cookie } = await createStaffWithSession("finance");
    for (const target of hostile) {
      const r = await callLoader(loginLoader, `/login?redirectTo=${encodeURIComponent(target)}`, {
        cookie,
      });
      expect(r.status, target).toBe(302);
      expect(r.location, target).toBe("/");
    }
    // The exact request from the report: the tab arrives percent-encoded in the query string.
    const reported = await callLoader(loginLoader, "/login?redirectTo=/%09/evil.example", {
      cookie,
    });
    expect(reported.location).toBe("/");
  });

  it("after a password change", async () => {
    const { cookie, password } = await createStaffWithSession("admin");
    const r = await callAction(
      passwordAction,
      "/account/password",
      {
        currentPassword: password,
        newPassword: "a brand new passphrase",
        confirmPassword: "a brand new passphrase",
        redirectTo: "/\t/evil.example",
      },
      { cookie },
    );
    expect(r.status).toBe(302);
    expect(r.location).toBe("/");
  });
});

describe("sign-in throttle", () => {
  it("20 concurrent wrong passwords with a limit of 5: 5 are checked, 15 get 429", async () => {
    const { email, staff } = await createStaffWithSession("admin");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        attemptLogin({ email, password: `wrong password number ${i}`, ip: "10.15.2.1" }),
      ),
    );
    const statuses = results.map((r) => (r.ok ? 200 : r.status));
    expect(statuses.filter((s) => s === 401)).toHaveLength(THROTTLE_MAX_FAILURES);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - THROTTLE_MAX_FAILURES);
    // One row per password actually checked: the throttle counted before verifying.
    expect(await t.db.prisma.loginAttempt.count({ where: { email } })).toBe(THROTTLE_MAX_FAILURES);
    for (const r of results) {
      if (!r.ok && r.status === 429) {
        expect(r.retryAfterSeconds).toBeGreaterThan(0);
        expect(r.retryAfterSeconds).toBeLessThanOrEqual(THROTTLE_WINDOW_MS / 1000);
      }
    }
    expect(
      await t.db.prisma.auditLog.count({ where: { action: "staff.login", targetId: staff.id } }),
    ).toBe(0);
  });

  it("someone who knows a staff email locks it out only from their own address", async () => {
    const { email, password, staff } = await createStaffWithSession("support");
    for (let i = 0; i < THROTTLE_MAX_FAILURES; i++) {
      const r = await postLogin({ email, password: `attacker guess ${i}` }, "203.0.113.9");
      expect(r.status).toBe(401);
    }
    // The attacker's address is blocked for this email, even with the right password …
    const blocked = await postLogin({ email, password }, "203.0.113.9");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(blocked.data?.error).toMatch(/Too many failed sign-in attempts/);
    expect(blocked.headers.get("Set-Cookie")).toBeNull();
    // … while the real staff member, at their own address, signs in.
    const real = await postLogin({ email, password }, "198.51.100.7");
    expect(real.status).toBe(302);
    expect(real.headers.get("Set-Cookie")).toMatch(/^cd_session=/);
    const audit = await t.db.prisma.auditLog.findFirstOrThrow({
      where: { action: "staff.login", targetId: staff.id },
    });
    expect(audit.ip).toBe("198.51.100.7");
  });

  it("a successful sign-in does not count as a failure", async () => {
    const { email, password } = await createStaffWithSession("finance");
    for (let i = 0; i < THROTTLE_MAX_FAILURES - 1; i++)
      expect((await postLogin({ email, password: `typo ${i}` }, "10.15.3.1")).status).toBe(401);
    expect((await postLogin({ email, password }, "10.15.3.1")).status).toBe(302);
    expect(
      await t.db.prisma.loginAttempt.count({ where: { email, ip: "10.15.3.1", success: true } }),
    ).toBe(1);
    // Four failures in the window: one more wrong password is still checked (401, not 429).
    expect((await postLogin({ email, password: "typo again" }, "10.15.3.1")).status).toBe(401);
  });
});

describe("current-password check on /account/password is throttled too", () => {
  it("5 wrong current passwords, then 429 with Retry-After even for the right one; nothing changed", async () => {
    const { cookie, password, staff, email } = await createStaffWithSession("admin");
    const form = (current: string) => ({
      currentPassword: current,
      newPassword: "another long passphrase",
      confirmPassword: "another long passphrase",
    });
    for (let i = 0; i < THROTTLE_MAX_FAILURES; i++) {
      const r = await callAction<{ fieldErrors: Record<string, string> }>(
        passwordAction,
        "/account/password",
        form(`not my password ${i}`),
        { cookie },
      );
      expect(r.status).toBe(400);
      expect(r.data?.fieldErrors.currentPassword).toBe("The current password is not correct.");
    }
    const blocked = await callAction<{ fieldErrors: Record<string, string> }>(
      passwordAction,
      "/account/password",
      form(password),
      { cookie },
    );
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(blocked.data?.fieldErrors.currentPassword).toMatch(/Too many failed password checks/);
    const row = await t.db.prisma.staffUser.findUniqueOrThrow({ where: { id: staff.id } });
    expect(await verifyPassword(password, row.passwordHash)).toBe(true);
    expect(
      await t.db.prisma.auditLog.count({
        where: { action: "staff.password_change", targetId: staff.id },
      }),
    ).toBe(0);
    // Same counters as sign-in: this address is now blocked for this email at /login too.
    expect((await postLogin({ email, password }, "127.0.0.1")).status).toBe(429);
  });

  it("20 concurrent wrong current passwords: only 5 are checked", async () => {
    const { cookie, email } = await createStaffWithSession("support");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        callAction(
          passwordAction,
          "/account/password",
          {
            currentPassword: `guess ${i}`,
            newPassword: "another long passphrase",
            confirmPassword: "another long passphrase",
          },
          { cookie },
        ),
      ),
    );
    expect(results.filter((r) => r.status === 400)).toHaveLength(THROTTLE_MAX_FAILURES);
    expect(results.filter((r) => r.status === 429)).toHaveLength(20 - THROTTLE_MAX_FAILURES);
    expect(await t.db.prisma.loginAttempt.count({ where: { email } })).toBe(THROTTLE_MAX_FAILURES);
  });
});
