import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { beforeAll, describe, expect, it } from "vitest";
import type { StaffRole } from "../../app/generated/prisma/enums";
import { loader as layoutLoader } from "../../app/routes/_app";
import { loader as overviewLoader } from "../../app/routes/_app._index";
import {
  action as approvalsAction,
  loader as approvalsLoader,
} from "../../app/routes/_app.approvals";
import { loader as ledgerLoader } from "../../app/routes/_app.ledger._index";
import { loader as ledgerExportLoader } from "../../app/routes/_app.ledger.export[.]csv";
import { loader as purchaseLoader } from "../../app/routes/_app.purchases.$purchaseId";
import { loader as purchasesLoader } from "../../app/routes/_app.purchases._index";
import { loader as purchasesExportLoader } from "../../app/routes/_app.purchases.export[.]csv";
import { action as userAction, loader as userLoader } from "../../app/routes/_app.users.$userId";
import { loader as usersLoader } from "../../app/routes/_app.users._index";
import { navFor } from "../../app/components/nav-items";
import { getDb } from "../../app/services/db.server";
import { callAction, callLoader, makeUser, seedPurchases } from "../support/admin";
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

beforeAll(async () => {
  const user = await makeUser({ email: "matrix@example.com" });
  userId = user.id;
  await seedPurchases(user.id, 3);
  purchaseId = (await getDb().purchase.findFirstOrThrow({ where: { userId } })).id;
  for (const role of ["support", "finance", "admin"] as const)
    cookies[role] = (await createStaffWithSession(role)).cookie;
});

const ALL_STAFF = { anonymous: 302, support: 200, finance: 200, admin: 200 };

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
    loader: purchasesExportLoader,
    expect: { anonymous: 302, support: 403, finance: 200, admin: 200 },
  },
  { name: "ledger", path: () => "/ledger", loader: ledgerLoader, expect: ALL_STAFF },
  {
    name: "ledger export",
    path: () => "/ledger/export.csv",
    loader: ledgerExportLoader,
    expect: { anonymous: 302, support: 403, finance: 200, admin: 200 },
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
    expect(navFor("support").map((n) => n.to)).toEqual(["/users", "/approvals", "/ledger"]);
    expect(navFor("finance").map((n) => n.to)).toEqual(["/", "/purchases", "/ledger"]);
    expect(navFor("admin").map((n) => n.to)).toEqual([
      "/",
      "/users",
      "/approvals",
      "/purchases",
      "/ledger",
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
