import { staffLoader } from "~/lib/route-builders";
import { getProgress } from "~/presenters/reconciliation.server";
import { OPS_ACCESS } from "~/shared/ops-permissions";

// Resource route polled about once a second while a reconciliation run is in progress (JSON).
export const loader = staffLoader({ roles: OPS_ACCESS.reconciliation }, async ({ request }) => {
  const runId = new URL(request.url).searchParams.get("run");
  const progress = await getProgress(runId || null);
  return Response.json(progress, { headers: { "Cache-Control": "no-store" } });
});
