import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../support/test-database";
import { createStaffWithSession, pageRequest } from "../support/staff";
import { action as loginAction, loader as loginLoader } from "../../app/routes/login/route";
import { action as logoutAction } from "../../app/routes/logout";
import { loader as layoutLoader } from "../../app/routes/_app/route";
import { requireStaff, SESSION_IDLE_MS } from "../../app/services/auth/session.server";
import { disableStaff } from "../../app/services/auth/staff.server";
import { BAD_CREDENTIALS_MESSAGE } from "../../app/services/auth/login.server";

const t = useTestDatabase();

type ActionData = {
  error: string | null;
  fieldErrors: Record<string, string>;
  values: { email: string };
};

/** Remix actions either return `data()` (with init) or throw a redirect Response. */
async function postLogin(form: Record<string, string>, ip = "10.0.0.1") {
  try {
    const result = (await loginAction({
      request: pageRequest("/login", { form }),
      params: {},
      context: { ip },
    })) as unknown as {
      data: ActionData;
      init: { status: number; headers?: Record<string, string> };
    };
    return {
      status: result.init.status,
      data: result.data,
      headers: new Headers(result.init.headers),
    };
  } catch (thrown) {
    if (thrown instanceof Response)
      return { status: thrown.status, data: null, headers: thrown.headers };
    throw thrown;
  }
}

async function statusOf(
  promise: Promise<unknown>,
): Promise<{ status: number; location: string | null }> {
  try {
    await promise;
    return { status: 200, location: null };
  } catch (thrown) {
    if (thrown instanceof Response)
      return { status: thrown.status, location: thrown.headers.get("Location") };
    throw thrown;
  }
}

describe("staff login", () => {
  it("signs in with the right password, sets an httpOnly SameSite=Lax cookie and redirects", async () => {
    const { email, password } = await createStaffWithSession("support");
    const res = await postLogin({ email, password, redirectTo: "/users?q=a" });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/users?q=a");
    const cookie = res.headers.get("Set-Cookie") ?? "";
    expect(cookie).toMatch(/^cd_session=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const staff = await requireStaff(pageRequest("/", { cookie: cookie.split(";")[0] }));
    expect(staff.email).toBe(email);
  });

  it("gives the same 401 message for a wrong password and an unknown email", async () => {
    const { email } = await createStaffWithSession("finance");
    const wrong = await postLogin({ email, password: "not the password at all" }, "10.0.0.2");
    const unknown = await postLogin(
      { email: "nobody@example.com", password: "whatever123456" },
      "10.0.0.2",
    );
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.data?.error).toBe(BAD_CREDENTIALS_MESSAGE);
    expect(unknown.data?.error).toBe(BAD_CREDENTIALS_MESSAGE);
    expect(wrong.headers.get("Set-Cookie")).toBeNull();
  });

  it("names the field for missing or malformed input (400) and keeps the email", async () => {
    const missing = await postLogin({ email: "", password: "x" });
    expect(missing.status).toBe(400);
    expect(missing.data?.fieldErrors.email).toBe("Email is required.");
    const malformed = await postLogin({ email: "not-an-email", password: "x" });
    expect(malformed.status).toBe(400);
    expect(malformed.data?.fieldErrors.email).toMatch(/valid email/);
    expect(malformed.data?.values.email).toBe("not-an-email");
    const noPassword = await postLogin({ email: "a@example.com", password: "" });
    expect(noPassword.data?.fieldErrors.password).toBe("Password is required.");
  });

  it("throttles after 5 failures per email and address (429 with Retry-After), even with the right password", async () => {
    const { email, password } = await createStaffWithSession("admin");
    for (let i = 0; i < 5; i++) {
      const r = await postLogin({ email, password: "wrong-password-" + i }, "10.1.0.1");
      expect(r.status).toBe(401);
    }
    const blocked = await postLogin({ email, password }, "10.1.0.1");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(Number(blocked.headers.get("Retry-After"))).toBeLessThanOrEqual(15 * 60);
    expect(blocked.data?.error).toMatch(/Too many failed sign-in attempts/);
  });

  it("throttles after 20 failures from one IP across different emails", async () => {
    for (let i = 0; i < 20; i++)
      await postLogin(
        { email: `probe${i}@example.com`, password: "guess-guess-guess" },
        "10.9.9.9",
      );
    const { email, password } = await createStaffWithSession("support");
    expect((await postLogin({ email, password }, "10.9.9.9")).status).toBe(429);
    expect((await postLogin({ email, password }, "10.9.9.10")).status).toBe(302);
  });

  it("never stores or echoes the password", async () => {
    const r = await postLogin(
      { email: "leak@example.com", password: "super-secret-password-xyz" },
      "10.2.0.1",
    );
    expect(JSON.stringify(r.data)).not.toContain("super-secret-password-xyz");
    const attempts = await t.db.prisma.loginAttempt.findMany({
      where: { email: "leak@example.com" },
    });
    expect(
      JSON.stringify(attempts, (_k, v) => (typeof v === "bigint" ? String(v) : v)),
    ).not.toContain("super-secret");
  });
});

