import { readFileSync } from "node:fs";

/**
 * The object shapes of the pinned API version, generated from the `stripe` SDK's own type
 * declarations by scripts/generate-stripe-schema.ts into stripe-objects.json (regenerate after
 * upgrading the SDK: `npm run emulator:schema`).
 */

/** How one value is typed on the wire. */
export type TypeDesc =
  | "string"
  | "number"
  | "boolean"
  /** A decimal number sent as a string (the SDK's `Decimal`). */
  | "decimal"
  /** Not described by the SDK (an empty interface): any JSON, or an object checked by its `object`. */
  | "any"
  | { literal: string | number | boolean }
  /** `open`: the SDK adds `OtherString` (Stripe may add values); the emulator still sends a listed one. */
  | { enum: string[]; open?: true }
  | { array: TypeDesc }
  | { map: TypeDesc }
  | { list: TypeDesc }
  | { ref: string }
  | { anyOf: TypeDesc[] };

export interface FieldDesc {
  type: TypeDesc;
  /** Declared with `?`: may be absent. Without it the field is always present. */
  optional?: true;
  /** Declared with `| null`. */
  nullable?: true;
}

export interface TypeDef {
  /** The `object` value of a resource (a top-level type); absent for nested types. */
  object?: string;
  fields: Record<string, FieldDesc>;
}

export interface StripeSchema {
  apiVersion: string;
  sdkVersion: string;
  /** `object` value → type name (`deleted`: the `{ id, object, deleted: true }` form). */
  objects: Record<string, { type?: string; deleted?: string }>;
  types: Record<string, TypeDef>;
  /** Event names `webhook_endpoints.create` accepts in `enabled_events` (incl. `*`). */
  webhookEventNames: string[];
  /** `checkout.session.ui_mode` values. */
  checkoutUiModes: string[];
}

export const STRIPE_SCHEMA = JSON.parse(
  readFileSync(new URL("./stripe-objects.json", import.meta.url), "utf8"),
) as StripeSchema;

/** Per type: every declared key in order, and whether a missing one becomes `null`. */
const layouts = new Map<string, Array<[key: string, nullWhenMissing: boolean]>>();

function layoutOf(typeName: string): Array<[string, boolean]> {
  let layout = layouts.get(typeName);
  if (!layout) {
    const def = STRIPE_SCHEMA.types[typeName];
    if (!def) throw new Error(`The SDK declares no type ${typeName}`);
    layout = Object.entries(def.fields).map(([key, f]) => [key, !f.optional && !!f.nullable]);
    layouts.set(typeName, layout);
  }
  return layout;
}

/**
 * An object of the SDK type `typeName` from the fields a builder sets: keys in the SDK's order
 * (Stripe's: `id`, `object`, then alphabetical), and every always-present nullable field the
 * builder leaves out set to `null` — so a field the pinned version carries is never absent.
 * Keys the type does not declare are kept at the end (the conformance test refuses them).
 */
export function shape<T>(typeName: string, fields: object): T {
  const source = fields as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, nullWhenMissing] of layoutOf(typeName)) {
    if (key in source) out[key] = source[key];
    else if (nullWhenMissing) out[key] = null;
  }
  for (const key of Object.keys(source)) if (!(key in out)) out[key] = source[key];
  return out as T;
}
