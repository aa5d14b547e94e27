import { shape } from "../schema/shape";
import { EMPTY_ARRAY, type Metadata, type StripeObject } from "./common";

export interface Customer extends StripeObject {
  object: "customer";
  description: string | null;
  email: string | null;
  livemode: boolean;
  metadata: Metadata;
  name: string | null;
  phone: string | null;
}

const DEFAULT_INVOICE_SETTINGS = Object.freeze(shape("Customer.InvoiceSettings", {}));

export function buildCustomer(fields: {
  id: string;
  created: number;
  livemode: boolean;
  invoicePrefix: string;
  email?: string | null;
  name?: string | null;
  phone?: string | null;
  description?: string | null;
  metadata?: Metadata;
}): Customer {
  return shape<Customer>("Customer", {
    id: fields.id,
    object: "customer",
    address: null,
    balance: 0,
    created: fields.created,
    currency: null,
    default_source: null,
    delinquent: false,
    description: fields.description ?? null,
    discount: null,
    email: fields.email ?? null,
    invoice_prefix: fields.invoicePrefix,
    invoice_settings: DEFAULT_INVOICE_SETTINGS,
    livemode: fields.livemode,
    metadata: fields.metadata ?? {},
    name: fields.name ?? null,
    next_invoice_sequence: 1,
    phone: fields.phone ?? null,
    preferred_locales: EMPTY_ARRAY,
    shipping: null,
    tax_exempt: "none",
    test_clock: null,
  });
}
