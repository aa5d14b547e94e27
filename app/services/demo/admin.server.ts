import { createStaff } from "../auth/staff.server";
import { generatePassword, verifyPassword } from "../auth/password.server";
import { getDb } from "../infra/db.server";
import { demoFiles, readDemoLogin, writeDemoLogin } from "./files.server";

export const DEMO_ADMIN_EMAIL = "demo@creditdesk.local";

export type DemoAdmin =
  | { state: "created" | "kept"; email: string; password: string }
  /** The saved password no longer matches (changed in the UI) or the file is gone. */
  | { state: "unknown"; email: string; password: null };

/**
 * The demo's staff admin, created on first start with a random password. Decision: the password
 * is kept in DATA_DIR/demo-login.json (mode 0600, beside the generated session secret) so that
 * every start can print the login again — a newcomer who closed the terminal is not locked out.
 * Demo mode never runs in production; `npm run cli -- demo reset` deletes the file with the data.
 */
export async function ensureDemoAdmin(dataDir: string): Promise<DemoAdmin> {
  const file = demoFiles(dataDir).login;
  const existing = await getDb().staffUser.findUnique({
    where: { email: DEMO_ADMIN_EMAIL },
    select: { passwordHash: true, disabledAt: true },
  });
  if (!existing) {
    const password = generatePassword();
    // An explicit password: createStaff would otherwise mark it "must change" as a one-off.
    await createStaff(
      { email: DEMO_ADMIN_EMAIL, role: "admin", name: "Demo admin", password },
      { type: "system", label: "demo mode" },
    );
    writeDemoLogin(file, { email: DEMO_ADMIN_EMAIL, password });
    return { state: "created", email: DEMO_ADMIN_EMAIL, password };
  }
  const saved = readDemoLogin(file);
  if (
    saved &&
    !existing.disabledAt &&
    (await verifyPassword(saved.password, existing.passwordHash))
  ) {
    return { state: "kept", email: DEMO_ADMIN_EMAIL, password: saved.password };
  }
  return { state: "unknown", email: DEMO_ADMIN_EMAIL, password: null };
}

/** The box every demo start prints, so the way in is never more than a scroll away. */
export function loginBox(url: string, admin: DemoAdmin): string {
  const lines = [
    "creditdesk demo mode: Stripe is simulated by the built-in emulator (no real payments)",
    "",
    `Open      ${url}/login`,
    `Email     ${admin.email}`,
    admin.password
      ? `Password  ${admin.password}`
      : "Password  (changed since it was printed; start over with: npm run cli -- demo reset)",
  ];
  if (admin.password)
    lines.push("", "The password is kept in DATA_DIR/demo-login.json (owner-only) for demo mode.");
  const width = Math.max(...lines.map((l) => l.length));
  const bar = "─".repeat(width + 2);
  return ["", `┌${bar}┐`, ...lines.map((l) => `│ ${l.padEnd(width)} │`), `└${bar}┘`, ""].join("\n");
}
