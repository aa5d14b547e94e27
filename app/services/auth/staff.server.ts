import { z } from "zod";
import type { StaffRole } from "~/generated/prisma/enums";
import { getDb } from "../infra/db.server";
import { writeAudit, type Actor } from "../audit.server";
import { ConflictError, NotFoundError, ValidationError } from "../errors.server";
import { STAFF_ROLES, staffEmailSchema } from "~/shared/schemas/staff";
import { generatePassword, hashPassword, MIN_PASSWORD_LENGTH } from "./password.server";

// One definition for the server and the dashboard's forms (client-safe).
export { STAFF_ROLES, staffEmailSchema } from "~/shared/schemas/staff";
export const passwordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, { message: `must be at least ${MIN_PASSWORD_LENGTH} characters` })
  .max(200, { message: "must be at most 200 characters" });
export const staffRoleSchema = z.enum(STAFF_ROLES, {
  message: "must be admin, support or finance",
});

/** The staff fields that may be shown anywhere: never the password hash. */
export const publicStaffSelect = {
  id: true,
  email: true,
  name: true,
  role: true,
  disabledAt: true,
  lastLoginAt: true,
  mustChangePassword: true,
  createdAt: true,
} as const;

export async function createStaff(
  input: { email: string; role: string; name?: string | null; password?: string | null },
  actor: Actor,
): Promise<{
  staff: { id: string; email: string; role: StaffRole };
  generatedPassword: string | null;
}> {
  const email = staffEmailSchema.safeParse(input.email);
  if (!email.success) throw new ValidationError(`email ${email.error.issues[0].message}`, "email");
  const role = staffRoleSchema.safeParse(input.role);
  if (!role.success) throw new ValidationError(`role ${role.error.issues[0].message}`, "role");
  let generatedPassword: string | null = null;
  let password = input.password ?? null;
  if (password === null || password === "") {
    generatedPassword = generatePassword();
    password = generatedPassword;
  } else {
    const ok = passwordSchema.safeParse(password);
    if (!ok.success)
      throw new ValidationError(`password ${ok.error.issues[0].message}`, "password");
  }
  const passwordHash = await hashPassword(password);
  const db = getDb();
  const staff = await db.$transaction(async (tx) => {
    const existing = await tx.staffUser.findUnique({ where: { email: email.data } });
    if (existing)
      throw new ConflictError(`A staff member with email ${email.data} already exists.`, "email");
    const created = await tx.staffUser.create({
      data: {
        email: email.data,
        role: role.data,
        name: input.name ?? null,
        passwordHash,
        mustChangePassword: generatedPassword !== null,
      },
      select: { id: true, email: true, role: true },
    });
    await writeAudit(
      {
        actor,
        action: "staff.create",
        targetType: "staff",
        targetId: created.id,
        after: { email: created.email, role: created.role },
      },
      tx,
    );
    return created;
  });
  return { staff, generatedPassword };
}

/** Disabling ends every session of the person at once. */
export async function disableStaff(staffId: string, actor: Actor, reason?: string) {
  return getDb().$transaction(async (tx) => {
    const staff = await tx.staffUser.findUnique({
      where: { id: staffId },
      select: publicStaffSelect,
    });
    if (!staff) throw new NotFoundError("Staff member", staffId);
    const updated = await tx.staffUser.update({
      where: { id: staffId },
      data: { disabledAt: new Date() },
      select: publicStaffSelect,
    });
    await tx.staffSession.deleteMany({ where: { staffId } });
    await writeAudit(
      {
        actor,
        action: "staff.disable",
        targetType: "staff",
        targetId: staffId,
        reason,
        before: { disabled: !!staff.disabledAt },
        after: { disabled: true },
      },
      tx,
    );
    return updated;
  });
}
