import { z } from "zod";
import { named } from "../api/schemas.server";
import { MAX_LOW_BALANCE } from "./endpoints.server";

/** PUT /api/v1/users/{id}/thresholds: request and answer (declared in api/operations.server.ts). */

const lowBalanceMessage = `lowBalance must be a whole number of credits from 0 to ${MAX_LOW_BALANCE}`;

export const thresholdsBodySchema = z.strictObject({
  lowBalance: z
    .number({
      error: (iss) => (iss.input === undefined ? "lowBalance is required" : lowBalanceMessage),
    })
    .int({ error: lowBalanceMessage })
    .min(0, { error: lowBalanceMessage })
    .max(MAX_LOW_BALANCE, { error: lowBalanceMessage }),
});

export const thresholdsSchema = named(
  "Thresholds",
  z.strictObject({
    userId: z.string().meta({ description: "The main app's user id" }),
    lowBalance: z.number().int().meta({ description: "balance.low fires below this" }),
  }),
);
