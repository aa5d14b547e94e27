import { remember } from "~/lib/remember";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { createCookie, redirect } from "@remix-run/node";
import type { StaffRole } from "~/generated/prisma/enums";
import { getEnv } from "../infra/env.server";
import { getDb } from "../infra/db.server";

export const SESSION_IDLE_MS = 12 * 60 * 60 * 1000;
/** lastSeenAt is refreshed at most this often, so reading a page does not always write. */
const TOUCH_INTERVAL_MS = 60 * 1000;
export const SESSION_COOKIE = "cd_session";

/**
 * Outside production a missing SESSION_SECRET is generated once and kept in DATA_DIR, so demo
 * logins survive restarts; production refuses to start without one (env.server.ts).
 */
export function sessionSecret(): string {
  const env = getEnv();
  if (env.SESSION_SECRET) return env.SESSION_SECRET;
  if (env.DATABASE_URL)
    return (secretHolder.__creditdeskSessionSecret ??= randomBytes(32).toString("hex"));
  const file = path.resolve(env.DATA_DIR, "session-secret");
  try {
    if (existsSync(file)) return readFileSync(file, "utf8").trim();
    mkdirSync(path.dirname(file), { recursive: true });
    const secret = randomBytes(32).toString("hex");
    writeFileSync(file, secret, { mode: 0o600 });
    return secret;
  } catch {
    return (secretHolder.__creditdeskSessionSecret ??= randomBytes(32).toString("hex"));
  }
}
// A generated per-process secret, remembered (app/lib/remember.ts): a cookie must verify after
// its module is evaluated again.
const secretHolder = remember("session-secret", (): { __creditdeskSessionSecret?: string } => ({}));

let cookie: ReturnType<typeof createCookie> | undefined;
function sessionCookie() {
  cookie ??= createCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: "lax",
    secure: getEnv().NODE_ENV === "production",
    path: "/",
    secrets: [sessionSecret()],
  });
  return cookie;
}

const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

export interface StaffIdentity {
  id: string;
  email: string;
  name: string | null;
  role: StaffRole;
  /** Set for a generated or reset password: the person must choose their own before anything else. */
  mustChangePassword: boolean;
  sessionId: string;
}

export type SessionLookup =
  | { state: "none" }
  | { state: "invalid"; reason: "tampered" | "expired" | "disabled" }
  | { state: "ok"; staff: StaffIdentity };

/** Start a session for a staff member; returns the Set-Cookie header value. */
export async function createStaffSession(
  staffId: string,
  meta: { ip?: string | null; userAgent?: string | null },
) {
  const token = randomBytes(32).toString("base64url");
  const now = new Date();
  await getDb().staffSession.create({
    data: {
      id: hashToken(token),
      staffId,
      expiresAt: new Date(now.getTime() + SESSION_IDLE_MS),
      ip: meta.ip ?? null,
      userAgent: meta.userAgent?.slice(0, 300) ?? null,
    },
  });
  return sessionCookie().serialize(token, { maxAge: SESSION_IDLE_MS / 1000 });
}

export async function lookupSession(request: Request): Promise<SessionLookup> {
  const header = request.headers.get("Cookie");
  if (!header || !header.includes(`${SESSION_COOKIE}=`)) return { state: "none" };
  const token = (await sessionCookie().parse(header)) as unknown;
  // A cookie that is present but fails the signature check was altered (or signed by another secret).
  if (typeof token !== "string" || !token) return { state: "invalid", reason: "tampered" };
  const db = getDb();
  const session = await db.staffSession.findUnique({
    where: { id: hashToken(token) },
    include: {
      staff: {
        select: {
          id: true,
          email: true,
          name: true,
          role: true,
          disabledAt: true,
          mustChangePassword: true,
        },
      },
    },
  });
  if (!session) return { state: "invalid", reason: "expired" };
  const now = Date.now();
  if (session.lastSeenAt.getTime() + SESSION_IDLE_MS < now || session.expiresAt.getTime() < now) {
    await db.staffSession.deleteMany({ where: { id: session.id } });
    return { state: "invalid", reason: "expired" };
  }
  if (session.staff.disabledAt) {
    await db.staffSession.deleteMany({ where: { staffId: session.staffId } });
    return { state: "invalid", reason: "disabled" };
  }
  if (now - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
    await db.staffSession.updateMany({
      where: { id: session.id },
      data: { lastSeenAt: new Date(now), expiresAt: new Date(now + SESSION_IDLE_MS) },
    });
  }
  const { disabledAt: _disabled, ...staff } = session.staff;
  return { state: "ok", staff: { ...staff, sessionId: session.id } };
}

export async function destroySession(request: Request): Promise<string> {
  const token = (await sessionCookie().parse(request.headers.get("Cookie"))) as unknown;
  if (typeof token === "string" && token) {
    await getDb().staffSession.deleteMany({ where: { id: hashToken(token) } });
  }
  return sessionCookie().serialize("", { maxAge: 0 });
}

const invalidMessages = {
  tampered: "Your session cookie was not valid. Please sign in again.",
  expired: "Your session has expired. Please sign in again.",
  disabled: "Your account has been disabled. Ask an administrator if this is unexpected.",
} as const;

export function loginRedirect(request: Request, reason?: keyof typeof invalidMessages): never {
  const url = new URL(request.url);
  const params = new URLSearchParams({ redirectTo: url.pathname + url.search });
  if (reason) params.set("reason", reason);
  throw redirect(
    `/login?${params}`,
    reason ? { headers: { "Set-Cookie": clearCookieHeader() } } : undefined,
  );
}

function clearCookieHeader() {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`;
}

export function sessionInvalidMessage(reason: string | null): string | null {
  return reason && reason in invalidMessages
    ? invalidMessages[reason as keyof typeof invalidMessages]
    : null;
}

export const CHANGE_PASSWORD_PATH = "/account/password";

/**
 * Logged-in staff with one of `roles` (any role when omitted); redirects anonymous, 403 otherwise.
 * Someone who must change their password is sent to the password page first (only that page
 * passes `allowPasswordChange`), for every page and action alike.
 */
export async function requireStaff(
  request: Request,
  opts: { roles?: readonly StaffRole[]; allowPasswordChange?: boolean } = {},
): Promise<StaffIdentity> {
  const result = await lookupSession(request);
  if (result.state === "none") loginRedirect(request);
  if (result.state === "invalid") loginRedirect(request, result.reason);
  const { staff } = result;
  if (staff.mustChangePassword && !opts.allowPasswordChange) {
    const url = new URL(request.url);
    const params = new URLSearchParams({ redirectTo: url.pathname + url.search });
    throw redirect(`${CHANGE_PASSWORD_PATH}?${params}`);
  }
  if (opts.roles && !opts.roles.includes(staff.role)) {
    throw new Response(
      `Forbidden: this page needs the ${opts.roles.join(" or ")} role; you are ${staff.role}.`,
      {
        status: 403,
        statusText: "Forbidden",
      },
    );
  }
  return staff;
}

export async function getStaff(request: Request): Promise<StaffIdentity | null> {
  const result = await lookupSession(request);
  return result.state === "ok" ? result.staff : null;
}
