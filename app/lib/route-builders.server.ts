import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import type { z } from "zod";
import type { StaffRole } from "~/generated/prisma/enums";
import { redirectWithToast, toastCookie, type ToastKind } from "~/services/admin/flash.server";
import {
  domainErrorToFields,
  parseValues,
  toValues,
  type FieldErrors,
  type Parsed,
} from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { requireStaff, type StaffIdentity } from "~/services/auth/session.server";
import { DomainError } from "~/services/errors.server";
import { clientIp } from "~/services/infra/request.server";
import { safeRedirect } from "~/http/safe-redirect";
import type { ActionReply } from "~/shared/action-reply";

/**
 * The dashboard's loaders and actions, written once: who may call them is data (`roles`, from
 * ~/shared/permissions), params and the query string are parsed with zod, a `DomainError` becomes
 * the HTTP answer or the field message it names, and a successful form ends in a redirect with a
 * toast (POST → redirect → GET, so a reload never re-submits). A route declares only what differs.
 * How a route uses them: docs/dashboard.md ("Writing a dashboard route").
 */

type Roles = readonly StaffRole[];
type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface StaffContext {
  request: Request;
  context: LoaderFunctionArgs["context"];
  staff: StaffIdentity;
  /** The acting staff member as the domain services' audit records want them. */
  actor: { id: string; email: string; ip: string };
}

interface LoaderSpec<P, S, F> {
  roles?: Roles;
  /** Route params; a param that does not parse is a 404 (the thing does not exist). */
  params?: P;
  /** A query string that must parse (a bad link is a 400 with the first message). */
  search?: S;
  /** The message of that 400 when the schema's own would confuse (e.g. "This page link is not valid."). */
  searchError?: string;
  /** A filter form's query string: its errors are shown beside the filter fields, not thrown. */
  filters?: F;
  /** Filter values used when the key is absent from the URL (present but empty means "any"). */
  filterDefaults?: Record<string, () => string>;
}

/** A loader for a staff page: sign-in and role check, parsed params/search, domain errors → HTTP. */
export function staffLoader<
  T,
  P extends Schema | undefined = undefined,
  S extends Schema | undefined = undefined,
  F extends Schema | undefined = undefined,
>(
  spec: LoaderSpec<P, S, F>,
  fn: (
    ctx: StaffContext & {
      params: Out<P>;
      search: Out<S>;
      filters: F extends Schema ? Parsed<z.output<F>> : undefined;
    },
  ) => Promise<T> | T,
) {
  return async ({ request, params, context }: LoaderFunctionArgs): Promise<T> => {
    const staff = await requireStaff(request, { roles: spec.roles });
    const url = new URL(request.url);
    const parsedParams = spec.params ? parseParams(spec.params, params) : undefined;
    let search: unknown;
    if (spec.search) {
      const parsed = parseValues(spec.search, toValues(url.searchParams));
      if (!parsed.ok) {
        throw new Response(spec.searchError ?? Object.values(parsed.fieldErrors)[0], {
          status: 400,
        });
      }
      search = parsed.data;
    }
    let filters: Parsed<unknown> | undefined;
    if (spec.filters) {
      const values = toValues(url.searchParams);
      for (const [key, value] of Object.entries(spec.filterDefaults ?? {})) {
        if (!url.searchParams.has(key)) values[key] = value();
      }
      filters = parseValues(spec.filters, values);
    }
    const ctx = {
      request,
      context,
      staff,
      actor: actorOf(staff, context),
      params: parsedParams as Out<P>,
      search: search as Out<S>,
      filters: filters as F extends Schema ? Parsed<z.output<F>> : undefined,
    };
    return orHttpError(async () => fn(ctx));
  };
}

/**
 * What an intent answers on success: a redirect with a toast, or an outcome shown in place (with
 * a toast too if given, e.g. a one-time password shown once and "Account created"; with a status
 * other than 200 when the outcome is a refusal that carries data, e.g. 409 "a run is in progress").
 */
export type IntentOk<O> =
  | {
      toast: string;
      kind?: ToastKind;
      /** Same-site path; defaults to the current page. */
      to?: string;
    }
  | { outcome: O; toast?: string; kind?: ToastKind; status?: number; fieldErrors?: FieldErrors };

export interface IntentSpec<S extends Schema, R, O> {
  schema: S;
  /** A stricter role list than the action's (e.g. only admins may delete). */
  roles?: Roles;
  run: (input: z.output<S>, ctx: StaffContext & { params: Record<string, string> }) => Promise<R>;
  ok: (result: R, input: z.output<S>) => IntentOk<O>;
  /** Domain fields renamed to form fields (`{ delta: "amount" }`). */
  fieldMap?: Record<string, string>;
  /** A message of this route's own for an error (return undefined for the default mapping). */
  explain?: (error: DomainError) => FieldErrors | undefined;
}

