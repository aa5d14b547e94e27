import { beforeAll, describe, expect, it } from "vitest";
import {
  action as apiKeysAction,
  loader as apiKeysLoader,
} from "../../app/routes/_app.api-keys/route";
import { action as staffAction, loader as staffLoader } from "../../app/routes/_app.staff/route";
import { loader as layoutLoader } from "../../app/routes/_app/route";
import { loader as usersLoader } from "../../app/routes/_app.users._index/route";
import {
  action as passwordAction,
  loader as passwordLoader,
} from "../../app/routes/account.password/route";
import { action as loginAction } from "../../app/routes/login/route";
import { attemptLogin } from "../../app/services/auth/login.server";
import { getDb } from "../../app/services/infra/db.server";
import { callAction, callLoader, settle } from "../support/admin";
import { createApiFetch, readJson, type ApiFetch } from "../support/api-harness";
import { createStaffWithSession, pageRequest } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();

let admin = { cookie: "", id: "", email: "" };
let support = { cookie: "" };
let api: ApiFetch;
beforeAll(async () => {
  const a = await createStaffWithSession("admin");
  admin = { cookie: a.cookie, id: a.staff.id, email: a.email };
  support = { cookie: (await createStaffWithSession("support")).cookie };
  api = await createApiFetch();
});

type StaffActionData = {
  fieldErrors: Record<string, string>;
  values: Record<string, string>;
  outcome?: { secret: { email: string; password: string } };
};

const staffPost = (form: Record<string, string>, cookie = admin.cookie) =>
  callAction<StaffActionData>(staffAction, "/staff", form, { cookie });

async function signIn(email: string, password: string) {
  const res = await settle(
    loginAction({
      request: pageRequest("/login", { form: { email, password, redirectTo: "/users" } }),
      params: {},
      context: { ip: "10.7.0.1" },
    }),
  );
  expect(res.status).toBe(302);
  return (res.headers.get("Set-Cookie") ?? "").split(";")[0];
}

/** Everything a page sends to the browser, as text: hashes must never be in it. */
const serialized = (value: unknown) =>
  JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? String(v) : v));

