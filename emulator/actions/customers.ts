import type { EmulatorCore, EventSpec } from "../core";
import type { Metadata } from "../objects/common";
import { buildCustomer, type Customer } from "../objects/customer";
import type { Ledger } from "../state/ledger";

/** Inserts a customer and returns the `customer.created` event the caller emits with its batch. */
export function insertCustomer(
  core: EmulatorCore,
  ledger: Ledger,
  fields: {
    email?: string | null;
    name?: string | null;
    phone?: string | null;
    description?: string | null;
    metadata?: Metadata;
  },
): { customer: Customer; event: EventSpec } {
  const customer = ledger.customers.insert(
    buildCustomer({
      id: core.ids.next("cus"),
      created: core.now(),
      livemode: ledger.livemode,
      invoicePrefix: core.ids.invoicePrefix(),
      ...fields,
    }),
  );
  return { customer, event: { type: "customer.created", object: customer } };
}
