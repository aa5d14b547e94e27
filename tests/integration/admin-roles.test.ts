import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StaffRole } from "../../app/generated/prisma/enums";
import { loader as layoutLoader } from "../../app/routes/_app/route";
import { loader as overviewLoader } from "../../app/routes/_app._index/route";
import {
  action as approvalsAction,
  loader as approvalsLoader,
} from "../../app/routes/_app.approvals/route";
import { loader as ledgerLoader } from "../../app/routes/_app.ledger._index/route";
import { loader as purchaseLoader } from "../../app/routes/_app.purchases.$purchaseId/route";
import { loader as purchasesLoader } from "../../app/routes/_app.purchases._index/route";
import {
  action as userAction,
  loader as userLoader,
} from "../../app/routes/_app.users.$userId/route";
import { loader as usersLoader } from "../../app/routes/_app.users._index/route";
import { loader as statementLoader } from "../../app/routes/_app.users.$userId_.statement/route";
import {
  action as accountPasswordAction,
  loader as accountPasswordLoader,
} from "../../app/routes/account.password/route";
import {
  action as apiKeysAction,
  loader as apiKeysLoader,
} from "../../app/routes/_app.api-keys/route";
import {
  action as outboundAction,
  loader as outboundLoader,
} from "../../app/routes/_app.outbound._index/route";
import {
  action as attentionItemAction,
  loader as attentionItemLoader,
} from "../../app/routes/_app.attention.$itemId/route";
import { loader as attentionHistoryLoader } from "../../app/routes/_app.attention.history/route";
import {
  action as attentionAction,
  loader as attentionLoader,
} from "../../app/routes/_app.attention._index/route";
import { loader as attentionUserSearchLoader } from "../../app/routes/attention.user-search";
import { loader as auditLoader } from "../../app/routes/_app.audit/route";
import { action as packsAction, loader as packsLoader } from "../../app/routes/_app.packs/route";
import { loader as runLoader } from "../../app/routes/_app.reconciliation.$runId/route";
import {
  action as runsAction,
  loader as runsLoader,
} from "../../app/routes/_app.reconciliation._index/route";
import { loader as runProgressLoader } from "../../app/routes/reconciliation.progress";
import { action as staffAction, loader as staffLoader } from "../../app/routes/_app.staff/route";
import {
  action as eventAction,
  loader as eventLoader,
} from "../../app/routes/_app.webhooks.events.$eventId/route";
import { loader as webhooksLoader } from "../../app/routes/_app.webhooks._index/route";
import { raiseAttention } from "../../app/services/attention.server";
import { navFor } from "../../app/components/nav-items";
import { getDb } from "../../app/services/infra/db.server";
import { callAction, callLoader, makeUser, seedPurchases } from "../support/admin";
import { startExportApp, type ExportApp } from "../support/export-app";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();

type Who = "anonymous" | StaffRole;
const WHO: Who[] = ["anonymous", "support", "finance", "admin"];

/** Expected status per visitor; 302 for anonymous always means "to /login?redirectTo=<path>". */
type Expect = Record<Who, number>;

interface RouteCase {
  name: string;
  path: () => string;
  params?: () => Record<string, string>;
  loader?: (args: LoaderFunctionArgs) => unknown;
  action?: (args: ActionFunctionArgs) => unknown;
  form?: Record<string, string>;
  expect: Expect;
  /** Where a signed-in visitor is redirected instead of refused. */
  redirects?: Partial<Record<StaffRole, string>>;
}

let userId = "";
let purchaseId = "";
const cookies: Partial<Record<StaffRole, string>> = {};

// The CSV exports are Express routes (server.ts mounts them): they are asked over HTTP.
let exportApp: ExportApp;
beforeAll(async () => {
  exportApp = await startExportApp();
});
afterAll(async () => {
  await exportApp?.close();
});
const viaExport = (args: LoaderFunctionArgs) => exportApp.loader(args);

