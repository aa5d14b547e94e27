import type { StripeObject } from "../objects/common";
import type { Collection } from "../state/collection";

/** Applies `mutate` and returns Stripe's `previous_attributes`: old values of changed fields. */
export function updateWithPrevious<T extends StripeObject>(
  table: Collection<T>,
  obj: T,
  mutate: (obj: T) => void,
): Record<string, unknown> {
  const before: Record<string, unknown> = { ...obj };
  table.update(obj, mutate);
  const previous: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    if (JSON.stringify(before[key]) !== JSON.stringify(obj[key])) previous[key] = before[key];
  }
  return previous;
}
