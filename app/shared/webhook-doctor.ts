/**
 * The webhook doctor's findings: one shape for the checks a reconciliation run makes against
 * Stripe (app/services/reconciliation/doctor.server.ts, stored on the run) and the checks the
 * webhooks page adds from creditdesk's own delivery log (app/services/admin/webhook-doctor.server.ts),
 * so the page, the run's stored report and the alert read the same thing. Client-safe: the
 * dashboard's panel (app/components/webhook-doctor.tsx) renders it.
 */

export type FindingSeverity = "error" | "warning" | "info";

export type FindingCode =
  // Stripe's side (a run, or a live check)
  | "stripe_unreachable"
  | "no_endpoint"
  | "url_mismatch"
  | "endpoint_disabled"
  | "missing_events"
  | "duplicate_endpoints"
  | "local_url"
  | "webhooks_silent"
  // Both: the doctor makes them, and the page recounts them when the doctor's report is stored
  | "no_signing_secret"
  | "signing_secret_mismatch"
  | "delivery_failures"
  // creditdesk's delivery log only (the webhooks page)
  | "stale_deliveries"
  | "livemode_mismatch"
  | "failed_events";

/** Codes whose counts come from the delivery log: recomputed when a stored report is shown. */
export const DELIVERY_FINDING_CODES: ReadonlySet<FindingCode> = new Set<FindingCode>([
  "no_signing_secret",
  "signing_secret_mismatch",
  "delivery_failures",
]);

export interface DoctorFinding {
  code: FindingCode;
  severity: FindingSeverity;
  title: string;
  detail: string;
  /** What to change, in words an operator can follow. */
  fix: string;
  endpointId?: string;
}

export interface DoctorEndpoint {
  id: string;
  url: string;
  status: string;
  enabledEvents: string[];
  matchesAppUrl: boolean;
}
