import { z } from "zod";
import { apiKeyActor } from "~/services/api-keys.server";
import { apiHandler, apiJson, parseInput, readJsonBody } from "~/services/api/http.server";
import { userPathSchema } from "~/services/api/users.server";
import { clientIp } from "~/services/infra/request.server";
import { MAX_LOW_BALANCE, setUserThresholds } from "~/services/outbound/endpoints.server";

const lowBalanceMessage = `lowBalance must be a whole number of credits from 0 to ${MAX_LOW_BALANCE}`;

/** The user's thresholds for outbound events (balance.low fires when the balance falls below). */
export const thresholdsBodySchema = z.strictObject({
  lowBalance: z
    .number({
      error: (iss) => (iss.input === undefined ? "lowBalance is required" : lowBalanceMessage),
    })
    .int({ error: lowBalanceMessage })
    .min(0, { error: lowBalanceMessage })
    .max(MAX_LOW_BALANCE, { error: lowBalanceMessage }),
});

const handler = apiHandler("/users/{id}/thresholds", {
  PUT: {
    scope: "users:write",
    async run({ request, params, context, key }) {
      const { id } = parseInput(userPathSchema, params, "path");
      const body = parseInput(thresholdsBodySchema, await readJsonBody(request), "body");
      const saved = await setUserThresholds(
        id,
        body.lowBalance,
        apiKeyActor(key, clientIp(context)),
      );
      return apiJson(saved, 200);
    },
  },
});

export const loader = handler;
export const action = handler;
