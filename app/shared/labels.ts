/**
 * How the dashboard names who did something and what kind of thing it was: one rule for every
 * page (the user page and the ledger explorer used to disagree on who made a Stripe entry).
 * Client-safe: no imports.
 */

/** "payment_intent_succeeded" → "Payment intent succeeded". */
export function humanize(code: string): string {
  const text = code.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export interface LedgerActor {
  staff?: { name?: string | null; email: string } | null;
  /** When only the email is known (the ledger explorer's rows). */
  staffEmail?: string | null;
  apiKeyName?: string | null;
  /** `metadata.via` of an entry Stripe caused: "webhook", "reconciliation", "manual". */
  via?: string | null;
  stripeEventId?: string | null;
}

/** A staff member as every page names them (ledger "By", requests, decisions, tier changes). */
export function staffLabel(staff: { name?: string | null; email: string }): string {
  return staff.name ?? staff.email;
}

/** Who made a ledger entry: a person, an API key, Stripe (and how it reached us), or the system. */
export function actorLabel(e: LedgerActor): string {
  if (e.staff) return staffLabel(e.staff);
  if (e.staffEmail) return e.staffEmail;
  if (e.apiKeyName) return `API key “${e.apiKeyName}”`;
  if (e.via) return `Stripe (${humanize(e.via).toLowerCase()})`;
  if (e.stripeEventId) return "Stripe webhook";
  return "System";
}

/** The `via` a ledger entry's metadata records, if it is a string. */
export function viaOf(metadata: unknown): string | null {
  const via = (metadata as { via?: unknown } | null)?.via;
  return typeof via === "string" ? via : null;
}

/** Kinds, statuses, "credited via" and the like are stored as codes and shown humanized. */
export const kindLabel = humanize;
export const statusLabel = humanize;
