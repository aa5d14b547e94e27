import { z } from "zod";
import type { StaffRole } from "~/generated/prisma/enums";
import { blankToUndefined } from "./fields";

/**
 * The staff page's forms (app/routes/_app.staff): the action parses them with these schemas and
 * the forms name their fields after them. Client-safe: zod only. The rules they share with the
 * server's own checks (roles, email, password length) are defined here once.
 */

export const STAFF_ROLES = ["admin", "support", "finance"] as const satisfies readonly StaffRole[];

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 200;

export const staffEmailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "must be a valid email address" }));

export const createStaffSchema = z
  .object({
    email: z
      .string({ error: "Enter an email address." })
      .trim()
      .min(1, { error: "Enter an email address." })
      .pipe(staffEmailSchema.pipe(z.string().max(254, { error: "The email is too long." }))),
    name: z.preprocess(
      blankToUndefined,
      z.string().trim().max(100, { error: "Keep the name under 100 characters." }).optional(),
    ),
    role: z.enum(STAFF_ROLES, { error: "Choose admin, support or finance." }),
    passwordMode: z.enum(["generate", "set"], { error: "Choose how the first password is made." }),
    password: z.string().optional(),
  })
  // Checked even when other fields are wrong (`when`), so every mistake is shown at once.
  .refine((v) => v.passwordMode !== "set" || (v.password ?? "").length >= MIN_PASSWORD_LENGTH, {
    path: ["password"],
    error: `The password must be at least ${MIN_PASSWORD_LENGTH} characters.`,
    when: () => true,
  })
  .refine((v) => v.passwordMode !== "set" || (v.password ?? "").length <= MAX_PASSWORD_LENGTH, {
    path: ["password"],
    error: `The password must be at most ${MAX_PASSWORD_LENGTH} characters.`,
    when: () => true,
  });

export const staffTargetSchema = z.object({
  staffId: z.uuid({ error: "The staff id is not valid: reload the page." }),
});

export const disableStaffSchema = staffTargetSchema.extend({
  reason: z.preprocess(
    blankToUndefined,
    z.string().trim().max(500, { error: "Keep the reason under 500 characters." }).optional(),
  ),
});
