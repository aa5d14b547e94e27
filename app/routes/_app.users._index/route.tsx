import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { SelectField, TextField } from "~/components/field";
import { formatCredits } from "~/components/format";
import { Pager } from "~/components/pager";
import { Time } from "~/components/time";
import { parseSearch } from "~/services/admin/forms.server";
import { orHttpError } from "~/services/admin/http.server";
import { ACCESS } from "~/shared/permissions";
import { USER_SORT_LABELS, USER_SORTS } from "~/shared/options";
import { listTiers, searchUsers, userSearchSchema } from "~/services/admin/user-search.server";
import { requireStaff } from "~/services/auth/session.server";

export const meta: MetaFunction = () => [{ title: "Users · creditdesk" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireStaff(request, { roles: ACCESS.users });
  const parsed = parseSearch(request, userSearchSchema);
  const tiers = await listTiers();
  if (!parsed.ok) {
    return data(
      { values: parsed.values, errors: parsed.fieldErrors, tiers, page: null },
      { status: 400 },
    );
  }
  const page = await orHttpError(() => searchUsers(parsed.data));
  return { values: parsed.values, errors: {} as Record<string, string>, tiers, page };
}

export default function Users() {
  const { values, errors, tiers, page } = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  const searching = navigation.state === "loading" && navigation.location.pathname === "/users";
  const filtered = Boolean(values.q || values.tier || values.balanceMin || values.balanceMax);
  return (
    <>
      <h1>Users</h1>
      <Form method="get" className="card filters" role="search" aria-label="Find users">
        <div className="inline-form">
          <TextField
            className="grow"
            label="Email, id, name or Stripe customer"
            name="q"
            type="search"
            defaultValue={values.q ?? ""}
            error={errors.q}
            autoComplete="off"
          />
          <SelectField
            label="Tier"
            name="tier"
            defaultValue={values.tier ?? ""}
            error={errors.tier}
            options={[
              { value: "", label: "Any tier" },
              ...tiers.map((t) => ({ value: t.code, label: t.name })),
            ]}
          />
          <TextField
            label="Balance from"
            name="balanceMin"
            inputMode="numeric"
            defaultValue={values.balanceMin ?? ""}
            error={errors.balanceMin}
            size={8}
          />
          <TextField
            label="Balance to"
            name="balanceMax"
            inputMode="numeric"
            defaultValue={values.balanceMax ?? ""}
            error={errors.balanceMax}
            size={8}
          />
          <SelectField
            label="Sort"
            name="sort"
            defaultValue={values.sort ?? "newest"}
            error={errors.sort}
            options={USER_SORTS.map((s) => ({ value: s, label: USER_SORT_LABELS[s] }))}
          />
          <div className="field">
            <button type="submit" disabled={searching}>
              {searching ? "Searching…" : "Search"}
            </button>
          </div>
        </div>
        <p className="muted small">
          Matches the start of the email, user id, name or Stripe customer id; case does not matter.
        </p>
      </Form>

      {page === null ? (
        <div className="alert error" role="alert">
          Fix the highlighted filters to search.
        </div>
      ) : page.rows.length === 0 ? (
        <EmptyState title={filtered ? "No users match." : "No users yet."}>
          {filtered
            ? values.q
              ? `No email, id, name or Stripe customer id starts with “${values.q}”. Check the spelling or widen the filters.`
              : "Widen the filters to see more users."
            : "Users are created by the main app through the Credits API (PUT /api/v1/users/{id})."}
        </EmptyState>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Users</caption>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Name</th>
                  <th scope="col">User id</th>
                  <th scope="col">Tier</th>
                  <th scope="col" className="num">
                    Balance
                  </th>
                  <th scope="col">Stripe customer</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {page.rows.map((u) => (
                  <tr key={u.id}>
                    <td>
                      <Link to={`/users/${encodeURIComponent(u.id)}`}>{u.email}</Link>
                    </td>
                    <td>{u.name ?? <span className="muted">–</span>}</td>
                    <td className="mono">{u.id}</td>
                    <td>{u.tierCode}</td>
                    <td className="num">{formatCredits(u.balance)}</td>
                    <td className="mono">
                      {u.stripeCustomerId ?? <span className="muted">–</span>}
                    </td>
                    <td>
                      <Time value={u.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager next={page.next} prev={page.prev} label="User pages" />
        </>
      )}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";
