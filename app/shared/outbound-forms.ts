import { z } from "zod";
import { dateRangeFields, refineDateRange } from "./date-range";

/**
 * The outbound pages' form schemas (client-safe: zod only). The service checks the URL itself
 * (http(s), not the app, no private address in production) and names the field in its error.
 */

const blank = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);

export const createEndpointSchema = z.object({
  url: z.string({ error: "url is required: the receiver's http(s) address." }),
  /** Comma-joined checkbox values (the action's multiValues). */
  eventTypes: z.string({ error: "eventTypes must list at least one event type." }),
  description: z.preprocess(blank, z.string().optional()),
});

export const replayDeliverySchema = z.object({
  deliveryId: z.string({ error: "deliveryId must be a delivery number." }),
});

/** "Replay all failed": From/To days with the shared date-range rule (To inclusive). */
export const replayFailedSchema = refineDateRange(
  z.object({
    ...dateRangeFields(),
  }),
).refine((r) => r.from !== undefined, { path: ["from"], error: "From is required." });
