import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Time } from "~/components/time";
import { requireStaff } from "~/services/auth/session.server";
import { receivedEvents } from "~/services/demo/receiver.server";
import { getEnv } from "~/services/infra/env.server";

/**
 * `/_demo/receiver`, demo mode only (404 otherwise): the last events the demo endpoint's receiver
 * (`/_demo/receiver/events`, signature verified) got, for a signed-in staff member.
 */

export const meta: MetaFunction = () => [{ title: "Demo receiver · creditdesk" }];

const notFound = () => new Response("Not found", { status: 404 });

export async function loader({ request }: LoaderFunctionArgs) {
  if (!getEnv().demoMode) throw notFound();
  await requireStaff(request);
  return {
    events: receivedEvents().map((e) => ({ ...e, payload: JSON.stringify(e.payload, null, 2) })),
  };
}

export default function DemoReceiverPage() {
  const { events } = useLoaderData<typeof loader>();
  return (
    <main className="page">
      <h1>Demo receiver</h1>
      <p className="muted">
        Demo mode sends every outbound event to this page (the demo endpoint on /outbound). Each
        delivery&apos;s signature is checked with the endpoint&apos;s secret; the last 100 are kept
        in memory. Reload after an action on the dashboard (a manual credit, a refund…).
      </p>
      {events.length === 0 ? (
        <p data-testid="no-events">No events received yet.</p>
      ) : (
        <table>
          <caption>Events received, newest first</caption>
          <thead>
            <tr>
              <th>Type</th>
              <th>Received</th>
              <th>User</th>
              <th>Payload</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={`${e.webhookId}-${e.receivedAt}`} data-testid="received-event">
                <td className="mono">{e.type}</td>
                <td>
                  <Time value={e.receivedAt} />
                </td>
                <td className="mono">{e.userId ?? "—"}</td>
                <td>
                  <pre className="small">{e.payload}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
