import type { z } from "zod";
import { intent, staffAction, type StaffContext } from "~/lib/route-builders.server";
import {
  assignAndCredit,
  assignSchema,
  dismissItem,
  dismissSchema,
  itemActionSchema,
  resolveItem,
  resolveSchema,
  retryEvent,
  retrySession,
  type FixOutcome,
} from "~/services/admin/attention-queue.server";
import { canOps, OPS_ACCESS } from "~/shared/ops-permissions";
import { DomainError } from "~/services/errors.server";

/**
 * The fixes of an attention item, one action for the queue page and the item page so both forms
 * behave the same. A fix that worked redirects with its message as a toast (to `back`: the queue
 * keeps its filters and page); one that ran but did not fix the cause ("Still not credited …")
 * answers in place. Errors naming the item go to the form's message.
 */
type Ctx = StaffContext & { params: Record<string, string> };
type Fixed = { outcome: FixOutcome; back: string | undefined };

export function attentionFixAction(opts: {
  back?: (request: Request) => string;
  notFound: "page" | "form";
  /** On an item's own page the item is the one in the path, whatever the form posted. */
  itemFromPath?: boolean;
}) {
  const fix = <S extends z.ZodType<{ itemId: string }>>(
    schema: S,
    run: (input: z.output<S>, actor: Ctx["actor"], ctx: Ctx) => Promise<FixOutcome>,
  ) =>
    intent<S, Fixed, FixOutcome>({
      schema,
      run: async (input, ctx) => ({
        outcome: await run(input, ctx.actor, ctx),
        back: opts.back?.(ctx.request),
      }),
      ok: (r) =>
        r.outcome.tone === "error"
          ? { outcome: r.outcome }
          : { toast: r.outcome.message, kind: r.outcome.tone, to: r.back },
      fieldMap: { itemId: "form", id: "form" },
    });
  return staffAction({
    roles: OPS_ACCESS.attention,
    notFound: opts.notFound,
    paramsAsValues: opts.itemFromPath ? ["itemId"] : [],
    intents: {
      assign: fix(assignSchema, assignAndCredit),
      "retry-session": fix(itemActionSchema, retrySession),
      "retry-event": fix(itemActionSchema, (input, actor, ctx) => {
        // Answered beside the form (not the 403 page), like every other refusal of a fix.
        if (!canOps(ctx.staff.role, "replay"))
          throw new DomainError(403, "forbidden", "Only an admin can replay events.");
        return retryEvent(input, actor);
      }),
      dismiss: fix(dismissSchema, dismissItem),
      resolve: fix(resolveSchema, resolveItem),
    },
  });
}

// Built here, not in the route files: a route module also runs in the browser, where this module
// is an empty stub, so a top-level attentionFixAction(...) there would throw before hydration.

/** The queue page: back to the same view (filters and page kept), with the outcome as a toast. */
export const queueFixAction = attentionFixAction({
  notFound: "form",
  back: (request) => {
    const url = new URL(request.url);
    url.searchParams.delete("index");
    return `${url.pathname}${url.search}`;
  },
});

/** An item's own page: the item is the one in the path. */
export const itemFixAction = attentionFixAction({ notFound: "page", itemFromPath: true });
