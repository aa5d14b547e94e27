import type { StaffRole } from "~/generated/prisma/enums";

/**
 * Who may do what in the dashboard. Loaders and actions pass these lists to `requireStaff`, and the
 * UI asks `can()` before showing a link or button, so both read the same table. Client-safe (no
 * server imports): components use it to hide what a role cannot do.
 */
export const ACCESS = {
  overview: ["admin", "finance"],
  users: ["admin", "support"],
  /** Credit adjustments (requests above the threshold), tier changes, crediting a session by id. */
  userActions: ["admin", "support"],
  approvals: ["admin", "support"],
  purchases: ["admin", "finance"],
  /** Support reaches a purchase from a user's page to see why credits did not land. */
  purchaseDetail: ["admin", "finance", "support"],
  ledger: ["admin", "finance", "support"],
  exports: ["admin", "finance"],
  /** The month close (/finance/close) and its CSVs. */
  financeClose: ["admin", "finance"],
} as const satisfies Record<string, readonly StaffRole[]>;

export type Capability = keyof typeof ACCESS;

export function can(role: StaffRole, capability: Capability): boolean {
  return (ACCESS[capability] as readonly StaffRole[]).includes(role);
}
