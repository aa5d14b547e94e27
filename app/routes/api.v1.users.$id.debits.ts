import { debitBodySchema, debitCredits } from "~/services/api/debits.server";
import { apiHandler, apiJson, parseInput, readJsonBody } from "~/services/api/http.server";
import { userPathSchema } from "~/services/api/users.server";
import { clientIp } from "~/services/infra/request.server";

const handler = apiHandler("/users/{id}/debits", {
  POST: {
    scope: "debits:write",
    async run({ request, params, context, key }) {
      const { id } = parseInput(userPathSchema, params, "path");
      const body = parseInput(debitBodySchema, await readJsonBody(request), "body");
      const { entry, balance, created } = await debitCredits(id, body, key, clientIp(context));
      return apiJson({ entry, balance }, created ? 201 : 200);
    },
  },
});

export const loader = handler;
export const action = handler;
