import { afterAll } from "vitest";
import type { ObservedBody } from "../../../emulator/index";
import { STRIPE_SCHEMA, type StripeSchema, type TypeDesc } from "../../../emulator/schema/shape";

/**
 * Checks JSON the emulator sends against the object shapes the `stripe` SDK declares for the
 * pinned API version (emulator/schema/stripe-objects.json): every object with an `object` field,
 * at any depth, must carry each field its type declares without `?`, no field its type does not
 * declare, `null` only where the type says `| null`, and enum values the SDK lists.
 */
export function conformanceProblems(
  value: unknown,
  where = "$",
  schema: StripeSchema = STRIPE_SCHEMA,
): string[] {
  const problems: string[] = [];
  checkResource(value, where, schema, problems);
  return problems;
}

function checkResource(value: unknown, at: string, schema: StripeSchema, out: string[]): void {
  if (!value || typeof value !== "object" || Array.isArray(value)) return;
  const obj = value as Record<string, unknown>;
  if (typeof obj.object !== "string") {
    // An error body, or a plain JSON value: only objects are checked.
    return;
  }
  if (obj.object === "list") {
    checkList(obj, at, { list: "any" }, schema, out);
    return;
  }
  const entry = schema.objects[obj.object];
  const typeName = obj.deleted === true ? entry?.deleted : entry?.type;
  if (!typeName) {
    out.push(`${at}: the SDK declares no ${obj.deleted === true ? "deleted " : ""}"${obj.object}"`);
    return;
  }
  checkType(obj, typeName, at, schema, out);
}

function checkList(
  obj: Record<string, unknown>,
  at: string,
  desc: { list: TypeDesc },
  schema: StripeSchema,
  out: string[],
): void {
  for (const key of Object.keys(obj)) {
    if (!["object", "data", "has_more", "url"].includes(key)) out.push(`${at}.${key}: undeclared`);
  }
  if (obj.object !== "list") out.push(`${at}.object: expected "list"`);
  if (typeof obj.has_more !== "boolean") out.push(`${at}.has_more: expected a boolean`);
  if (typeof obj.url !== "string") out.push(`${at}.url: expected a string`);
  if (!Array.isArray(obj.data)) {
    out.push(`${at}.data: expected an array`);
    return;
  }
  obj.data.forEach((item, i) => checkValue(item, desc.list, `${at}.data[${i}]`, schema, out));
}

function checkType(
  obj: Record<string, unknown>,
  typeName: string,
  at: string,
  schema: StripeSchema,
  out: string[],
): void {
  const def = schema.types[typeName];
  if (!def) {
    out.push(`${at}: no schema for ${typeName}`);
    return;
  }
  for (const [key, field] of Object.entries(def.fields)) {
    if (!(key in obj)) {
      if (!field.optional) out.push(`${at}.${key}: missing (${typeName} always has it)`);
      continue;
    }
    const v = obj[key];
    if (v === null) {
      if (!field.nullable) out.push(`${at}.${key}: null, but ${typeName}.${key} is never null`);
      continue;
    }
    checkValue(v, field.type, `${at}.${key}`, schema, out);
  }
  for (const key of Object.keys(obj)) {
    if (!(key in def.fields)) out.push(`${at}.${key}: undeclared in ${typeName}`);
  }
}

function describe(desc: TypeDesc): string {
  return typeof desc === "string" ? desc : JSON.stringify(desc);
}

function matches(v: unknown, desc: TypeDesc, schema: StripeSchema): boolean {
  const probe: string[] = [];
  checkValue(v, desc, "", schema, probe);
  return probe.length === 0;
}

