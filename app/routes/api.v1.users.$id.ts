import { apiKeyActor } from "~/services/api-keys.server";
import {
  apiHandler,
  apiJson,
  parseInput,
  queryParams,
  readJsonBody,
} from "~/services/api/http.server";
import {
  getApiUser,
  getApiUserAt,
  userAtQuerySchema,
  upsertUser,
  upsertUserBodySchema,
  userPathSchema,
} from "~/services/api/users.server";
import { clientIp } from "~/services/infra/request.server";
import { parseInstant } from "~/services/statements.server";

const handler = apiHandler("/users/{id}", {
  GET: {
    scope: "users:read",
    async run({ request, params }) {
      const { id } = parseInput(userPathSchema, params, "path");
      const { at } = parseInput(userAtQuerySchema, queryParams(request), "query");
      if (at === undefined) return apiJson(await getApiUser(id));
      return apiJson(await getApiUserAt(id, parseInstant(at)));
    },
  },
  PUT: {
    scope: "users:write",
    async run({ request, params, context, key }) {
      const { id } = parseInput(userPathSchema, params, "path");
      const body = parseInput(upsertUserBodySchema, await readJsonBody(request), "body");
      const { user, created } = await upsertUser(id, body, apiKeyActor(key, clientIp(context)));
      return apiJson(user, created ? 201 : 200);
    },
  },
});

export const loader = handler;
export const action = handler;
