/**
 * "View in Stripe": the dashboard page of a Stripe object, in test or live mode by the object's
 * own mode (an id does not say which, so callers pass `livemode`). Client-safe.
 */

const PATHS: [prefix: string, path: string][] = [
  ["cus_", "customers"],
  ["cs_", "checkout/sessions"],
  ["pi_", "payments"],
  ["ch_", "payments"],
  ["re_", "refunds"],
  ["dp_", "disputes"],
  ["du_", "disputes"],
  ["evt_", "events"],
  ["in_", "invoices"],
  ["sub_", "subscriptions"],
];

export function stripeDashboardUrl(id: string, livemode: boolean): string | null {
  const hit = PATHS.find(([prefix]) => id.startsWith(prefix));
  if (!hit || !/^[A-Za-z0-9_]+$/.test(id)) return null;
  return `https://dashboard.stripe.com/${livemode ? "" : "test/"}${hit[1]}/${id}`;
}