describe("sessions and guards", () => {
  it("redirects anonymous visitors to /login?redirectTo=…", async () => {
    const r = await statusOf(
      layoutLoader({ request: pageRequest("/purchases?x=1"), params: {}, context: {} }),
    );
    expect(r.status).toBe(302);
    expect(r.location).toBe("/login?redirectTo=%2Fpurchases%3Fx%3D1");
  });

  it("treats a tampered cookie as invalid: redirect to login saying so, and clear it", async () => {
    const { cookie } = await createStaffWithSession("admin");
    const [name, value] = cookie.split("=");
    const tampered = `${name}=${value.slice(0, -3)}${value.endsWith("abc") ? "xyz" : "abc"}`;
    const r = await statusOf(requireStaff(pageRequest("/", { cookie: tampered })));
    expect(r.status).toBe(302);
    expect(r.location).toContain("reason=tampered");
    const page = await loginLoader({ request: pageRequest(r.location!), params: {}, context: {} });
    expect((page as { notice: string }).notice).toMatch(/session cookie was not valid/);
  });

  it("answers 403 naming the needed role for the wrong role", async () => {
    const { cookie } = await createStaffWithSession("support");
    try {
      await requireStaff(pageRequest("/purchases", { cookie }), { roles: ["finance", "admin"] });
      expect.unreachable("requireStaff should have thrown");
    } catch (thrown) {
      expect(thrown).toBeInstanceOf(Response);
      expect((thrown as Response).status).toBe(403);
      expect(await (thrown as Response).text()).toMatch(
        /needs the finance or admin role; you are support/,
      );
    }
  });

  it("expires a session idle for more than 12 hours", async () => {
    const { cookie, staff } = await createStaffWithSession("finance");
    const old = new Date(Date.now() - SESSION_IDLE_MS - 60_000);
    await t.db.prisma.staffSession.updateMany({
      where: { staffId: staff.id },
      data: { lastSeenAt: old },
    });
    const r = await statusOf(requireStaff(pageRequest("/", { cookie })));
    expect(r.status).toBe(302);
    expect(r.location).toContain("reason=expired");
    expect(await t.db.prisma.staffSession.count({ where: { staffId: staff.id } })).toBe(0);
  });

  it("logs out: the session row is gone and the cookie no longer works", async () => {
    const { cookie, staff } = await createStaffWithSession("support");
    const r = await statusOf(
      logoutAction({
        request: pageRequest("/logout", { method: "POST", cookie }),
        params: {},
        context: {},
      }),
    );
    expect(r.status).toBe(302);
    expect(r.location).toBe("/login");
    expect(await t.db.prisma.staffSession.count({ where: { staffId: staff.id } })).toBe(0);
    expect((await statusOf(requireStaff(pageRequest("/", { cookie })))).status).toBe(302);
  });

  it("ends every session of a disabled staff member at once", async () => {
    const { cookie, staff } = await createStaffWithSession("support");
    const admin = await createStaffWithSession("admin");
    await disableStaff(staff.id, { type: "staff", id: admin.staff.id }, "left the company");
    const r = await statusOf(requireStaff(pageRequest("/", { cookie })));
    expect(r.status).toBe(302);
    expect(
      await t.db.prisma.auditLog.count({ where: { action: "staff.disable", targetId: staff.id } }),
    ).toBe(1);
  });

  it("only redirects to same-site paths after login", async () => {
    const { email, password } = await createStaffWithSession("admin");
    const r = await postLogin({ email, password, redirectTo: "//evil.example.com/x" }, "10.3.0.1");
    expect(r.headers.get("Location")).toBe("/");
  });
});
