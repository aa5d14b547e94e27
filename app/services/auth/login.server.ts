import { getDb } from "../infra/db.server";
import { writeAudit } from "../audit.server";
import { dummyPasswordHash, verifyPassword } from "./password.server";
import { staffEmailSchema } from "./staff.server";

export const THROTTLE_WINDOW_MS = 15 * 60 * 1000;
/**
 * Failed password checks allowed per (email, client address) in the window. Per pair, not per
 * email: someone who knows a staff email can lock it out only from their own address, and the
 * real person still signs in from theirs.
 */
export const THROTTLE_MAX_FAILURES = 5;
/** Failed checks allowed from one address across all emails (guessing many accounts at once). */
export const THROTTLE_MAX_FAILURES_PER_IP = 20;
/** One message for unknown email and wrong password, so the form does not reveal who has an account. */
export const BAD_CREDENTIALS_MESSAGE = "Email or password is incorrect.";

// Two-int advisory lock keys: this namespace ("CDL") and a hash of the throttle key. Other locks in
// the project use other namespaces (reconciliation: "CDK").
const LOCK_NAMESPACE = 0x43444c;

export type ThrottleReservation =
  { ok: true; attemptId: bigint } | { ok: false; retryAfterSeconds: number; message: string };

export type LoginResult =
  | { ok: true; staffId: string }
  | { ok: false; status: 400; field: "email" | "password"; message: string }
  | { ok: false; status: 401; message: string }
  | { ok: false; status: 429; message: string; retryAfterSeconds: number };

function throttledMessage(retryAfterSeconds: number, what: string) {
  return `Too many failed ${what}. Try again in ${Math.ceil(retryAfterSeconds / 60)} minute(s).`;
}

/**
 * Count, then record, one password check for (email, ip) — before the password is verified, and
 * atomically: a transaction-scoped advisory lock on the address and on the (email, address) pair
 * makes concurrent checks of the same key take turns, so twenty wrong passwords sent at once meet
 * the limit of five after five, not after twenty verifications. The attempt is stored as a failure
 * and turned into a success by `recordAttemptSuccess` once the password proved right.
 */
export async function reservePasswordCheck(
  email: string,
  ip: string,
  now = new Date(),
  what = "sign-in attempts",
): Promise<ThrottleReservation> {
  const since = new Date(now.getTime() - THROTTLE_WINDOW_MS);
  return getDb().$transaction(async (tx) => {
    // Always the address first, then the pair: two checks never wait for each other in a cycle.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}::int4, hashtext(${`ip\n${ip}`}))`;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}::int4, hashtext(${`pair\n${email}\n${ip}`}))`;
    const byPair = await tx.loginAttempt.findMany({
      where: { email, ip, success: false, createdAt: { gte: since } },
      orderBy: { createdAt: "desc" },
      take: THROTTLE_MAX_FAILURES,
      select: { createdAt: true },
    });
    const byIp = await tx.loginAttempt.findMany({
      where: { ip, success: false, createdAt: { gte: since } },
      orderBy: { createdAt: "desc" },
      take: THROTTLE_MAX_FAILURES_PER_IP,
      select: { createdAt: true },
    });
    // Newest first, at most the limit: the last one is the oldest failure that still counts, and
    // the key is free again when it leaves the window.
    const blockedUntil = [
      byPair.length >= THROTTLE_MAX_FAILURES ? byPair : null,
      byIp.length >= THROTTLE_MAX_FAILURES_PER_IP ? byIp : null,
    ]
      .filter((list) => list !== null)
      .map((list) => list[list.length - 1].createdAt.getTime() + THROTTLE_WINDOW_MS);
    if (blockedUntil.length > 0) {
      const retryAfterSeconds = Math.max(
        1,
        Math.ceil((Math.max(...blockedUntil) - now.getTime()) / 1000),
      );
      return { ok: false, retryAfterSeconds, message: throttledMessage(retryAfterSeconds, what) };
    }
    const attempt = await tx.loginAttempt.create({
      data: { email, ip, success: false, createdAt: now },
      select: { id: true },
    });
    return { ok: true, attemptId: attempt.id };
  });
}

export async function recordAttemptSuccess(attemptId: bigint): Promise<void> {
  await getDb().loginAttempt.update({ where: { id: attemptId }, data: { success: true } });
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

  const reservation = await reservePasswordCheck(email, input.ip, now, "sign-in attempts");
  if (!reservation.ok) {
    return {
      ok: false,
      status: 429,
      retryAfterSeconds: reservation.retryAfterSeconds,
      message: reservation.message,
    };
  }
  const db = getDb();
  const staff = await db.staffUser.findUnique({
    where: { email },
    select: { id: true, passwordHash: true, disabledAt: true },
  });
  const valid = await verifyPassword(password, staff?.passwordHash ?? (await dummyPasswordHash()));
  if (!staff || !valid || staff.disabledAt)
    return { ok: false, status: 401, message: BAD_CREDENTIALS_MESSAGE };
  await recordAttemptSuccess(reservation.attemptId);
  await db.staffUser.update({ where: { id: staff.id }, data: { lastLoginAt: now } });
  await writeAudit({
    actor: { type: "staff", id: staff.id, ip: input.ip },
    action: "staff.login",
    targetType: "staff",
    targetId: staff.id,
  });
  return { ok: true, staffId: staff.id };
}
