/** The header search's result kinds and how the results page names them (client-safe). */
export type SearchKind =
  "user" | "purchase" | "attention" | "refund" | "dispute" | "event" | "subscription" | "invoice";

export const SEARCH_KIND_LABELS: Record<SearchKind, string> = {
  user: "Users",
  purchase: "Purchases",
  attention: "Attention items",
  refund: "Refunds",
  dispute: "Disputes",
  event: "Stripe events",
  subscription: "Subscriptions",
  invoice: "Invoices",
};

/** What the search box accepts, in words (its hint and the empty results page). */
export const SEARCH_HINT =
  "Email or any part of it, name, user id, cus_ / cs_ / pi_ / ch_ / re_ / dp_ / evt_ / in_ / sub_ id, receipt number or purchase id. Press / to jump here.";
