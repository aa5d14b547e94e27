import type { LoaderFunctionArgs } from "@remix-run/node";
import { orHttpError } from "~/services/admin/http.server";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { getProgress } from "~/presenters/reconciliation.server";
import { requireStaff } from "~/services/auth/session.server";

// Resource route polled about once a second while a reconciliation run is in progress (JSON).
export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, { roles: OPS_ACCESS.reconciliation });
  const runId = new URL(request.url).searchParams.get("run");
  const progress = await orHttpError(() => getProgress(runId || null));
  return Response.json(progress, { headers: { "Cache-Control": "no-store" } });
}
