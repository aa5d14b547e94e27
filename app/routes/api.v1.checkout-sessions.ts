import {
  createCheckoutBodySchema,
  createCheckoutSession,
  checkoutHeadersSchema,
} from "~/services/api/checkout.server";
import { apiHandler, apiJson, parseInput, readJsonBody } from "~/services/api/http.server";
import { clientIp } from "~/services/infra/request.server";

const handler = apiHandler("/checkout-sessions", {
  POST: {
    scope: "checkout:write",
    async run({ request, context, key }) {
      const body = parseInput(createCheckoutBodySchema, await readJsonBody(request), "body");
      const headers = parseInput(
        checkoutHeadersSchema,
        { "Idempotency-Key": request.headers.get("idempotency-key") ?? undefined },
        "header",
      );
      const session = await createCheckoutSession(body, key, {
        idempotencyKey: headers["Idempotency-Key"],
        ip: clientIp(context),
      });
      return apiJson(session, 201);
    },
  },
});

export const loader = handler;
export const action = handler;
