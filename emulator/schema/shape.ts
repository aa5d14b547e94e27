// Imported, not read from disk beside this file: the Remix build bundles the emulator (demo mode).
import stripeObjects from "./stripe-objects.json";

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

export const STRIPE_SCHEMA = stripeObjects as unknown as StripeSchema;

type Builder = (fields: Record<string, unknown>) => Record<string, unknown>;
const builders = new Map<string, Builder>();

/**
 * Compiles, once per type, a function that copies a builder's fields into an object literal
 * holding every always-present key in the SDK's order, then the optional keys that were given.
 * A literal keeps V8's compact object layout (adding ~70 keys one at a time in a loop made each
 * object about 5x larger and building it 20–50x slower — 200,000 seeded sessions matter).
 */
function builderFor(typeName: string): Builder {
  let build = builders.get(typeName);
  if (!build) {
    const def = STRIPE_SCHEMA.types[typeName];
    if (!def) throw new Error(`The SDK declares no type ${typeName}`);
    const fields = Object.entries(def.fields);
    const get = (key: string) => `f[${JSON.stringify(key)}]`;
    const always = fields
      .filter(([, f]) => !f.optional)
      .map(([key]) => `${JSON.stringify(key)}: ${get(key)} === undefined ? null : ${get(key)}`);
    const optional = fields
      .filter(([, f]) => f.optional)
      .map(([key]) => `if (${get(key)} !== undefined) o[${JSON.stringify(key)}] = ${get(key)};`);
    build = new Function(
      "f",
      `const o = { ${always.join(", ")} };\n${optional.join("\n")}\nreturn o;`,
    ) as Builder;
    builders.set(typeName, build);
  }
  return build;
}

/**
 * An object of the SDK type `typeName` from the fields a builder sets: every field the type
 * always carries is present (`null` when the builder leaves it out, so absent-vs-null cannot
 * drift from the pinned version), optional fields only when given, in the SDK's order (Stripe's:
 * `id`, `object`, then alphabetical; optional ones after). Keys the type does not declare are
 * dropped: the pinned version does not have them. A non-nullable field left out comes out
 * `null`, which the conformance test (tests/emulator/support/conformance.ts) reports.
 */
export function shape<T>(typeName: string, fields: object): T {
  return builderFor(typeName)(fields as Record<string, unknown>) as T;
}
