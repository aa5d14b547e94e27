import type { LoaderFunctionArgs } from "@remix-run/node";
import { Form, NavLink, Outlet, useLoaderData } from "@remix-run/react";
import { navFor } from "~/components/nav-items";
import { requireStaff } from "~/services/auth/session.server";
import { getEnv } from "~/services/env.server";

export async function loader({ request }: LoaderFunctionArgs) {
  const staff = await requireStaff(request);
  return {
    staff: { email: staff.email, name: staff.name, role: staff.role },
    nav: navFor(staff.role).map(({ to, label }) => ({ to, label })),
    demoMode: getEnv().demoMode,
  };
}

export default function AppLayout() {
  const { staff, nav, demoMode } = useLoaderData<typeof loader>();
  return (
    <>
      {demoMode ? (
        <div className="demo-banner" role="note">
          Demo mode: all Stripe data here is simulated by the built-in Stripe emulator. No real payments.
        </div>
      ) : null}
      <div className="shell">
        <aside className="sidebar">
          <a className="brand" href="/">creditdesk</a>
          <nav aria-label="Main">
            <ul>
              {nav.map((item) => (
                <li key={item.to}>
                  <NavLink to={item.to} end={item.to === "/"} prefetch="intent">{item.label}</NavLink>
                </li>
              ))}
            </ul>
          </nav>
          <div className="who">
            <div>{staff.name ?? staff.email}</div>
            <div>Role: {staff.role}</div>
            <Form method="post" action="/logout">
              <button type="submit" className="secondary">Sign out</button>
            </Form>
          </div>
        </aside>
        <main className="content">
          <Outlet />
        </main>
      </div>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";