function checkValue(
  v: unknown,
  desc: TypeDesc,
  at: string,
  schema: StripeSchema,
  out: string[],
): void {
  const fail = () => out.push(`${at}: ${JSON.stringify(v)?.slice(0, 80)} is not ${describe(desc)}`);
  if (desc === "any") {
    checkResource(v, at, schema, out);
    return;
  }
  if (desc === "string" || desc === "number" || desc === "boolean") {
    if (typeof v !== desc) fail();
    return;
  }
  if (desc === "decimal") {
    if (typeof v !== "string" || !/^-?\d+(\.\d+)?$/.test(v)) fail();
    return;
  }
  if ("literal" in desc) {
    if (v !== desc.literal) fail();
    return;
  }
  if ("enum" in desc) {
    // Listed values only, even where the SDK leaves the enum open: the emulator has no excuse.
    if (typeof v !== "string" || !desc.enum.includes(v)) fail();
    return;
  }
  if ("array" in desc) {
    if (!Array.isArray(v)) fail();
    else v.forEach((item, i) => checkValue(item, desc.array, `${at}[${i}]`, schema, out));
    return;
  }
  if ("map" in desc) {
    if (!v || typeof v !== "object" || Array.isArray(v)) fail();
    else
      for (const [k, item] of Object.entries(v))
        checkValue(item, desc.map, `${at}.${k}`, schema, out);
    return;
  }
  if ("list" in desc) {
    if (!v || typeof v !== "object" || Array.isArray(v)) fail();
    else checkList(v as Record<string, unknown>, at, desc, schema, out);
    return;
  }
  if ("ref" in desc) {
    if (!v || typeof v !== "object" || Array.isArray(v)) {
      fail();
      return;
    }
    const obj = v as Record<string, unknown>;
    const def = schema.types[desc.ref];
    if (!def && typeof obj.object === "string") {
      // A resource the emulator does not serve, expanded: checked by its own `object`.
      checkResource(obj, at, schema, out);
      return;
    }
    if (obj.deleted === true && typeof obj.object === "string") {
      checkResource(obj, at, schema, out);
      return;
    }
    checkType(obj, desc.ref, at, schema, out);
    return;
  }
  // anyOf: an id string or the expanded object, a literal or a number, …
  const options = desc.anyOf;
  if (v && typeof v === "object" && typeof (v as { object?: unknown }).object === "string") {
    // An expanded object: its own `object` (and `deleted`) names the type.
    checkResource(v, at, schema, out);
    return;
  }
  const fits = options.find((o) => matches(v, o, schema));
  if (fits) return;
  // Report through the option of the same JSON kind, so the message names the real problem.
  const sameKind = options.find((o) =>
    typeof v === "object" ? typeof o === "object" && ("ref" in o || "list" in o) : o === typeof v,
  );
  if (sameKind) checkValue(v, sameKind, at, schema, out);
  else fail();
}

/** What one test file's emulators sent, checked once the file's tests are done. */
export class BodyRecorder {
  private readonly bodies: ObservedBody[] = [];
  private readonly seenWebhooks = new Set<string>();
  count = 0;

  readonly record = (observed: ObservedBody): void => {
    if (observed.kind === "webhook") {
      // Retries and duplicates resend the same bytes: check each payload once.
      if (this.seenWebhooks.has(observed.body)) return;
      this.seenWebhooks.add(observed.body);
    }
    this.count += 1;
    this.bodies.push(observed);
  };

  /** Every `object` value (`deleted <object>` for stubs) in the recorded bodies, at any depth. */
  objectsSeen(): Set<string> {
    const seen = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") {
        const obj = v as Record<string, unknown>;
        if (typeof obj.object === "string")
          seen.add(obj.deleted === true ? `deleted ${obj.object}` : obj.object);
        Object.values(obj).forEach(walk);
      }
    };
    for (const b of this.bodies) walk(JSON.parse(b.body));
    return seen;
  }

  problems(): string[] {
    const out: string[] = [];
    for (const b of this.bodies) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(b.body);
      } catch {
        out.push(`${b.method} ${b.path}: not JSON`);
        continue;
      }
      const where =
        b.kind === "api"
          ? `${b.method} ${b.path} (${b.status})`
          : b.kind === "webhook"
            ? `webhook ${b.path}`
            : b.path;
      out.push(...conformanceProblems(parsed, where));
    }
    // The same problem from many responses (other ids, other list positions) is one problem.
    const normalized = out.map((p) =>
      p
        .replace(/\[\d+\]/g, "[]")
        .replace(/\b(cs_test|cs_live|[a-z]{2,5})_(?=[a-z]*[A-Z0-9])[A-Za-z0-9]{8,}\b/g, "$1_…"),
    );
    return [...new Set(normalized)];
  }
}

export const recorder = new BodyRecorder();

/** Every test file that starts emulators through the harness ends with this check. */
afterAll(() => {
  const problems = recorder.problems();
  if (problems.length > 0) {
    throw new Error(
      `The emulator sent ${problems.length} shape(s) the stripe SDK's types do not allow:\n  ${problems.join("\n  ")}`,
    );
  }
});