beforeAll(async () => {
  const user = await makeUser({ email: "matrix@example.com" });
  userId = user.id;
  await seedPurchases(user.id, 3);
  purchaseId = (await getDb().purchase.findFirstOrThrow({ where: { userId } })).id;
  for (const role of ["support", "finance", "admin"] as const)
    cookies[role] = (await createStaffWithSession(role)).cookie;
});

const ALL_STAFF = { anonymous: 302, support: 200, finance: 200, admin: 200 };

// Part 2 (operations pages): one stored event, one open attention item and one finished run.
const ops = { eventId: "evt_matrix_1", itemId: "", runId: "" };
beforeAll(async () => {
  const db = getDb();
  await db.stripeEvent.create({
    data: {
      id: ops.eventId,
      type: "checkout.session.completed",
      livemode: false,
      payload: {
        id: ops.eventId,
        object: "event",
        type: "checkout.session.completed",
        data: { object: { id: "cs_matrix_1" } },
      },
      status: "failed",
      source: "webhook",
      stripeCreatedAt: new Date(),
    },
  });
  ops.itemId = (
    await raiseAttention({
      kind: "failed_event",
      dedupeKey: `failed_event:${ops.eventId}`,
      title: "matrix",
      stripeEventId: ops.eventId,
    })
  ).id;
  const now = new Date();
  ops.runId = (
    await db.reconciliationRun.create({
      data: {
        trigger: "schedule",
        status: "completed",
        windowSince: new Date(now.getTime() - 86_400_000),
        windowUntil: now,
        finishedAt: now,
      },
    })
  ).id;
});
const SUPPORT_ADMIN = { anonymous: 302, support: 200, finance: 403, admin: 200 };
const ADMIN_ONLY = { anonymous: 302, support: 403, finance: 403, admin: 200 };
/** An action sent an empty form: refused roles get 403, allowed ones the validation's 400. */
const ADMIN_ACTION = { anonymous: 302, support: 403, finance: 403, admin: 400 };
const SUPPORT_ADMIN_ACTION = { anonymous: 302, support: 400, finance: 403, admin: 400 };

