import { resourceMissing } from "../api/stripe-error";
import { shape } from "../schema/shape";

export type Metadata = Record<string, string>;

/** Every served object: the fields the emulator itself reads, and whatever else Stripe has. */
export interface StripeObject {
  id: string;
  object: string;
  created: number;
  [key: string]: unknown;
}

export interface ListObject<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  url: string;
}

/** "12.34 USD" — for messages and the checkout page (two-decimal currencies). */
export function formatMoney(amount: number, currency: string): string {
  return `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

export function listOf<T>(data: T[], url: string, hasMore = false): ListObject<T> {
  return { object: "list", data, has_more: hasMore, url };
}

// Constant sub-objects are shared (and frozen) between objects: 200,000 sessions would otherwise
// carry 200,000 copies of the same null address. Updates replace them, never mutate them.
/**
 * A page of a sub-list that keeps its own order (a session's or an invoice's line items, not
 * newest first), cut by `starting_after` / `ending_before` as Stripe's lists are.
 */
export function listInOrder<T extends { id: string }>(
  all: T[],
  url: string,
  q: { label: string; limit: number; startingAfter?: string; endingBefore?: string },
): ListObject<T> {
  const { limit, startingAfter: after, endingBefore: before } = q;
  const position = (id: string, param: string) => {
    const at = all.findIndex((i) => i.id === id);
    // A cursor that is not in the list is refused, as Stripe's other list cursors are.
    if (at < 0) throw resourceMissing(q.label, id, param);
    return at;
  };
  const start = after ? position(after, "starting_after") + 1 : 0;
  const end = before ? position(before, "ending_before") : all.length;
  const slice = before ? all.slice(Math.max(0, end - limit), end) : all.slice(start, start + limit);
  const hasMore = before ? end - limit > 0 : start + limit < all.length;
  return listOf(slice, url, hasMore);
}

export const NULL_ADDRESS = Object.freeze({
  city: null,
  country: null,
  line1: null,
  line2: null,
  postal_code: null,
  state: null,
});

export const EMPTY_ARRAY: readonly never[] = Object.freeze([]);
export const EMPTY_OBJECT = Object.freeze({});

export const CARD_DETAILS = Object.freeze({
  card: Object.freeze(
    shape("Charge.PaymentMethodDetails.Card", {
      amount_authorized: null,
      authorization_code: null,
      brand: "visa",
      checks: Object.freeze({
        address_line1_check: null,
        address_postal_code_check: null,
        cvc_check: "pass",
      }),
      country: "US",
      exp_month: 12,
      exp_year: 2034,
      extended_authorization: Object.freeze({ status: "disabled" }),
      fingerprint: "EmuL4t0rF1ngrPr1",
      funding: "credit",
      incremental_authorization: Object.freeze({ status: "unavailable" }),
      installments: null,
      last4: "4242",
      mandate: null,
      multicapture: Object.freeze({ status: "unavailable" }),
      network: "visa",
      network_token: Object.freeze({ used: false }),
      network_transaction_id: "104557651805572",
      overcapture: Object.freeze({ maximum_amount_capturable: 0, status: "unavailable" }),
      regulated_status: "unregulated",
      three_d_secure: null,
      wallet: null,
    }),
  ),
  type: "card",
});
