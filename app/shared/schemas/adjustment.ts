import { z } from "zod";
import { optionalText, wholeNumber } from "./fields";

/**
 * The credit adjustment form, one schema for the browser and the server: the action parses the
 * post with it, and the confirm dialog's preview parses the typed amount with `adjustmentAmountSchema`
 * and asks `needsApproval` with the threshold the loader passed down (it comes from env on the
 * server), so the preview can never promise what the action will not do.
 */

export const NONCE_MESSAGE = "This form has expired. Reload the page and try again.";

export const MAX_ADJUSTMENT = 10_000_000;

export const adjustmentAmountSchema = wholeNumber("an amount").pipe(
  z
    .number()
    .refine((n) => n !== 0, {
      error: "The amount cannot be zero: use a positive number to add credits, negative to remove.",
    })
    .refine((n) => Math.abs(n) <= MAX_ADJUSTMENT, {
      error: `At most ${MAX_ADJUSTMENT.toLocaleString("en-US")} credits in one adjustment.`,
    }),
);

export const adjustmentSchema = z.object({
  amount: adjustmentAmountSchema,
  reason: z
    .string({ error: "Write a reason." })
    .trim()
    .min(10, { error: "Write at least 10 characters, so the next person understands why." })
    .max(500, { error: "Keep the reason under 500 characters." }),
  ticketRef: optionalText(100, "The ticket reference"),
  /** Issued by the server with the page (`<uuid>.<signature>`); the action checks the signature. */
  nonce: z
    .string({ error: NONCE_MESSAGE })
    .regex(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/, { error: NONCE_MESSAGE }),
});

export type AdjustmentInput = z.output<typeof adjustmentSchema>;

/**
 * Above the threshold an adjustment becomes a request another person approves. For a debit the
 * amount alone counts; for a credit, the server adds the staff member's other manual credits to
 * the user in the rolling window (`windowTotal`; the loader passes it down for the preview).
 */
export function needsApproval(amount: number, threshold: number, windowTotal = 0): boolean {
  return amount > 0 ? windowTotal + amount > threshold : Math.abs(amount) > threshold;
}

export const decisionSchema = z.object({
  requestId: z.uuid({ error: "Unknown request." }),
  note: z
    .string({ error: "Write a note." })
    .trim()
    .min(3, { error: "Write a short note (at least 3 characters) for the record." })
    .max(500, { error: "Keep the note under 500 characters." }),
});

/** Withdraw one's own pending request. */
export const withdrawSchema = z.object({
  requestId: z.uuid({ error: "Unknown request." }),
});
