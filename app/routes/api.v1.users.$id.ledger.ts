import { apiHandler, apiJson, parseInput } from "~/services/api/http.server";
import { ledgerQuerySchema, listLedgerPage, userPathSchema } from "~/services/api/users.server";

const handler = apiHandler("/users/{id}/ledger", {
  GET: {
    scope: "users:read",
    async run({ request, params }) {
      const { id } = parseInput(userPathSchema, params, "path");
      const url = new URL(request.url);
      const query = parseInput(ledgerQuerySchema, Object.fromEntries(url.searchParams), "query");
      return apiJson(await listLedgerPage(id, query));
    },
  },
});

export const loader = handler;
export const action = handler;
