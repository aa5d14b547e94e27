import Stripe from "stripe";
import { DomainError } from "./errors.server";
import { scrubSecrets } from "./infra/logger.server";

/**
 * A failed Stripe call, as the dashboard's actions report it: 502 "stripe_error" naming what
 * could not be asked for, with Stripe's message (secrets scrubbed). Null for anything that is not
 * a Stripe error, which the caller re-throws. (The Credits API maps Stripe's refusals to its own
 * status codes: stripeFailure in app/services/api/checkout.server.ts.)
 */
export function stripeFailureToDomainError(error: unknown, what: string): DomainError | null {
  if (!(error instanceof Stripe.errors.StripeError)) return null;
  return new DomainError(
    502,
    "stripe_error",
    `Stripe could not be asked ${what}: ${scrubSecrets(error.message)}`,
  );
}
