import type { LoaderFunctionArgs } from "@remix-run/node";
import { findUsersForAssignment } from "~/presenters/attention-queue.server";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { requireStaff } from "~/services/auth/session.server";

// Resource route behind the attention queue's "assign to user" search box (fetcher, JSON).
export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, { roles: OPS_ACCESS.attention });
  const q = (new URL(request.url).searchParams.get("q") ?? "").slice(0, 200);
  const users = await findUsersForAssignment(q);
  return Response.json({ q, users }, { headers: { "Cache-Control": "no-store" } });
}
