/**
 * Id formats, defined once for the server and the browser (this module imports nothing, so a
 * dashboard form may use it). Each pattern is anchored and bounded so a hostile id cannot grow a
 * key, a URL or a log line without limit.
 */

/** A Stripe Checkout Session id as Stripe issues it (cs_test_…, cs_live_…). */
export const CHECKOUT_SESSION_ID = /^cs_[A-Za-z0-9_]{1,250}$/;

/** A Stripe event id (evt_…). */
export const STRIPE_EVENT_ID = /^evt_[A-Za-z0-9_]{1,250}$/;

/**
 * The main app's user ids are opaque strings; this keeps them safe in URLs, idempotency keys and
 * logs.
 */
export const USER_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** What a user id may contain, in words, for error messages. */
export const USER_ID_RULE = "1–128 characters of letters, digits and _ . : @ -";

export function isCheckoutSessionId(value: string): boolean {
  return CHECKOUT_SESSION_ID.test(value);
}

export function isStripeEventId(value: string): boolean {
  return STRIPE_EVENT_ID.test(value);
}

export function isUserId(value: string): boolean {
  return USER_ID.test(value);
}

/** What "Credit a Checkout Session" accepts: the session, or the payment intent / charge it made. */
export const PAYMENT_REF_ID = /^(cs|pi|ch)_[A-Za-z0-9_]{1,250}$/;

/** Stripe ids by prefix, for search and links (one pattern per object kind). */
export const STRIPE_ID = /^(cus|cs|pi|ch|re|dp|evt|in|sub)_[A-Za-z0-9_]{1,250}$/;
