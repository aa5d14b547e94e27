import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import type * as impl from "./route-builders.server";

/**
 * What routes import. A route module also runs in the browser (for its component), where every
 * `*.server` module is an empty stub: a top-level `staffLoader(...)` call from there would throw
 * before the page hydrates. These wrappers are safe to call anywhere and load the server
 * implementation (app/lib/route-builders.server.ts) on the first request.
 */

export type { ActionReply, IntentOk, IntentSpec, StaffContext } from "./route-builders.server";

type Handler<A> = (args: A) => Promise<unknown>;

function lazy<A>(build: (m: typeof impl) => Handler<A>): Handler<A> {
  let built: Handler<A> | undefined;
  return async (args: A) => {
    built ??= build(await import("./route-builders.server"));
    return built(args);
  };
}

export const staffLoader = ((spec: never, fn: never) =>
  lazy<LoaderFunctionArgs>((m) => m.staffLoader(spec, fn))) as unknown as typeof impl.staffLoader;

export const staffAction = ((spec: never) =>
  lazy<ActionFunctionArgs>((m) => m.staffAction(spec))) as unknown as typeof impl.staffAction;

/** Declares one intent (an identity function, so TypeScript infers each intent's types). */
export const intent = (<T>(spec: T) => spec) as typeof impl.intent;
