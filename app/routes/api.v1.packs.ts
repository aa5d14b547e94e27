import { apiHandler, apiJson } from "~/services/api/http.server";
import { listApiPacks } from "~/services/api/packs.server";

const handler = apiHandler("/packs", {
  GET: {
    scope: "packs:read",
    async run() {
      return apiJson({ data: await listApiPacks() });
    },
  },
});

export const loader = handler;
export const action = handler;
