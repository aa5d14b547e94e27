import { z } from "zod";
import type { StaffRole } from "~/generated/prisma/enums";
import {
  apiKeyNameSchema,
  createApiKey,
  MAX_RATE_LIMIT_BURST,
  MAX_RATE_LIMIT_PER_SECOND,
  parseExpiry,
  parseScopes,
  revokeApiKey,
  type PublicApiKey,
} from "../api-keys.server";
import { writeAudit, type Actor } from "../audit.server";
import {
  generatePassword,
  hashPassword,
  MIN_PASSWORD_LENGTH,
  verifyPassword,
} from "../auth/password.server";
import { createStaff, disableStaff } from "../auth/staff.server";
import { createStaffSchema, disableStaffSchema, staffTargetSchema } from "~/shared/schemas/staff";
import { getDb } from "../infra/db.server";
import { ConflictError, NotFoundError, ValidationError } from "../errors.server";

// The forms' schemas are client-safe (app/shared/schemas/staff.ts); re-exported for the jobs and tests.
export { createStaffSchema, disableStaffSchema, staffTargetSchema };

/**
 * Staff accounts and API keys, for admins. Nothing here reads or returns a password hash or a key
 * hash for display: the staff list (app/presenters/staff.server.ts) uses `publicStaffSelect`, API
 * keys an explicit select, and a new password or key is returned once, by the function that made
 * it.
 */

export const API_KEYS_LIST_LIMIT = 100;

export interface StaffRef {
  id: string;
  email: string;
  ip?: string | null;
}

const actorOf = (staff: StaffRef): Actor => ({
  type: "staff",
  id: staff.id,
  label: staff.email,
  ip: staff.ip ?? null,
});

const passwordField = z
  .string()
  .min(MIN_PASSWORD_LENGTH, {
    error: `The password must be at least ${MIN_PASSWORD_LENGTH} characters.`,
  })
  .max(200, { error: "The password must be at most 200 characters." });

export type CreatedStaff = {
  id: string;
  email: string;
  role: StaffRole;
  generatedPassword: string | null;
};

/**
 * Create a staff member. "generate": a random password is shown once and must be changed at the
 * first sign-in. "set": the password the person chose (they typed it in, or told it) is used as is.
 */
export async function createStaffMember(
  input: z.output<typeof createStaffSchema>,
  admin: StaffRef,
): Promise<CreatedStaff> {
  const { staff, generatedPassword } = await createStaff(
    {
      email: input.email,
      role: input.role,
      name: input.name ?? null,
      password: input.passwordMode === "set" ? (input.password ?? "") : null,
    },
    actorOf(admin),
  );
  return { ...staff, generatedPassword };
}

async function activeAdmins(excluding: string): Promise<number> {
  return getDb().staffUser.count({
    where: { role: "admin", disabledAt: null, id: { not: excluding } },
  });
}

/** Disable an account: its sessions end at once (the next request signs the person out). */
export async function disableStaffMember(
  input: z.output<typeof disableStaffSchema>,
  admin: StaffRef,
) {
  if (input.staffId === admin.id)
    throw new ValidationError("You cannot disable your own account.", "staffId");
  const target = await getDb().staffUser.findUnique({
    where: { id: input.staffId },
    select: { id: true, email: true, role: true, disabledAt: true },
  });
  if (!target) throw new NotFoundError("Staff member", input.staffId, "staffId");
  if (target.disabledAt) throw new ConflictError(`${target.email} is already disabled.`, "staffId");
  if (target.role === "admin" && (await activeAdmins(target.id)) === 0) {
    throw new ConflictError(
      "This is the last active admin; enable or create another admin first.",
      "staffId",
    );
  }
  await disableStaff(target.id, actorOf(admin), input.reason);
  return { email: target.email };
}

export async function enableStaffMember(
  input: z.output<typeof staffTargetSchema>,
  admin: StaffRef,
) {
  return getDb().$transaction(async (tx) => {
    const target = await tx.staffUser.findUnique({
      where: { id: input.staffId },
      select: { id: true, email: true, disabledAt: true },
    });
    if (!target) throw new NotFoundError("Staff member", input.staffId, "staffId");
    if (!target.disabledAt) throw new ConflictError(`${target.email} is not disabled.`, "staffId");
    await tx.staffUser.update({ where: { id: target.id }, data: { disabledAt: null } });
    await writeAudit(
      {
        actor: actorOf(admin),
        action: "staff.enable",
        targetType: "staff",
        targetId: target.id,
        before: { disabled: true },
        after: { disabled: false },
      },
      tx,
    );
    return { email: target.email };
  });
}

/**
 * Reset someone's password: a new random one (shown once), which they must change at their next
 * sign-in. Their sessions end, so whoever had the old password is signed out too.
 */
export async function resetStaffPassword(
  input: z.output<typeof staffTargetSchema>,
  admin: StaffRef,
): Promise<{ email: string; password: string }> {
  if (input.staffId === admin.id)
    throw new ValidationError("Change your own password on the account page instead.", "staffId");
  const password = generatePassword();
  const passwordHash = await hashPassword(password);
  return getDb().$transaction(async (tx) => {
    const target = await tx.staffUser.findUnique({
      where: { id: input.staffId },
      select: { id: true, email: true, disabledAt: true },
    });
    if (!target) throw new NotFoundError("Staff member", input.staffId, "staffId");
    if (target.disabledAt)
      throw new ConflictError(`${target.email} is disabled; enable the account first.`, "staffId");
    await tx.staffUser.update({
      where: { id: target.id },
      data: { passwordHash, mustChangePassword: true },
    });
    const ended = await tx.staffSession.deleteMany({ where: { staffId: target.id } });
    await writeAudit(
      {
        actor: actorOf(admin),
        action: "staff.password_reset",
        targetType: "staff",
        targetId: target.id,
        after: { mustChangePassword: true, sessionsEnded: ended.count },
      },
      tx,
    );
    return { email: target.email, password };
  });
}

