import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { StripeApiError } from "../api/stripe-error";
import type { EmulatorControl } from "../control";
import type { EmulatorCore } from "../core";
import { describeFaults } from "../faults";
import type { CheckoutSession } from "../objects/checkout-session";
import type { Ledger } from "../state/ledger";
import { completedRedirect, renderCheckoutPage } from "./checkout-page";

const PayBodySchema = z.object({
  card: z.enum(["success", "async"]).optional(),
  email: z.string().email().or(z.literal("")).optional(),
  name: z.string().optional(),
});
const RefundBodySchema = z.object({
  id: z.string().min(1),
  amount: z.coerce.number().int().positive().optional(),
  reason: z.enum(["duplicate", "fraudulent", "requested_by_customer"]).optional(),
});
const DisputeBodySchema = z.object({ id: z.string().min(1), reason: z.string().optional() });
const CloseDisputeBodySchema = z.object({ outcome: z.enum(["won", "lost"]) });
const RenewalOutcomeBodySchema = z.object({ outcome: z.enum(["paid", "failed"]) });
const AdvanceClockBodySchema = z.object({ seconds: z.coerce.number().nonnegative() });
const FaultsBodySchema = z
  .object({
    dropRate: z.number().min(0).max(1),
    duplicateRate: z.number().min(0).max(1),
    reorder: z.boolean(),
    delayMs: z.number().nonnegative(),
    wrongSecretRate: z.number().min(0).max(1),
    api429Rate: z.number().min(0).max(1),
    api429Retryable: z.boolean(),
    api500Rate: z.number().min(0).max(1),
    apiLatencyMs: z.number().nonnegative(),
  })
  .partial()
  .strict();
const DropBodySchema = z.object({ id: z.string().min(1) });
const EndpointBodySchema = z.object({
  url: z.string().url(),
  enabled_events: z.array(z.string()).optional(),
  livemode: z.boolean().optional(),
  secret: z.string().startsWith("whsec_").optional(),
  description: z.string().optional(),
});
const WaitBodySchema = z.object({ timeoutMs: z.coerce.number().positive().optional() });
const SaveBodySchema = z.object({ path: z.string().min(1).optional() });
const SeedBodySchema = z.object({
  n: z.coerce.number().int().min(0).max(1_000_000),
  priceId: z.string().min(1),
  createdFrom: z.coerce.number().int(),
  createdTo: z.coerce.number().int(),
  quantity: z.coerce.number().int().positive().optional(),
  /** `{i}` is replaced by the session's index. */
  customerEmail: z.string().optional(),
  /** Sessions get `client_reference_id` = prefix + index. */
  clientReferenceIdPrefix: z.string().optional(),
  customer: z.string().min(1).optional(),
  paidAfterSeconds: z.coerce.number().int().min(0).optional(),
});

type Reply = { status: number; json?: unknown; html?: string; redirect?: string };
type Handler = (args: { path: string[]; body: Record<string, unknown> }) => Promise<Reply>;

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new StripeApiError(400, {
      type: "invalid_request_error",
      message: z.prettifyError(result.error),
    });
  }
  return result.data;
}

const ok = (json: unknown): Reply => ({ status: 200, json });

