import type { StaffRole } from "~/generated/prisma/enums";

export interface NavItem {
  to: string;
  label: string;
  /** Roles that may open the page; the nav shows each person only what they can use. */
  roles: readonly StaffRole[];
}

/** Pages of the dashboard, in menu order. Add a page here when its route exists. */
export const navItems: NavItem[] = [{ to: "/", label: "Home", roles: ["admin", "support", "finance"] }];

export function navFor(role: StaffRole): NavItem[] {
  return navItems.filter((item) => item.roles.includes(role));
}