describe("staff accounts", () => {
  it("creates an account with a generated password shown once; the person must set their own first", async () => {
    const email = `new.person.${Date.now()}@staff.test`;
    const created = await staffPost({
      intent: "create",
      email: ` ${email.toUpperCase()} `,
      role: "finance",
      passwordMode: "generate",
    });
    expect(created.status).toBe(200);
    expect(created.headers.get("Cache-Control")).toBe("no-store");
    const password = created.data!.outcome!.secret.password;
    expect(password).toMatch(/^[A-Za-z0-9]{5}(-[A-Za-z0-9]{5}){3}$/);
    const row = await getDb().staffUser.findUniqueOrThrow({ where: { email } });
    expect(row).toMatchObject({ role: "finance", mustChangePassword: true });
    expect(
      await getDb().auditLog.count({ where: { action: "staff.create", targetId: row.id } }),
    ).toBe(1);

    // The list never carries a hash or the password.
    const list = await callLoader(staffLoader, "/staff", { cookie: admin.cookie });
    const text = serialized(list.data);
    expect(text).toContain(email);
    expect(text).not.toContain("scrypt$");
    expect(text).not.toContain(password);
    expect(text).not.toContain("passwordHash");

    // First sign-in: every page and action sends them to /account/password first.
    const cookie = await signIn(email, password);
    const page = await callLoader(layoutLoader, "/purchases?x=1", { cookie });
    expect(page.status).toBe(302);
    expect(page.location).toBe("/account/password?redirectTo=%2Fpurchases%3Fx%3D1");
    const form = await callLoader<{ mustChange: boolean }>(passwordLoader, "/account/password", {
      cookie,
    });
    expect(form.data!.mustChange).toBe(true);

    const wrong = await callAction<{ fieldErrors: Record<string, string> }>(
      passwordAction,
      "/account/password",
      {
        currentPassword: "not-it-at-all",
        newPassword: "a brand new passphrase",
        confirmPassword: "a brand new passphrase",
      },
      { cookie },
    );
    expect(wrong.status).toBe(400);
    expect(wrong.data!.fieldErrors.currentPassword).toBe("The current password is not correct.");
    const short = await callAction<{ fieldErrors: Record<string, string> }>(
      passwordAction,
      "/account/password",
      { currentPassword: password, newPassword: "short", confirmPassword: "different" },
      { cookie },
    );
    expect(short.data!.fieldErrors.newPassword).toMatch(/at least 12 characters/);
    const mismatch = await callAction<{ fieldErrors: Record<string, string> }>(
      passwordAction,
      "/account/password",
      {
        currentPassword: password,
        newPassword: "a brand new passphrase",
        confirmPassword: "a brand new passphrasf",
      },
      { cookie },
    );
    expect(mismatch.data!.fieldErrors.confirmPassword).toBe(
      "The two new passwords are not the same.",
    );

    const changed = await callAction(
      passwordAction,
      "/account/password",
      {
        currentPassword: password,
        newPassword: "a brand new passphrase",
        confirmPassword: "a brand new passphrase",
        redirectTo: "/purchases?x=1",
      },
      { cookie },
    );
    expect(changed.status).toBe(302);
    expect(changed.location).toBe("/purchases?x=1");
    expect((await callLoader(layoutLoader, "/purchases", { cookie })).status).toBe(200);
    expect(
      (await attemptLogin({ email, password: "a brand new passphrase", ip: "10.7.0.2" })).ok,
    ).toBe(true);
    expect(
      await getDb().auditLog.count({
        where: { action: "staff.password_change", targetId: row.id },
      }),
    ).toBe(1);
  });

  it("creates an account with the password the person set, and validates every field", async () => {
    const invalid = await staffPost({
      intent: "create",
      email: "not-an-email",
      role: "boss",
      passwordMode: "set",
      password: "short",
    });
    expect(invalid.status).toBe(400);
    expect(invalid.data!.fieldErrors.email).toMatch(/valid email/);
    expect(invalid.data!.fieldErrors.role).toBe("Choose admin, support or finance.");
    expect(invalid.data!.fieldErrors.password).toMatch(/at least 12 characters/);
    expect(invalid.data!.values.email).toBe("not-an-email");
    expect(invalid.data!.values).not.toHaveProperty("password");

    const email = `chosen.${Date.now()}@staff.test`;
    const ok = await staffPost({
      intent: "create",
      email,
      role: "support",
      passwordMode: "set",
      password: "their own long password",
    });
    expect(ok.status).toBe(302);
    expect(
      (await getDb().staffUser.findUniqueOrThrow({ where: { email } })).mustChangePassword,
    ).toBe(false);
    const duplicate = await staffPost({
      intent: "create",
      email,
      role: "support",
      passwordMode: "generate",
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.data!.fieldErrors.email).toMatch(/already exists/);
  });

  it("disabling ends the person's sessions at once: their next request signs them out", async () => {
    const victim = await createStaffWithSession("support");
    expect((await callLoader(usersLoader, "/users", { cookie: victim.cookie })).status).toBe(200);
    const refused = await staffPost(
      { intent: "disable", staffId: victim.staff.id },
      support.cookie,
    );
    expect(refused.status).toBe(403);

    const res = await staffPost({ intent: "disable", staffId: victim.staff.id });
    expect(res.status).toBe(302);
    expect(await getDb().staffSession.count({ where: { staffId: victim.staff.id } })).toBe(0);
    const next = await callLoader(usersLoader, "/users", { cookie: victim.cookie });
    expect(next.status).toBe(302);
    expect(next.location).toMatch(/^\/login\?redirectTo=%2Fusers&reason=(expired|disabled)$/);
    expect(
      (await attemptLogin({ email: victim.email, password: victim.password, ip: "10.7.0.3" })).ok,
    ).toBe(false);
    expect(
      await getDb().auditLog.count({
        where: { action: "staff.disable", targetId: victim.staff.id },
      }),
    ).toBe(1);

    const again = await staffPost({ intent: "disable", staffId: victim.staff.id });
    expect(again.status).toBe(409);
    const self = await staffPost({ intent: "disable", staffId: admin.id });
    expect(self.status).toBe(400);
    expect(self.data!.fieldErrors.form).toBe("You cannot disable your own account.");
    const enabled = await staffPost({ intent: "enable", staffId: victim.staff.id });
    expect(enabled.status).toBe(302);
    expect(
      (await attemptLogin({ email: victim.email, password: victim.password, ip: "10.7.0.4" })).ok,
    ).toBe(true);
  });

  it("resets a password: a new one shown once, old one and sessions gone, change required", async () => {
    const person = await createStaffWithSession("finance");
    const res = await staffPost({ intent: "reset", staffId: person.staff.id });
    expect(res.status).toBe(200);
    const password = res.data!.outcome!.secret.password;
    expect(await getDb().staffSession.count({ where: { staffId: person.staff.id } })).toBe(0);
    expect(
      (await attemptLogin({ email: person.email, password: person.password, ip: "10.7.0.5" })).ok,
    ).toBe(false);
    expect((await attemptLogin({ email: person.email, password, ip: "10.7.0.5" })).ok).toBe(true);
    expect(
      (await getDb().staffUser.findUniqueOrThrow({ where: { id: person.staff.id } }))
        .mustChangePassword,
    ).toBe(true);
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "staff.password_reset", targetId: person.staff.id },
    });
    expect(serialized(audit)).not.toContain(password);
    const bad = await staffPost({ intent: "reset", staffId: "nope" });
    expect(bad.status).toBe(400);
    expect(bad.data!.fieldErrors.staffId).toMatch(/not valid/);
  });
});

