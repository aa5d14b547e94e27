import { CreditedVia, LedgerKind, PurchaseStatus } from "~/generated/prisma/enums";

/**
 * Choice lists the dashboard's forms and its server-side validation share. Client-safe: a
 * component may not import values from a *.server module (Remix strips those from the browser
 * bundle), so constants a form renders live here.
 */

type Tuple<T> = readonly [T, ...T[]];
const valuesOf = <T extends Record<string, string>>(e: T) =>
  Object.values(e) as unknown as Tuple<T[keyof T]>;

export const PURCHASE_STATUSES = valuesOf(PurchaseStatus);
export const CREDITED_VIA = valuesOf(CreditedVia);
export const LEDGER_KIND_OPTIONS = valuesOf(LedgerKind);

export const USER_SORTS = ["newest", "oldest", "balance_desc", "balance_asc", "email"] as const;
export type UserSort = (typeof USER_SORTS)[number];

export const USER_SORT_LABELS: Record<UserSort, string> = {
  newest: "Newest first",
  oldest: "Oldest first",
  balance_desc: "Balance, highest first",
  balance_asc: "Balance, lowest first",
  email: "Email, A–Z",
};