// Every route of the dashboard's part 1, and what each visitor gets. Actions are sent an empty
// (invalid) form: authorization must answer before validation does, so a refused role sees 403
// and an allowed one sees the 400 of the validation that follows.
const ROUTES: RouteCase[] = [
  { name: "layout", path: () => "/users", loader: layoutLoader, expect: ALL_STAFF },
  {
    name: "overview /",
    path: () => "/",
    loader: overviewLoader,
    expect: { anonymous: 302, support: 302, finance: 200, admin: 200 },
    redirects: { support: "/users" },
  },
  {
    name: "overview /?range=90",
    path: () => "/?range=90",
    loader: overviewLoader,
    expect: { anonymous: 302, support: 302, finance: 200, admin: 200 },
    redirects: { support: "/users" },
  },
  {
    name: "users",
    path: () => "/users?q=matrix",
    loader: usersLoader,
    expect: { anonymous: 302, support: 200, finance: 403, admin: 200 },
  },
  {
    name: "user detail",
    path: () => `/users/${userId}`,
    params: () => ({ userId }),
    loader: userLoader,
    expect: { anonymous: 302, support: 200, finance: 403, admin: 200 },
  },
  {
    name: "user detail action (adjust)",
    path: () => `/users/${userId}`,
    params: () => ({ userId }),
    action: userAction,
    form: { intent: "adjust" },
    expect: { anonymous: 302, support: 400, finance: 403, admin: 400 },
  },
  {
    name: "approvals",
    path: () => "/approvals",
    loader: approvalsLoader,
    expect: { anonymous: 302, support: 200, finance: 403, admin: 200 },
  },
  {
    name: "approvals action",
    path: () => "/approvals",
    action: approvalsAction,
    form: { intent: "approve" },
    expect: { anonymous: 302, support: 400, finance: 403, admin: 400 },
  },
  {
    name: "purchases",
    path: () => "/purchases",
    loader: purchasesLoader,
    expect: { anonymous: 302, support: 403, finance: 200, admin: 200 },
  },
  {
    name: "purchase detail",
    path: () => `/purchases/${purchaseId}`,
    params: () => ({ purchaseId }),
    loader: purchaseLoader,
    expect: ALL_STAFF,
  },
  {
    name: "purchases export",
    path: () => "/purchases/export.csv?from=",
    loader: viaExport,
    expect: { anonymous: 302, support: 403, finance: 200, admin: 200 },
  },
  { name: "ledger", path: () => "/ledger", loader: ledgerLoader, expect: ALL_STAFF },
  {
    name: "ledger export",
    path: () => "/ledger/export.csv",
    loader: viaExport,
    expect: { anonymous: 302, support: 403, finance: 200, admin: 200 },
  },
  {
    name: "user statement",
    path: () => `/users/${userId}/statement?from=2026-01-01`,
    params: () => ({ userId }),
    loader: statementLoader,
    expect: ALL_STAFF,
  },
  {
    name: "user statement export",
    path: () => `/users/${userId}/statement.csv?from=2026-01-01`,
    loader: viaExport,
    expect: { anonymous: 302, support: 403, finance: 200, admin: 200 },
  }, // Part 2: operations pages.
  {
    name: "webhooks",
    path: () => "/webhooks?outcome=failed",
    loader: webhooksLoader,
    expect: SUPPORT_ADMIN,
  },
  {
    name: "webhook event",
    path: () => `/webhooks/events/${ops.eventId}`,
    params: () => ({ eventId: ops.eventId }),
    loader: eventLoader,
    expect: SUPPORT_ADMIN,
  },
  {
    name: "webhook event replay",
    path: () => `/webhooks/events/${ops.eventId}`,
    params: () => ({ eventId: ops.eventId }),
    action: eventAction,
    expect: ADMIN_ACTION,
  },
  {
    name: "attention queue",
    path: () => "/attention",
    loader: attentionLoader,
    expect: SUPPORT_ADMIN,
  },
  {
    name: "attention queue action",
    path: () => "/attention?index",
    action: attentionAction,
    expect: SUPPORT_ADMIN_ACTION,
  },
  {
    name: "attention item",
    path: () => `/attention/${ops.itemId}`,
    params: () => ({ itemId: ops.itemId }),
    loader: attentionItemLoader,
    expect: SUPPORT_ADMIN,
  },
  {
    name: "attention item action",
    path: () => `/attention/${ops.itemId}`,
    params: () => ({ itemId: ops.itemId }),
    action: attentionItemAction,
    expect: SUPPORT_ADMIN_ACTION,
  },
  {
    name: "attention history",
    path: () => "/attention/history",
    loader: attentionHistoryLoader,
    expect: SUPPORT_ADMIN,
  },
  {
    name: "attention user search",
    path: () => "/attention/user-search?q=matrix",
    loader: attentionUserSearchLoader,
    expect: SUPPORT_ADMIN,
  },
  { name: "reconciliation", path: () => "/reconciliation", loader: runsLoader, expect: ALL_STAFF },
  {
    name: "reconciliation run now",
    path: () => "/reconciliation?index",
    action: runsAction,
    expect: ADMIN_ACTION,
  },
  {
    name: "reconciliation run",
    path: () => `/reconciliation/${ops.runId}`,
    params: () => ({ runId: ops.runId }),
    loader: runLoader,
    expect: ALL_STAFF,
  },
  {
    name: "reconciliation progress",
    path: () => `/reconciliation/progress?run=${ops.runId}`,
    loader: runProgressLoader,
    expect: ALL_STAFF,
  },
  { name: "packs", path: () => "/packs", loader: packsLoader, expect: ADMIN_ONLY },
  { name: "packs sync", path: () => "/packs", action: packsAction, expect: ADMIN_ACTION },
  {
    name: "audit log",
    path: () => "/audit?action=staff.",
    loader: auditLoader,
    expect: { anonymous: 302, support: 403, finance: 200, admin: 200 },
  },
  { name: "staff", path: () => "/staff", loader: staffLoader, expect: ADMIN_ONLY },
  { name: "staff action", path: () => "/staff", action: staffAction, expect: ADMIN_ACTION },
  { name: "api keys", path: () => "/api-keys", loader: apiKeysLoader, expect: ADMIN_ONLY },
  { name: "api keys action", path: () => "/api-keys", action: apiKeysAction, expect: ADMIN_ACTION },
  { name: "outbound", path: () => "/outbound", loader: outboundLoader, expect: ADMIN_ONLY },
  {
    name: "outbound action",
    path: () => "/outbound",
    action: outboundAction,
    expect: ADMIN_ACTION,
  },
  {
    name: "account password",
    path: () => "/account/password",
    loader: accountPasswordLoader,
    expect: ALL_STAFF,
  },
  {
    name: "account password action",
    path: () => "/account/password",
    action: accountPasswordAction,
    expect: { anonymous: 302, support: 400, finance: 400, admin: 400 },
  },
];

