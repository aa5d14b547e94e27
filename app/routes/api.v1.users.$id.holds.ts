import { createApiHold, createHoldBodySchema } from "~/services/api/holds.server";
import { apiHandler, apiJson, parseInput, readJsonBody } from "~/services/api/http.server";
import { userPathSchema } from "~/services/api/users.server";
import { clientIp } from "~/services/infra/request.server";

const handler = apiHandler("/users/{id}/holds", {
  POST: {
    scope: "holds:write",
    async run({ request, params, context, key }) {
      const { id } = parseInput(userPathSchema, params, "path");
      const body = parseInput(createHoldBodySchema, await readJsonBody(request), "body");
      const { answer, created } = await createApiHold(id, body, key, clientIp(context));
      return apiJson(answer, created ? 201 : 200);
    },
  },
});

export const loader = handler;
export const action = handler;
