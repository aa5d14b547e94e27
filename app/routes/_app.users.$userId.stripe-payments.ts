import { z } from "zod";
import { staffLoader } from "~/lib/route-builders";
import { checkStripeForUser, stripeCheckSearchSchema } from "~/services/admin/stripe-lookup.server";
import { DomainError } from "~/services/errors.server";
import { ACCESS } from "~/shared/permissions";

// Resource route (fetcher, JSON) behind the user page's "Check Stripe" panel. Stripe failing is
// an answer the panel shows (502 with the error), never a blank.
export const loader = staffLoader(
  { roles: ACCESS.users, params: z.object({ userId: z.string() }) },
  async ({ request, params }) => {
    const headers = { "Cache-Control": "no-store" };
    const url = new URL(request.url);
    const parsed = stripeCheckSearchSchema.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) {
      return Response.json(
        { ok: false, error: parsed.error.issues[0]?.message ?? "The page link is not valid." },
        { status: 400, headers },
      );
    }
    try {
      return Response.json(
        { ok: true, check: await checkStripeForUser(params.userId, parsed.data) },
        { headers },
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return Response.json(
        { ok: false, error: error.message },
        { status: error.status >= 500 ? 502 : error.status, headers },
      );
    }
  },
);
