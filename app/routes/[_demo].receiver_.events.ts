import type { ActionFunctionArgs } from "@remix-run/node";
import { receiveDemoEvent } from "~/services/demo/receiver.server";
import { getEnv } from "~/services/infra/env.server";

/**
 * POST `/_demo/receiver/events`, demo mode only (404 otherwise): the demo endpoint's receiver. A
 * resource route (no page, no session), so the worker's JSON POST gets a plain status back: 204
 * when the signature matches the demo endpoint's secret, 401 when not, 400 for a malformed
 * delivery. `/_demo/receiver` lists what arrived.
 */

export async function loader() {
  throw new Response("Not found", { status: 404 });
}

export async function action({ request }: ActionFunctionArgs) {
  if (!getEnv().demoMode) throw new Response("Not found", { status: 404 });
  const { status, message } = await receiveDemoEvent(request.headers, await request.text());
  return new Response(status === 204 ? null : message, { status });
}
