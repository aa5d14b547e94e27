import { requireApiKey } from "~/services/api-keys.server";
import { apiHandler, apiJson } from "~/services/api/http.server";
import { listApiPacks } from "~/services/api/packs.server";

const handler = apiHandler({
  async GET({ request }) {
    await requireApiKey(request);
    return apiJson({ data: await listApiPacks() });
  },
});

export const loader = handler;
export const action = handler;
