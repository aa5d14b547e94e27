import type { ActionFunctionArgs } from "@remix-run/node";
import { clientIp } from "~/services/request.server";
import { handleStripeWebhook } from "~/services/webhooks/ingest.server";

// Resource route: Stripe POSTs signed events here. The server has no body parser, so the
// request body is the untouched bytes the signature covers.
export async function action({ request, context }: ActionFunctionArgs) {
  if (request.method !== "POST") return methodNotAllowed();
  return handleStripeWebhook(request, { ip: clientIp(context) });
}

export async function loader() {
  return methodNotAllowed();
}

function methodNotAllowed() {
  return new Response(
    JSON.stringify({
      error: { code: "method_not_allowed", message: "Stripe webhooks are delivered with POST." },
    }),
    { status: 405, headers: { "Content-Type": "application/json; charset=utf-8", Allow: "POST" } },
  );
}
