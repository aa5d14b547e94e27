import { isUtf8 } from "node:buffer";
import type Stripe from "stripe";
import { z } from "zod";

/**
 * What a correctly signed body must be before it is stored. A valid signature proves who sent
 * it, not that it is a Stripe event the database can hold: a leaked secret or a broken forwarder
 * can sign anything. Postgres refuses `\u0000` and unpaired surrogates in jsonb and text, btree
 * indexes refuse long keys, and the queue would choke on what JSON.parse cannot rebuild. Each
 * check names what is wrong and where, so the 400 and the delivery log say it — rather than a
 * 500 that Stripe would retry with the same bytes for days.
 */

export const MAX_JSON_DEPTH = 64;
/** Stripe ids and type names are far shorter; the event id, type and object id are indexed. */
export const MAX_ID_LENGTH = 255;
/** 9999-12-31T23:59:59Z, the last second Postgres timestamps and JavaScript dates agree on. */
export const MAX_CREATED = 253402300799;

export interface PayloadProblem {
  ok: false;
  code: "invalid_encoding" | "malformed_payload" | "unstorable_payload";
  message: string;
}

/** What the SDK's constructEvent made of a body whose signature matched. */
export type ParsedBody = { ok: true; value: unknown } | { ok: false; error: unknown };

const problem = (code: PayloadProblem["code"], message: string): PayloadProblem => ({
  ok: false,
  code,
  message,
});

const idString = z
  .string({ error: `must be a string of 1 to ${MAX_ID_LENGTH} characters` })
  .min(1, { error: `must be a string of 1 to ${MAX_ID_LENGTH} characters` })
  .max(MAX_ID_LENGTH, { error: `must be a string of 1 to ${MAX_ID_LENGTH} characters` });
const createdError = `must be a Unix timestamp: an integer from 0 to ${MAX_CREATED}`;

/** The envelope creditdesk stores and indexes; the rest of the event is kept as sent. */
export const StripeEventEnvelopeSchema = z.looseObject({
  id: idString,
  type: idString,
  created: z
    .number({ error: createdError })
    .int({ error: createdError })
    .min(0, { error: createdError })
    .max(MAX_CREATED, { error: createdError })
    .optional(),
  livemode: z.boolean({ error: "must be a boolean" }).optional(),
  api_version: z
    .string({ error: `must be a string of at most ${MAX_ID_LENGTH} characters, or null` })
    .max(MAX_ID_LENGTH, {
      error: `must be a string of at most ${MAX_ID_LENGTH} characters, or null`,
    })
    .nullable()
    .optional(),
  data: z.looseObject(
    {
      object: z.looseObject(
        { id: idString.optional() },
        { error: "must be a JSON object (the event's subject)" },
      ),
    },
    { error: 'must be a JSON object with an "object" member' },
  ),
});

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  // JSON.stringify escapes NUL and lone surrogates, so the path itself is printable.
  if (PLAIN_KEY.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function stringProblem(s: string, where: string): PayloadProblem | null {
  if (s.includes("\u0000"))
    return problem(
      "unstorable_payload",
      `The signed event contains \\u0000 (a NUL character) at ${where}; the database cannot store it.`,
    );
  const lone = LONE_SURROGATE.exec(s);
  if (lone)
    return problem(
      "unstorable_payload",
      `The signed event contains an unpaired UTF-16 surrogate (\\u${lone[0].charCodeAt(0).toString(16)}) at ${where}; the database cannot store it.`,
    );
  return null;
}

/** Walk the parsed JSON without recursion (its depth is the sender's choice). */
function findStorageProblem(root: unknown): PayloadProblem | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [
    { value: root, path: "", depth: 1 },
  ];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === "string") {
      const found = stringProblem(value, path || "the top level");
      if (found) return found;
    } else if (typeof value === "number") {
      // JSON.parse reads 1e400 as Infinity: the number as sent cannot be kept or acted on.
      if (!Number.isFinite(value))
        return problem(
          "unstorable_payload",
          `The signed event has a number too large to represent at ${path} (beyond ±1.8e308).`,
        );
    } else if (value !== null && typeof value === "object") {
      if (depth > MAX_JSON_DEPTH)
        return problem(
          "malformed_payload",
          `The signed event is nested deeper than ${MAX_JSON_DEPTH} levels (at ${path}).`,
        );
      const entries = Array.isArray(value)
        ? value.map((v, i) => [i, v] as const)
        : Object.entries(value as Record<string, unknown>);
      // Pushed in reverse so the first member is looked at first (the message names the first).
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i];
        const at = childPath(path, key);
        if (typeof key === "string") {
          const found = stringProblem(key, `${at} (a key)`);
          if (found) return found;
        }
        stack.push({ value: child, path: at, depth: depth + 1 });
      }
    }
  }
  return null;
}

/**
 * Check a body whose signature matched one of the secrets: valid UTF-8, JSON, an object, nothing
 * the database refuses, and an envelope (id, type, created, livemode, api_version, data.object)
 * of the right types and sizes.
 */
export function checkSignedBody(
  body: Buffer,
  parsed: ParsedBody,
): { ok: true; event: Stripe.Event } | PayloadProblem {
  // The SDK decodes the bytes before checking the signature, so invalid bytes would be stored
  // as U+FFFD: not what was sent.
  if (!isUtf8(body))
    return problem(
      "invalid_encoding",
      "The signed body is not valid UTF-8; Stripe sends events as UTF-8 JSON.",
    );
  if (!parsed.ok) {
    if (body.toString("utf8").trim() === "")
      return problem(
        "malformed_payload",
        "The body has a valid signature but is empty or only whitespace.",
      );
    if (parsed.error instanceof RangeError)
      return problem(
        "malformed_payload",
        "The body has a valid signature but its JSON is nested too deeply to read.",
      );
    return problem("malformed_payload", "The body has a valid signature but is not valid JSON.");
  }
  const value = parsed.value;
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return problem(
      "malformed_payload",
      `The signed body is JSON ${kindOf(value)}, not a Stripe event (a JSON object with id and type).`,
    );
  const stored = findStorageProblem(value);
  if (stored) return stored;
  const envelope = StripeEventEnvelopeSchema.safeParse(value);
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    return problem(
      "malformed_payload",
      `The signed event's "${issue.path.join(".")}" is invalid: it ${issue.message}.`,
    );
  }
  return { ok: true, event: value as Stripe.Event };
}