export function controlRoutes(
  core: EmulatorCore,
  control: EmulatorControl,
): Array<[string, RegExp, Handler]> {
  const sessionOf = (id: string): { ledger: Ledger; session: CheckoutSession } => {
    core.sweep();
    const found = core.locate(id);
    if (!found || found.obj.object !== "checkout.session") {
      throw new StripeApiError(404, {
        type: "invalid_request_error",
        code: "resource_missing",
        message: `No such checkout.session: '${id}'`,
      });
    }
    return { ledger: found.ledger, session: found.obj as CheckoutSession };
  };
  const page = (id: string): Reply => {
    const { ledger, session } = sessionOf(id);
    return { status: 200, html: renderCheckoutPage(core, ledger, session) };
  };
  const backTo = (id: string, url: string | null): Reply => ({
    status: 303,
    redirect:
      completedRedirect(sessionOf(id).session, url) ??
      `/_emulator/checkout/${encodeURIComponent(id)}`,
  });

  return [
    ["GET", /^\/_emulator\/?$/, async () => ok(index())],
    // The hosted payment page (HTML forms post back here and are redirected like Stripe does).
    ["GET", /^\/_emulator\/checkout\/([^/]+)$/, async ({ path }) => page(path[0])],
    [
      "POST",
      /^\/_emulator\/checkout\/([^/]+)\/pay$/,
      async ({ path, body }) => {
        const input = parse(PayBodySchema, body);
        const paid = await control.paySession(path[0], {
          card: input.card,
          email: input.email || undefined,
        });
        return backTo(path[0], paid.success_url);
      },
    ],
    [
      "POST",
      /^\/_emulator\/checkout\/([^/]+)\/cancel$/,
      async ({ path }) => backTo(path[0], sessionOf(path[0]).session.cancel_url),
    ],
    [
      "POST",
      /^\/_emulator\/checkout\/([^/]+)\/async\/(succeed|fail)$/,
      async ({ path }) => {
        if (path[1] === "succeed") await control.succeedAsyncPayment(path[0]);
        else await control.failAsyncPayment(path[0]);
        return { status: 303, redirect: `/_emulator/checkout/${encodeURIComponent(path[0])}` };
      },
    ],
    // JSON control API.
    [
      "POST",
      /^\/_emulator\/sessions\/([^/]+)\/pay$/,
      async ({ path, body }) => ok(await control.paySession(path[0], parse(PayBodySchema, body))),
    ],
    [
      "POST",
      /^\/_emulator\/sessions\/([^/]+)\/async-payment\/succeed$/,
      async ({ path }) => ok(await control.succeedAsyncPayment(path[0])),
    ],
    [
      "POST",
      /^\/_emulator\/sessions\/([^/]+)\/async-payment\/fail$/,
      async ({ path }) => ok(await control.failAsyncPayment(path[0])),
    ],
    [
      "POST",
      /^\/_emulator\/sessions\/([^/]+)\/expire$/,
      async ({ path }) => ok(await control.expireSession(path[0])),
    ],
    [
      "POST",
      /^\/_emulator\/refunds$/,
      async ({ body }) => {
        const input = parse(RefundBodySchema, body);
        return ok(await control.refund(input.id, { amount: input.amount, reason: input.reason }));
      },
    ],
    [
      "POST",
      /^\/_emulator\/disputes$/,
      async ({ body }) => {
        const input = parse(DisputeBodySchema, body);
        return ok(await control.openDispute(input.id, { reason: input.reason }));
      },
    ],
    [
      "POST",
      /^\/_emulator\/disputes\/([^/]+)\/close$/,
      async ({ path, body }) =>
        ok(await control.closeDispute(path[0], parse(CloseDisputeBodySchema, body).outcome)),
    ],
    [
      "POST",
      /^\/_emulator\/subscriptions\/([^/]+)\/cancel$/,
      async ({ path }) => ok(await control.cancelSubscription(path[0])),
    ],
    [
      "POST",
      /^\/_emulator\/subscriptions\/([^/]+)\/renewal-outcome$/,
      async ({ path, body }) =>
        ok(await control.setRenewalOutcome(path[0], parse(RenewalOutcomeBodySchema, body).outcome)),
    ],
    ["GET", /^\/_emulator\/clock$/, async () => ok({ now: control.now() })],
    [
      "POST",
      /^\/_emulator\/clock\/advance$/,
      async ({ body }) =>
        ok({ now: await control.advanceClock(parse(AdvanceClockBodySchema, body).seconds) }),
    ],
    [
      "POST",
      /^\/_emulator\/reset$/,
      async () => {
        await control.reset();
        return ok({ reset: true });
      },
    ],
    ["GET", /^\/_emulator\/requests$/, async () => ok(control.requestLog())],
    ["GET", /^\/_emulator\/faults$/, async () => ok(describeFaults(control.faults()))],
    [
      "POST",
      /^\/_emulator\/faults$/,
      async ({ body }) => ok(describeFaults(control.setFaults(parse(FaultsBodySchema, body)))),
    ],
    [
      "POST",
      /^\/_emulator\/drop-events-for$/,
      async ({ body }) => {
        const { id } = parse(DropBodySchema, body);
        control.dropEventsFor(id);
        return ok({ dropping: id });
      },
    ],
    [
      "POST",
      /^\/_emulator\/webhook-endpoints$/,
      async ({ body }) => ok(await control.createWebhookEndpoint(parse(EndpointBodySchema, body))),
    ],
    ["GET", /^\/_emulator\/deliveries$/, async () => ok(control.deliveries())],
    [
      "POST",
      /^\/_emulator\/deliveries\/wait$/,
      async ({ body }) => {
        await control.waitForDeliveries(parse(WaitBodySchema, body));
        return ok({ idle: true });
      },
    ],
    [
      "POST",
      /^\/_emulator\/deliveries\/flush$/,
      async ({ body }) => {
        await control.flushDeliveries(parse(WaitBodySchema, body));
        return ok({ idle: true });
      },
    ],
    ["GET", /^\/_emulator\/snapshot$/, async () => ok(control.snapshot())],
    [
      "POST",
      /^\/_emulator\/snapshot\/save$/,
      async ({ body }) =>
        ok({ path: await control.saveSnapshot(parse(SaveBodySchema, body).path) }),
    ],
    [
      "POST",
      /^\/_emulator\/seed\/completed-sessions$/,
      async ({ body }) => {
        const input = parse(SeedBodySchema, body);
        const email = input.customerEmail;
        const prefix = input.clientReferenceIdPrefix;
        const ids = await control.seedCompletedSessions(input.n, {
          priceId: input.priceId,
          createdFrom: input.createdFrom,
          createdTo: input.createdTo,
          quantity: input.quantity,
          customerEmail:
            email === undefined ? undefined : (i) => email.replaceAll("{i}", String(i)),
          clientReferenceId: prefix === undefined ? undefined : (i) => `${prefix}${i}`,
          customer: input.customer,
          paidAfterSeconds: input.paidAfterSeconds,
        });
        return ok({ count: ids.length, first: ids[0] ?? null, last: ids[ids.length - 1] ?? null });
      },
    ],
  ];
}

