import type { SignatureStatus } from "~/generated/prisma/enums";
import { getDatabase } from "../infra/db.server";
import { logger, scrubSecrets } from "../infra/logger.server";

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

export const DELIVERY_COLUMNS =
  "signature_status, outcome, event_id, event_type, response_status, duration_ms, error, body_sha256, body_size, remote_ip";
const COLUMN_TYPES = [
  '"SignatureStatus"',
  "text",
  "text",
  "text",
  "int",
  "int",
  "text",
  "text",
  "int",
  "text",
];

const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text the delivery row can always hold, whatever the sender put in it: Postgres text refuses
 * NUL, the driver would turn an unpaired surrogate into U+FFFD anyway, and the event id and type
 * columns are indexed (a btree entry has a size limit). The delivery row must never fail.
 */
function storableText(s: string | null | undefined, max: number): string | null {
  if (s === null || s === undefined) return null;
  return s.replaceAll("\u0000", "\\u0000").replace(LONE_SURROGATES, "\uFFFD").slice(0, max);
}

/**
 * Bind values and the SQL value list (`$n::type` from parameter `from` on) for one delivery row in
 * DELIVERY_COLUMNS order. `outcomeSql` puts an SQL expression in place of the outcome, for a
 * statement that decides the outcome itself (the enqueue statement).
 */
export function deliveryInsertParts(
  r: Omit<DeliveryRecord, "outcome"> & { outcome?: string },
  from: number,
  outcomeSql?: string,
): { valueList: string; values: unknown[] } {
  const durationMs = Math.max(0, Math.round(performance.now() - r.startedAt));
  const error = r.error ? storableText(scrubSecrets(r.error), 2000) : null;
  const values: unknown[] = [
    r.signatureStatus,
    r.outcome ?? null,
    storableText(r.eventId, 255),
    storableText(r.eventType, 255),
    r.responseStatus,
    durationMs,
    error,
    r.bodySha256,
    r.bodySize,
    storableText(r.remoteIp, 100),
  ];
  const valueList: string[] = [];
  const used: unknown[] = [];
  values.forEach((value, i) => {
    if (i === 1 && outcomeSql) return void valueList.push(outcomeSql);
    used.push(value);
    valueList.push(`$${from + used.length - 1}::${COLUMN_TYPES[i]}`);
  });
  return { valueList: valueList.join(", "), values: used };
}

/** Record a delivery on its own; never throws (the database may be what is down). */
export async function recordDelivery(r: DeliveryRecord): Promise<void> {
  try {
    const row = deliveryInsertParts(r, 1);
    await getDatabase().query(
      `INSERT INTO webhook_deliveries (${DELIVERY_COLUMNS}) VALUES (${row.valueList})`,
      row.values,
    );
  } catch (error) {
    logger.error(
      { err: scrubSecrets((error as Error).message), outcome: r.outcome },
      "could not record webhook delivery",
    );
  }
}
