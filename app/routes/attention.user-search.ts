import { staffLoader } from "~/lib/route-builders";
import { findUsersForAssignment } from "~/presenters/attention-queue.server";
import { OPS_ACCESS } from "~/shared/ops-permissions";

// Resource route behind the attention queue's "assign to user" search box (fetcher, JSON).
export const loader = staffLoader({ roles: OPS_ACCESS.attention }, async ({ request }) => {
  const q = (new URL(request.url).searchParams.get("q") ?? "").slice(0, 200);
  const users = await findUsersForAssignment(q);
  return Response.json({ q, users }, { headers: { "Cache-Control": "no-store" } });
});
