import { apiHandler, apiJson, parseInput, queryParams } from "~/services/api/http.server";
import { ledgerQuerySchema, listLedgerPage, userPathSchema } from "~/services/api/users.server";

const handler = apiHandler("/users/{id}/ledger", {
  GET: {
    scope: "users:read",
    async run({ request, params }) {
      const { id } = parseInput(userPathSchema, params, "path");
      const query = parseInput(ledgerQuerySchema, queryParams(request), "query");
      return apiJson(await listLedgerPage(id, query));
    },
  },
});

export const loader = handler;
export const action = handler;
