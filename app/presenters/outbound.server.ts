import {
  listDeliveries,
  listEndpointSummaries,
  type DeliveryRow,
  type EndpointSummary,
} from "~/services/outbound/reports.server";

/**
 * The outbound pages' reads: endpoints with their 24-hour success rate and last error (secrets
 * only as hints, never the secret), and one endpoint's delivery log, newest first, keyset-paged.
 */

export const DELIVERY_PAGE_SIZE = 50;

export async function getOutboundList(): Promise<{ endpoints: EndpointSummary[] }> {
  return { endpoints: await listEndpointSummaries() };
}

export interface OutboundDetail {
  endpoint: EndpointSummary;
  deliveries: DeliveryRow[];
  /** The cursor of the next (older) page, or null on the last one. */
  older: string | null;
  /** True when this is not the first page. */
  paged: boolean;
}

export async function getOutboundDetail(
  endpointId: string,
  before?: string,
): Promise<OutboundDetail | null> {
  const endpoint = (await listEndpointSummaries()).find((e) => e.id === endpointId);
  if (!endpoint) return null;
  const rows = await listDeliveries({
    endpointId,
    beforeId: before,
    limit: DELIVERY_PAGE_SIZE + 1,
  });
  const more = rows.length > DELIVERY_PAGE_SIZE;
  const deliveries = rows.slice(0, DELIVERY_PAGE_SIZE);
  return {
    endpoint,
    deliveries,
    older: more ? deliveries[deliveries.length - 1].id : null,
    paged: Boolean(before),
  };
}
