import type { ParamObject, ParamValue } from "./form-params";
import { invalidRequest, parameterMissing, parameterUnknown } from "./stripe-error";

export interface TimestampRange {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** `null` means "clear all metadata"; a `null` value removes that key, as in Stripe. */
export type MetadataPatch = Record<string, string | null> | null;

const PAGINATION = ["limit", "starting_after", "ending_before"];

/**
 * Reads request parameters the way Stripe validates them, raising Stripe's error codes
 * (`parameter_missing`, `parameter_unknown`, `parameter_invalid_integer`, …).
 */
export class Params {
  constructor(
    readonly raw: ParamObject,
    private readonly prefix = "",
  ) {}

  /** Rejects any top-level parameter outside `allowed` (plus `expand`, and pagination for lists). */
  static check(
    raw: ParamObject,
    allowed: readonly string[],
    opts: { list?: boolean } = {},
  ): Params {
    const known = new Set([...allowed, "expand", ...(opts.list ? PAGINATION : [])]);
    for (const key of Object.keys(raw)) if (!known.has(key)) throw parameterUnknown(key);
    return new Params(raw, "");
  }

  name(key: string): string {
    return this.prefix ? `${this.prefix}[${key}]` : key;
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined;
  }

  keys(): string[] {
    return Object.keys(this.raw);
  }

  known(allowed: readonly string[]): this {
    for (const key of Object.keys(this.raw)) {
      if (!allowed.includes(key)) throw parameterUnknown(this.name(key));
    }
    return this;
  }

  private scalar(key: string): string | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string")
      throw invalidRequest(`Invalid string: ${describe(value)}`, this.name(key));
    return value;
  }

  /** Empty strings count as "not given" (Stripe treats them as an attempt to unset). */
  string(key: string, opts: { required?: boolean; maxLength?: number } = {}): string | undefined {
    const value = this.scalar(key);
    if (value === undefined || value === "") {
      if (opts.required) {
        if (value === "") throw emptyNotAllowed(this.name(key));
        throw parameterMissing(this.name(key));
      }
      return undefined;
    }
    if (opts.maxLength !== undefined && value.length > opts.maxLength) {
      throw invalidRequest(
        `Invalid string: ${value.slice(0, 20)}...; must be at most ${opts.maxLength} characters`,
        this.name(key),
        "parameter_invalid_string_size",
      );
    }
    return value;
  }

  /** For updates: `undefined` = not given, `null` = explicitly unset with an empty string. */
  nullableString(key: string, opts: { maxLength?: number } = {}): string | null | undefined {
    if (this.raw[key] === "") return null;
    return this.string(key, opts);
  }

  integer(
    key: string,
    opts: { required?: boolean; min?: number; max?: number } = {},
  ): number | undefined {
    const value = this.string(key, { required: opts.required });
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value)) {
      throw invalidRequest(
        `Invalid integer: ${value}`,
        this.name(key),
        "parameter_invalid_integer",
      );
    }
    const n = Number(value);
    if (opts.min !== undefined && n < opts.min) {
      throw invalidRequest(
        `This value must be greater than or equal to ${opts.min}.`,
        this.name(key),
        "parameter_invalid_integer",
      );
    }
    if (opts.max !== undefined && n > opts.max) {
      throw invalidRequest(
        `This value must be less than or equal to ${opts.max}.`,
        this.name(key),
        "parameter_invalid_integer",
      );
    }
    return n;
  }

  boolean(key: string): boolean | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    if (value !== "true" && value !== "false") {
      throw invalidRequest(`Invalid boolean: ${value}`, this.name(key));
    }
    return value === "true";
  }

  enumValue<T extends string>(
    key: string,
    values: readonly T[],
    opts: { required?: boolean } = {},
  ): T | undefined {
    const value = this.string(key, opts);
    if (value === undefined) return undefined;
    if (!(values as readonly string[]).includes(value)) {
      throw invalidRequest(
        `Invalid ${this.name(key)}: must be one of ${joinOr(values)}`,
        this.name(key),
      );
    }
    return value as T;
  }

  /** Accepts an indexed array, `[]` appends, or a single value. */
  stringList(key: string): string[] | undefined {
    const value = this.raw[key];
    if (value === undefined || value === "") return value === "" ? [] : undefined;
    const items = typeof value === "string" ? [value] : Array.isArray(value) ? value : null;
    if (!items || items.some((v) => typeof v !== "string")) {
      throw invalidRequest("Invalid array", this.name(key));
    }
    return items as string[];
  }

  object(key: string): Params | undefined {
    const value = this.raw[key];
    if (value === undefined || value === "") return undefined;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw invalidRequest("Invalid object", this.name(key));
    }
    return new Params(value, this.name(key));
  }

  list(key: string): Params[] | undefined {
    const value = this.raw[key];
    if (value === undefined || value === "") return undefined;
    if (!Array.isArray(value)) throw invalidRequest("Invalid array", this.name(key));
    return value.map((item, i) => {
      if (typeof item !== "object" || Array.isArray(item)) {
        throw invalidRequest("Invalid object", `${this.name(key)}[${i}]`);
      }
      return new Params(item, `${this.name(key)}[${i}]`);
    });
  }

  metadata(key = "metadata"): MetadataPatch | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (value === "") return null;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw invalidRequest("Invalid hash", this.name(key));
    }
    const out: Record<string, string | null> = {};
    const entries = Object.entries(value);
    if (entries.length > 50) {
      throw invalidRequest("Metadata can have up to 50 keys.", this.name(key));
    }
    for (const [k, v] of entries) {
      if (typeof v !== "string") throw invalidRequest("Invalid hash", `${this.name(key)}[${k}]`);
      if (k.length > 40) {
        throw invalidRequest(
          `Metadata keys can be at most 40 characters.`,
          `${this.name(key)}[${k}]`,
        );
      }
      if (v.length > 500) {
        throw invalidRequest(
          `Metadata values can be at most 500 characters.`,
          `${this.name(key)}[${k}]`,
        );
      }
      out[k] = v === "" ? null : v;
    }
    return out;
  }

  /** `created=123` or `created[gte]=…&created[lt]=…`. */
  timestampRange(key: string): TimestampRange | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (typeof value === "string") {
      const exact = this.integer(key);
      return exact === undefined ? undefined : { gte: exact, lte: exact };
    }
    const nested = this.object(key);
    if (!nested) return undefined;
    nested.known(["gt", "gte", "lt", "lte"]);
    return {
      gt: nested.integer("gt"),
      gte: nested.integer("gte"),
      lt: nested.integer("lt"),
      lte: nested.integer("lte"),
    };
  }

  expand(): string[] {
    return this.stringList("expand") ?? [];
  }
}

export function applyMetadata(
  current: Record<string, string>,
  patch: MetadataPatch | undefined,
): Record<string, string> {
  if (patch === undefined) return current;
  if (patch === null) return {};
  const next = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next;
}

function emptyNotAllowed(param: string) {
  return invalidRequest(
    `You passed an empty string for '${param}'. We assume empty values are an attempt to unset a parameter; however '${param}' cannot be unset. You should remove '${param}' from your request or supply a non-empty value.`,
    param,
    "parameter_invalid_empty",
  );
}

function joinOr(values: readonly string[]): string {
  if (values.length <= 1) return values.join("");
  return `${values.slice(0, -1).join(", ")}, or ${values[values.length - 1]}`;
}

function describe(value: ParamValue): string {
  return Array.isArray(value) ? "array" : "object";
}
