import { getDb } from "../db.server";
import { writeAudit } from "../audit.server";
import { dummyPasswordHash, verifyPassword } from "./password.server";
import { staffEmailSchema } from "./staff.server";

export const THROTTLE_WINDOW_MS = 15 * 60 * 1000;
export const THROTTLE_MAX_FAILURES = 5;
/** One message for unknown email and wrong password, so the form does not reveal who has an account. */
export const BAD_CREDENTIALS_MESSAGE = "Email or password is incorrect.";

export type LoginResult =
  | { ok: true; staffId: string }
  | { ok: false; status: 400; field: "email" | "password"; message: string }
  | { ok: false; status: 401; message: string }
  | { ok: false; status: 429; message: string; retryAfterSeconds: number };

/** Failures in the window for this email or this IP; throttled at 5 of either. */
async function throttleState(email: string, ip: string, now: Date) {
  const since = new Date(now.getTime() - THROTTLE_WINDOW_MS);
  const db = getDb();
  const [byEmail, byIp] = await Promise.all([
    db.loginAttempt.findMany({
      where: { email, success: false, createdAt: { gte: since } },
      orderBy: { createdAt: "asc" },
      select: { createdAt: true },
    }),
    db.loginAttempt.findMany({
      where: { ip, success: false, createdAt: { gte: since } },
      orderBy: { createdAt: "asc" },
      select: { createdAt: true },
    }),
  ]);
  const blockedBy = [byEmail, byIp].filter((list) => list.length >= THROTTLE_MAX_FAILURES);
  if (blockedBy.length === 0) return null;
  // Unblocked when enough of the oldest failures leave the window.
  const until = Math.max(
    ...blockedBy.map(
      (list) => list[list.length - THROTTLE_MAX_FAILURES].createdAt.getTime() + THROTTLE_WINDOW_MS,
    ),
  );
  return Math.max(1, Math.ceil((until - now.getTime()) / 1000));
}

export async function attemptLogin(
  input: { email: unknown; password: unknown; ip: string },
  now = new Date(),
): Promise<LoginResult> {
  const emailRaw = typeof input.email === "string" ? input.email : "";
  const password = typeof input.password === "string" ? input.password : "";
  if (!emailRaw.trim())
    return { ok: false, status: 400, field: "email", message: "Email is required." };
  const parsed = staffEmailSchema.safeParse(emailRaw);
  if (!parsed.success)
    return {
      ok: false,
      status: 400,
      field: "email",
      message: "Email must be a valid email address.",
    };
  if (!password)
    return { ok: false, status: 400, field: "password", message: "Password is required." };
  const email = parsed.data;

  const retryAfter = await throttleState(email, input.ip, now);
  if (retryAfter) {
    return {
      ok: false,
      status: 429,
      retryAfterSeconds: retryAfter,
      message: `Too many failed sign-in attempts. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`,
    };
  }
  const db = getDb();
  const staff = await db.staffUser.findUnique({
    where: { email },
    select: { id: true, passwordHash: true, disabledAt: true },
  });
  const valid = await verifyPassword(password, staff?.passwordHash ?? (await dummyPasswordHash()));
  const success = Boolean(staff && valid && !staff.disabledAt);
  await db.loginAttempt.create({ data: { email, ip: input.ip, success, createdAt: now } });
  if (!success || !staff) return { ok: false, status: 401, message: BAD_CREDENTIALS_MESSAGE };
  await db.staffUser.update({ where: { id: staff.id }, data: { lastLoginAt: now } });
  await writeAudit({
    actor: { type: "staff", id: staff.id, ip: input.ip },
    action: "staff.login",
    targetType: "staff",
    targetId: staff.id,
  });
  return { ok: true, staffId: staff.id };
}
