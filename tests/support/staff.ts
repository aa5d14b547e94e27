import type { StaffRole } from "../../app/generated/prisma/enums";
import { createStaff } from "../../app/services/auth/staff.server";
import { createStaffSession } from "../../app/services/auth/session.server";

let counter = 0;

/** A staff member of `role` with a live session; `cookie` goes in a Request's Cookie header. */
export async function createStaffWithSession(
  role: StaffRole,
  opts: { email?: string; password?: string } = {},
) {
  counter += 1;
  const email = opts.email ?? `${role}${counter}.${Date.now()}@staff.test`;
  const password = opts.password ?? "correct horse battery staple";
  const { staff } = await createStaff({ email, role, password }, { type: "system", label: "test" });
  const setCookie = await createStaffSession(staff.id, { ip: "127.0.0.1" });
  const cookie = setCookie.split(";")[0];
  return { staff, email, password, cookie };
}

/** Build a Request as the browser would send it, optionally signed in. */
export function pageRequest(
  path: string,
  init: RequestInit & { cookie?: string; form?: Record<string, string> } = {},
) {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("Cookie", init.cookie);
  let body = init.body;
  if (init.form) {
    body = new URLSearchParams(init.form);
    headers.set("Content-Type", "application/x-www-form-urlencoded");
  }
  return new Request(`http://localhost${path}`, {
    ...init,
    headers,
    body,
    method: init.method ?? (init.form ? "POST" : "GET"),
  });
}
