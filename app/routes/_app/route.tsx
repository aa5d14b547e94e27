import { data } from "@remix-run/node";
import { Form, NavLink, Outlet, useLoaderData, useNavigation } from "@remix-run/react";
import { HeaderSearch } from "~/components/header-search";
import { navFor } from "~/components/nav-items";
import { TimeZoneNote } from "~/components/time";
import { Toaster } from "~/components/toast";
import { staffLoader } from "~/lib/route-builders";
import { takeToast } from "~/services/admin/flash.server";
import { getEnv } from "~/services/infra/env.server";
import { can } from "~/shared/permissions";

// Every signed-in staff member; the pending toast (a signed one-shot cookie) is read and cleared here.
export const loader = staffLoader({}, async ({ request, staff }) => {
  const { toast, headers } = await takeToast(request);
  return data(
    {
      staff: { email: staff.email, name: staff.name, role: staff.role },
      nav: navFor(staff.role).map(({ to, label }) => ({ to, label })),
      demoMode: getEnv().demoMode,
      canSearch: can(staff.role, "users"),
      toast,
    },
    { headers },
  );
});

export default function AppLayout() {
  const { staff, nav, demoMode, canSearch, toast } = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      {demoMode ? (
        <div className="demo-banner" role="note">
          Demo mode: all Stripe data here is simulated by the built-in Stripe emulator. No real
          payments.
        </div>
      ) : null}
      <div className="shell">
        <aside className="sidebar">
          <a className="brand" href="/">
            creditdesk
          </a>
          <nav aria-label="Main">
            <ul>
              {nav.map((item) => (
                <li key={item.to}>
                  <NavLink to={item.to} end={item.to === "/"} prefetch="intent">
                    {item.label}
                  </NavLink>
                </li>
              ))}
            </ul>
          </nav>
          <div className="who">
            <div>{staff.name ?? staff.email}</div>
            <div>Role: {staff.role}</div>
            <div>
              <a href="/account/password">Change password</a>
            </div>
            <Form method="post" action="/logout">
              <button type="submit" className="secondary">
                Sign out
              </button>
            </Form>
          </div>
        </aside>
        <main
          id="main"
          className="content"
          aria-busy={navigation.state === "loading" ? true : undefined}
        >
          {navigation.state === "loading" ? (
            <div className="route-progress" aria-hidden="true" />
          ) : null}
          {canSearch ? <HeaderSearch /> : null}
          <Outlet />
          <TimeZoneNote />
        </main>
      </div>
      <Toaster toast={toast} />
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";
