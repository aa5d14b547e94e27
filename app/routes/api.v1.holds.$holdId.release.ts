import { holdPathSchema, releaseApiHold } from "~/services/api/holds.server";
import { apiHandler, apiJson, parseInput } from "~/services/api/http.server";
import { clientIp } from "~/services/infra/request.server";

const handler = apiHandler("/holds/{holdId}/release", {
  POST: {
    scope: "holds:write",
    async run({ params, context, key }) {
      const { holdId } = parseInput(holdPathSchema, params, "path");
      return apiJson(await releaseApiHold(holdId, key, clientIp(context)));
    },
  },
});

export const loader = handler;
export const action = handler;
