import { writeAudit } from "../audit.server";
import { syncPacks, type PackSyncReport } from "../packs.server";
import type { StaffRef } from "./webhook-events.server";
import { stripeFailureToDomainError } from "../stripe-failure.server";

export type PackSyncView = Pick<
  PackSyncReport,
  "created" | "updated" | "deactivated" | "unchanged" | "errors" | "pricesSeen"
>;

/** Sync the mirror from Stripe's prices on behalf of staff, and audit what changed. */
export async function syncPacksAsStaff(staff: StaffRef): Promise<PackSyncView> {
  let report: PackSyncReport;
  try {
    report = await syncPacks();
  } catch (error) {
    throw stripeFailureToDomainError(error, "for prices") ?? error;
  }
  const view: PackSyncView = {
    created: report.created,
    updated: report.updated,
    deactivated: report.deactivated,
    unchanged: report.unchanged,
    errors: report.errors,
    pricesSeen: report.pricesSeen,
  };
  await writeAudit({
    actor: { type: "staff", id: staff.id, label: staff.email, ip: staff.ip ?? null },
    action: "packs.sync",
    targetType: "credit_packs",
    after: {
      pricesSeen: view.pricesSeen,
      created: view.created,
      updated: view.updated,
      deactivated: view.deactivated,
      errors: view.errors.length,
    },
  });
  return view;
}