/** Declares one intent; a function so TypeScript infers each intent's schema and result. */
export function intent<S extends Schema, R, O = never>(spec: IntentSpec<S, R, O>) {
  return spec;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyIntent = IntentSpec<any, any, any>;
type OutcomeOf<I extends Record<string, AnyIntent>> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [K in keyof I]: I[K] extends IntentSpec<any, any, infer O> ? O : never;
}[keyof I];

export type { ActionReply };

/** Statuses a refused command keeps (four eyes 403, a row gone 404, "already approved" 409); others are 400. */
const KEPT_STATUSES = new Set([403, 404, 409]);

const UNKNOWN_INTENT = "Unknown action: reload the page and try again.";

/**
 * An action with named intents (the submit button's `name="intent"` value). A form with one
 * intent may leave `intent` out. Each intent's schema parses the form; its `run` calls a domain
 * command; `ok` says what to show. Errors: zod → the field's message (400); `DomainError` → the
 * field it names or "form" (400; 403 and 409 stay; 5xx from Stripe → 502); not found → 404.
 */
export function staffAction<I extends Record<string, AnyIntent>>(spec: {
  roles: Roles;
  intents: I;
  /** The message when the posted intent is none of these. */
  unknownIntent?: string;
  /** Headers on every answer, redirects included (e.g. `Cache-Control: no-store`). */
  headers?: HeadersInit;
  /** Fields never echoed back in `values` (a typed password). */
  omitValues?: readonly string[];
  /** Fields posted once per ticked box: their values arrive joined with "," (the schema splits). */
  multiValues?: readonly string[];
  /**
   * Route params that are also form fields: a page about one thing posts its forms without naming
   * it, and the path's value wins over anything posted (the attention item page: `itemId`).
   */
  paramsAsValues?: readonly string[];
  /** A one-intent form must still name its intent (a post without one is refused, 400). */
  intentRequired?: boolean;
  /**
   * A thing the form names was not found: "page" (default) answers the 404 page (the page's own
   * subject is gone); "form" answers 404 with the message on the form (one of its rows is gone).
   */
  notFound?: "page" | "form";
}) {
  type Name = keyof I & string;
  type Reply = ActionReply<Name, OutcomeOf<I>>;
  const names = Object.keys(spec.intents) as Name[];
  return async ({ request, params, context }: ActionFunctionArgs) => {
    const staff = await requireStaff(request, { roles: spec.roles });
    const formData = await request.formData();
    const posted = toValues(formData);
    for (const field of spec.multiValues ?? []) {
      posted[field] = formData
        .getAll(field)
        .filter((v): v is string => typeof v === "string")
        .join(",");
    }
    for (const field of spec.paramsAsValues ?? []) posted[field] = params[field] ?? "";
    const values = { ...posted };
    for (const field of spec.omitValues ?? []) delete values[field];
    const name = (posted.intent ??
      (names.length === 1 && !spec.intentRequired ? names[0] : "")) as Name;
    const headers = spec.headers;
    const fail = (intentName: Name, fieldErrors: FieldErrors, status = 400) =>
      data<Reply>({ intent: intentName, fieldErrors, values }, { status, headers });
    const handler = Object.hasOwn(spec.intents, name) ? spec.intents[name] : undefined;
    if (!handler) return fail(names[0], { form: spec.unknownIntent ?? UNKNOWN_INTENT });
    if (handler.roles) await requireStaff(request, { roles: handler.roles });

    const parsed = parseValues(handler.schema, posted);
    if (!parsed.ok) return fail(name, parsed.fieldErrors);
    const ctx = {
      request,
      context,
      staff,
      actor: actorOf(staff, context),
      params: params as Record<string, string>,
    };
    try {
      const result: unknown = await handler.run(parsed.data, ctx);
      const ok = handler.ok(result, parsed.data) as IntentOk<OutcomeOf<I>>;
      if ("outcome" in ok) {
        const out = new Headers(headers);
        if (ok.toast) out.append("Set-Cookie", await toastCookie(ok.kind ?? "success", ok.toast));
        return data<Reply>(
          { intent: name, fieldErrors: ok.fieldErrors ?? {}, values, outcome: ok.outcome },
          { status: ok.status ?? 200, headers: out },
        );
      }
      const here = new URL(request.url).pathname;
      return redirectWithToast(safeRedirect(ok.to ?? here, here), ok.kind ?? "success", ok.toast, {
        headers,
      });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error.status === 404 && spec.notFound !== "form") {
        throw new Response(error.message, { status: 404 });
      }
      const own = handler.explain?.(error);
      if (own) return fail(name, own);
      const status =
        error.status >= 500 ? 502 : KEPT_STATUSES.has(error.status) ? error.status : 400;
      return fail(name, domainErrorToFields(error, handler.fieldMap), status);
    }
  };
}

function parseParams(schema: Schema, params: LoaderFunctionArgs["params"]): unknown {
  const parsed = schema.safeParse(params);
  if (!parsed.success) throw new Response("Not found.", { status: 404 });
  return parsed.data;
}

function actorOf(staff: StaffIdentity, context: LoaderFunctionArgs["context"]) {
  return { id: staff.id, email: staff.email, ip: clientIp(context) };
}
