import type { StaffRole } from "~/generated/prisma/enums";
import { ACCESS } from "~/services/admin/permissions";

export interface NavItem {
  to: string;
  label: string;
  /** Roles that may open the page; the nav shows each person only what they can use. */
  roles: readonly StaffRole[];
}

/** Pages of the dashboard, in menu order. Add a page here when its route exists. */
export const navItems: NavItem[] = [
  { to: "/", label: "Overview", roles: ACCESS.overview },
  { to: "/users", label: "Users", roles: ACCESS.users },
  { to: "/approvals", label: "Approvals", roles: ACCESS.approvals },
  { to: "/purchases", label: "Purchases", roles: ACCESS.purchases },
  { to: "/ledger", label: "Ledger", roles: ACCESS.ledger },
];

export function navFor(role: StaffRole): NavItem[] {
  return navItems.filter((item) => item.roles.includes(role));
}