export const changePasswordSchema = z
  .object({
    currentPassword: z
      .string({ error: "Enter your current password." })
      .min(1, { error: "Enter your current password." }),
    newPassword: passwordField,
    confirmPassword: z.string({ error: "Type the new password again." }),
  })
  .refine((v) => v.newPassword === v.confirmPassword, {
    path: ["confirmPassword"],
    error: "The two new passwords are not the same.",
    when: () => true,
  })
  .refine((v) => v.newPassword !== v.currentPassword, {
    path: ["newPassword"],
    error: "Choose a password different from the current one.",
  });

/**
 * A signed-in person changes their own password. Other sessions of theirs end; this one stays.
 * The hash is read only to verify the current password and never leaves this function.
 */
export async function changeOwnPassword(
  staff: { id: string; sessionId: string; ip?: string | null; email: string },
  input: z.output<typeof changePasswordSchema>,
): Promise<void> {
  const db = getDb();
  const row = await db.staffUser.findUnique({
    where: { id: staff.id },
    select: { passwordHash: true },
  });
  if (!row) throw new NotFoundError("Staff member", staff.id);
  if (!(await verifyPassword(input.currentPassword, row.passwordHash))) {
    throw new ValidationError("The current password is not correct.", "currentPassword");
  }
  const passwordHash = await hashPassword(input.newPassword);
  await db.$transaction(async (tx) => {
    await tx.staffUser.update({
      where: { id: staff.id },
      data: { passwordHash, mustChangePassword: false },
    });
    const ended = await tx.staffSession.deleteMany({
      where: { staffId: staff.id, id: { not: staff.sessionId } },
    });
    await writeAudit(
      {
        actor: actorOf(staff),
        action: "staff.password_change",
        targetType: "staff",
        targetId: staff.id,
        after: { otherSessionsEnded: ended.count },
      },
      tx,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// API keys

const apiKeyListSelect = {
  id: true,
  name: true,
  prefix: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
  scopes: true,
  expiresAt: true,
  rateLimitPerSecond: true,
  rateLimitBurst: true,
  createdBy: { select: { email: true } },
} as const;

export async function listApiKeysForAdmin() {
  const db = getDb();
  const [keys, total] = await Promise.all([
    db.apiKey.findMany({
      select: apiKeyListSelect,
      orderBy: [
        { revokedAt: { sort: "desc", nulls: "first" } },
        { createdAt: "desc" },
        { id: "asc" },
      ],
      take: API_KEYS_LIST_LIMIT,
    }),
    db.apiKey.count(),
  ]);
  return { keys, more: Math.max(0, total - keys.length) };
}

const optionalLimit = (label: string, max: number) =>
  z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z
      .string()
      .trim()
      .regex(/^\d{1,9}$/, { error: `${label} must be a whole number from 1 to ${max}.` })
      .transform(Number)
      .pipe(
        z
          .number()
          .min(1, { error: `${label} must be a whole number from 1 to ${max}.` })
          .max(max, { error: `${label} must be a whole number from 1 to ${max}.` }),
      )
      .optional(),
  );

/** Scopes arrive comma-joined (one value per ticked box); parseScopes names unknown ones. */
export const createKeySchema = z.object({
  name: z.string({ error: "Name the key after what uses it." }).pipe(apiKeyNameSchema),
  scopes: z.string().optional(),
  expires: z
    .string()
    .trim()
    .max(40, { error: "Give a duration such as 90d or a date." })
    .optional(),
  rateLimitPerSecond: optionalLimit("Requests per second", MAX_RATE_LIMIT_PER_SECOND),
  rateLimitBurst: optionalLimit("Burst", MAX_RATE_LIMIT_BURST),
});

export async function createApiKeyForAdmin(
  input: z.output<typeof createKeySchema>,
  admin: StaffRef,
): Promise<{ apiKey: PublicApiKey; key: string }> {
  // Both throw a ValidationError naming the field ("scopes", "expiresAt") for the form.
  const scopes = parseScopes(input.scopes ?? "");
  const expiresAt = input.expires ? parseExpiry(input.expires) : null;
  return createApiKey(
    {
      name: input.name,
      createdById: admin.id,
      scopes,
      expiresAt,
      rateLimitPerSecond: input.rateLimitPerSecond ?? null,
      rateLimitBurst: input.rateLimitBurst ?? null,
    },
    actorOf(admin),
  );
}

export const revokeKeySchema = z.object({
  keyId: z.uuid({ error: "The key id is not valid: reload the page." }),
  reason: z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z.string().trim().max(500, { error: "Keep the reason under 500 characters." }).optional(),
  ),
});

export async function revokeApiKeyForAdmin(
  input: z.output<typeof revokeKeySchema>,
  admin: StaffRef,
) {
  const result = await revokeApiKey({ id: input.keyId }, actorOf(admin), input.reason ?? null);
  if (result.alreadyRevoked)
    throw new ConflictError(`The key ${result.apiKey.prefix}… was already revoked.`, "keyId");
  return result.apiKey;
}
