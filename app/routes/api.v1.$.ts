import type { LoaderFunctionArgs } from "@remix-run/node";
import { errorResponse } from "~/services/api/http.server";

// Anything under /api/v1 that no route claims: a JSON 404, not the HTML error page.
function notFound({ request }: LoaderFunctionArgs) {
  const { pathname } = new URL(request.url);
  return errorResponse({
    status: 404,
    code: "route_not_found",
    message: `No API endpoint ${request.method} ${pathname.slice(0, 200)}; see /api/v1/openapi.json.`,
  });
}

export const loader = notFound;
export const action = notFound;
