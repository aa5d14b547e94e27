import { publicStaffSelect, STAFF_ROLES } from "~/services/auth/staff.server";
import { getDb } from "~/services/infra/db.server";

/**
 * The staff page's read model: every account (active first, then disabled), with how many
 * sessions each holds. Never a password hash: the select is `publicStaffSelect`. Commands
 * (create, disable, enable, reset) live in services/admin/staff-admin.server.ts.
 */

export const STAFF_LIST_LIMIT = 100;

export async function presentStaff(meId: string) {
  const { staff, more } = await listStaff();
  return { staff, more, me: meId, roles: [...STAFF_ROLES] as string[] };
}

async function listStaff() {
  const db = getDb();
  const [staff, total] = await Promise.all([
    db.staffUser.findMany({
      select: { ...publicStaffSelect, _count: { select: { sessions: true } } },
      orderBy: [
        { disabledAt: { sort: "desc", nulls: "first" } },
        { createdAt: "asc" },
        { id: "asc" },
      ],
      take: STAFF_LIST_LIMIT,
    }),
    db.staffUser.count(),
  ]);
  return {
    staff: staff.map(({ _count, ...s }) => ({ ...s, sessions: _count.sessions })),
    more: Math.max(0, total - staff.length),
  };
}