type KeyData = {
  keys: {
    id: string;
    name: string;
    prefix: string;
    revokedAt: string | null;
    lastUsedAt: Date | null;
  }[];
};
type KeyAction = { fieldErrors: Record<string, string>; outcome?: { key: string; prefix: string } };

describe("API keys", () => {
  it("creates a key shown once, lists it without its hash, and a revoked key is refused with 403", async () => {
    const empty = await callAction<KeyAction>(
      apiKeysAction,
      "/api-keys",
      { intent: "create", name: "   " },
      { cookie: admin.cookie },
    );
    expect(empty.status).toBe(400);
    expect(empty.data!.fieldErrors.name).toBe("name is required");
    expect(
      (
        await callAction(
          apiKeysAction,
          "/api-keys",
          { intent: "create", name: "x" },
          { cookie: support.cookie },
        )
      ).status,
    ).toBe(403);

    const created = await callAction<KeyAction>(
      apiKeysAction,
      "/api-keys",
      { intent: "create", name: "Main app (prod)", scopes: "packs:read" },
      { cookie: admin.cookie },
    );
    expect(created.status).toBe(200);
    expect(created.headers.get("Cache-Control")).toBe("no-store");
    const key = created.data!.outcome!.key;
    expect(key).toMatch(/^cdk_[0-9A-Za-z]{43}$/);
    const row = await getDb().apiKey.findFirstOrThrow({ where: { name: "Main app (prod)" } });
    expect(row.createdById).toBe(admin.id);

    const ok = await api.fetch("GET", "/api/v1/packs", { key });
    expect(ok.status).toBe(200);
    const list = await callLoader<KeyData>(apiKeysLoader, "/api-keys", { cookie: admin.cookie });
    const text = serialized(list.data);
    expect(text).toContain("Main app (prod)");
    expect(text).not.toContain(key);
    expect(text).not.toContain(row.keyHash);
    expect(list.data!.keys.find((k) => k.id === row.id)?.lastUsedAt).not.toBeNull();

    const revoked = await callAction(
      apiKeysAction,
      "/api-keys",
      { intent: "revoke", keyId: row.id, reason: "rotated" },
      { cookie: admin.cookie },
    );
    expect(revoked.status).toBe(302);
    const refused = await api.fetch("GET", "/api/v1/packs", { key });
    expect(refused.status).toBe(403);
    expect((await readJson(refused)).error.code).toBe("api_key_revoked");
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "api_key.revoke", targetId: row.id },
    });
    expect(audit.reason).toBe("rotated");

    const twice = await callAction<KeyAction>(
      apiKeysAction,
      "/api-keys",
      { intent: "revoke", keyId: row.id },
      { cookie: admin.cookie },
    );
    expect(twice.status).toBe(409);
    expect(twice.data!.fieldErrors.form).toMatch(/already revoked/);
    const bogus = await callAction<KeyAction>(
      apiKeysAction,
      "/api-keys",
      { intent: "revoke", keyId: "123" },
      { cookie: admin.cookie },
    );
    expect(bogus.status).toBe(400);
    expect(bogus.data!.fieldErrors.keyId).toMatch(/not valid/);
  });
});