describe("role matrix: every dashboard route as anonymous, support, finance and admin", () => {
  for (const route of ROUTES) {
    for (const who of WHO) {
      it(`${route.name} as ${who} → ${route.expect[who]}`, async () => {
        const cookie = who === "anonymous" ? undefined : cookies[who];
        const path = route.path();
        const opts = { cookie, params: route.params?.() };
        const result = route.action
          ? await callAction(route.action, path, route.form ?? {}, opts)
          : await callLoader(route.loader!, path, opts);
        expect(result.status).toBe(route.expect[who]);
        if (who === "anonymous") {
          expect(result.location).toBe(`/login?redirectTo=${encodeURIComponent(path)}`);
        } else if (result.status === 302) {
          expect(result.location).toBe(route.redirects?.[who]);
        } else if (result.status === 403) {
          expect(await result.response!.text()).toMatch(
            /Forbidden: this page needs the .* role; you are /,
          );
        }
        // Streams that were opened must be consumed or cancelled so the test does not leak them.
        if (result.response && !result.response.bodyUsed) await result.response.body?.cancel();
      });
    }
  }
});

describe("navigation shows each role only what it may open", () => {
  it("lists the pages per role", () => {
    expect(navFor("support").map((n) => n.to)).toEqual([
      "/users",
      "/approvals",
      "/ledger",
      "/attention",
      "/webhooks",
      "/reconciliation",
    ]);
    expect(navFor("finance").map((n) => n.to)).toEqual([
      "/",
      "/purchases",
      "/ledger",
      "/finance/close",
      "/reconciliation",
      "/audit",
    ]);
    expect(navFor("admin").map((n) => n.to)).toEqual([
      "/",
      "/users",
      "/approvals",
      "/purchases",
      "/ledger",
      "/finance/close",
      "/attention",
      "/webhooks",
      "/reconciliation",
      "/packs",
      "/audit",
      "/staff",
      "/api-keys",
      "/outbound",
    ]);
  });

  it("hides export buttons from support and shows them to finance", async () => {
    const support = await callLoader<{ canExport: boolean }>(ledgerLoader, "/ledger", {
      cookie: cookies.support,
    });
    const finance = await callLoader<{ canExport: boolean }>(ledgerLoader, "/ledger", {
      cookie: cookies.finance,
    });
    expect(support.data?.canExport).toBe(false);
    expect(finance.data?.canExport).toBe(true);
  });

  it("offers user actions to support but never the user pages to finance", async () => {
    const support = await callLoader<{ canAct: boolean }>(userLoader, `/users/${userId}`, {
      cookie: cookies.support,
      params: { userId },
    });
    expect(support.data?.canAct).toBe(true);
    const purchase = await callLoader<{ canOpenUsers: boolean }>(
      purchaseLoader,
      `/purchases/${purchaseId}`,
      {
        cookie: cookies.finance,
        params: { purchaseId },
      },
    );
    expect(purchase.data?.canOpenUsers).toBe(false);
  });
});