function index() {
  return {
    name: "creditdesk Stripe emulator",
    endpoints: [
      "GET  /_emulator/checkout/:session_id        hosted payment page (HTML)",
      "POST /_emulator/sessions/:id/pay            { card?: 'success'|'async', email?, name? }",
      "POST /_emulator/sessions/:id/async-payment/succeed | fail",
      "POST /_emulator/sessions/:id/expire",
      "POST /_emulator/refunds                     { id: charge|payment_intent|session, amount?, reason? }",
      "POST /_emulator/disputes                    { id: charge|payment_intent|session, reason? }",
      "POST /_emulator/disputes/:id/close          { outcome: 'won'|'lost' }",
      "POST /_emulator/subscriptions/:id/cancel",
      "POST /_emulator/subscriptions/:id/renewal-outcome { outcome: 'paid'|'failed' }",
      "GET  /_emulator/clock   POST /_emulator/clock/advance { seconds }",
      "POST /_emulator/reset",
      "GET  /_emulator/requests",
      "GET  /_emulator/faults  POST /_emulator/faults { dropRate?, duplicateRate?, reorder?, delayMs?, wrongSecretRate?, api429Rate?, api429Retryable?, api500Rate?, apiLatencyMs? }",
      "POST /_emulator/drop-events-for             { id }",
      "POST /_emulator/webhook-endpoints           { url, enabled_events?, livemode?, secret? }",
      "GET  /_emulator/deliveries  POST /_emulator/deliveries/wait | flush { timeoutMs? }",
      "GET  /_emulator/snapshot    POST /_emulator/snapshot/save { path? }",
      "POST /_emulator/seed/completed-sessions     { n, priceId, createdFrom, createdTo, quantity?, customerEmail?, clientReferenceIdPrefix?, customer?, paidAfterSeconds? }",
    ],
  };
}

export async function handleControlRequest(
  routes: Array<[string, RegExp, Handler]>,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  rawBody: string,
): Promise<void> {
  let reply: Reply;
  try {
    const body = parseBody(req, rawBody);
    const method = req.method ?? "GET";
    const match = routes.find(([m, re]) => m === method && re.test(url.pathname));
    if (!match) {
      reply = {
        status: 404,
        json: {
          error: {
            type: "invalid_request_error",
            message: `No control endpoint ${method} ${url.pathname}; see GET /_emulator`,
          },
        },
      };
    } else {
      const path = (match[1].exec(url.pathname) ?? []).slice(1).map(decodeURIComponent);
      reply = await match[2]({ path, body });
    }
  } catch (err) {
    reply =
      err instanceof StripeApiError
        ? { status: err.status, json: err.toJSON() }
        : {
            status: 500,
            json: {
              error: {
                type: "api_error",
                message: err instanceof Error ? err.message : String(err),
              },
            },
          };
  }
  if (reply.redirect) {
    res.writeHead(reply.status, { Location: reply.redirect });
    res.end();
  } else if (reply.html !== undefined) {
    res.writeHead(reply.status, { "Content-Type": "text/html; charset=utf-8" });
    res.end(reply.html);
  } else {
    res.writeHead(reply.status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(reply.json ?? null));
  }
}

function parseBody(req: IncomingMessage, raw: string): Record<string, unknown> {
  if (!raw) return {};
  if ((req.headers["content-type"] ?? "").includes("application/json")) {
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new StripeApiError(400, {
        type: "invalid_request_error",
        message: "Expected a JSON object body",
      });
    }
    return parsed as Record<string, unknown>;
  }
  return Object.fromEntries(new URLSearchParams(raw));
}
