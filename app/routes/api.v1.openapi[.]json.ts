import { apiHandler, apiJson } from "~/services/api/http.server";
import { openApiDocument } from "~/services/api/openapi.server";

const handler = apiHandler("/openapi.json", {
  GET: {
    // Public on purpose: the description holds no data, and client generators fetch it without a key.
    public: true,
    async run() {
      return apiJson(openApiDocument, 200, { "Cache-Control": "public, max-age=300" });
    },
  },
});

export const loader = handler;
export const action = handler;
