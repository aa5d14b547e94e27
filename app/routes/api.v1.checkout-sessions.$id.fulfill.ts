import { checkoutSessionPathSchema, fulfillFromSuccessPage } from "~/services/api/checkout.server";
import { apiHandler, apiJson, parseInput } from "~/services/api/http.server";
import { clientIp } from "~/services/infra/request.server";

const handler = apiHandler("/checkout-sessions/{id}/fulfill", {
  POST: {
    // Fulfilling belongs with opening the session: the same success page does both.
    scope: "checkout:write",
    async run({ params, context, key }) {
      const { id } = parseInput(checkoutSessionPathSchema, params, "path");
      const { status, body } = await fulfillFromSuccessPage(id, key, clientIp(context));
      return apiJson(body, status);
    },
  },
});

export const loader = handler;
export const action = handler;
