import { timingSafeEqual } from "node:crypto";
import type { Actor } from "../audit.server";
import { getDb } from "../infra/db.server";
import { createEndpoint, updateEndpoint } from "../outbound/endpoints.server";
import { signatureFor } from "../outbound/signing.server";
import type { UrlPolicy } from "../outbound/ssrf.server";
import { OUTBOUND_EVENT_TYPES } from "~/shared/outbound";

/**
 * Demo mode's event receiver (`/_demo/receiver`): an outbound endpoint marked `demo` points at the
 * app itself, so a newcomer sees the events the dashboard's actions cause arrive. The receiver
 * verifies the signature like any receiver must and keeps the last events in memory.
 *
 * The deliberate exception: the URL guard refuses the app's own address (no endpoint may make
 * the app call itself). Only this demo endpoint, created here in demo mode with `demo: true`, is
 * saved with a policy that allows it (docs/api.md "Demo receiver").
 */

/** Where the demo endpoint POSTs (a resource route); the page that lists them is /_demo/receiver. */
export const DEMO_RECEIVER_PATH = "/_demo/receiver/events";
export const DEMO_RECEIVER_KEEP = 100;

const DEMO_POLICY: UrlPolicy = { blockPrivate: false, appUrl: "", selfOrigins: [] };
const DEMO_ACTOR: Actor = { type: "system", label: "demo mode" };

export interface ReceivedEvent {
  webhookId: string;
  type: string;
  userId: string | null;
  receivedAt: string;
  payload: unknown;
}

const received: ReceivedEvent[] = [];

/** The newest first, at most DEMO_RECEIVER_KEEP. */
export function receivedEvents(): readonly ReceivedEvent[] {
  return [...received].reverse();
}

export function clearReceivedEvents(): void {
  received.length = 0;
}

/** Create the demo endpoint once (or point it at the app's current address); idempotent. */
export async function ensureDemoEndpoint(appUrl: string): Promise<{ id: string; url: string }> {
  const url = new URL(DEMO_RECEIVER_PATH, appUrl).toString();
  const existing = await getDb().outboundEndpoint.findFirst({
    where: { demo: true },
    orderBy: { createdAt: "asc" },
  });
  if (existing) {
    if (existing.url !== url)
      await updateEndpoint(existing.id, { url }, DEMO_ACTOR, { policy: DEMO_POLICY });
    return { id: existing.id, url };
  }
  const created = await createEndpoint(
    {
      url,
      eventTypes: [...OUTBOUND_EVENT_TYPES],
      description: "Demo mode: the app's own receiver (events listed on /_demo/receiver)",
    },
    DEMO_ACTOR,
    { policy: DEMO_POLICY, demo: true },
  );
  return { id: created.id, url };
}

const TOLERANCE_SECONDS = 5 * 60;

/**
 * Verify a delivery with the demo endpoint's signing secrets (Standard Webhooks: any `v1,`
 * signature made with a current secret) and keep it. Answers the HTTP status to send.
 */
export async function receiveDemoEvent(
  headers: Headers,
  body: string,
  now = Date.now(),
): Promise<{ status: number; message: string }> {
  const id = headers.get("webhook-id");
  const timestamp = headers.get("webhook-timestamp");
  const signature = headers.get("webhook-signature");
  if (!id || !timestamp || !signature)
    return {
      status: 400,
      message: "webhook-id, webhook-timestamp and webhook-signature are required.",
    };
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(now / 1000 - seconds) > TOLERANCE_SECONDS)
    return { status: 400, message: "webhook-timestamp is missing or too far from now." };
  const secrets = await getDb().outboundEndpointSecret.findMany({
    where: {
      endpoint: { demo: true },
      OR: [{ expiresAt: null }, { expiresAt: { gt: new Date(now) } }],
    },
    select: { secret: true },
  });
  const given = signature.split(" ").map((s) => Buffer.from(s));
  const ok = secrets.some(({ secret }) => {
    const expected = Buffer.from(signatureFor(secret, id, seconds, body));
    return given.some((g) => g.length === expected.length && timingSafeEqual(g, expected));
  });
  if (!ok)
    return { status: 401, message: "The signature does not match the demo endpoint's secret." };
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return { status: 400, message: "The body is not JSON." };
  }
  const p = payload as { type?: unknown; data?: { userId?: unknown } };
  received.push({
    webhookId: id,
    type: typeof p.type === "string" ? p.type : "unknown",
    userId: typeof p.data?.userId === "string" ? p.data.userId : null,
    receivedAt: new Date(now).toISOString(),
    payload,
  });
  if (received.length > DEMO_RECEIVER_KEEP)
    received.splice(0, received.length - DEMO_RECEIVER_KEEP);
  return { status: 204, message: "" };
}
