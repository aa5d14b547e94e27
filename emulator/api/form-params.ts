import { invalidRequest } from "./stripe-error";

export type ParamValue = string | ParamValue[] | { [key: string]: ParamValue };
export type ParamObject = { [key: string]: ParamValue };

// Hashes whose keys are free-form: numeric keys there are names, not array indices.
const FREE_FORM_KEYS = new Set(["metadata"]);

/** `a[b][0][c]` → ["a", "b", "0", "c"]; `expand[]` → ["expand", ""]. */
function splitKey(key: string): string[] {
  const open = key.indexOf("[");
  if (open <= 0) return [key];
  const parts = [key.slice(0, open)];
  const re = /\[([^\]]*)\]/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(key.slice(open))) !== null) parts.push(match[1]);
  return parts;
}

type Node = { [key: string]: Node | string };

function assign(root: Node, path: string[], value: string, fullKey: string): void {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const last = i === path.length - 1;
    // `[]` appends: the next free index of this container.
    const segment = path[i] === "" ? String(Object.keys(node).length) : path[i];
    if (last) {
      if (typeof node[segment] === "object") throw invalidRequest(`Invalid hash`, fullKey);
      node[segment] = value;
      return;
    }
    const child = node[segment];
    if (typeof child === "string") throw invalidRequest(`Invalid hash`, fullKey);
    node = child ?? (node[segment] = {});
  }
}

function arrayify(node: Node | string, parentKey: string): ParamValue {
  if (typeof node === "string") return node;
  const keys = Object.keys(node);
  const numeric =
    !FREE_FORM_KEYS.has(parentKey) && keys.length > 0 && keys.every((k) => /^\d+$/.test(k));
  if (numeric) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => arrayify(node[String(k)], ""));
  }
  const out: ParamObject = {};
  for (const key of keys) out[key] = arrayify(node[key], key);
  return out;
}

/** Decodes Stripe's form encoding (bracket notation, indexed or `[]` arrays) into nested values. */
export function decodeForm(encoded: string): ParamObject {
  const root: Node = {};
  for (const [key, value] of new URLSearchParams(encoded)) {
    assign(root, splitKey(key), value, key);
  }
  const out: ParamObject = {};
  for (const key of Object.keys(root)) out[key] = arrayify(root[key], key);
  return out;
}
