import { Prisma } from "~/generated/prisma/client";
import type { SignatureStatus } from "~/generated/prisma/enums";
import { getDb } from "../db.server";
import { logger, scrubSecrets } from "../logger.server";

/** What one HTTP request to the webhook endpoint looked like and how it was answered. */
export interface DeliveryRecord {
  signatureStatus: SignatureStatus;
  outcome: string;
  eventId?: string | null;
  eventType?: string | null;
  responseStatus: number;
  error?: string | null;
  bodySha256: string;
  bodySize: number;
  remoteIp: string | null;
  startedAt: number;
}

/** The INSERT for one delivery row, to run alone or as the last part of a larger statement. */
export function deliveryInsertSql(r: DeliveryRecord): Prisma.Sql {
  const durationMs = Math.max(0, Math.round(performance.now() - r.startedAt));
  const error = r.error ? scrubSecrets(r.error).slice(0, 2000) : null;
  return Prisma.sql`
    INSERT INTO webhook_deliveries (signature_status, outcome, event_id, event_type, response_status, duration_ms,
      error, body_sha256, body_size, remote_ip)
    VALUES (${r.signatureStatus}::"SignatureStatus", ${r.outcome}, ${r.eventId ?? null}, ${r.eventType ?? null},
      ${r.responseStatus}, ${durationMs}, ${error}, ${r.bodySha256}, ${r.bodySize}, ${r.remoteIp})`;
}

/** Record a delivery on its own; never throws (the database may be what is down). */
export async function recordDelivery(r: DeliveryRecord): Promise<void> {
  try {
    await getDb().$executeRaw(deliveryInsertSql(r));
  } catch (error) {
    logger.error(
      { err: scrubSecrets((error as Error).message), outcome: r.outcome },
      "could not record webhook delivery",
    );
  }
}
