import type { EmulatorCore } from "../core";
import { listOf } from "../objects/common";
import type { Ledger } from "../state/ledger";
import { invalidRequest } from "./stripe-error";

/**
 * Applies `expand[]` paths: an id string becomes the object it names; `data.` steps into list
 * items; fields Stripe only returns on request (a session's `line_items`) are computed here.
 * Copies along the path, so stored objects are never modified.
 */
export function expandPaths(
  core: EmulatorCore,
  ledger: Ledger,
  value: Record<string, unknown>,
  paths: string[],
): Record<string, unknown> {
  let out = value;
  for (const path of paths) {
    if (path.split(".").length > 4) {
      throw invalidRequest(
        `You cannot expand more than 4 levels of a property. Property: ${path}`,
        "expand",
      );
    }
    out = expandOne(core, ledger, out, path.split("."), path) as Record<string, unknown>;
  }
  return out;
}

function expandOne(
  core: EmulatorCore,
  ledger: Ledger,
  value: unknown,
  segments: string[],
  path: string,
): unknown {
  if (segments.length === 0 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value))
    return value.map((item) => expandOne(core, ledger, item, segments, path));
  const obj = value as Record<string, unknown>;
  const [key, ...rest] = segments;
  let child = obj[key];
  if (child === undefined) {
    child = onRequestField(core, ledger, obj, key);
    if (child === undefined) throw cannotExpand(path);
  } else if (typeof child === "string") {
    const target = ledger.find(child);
    // A deleted customer expands to its `deleted: true` stub, as at Stripe.
    const gone = target ? undefined : ledger.tombstone(child);
    if (!target && !gone) throw cannotExpand(path);
    child = target ? core.present(ledger, target) : gone;
  }
  return { ...obj, [key]: expandOne(core, ledger, child, rest, path) };
}

function onRequestField(
  core: EmulatorCore,
  ledger: Ledger,
  obj: Record<string, unknown>,
  key: string,
): unknown {
  if (obj.object === "checkout.session" && key === "line_items") {
    const id = String(obj.id);
    const records = ledger.sessionDetails.get(id)?.lineItems ?? [];
    return listOf(core.renderLineItems(ledger, records), `/v1/checkout/sessions/${id}/line_items`);
  }
  return undefined;
}

function cannotExpand(path: string) {
  return invalidRequest(`This property cannot be expanded (${path}).`, "expand");
}
