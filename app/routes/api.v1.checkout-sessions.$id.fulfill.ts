import { requireApiKey } from "~/services/api-keys.server";
import { checkoutSessionPathSchema, fulfillFromSuccessPage } from "~/services/api/checkout.server";
import { apiHandler, apiJson, parseInput } from "~/services/api/http.server";
import { clientIp } from "~/services/request.server";

const handler = apiHandler({
  async POST({ request, params, context }) {
    const key = await requireApiKey(request);
    const { id } = parseInput(checkoutSessionPathSchema, params, "path");
    const { status, body } = await fulfillFromSuccessPage(id, key, clientIp(context));
    return apiJson(body, status);
  },
});

export const loader = handler;
export const action = handler;
