/** The credits roll-forward's lines in order, with their labels (page and CSV). Client-safe. */
export const rollLineLabels = [
  ["opening", "Opening outstanding"],
  ["grantedPurchases", "+ Granted: purchases"],
  ["grantedSubscriptions", "+ Granted: subscriptions and grants"],
  ["grantedManual", "+ Granted: manual credits"],
  ["consumed", "− Consumed"],
  ["expired", "− Expired"],
  ["clawedBack", "− Clawed back (refunds)"],
  ["adjustments", "± Adjustments (disputes, manual debits, reversals)"],
  ["closing", "= Closing outstanding"],
] as const;

export type RollLineKey = (typeof rollLineLabels)[number][0];

/** Lines that lower the balance are shown negative. */
export const NEGATIVE_ROLL_LINES: ReadonlySet<RollLineKey> = new Set([
  "consumed",
  "expired",
  "clawedBack",
]);
