import { captureApiHold, captureBodySchema, holdPathSchema } from "~/services/api/holds.server";
import { apiHandler, apiJson, parseInput, readJsonBody } from "~/services/api/http.server";
import { clientIp } from "~/services/infra/request.server";

const handler = apiHandler("/holds/{holdId}/capture", {
  POST: {
    scope: "holds:write",
    async run({ request, params, context, key }) {
      const { holdId } = parseInput(holdPathSchema, params, "path");
      const { amount } = parseInput(captureBodySchema, await readJsonBody(request), "body");
      const { answer, created } = await captureApiHold(holdId, amount, key, clientIp(context));
      return apiJson(answer, created ? 201 : 200);
    },
  },
});

export const loader = handler;
export const action = handler;
