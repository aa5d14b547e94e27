import type { StaffRole } from "~/generated/prisma/enums";

/**
 * Who may do what on the operations pages (webhooks, reconciliation, attention queue, packs,
 * audit log, staff and API keys). Same shape as `ACCESS` in permissions.ts: loaders and actions
 * pass these lists to `requireStaff`, components ask `canOps()` before showing a link or button.
 * Client-safe (no server imports).
 */
export const OPS_ACCESS = {
  /** Webhook deliveries and events, read-only. */
  webhooks: ["admin", "support"],
  /** Reprocess a stored event through the handler (webhooks page and failed-event items). */
  replay: ["admin"],
  /** Runs, run detail and live progress, read-only. */
  reconciliation: ["admin", "support", "finance"],
  /** Start a reconciliation run or a dry run. */
  reconciliationRun: ["admin"],
  /**
   * The attention queue and its fixes: assign and credit an unmatched session, retry a session
   * (fulfillment itself syncs packs before calling a price unknown), resolve, dismiss.
   */
  attention: ["admin", "support"],
  packs: ["admin"],
  packsSync: ["admin"],
  audit: ["admin", "finance"],
  staff: ["admin"],
  apiKeys: ["admin"],
  /** Outbound event endpoints: create, rotate, enable/disable, test, replay. */
  outbound: ["admin"],
} as const satisfies Record<string, readonly StaffRole[]>;

export type OpsCapability = keyof typeof OPS_ACCESS;

export function canOps(role: StaffRole, capability: OpsCapability): boolean {
  return (OPS_ACCESS[capability] as readonly StaffRole[]).includes(role);
}
