import type { StaffRole } from "~/generated/prisma/enums";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { ACCESS } from "~/shared/permissions";

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
  { to: "/finance/close", label: "Month close", roles: ACCESS.financeClose },
  { to: "/attention", label: "Attention queue", roles: OPS_ACCESS.attention },
  { to: "/webhooks", label: "Webhooks", roles: OPS_ACCESS.webhooks },
  { to: "/reconciliation", label: "Reconciliation", roles: OPS_ACCESS.reconciliation },
  { to: "/packs", label: "Packs & tiers", roles: OPS_ACCESS.packs },
  { to: "/audit", label: "Audit log", roles: OPS_ACCESS.audit },
  { to: "/staff", label: "Staff", roles: OPS_ACCESS.staff },
  { to: "/api-keys", label: "API keys", roles: OPS_ACCESS.apiKeys },
  { to: "/outbound", label: "Outbound events", roles: OPS_ACCESS.outbound },
];

export function navFor(role: StaffRole): NavItem[] {
  return navItems.filter((item) => item.roles.includes(role));
}
