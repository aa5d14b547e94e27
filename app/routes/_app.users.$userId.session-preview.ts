import { z } from "zod";
import { staffLoader } from "~/lib/route-builders";
import { previewSession } from "~/services/admin/user-actions.server";
import { DomainError } from "~/services/errors.server";
import { PAYMENT_REF_ID } from "~/shared/ids";
import { ACCESS } from "~/shared/permissions";

// Resource route (fetcher, JSON) behind "Credit a Checkout Session" and "Credit this purchase":
// what crediting would do, asked of Stripe read-only before the confirmation can be confirmed.
export const loader = staffLoader(
  { roles: ACCESS.userActions, params: z.object({ userId: z.string() }) },
  async ({ request, params }) => {
    const ref = (new URL(request.url).searchParams.get("ref") ?? "").trim();
    const headers = { "Cache-Control": "no-store" };
    if (!PAYMENT_REF_ID.test(ref)) {
      return Response.json(
        {
          ok: false,
          error:
            "Enter an id that starts with cs_ (Checkout Session), pi_ (payment intent) or ch_ (charge).",
        },
        { status: 400, headers },
      );
    }
    try {
      return Response.json(
        { ok: true, preview: await previewSession(params.userId, ref) },
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
