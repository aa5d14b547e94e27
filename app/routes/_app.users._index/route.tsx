import type { MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { DataTable, None } from "~/components/data-table";
import { SelectField } from "~/components/field";
import { FilteredRows, FilterForm, FilterSelect, FilterText } from "~/components/filter-form";
import { formatCredits } from "~/components/format";
import { Pager } from "~/components/pager";
import { Time } from "~/components/time";
import { staffLoader } from "~/lib/route-builders";
import { listTiers, searchUsers, userSearchSchema } from "~/services/admin/user-search.server";
import { USER_SORT_LABELS, USER_SORTS } from "~/shared/options";
import { ACCESS } from "~/shared/permissions";

export const meta: MetaFunction = () => [{ title: "Users · creditdesk" }];

export const loader = staffLoader(
  { roles: ACCESS.users, filters: userSearchSchema },
  async ({ filters }) => {
    const tiers = await listTiers();
    if (!filters.ok) {
      return data(
        { values: filters.values, errors: filters.fieldErrors, tiers, page: null },
        { status: 400 },
      );
    }
    const page = await searchUsers(filters.data);
    return data({ values: filters.values, errors: {} as Record<string, string>, tiers, page });
  },
);

export default function Users() {
  const { values, errors, tiers, page } = useLoaderData<typeof loader>();
  const filtered = Boolean(values.q || values.tier || values.balanceMin || values.balanceMax);
  const filters = { values, errors };
  return (
    <>
      <h1>Users</h1>
      <FilterForm
        path="/users"
        label="Find users"
        search
        note="Matches the start of the email, user id, name or Stripe customer id; case does not matter."
      >
        <FilterText
          className="grow"
          label="Email, id, name or Stripe customer"
          name="q"
          type="search"
          filters={filters}
          autoComplete="off"
        />
        <FilterSelect
          label="Tier"
          name="tier"
          any="Any tier"
          choices={tiers.map((t) => ({ value: t.code, label: t.name }))}
          filters={filters}
        />
        <FilterText
          label="Balance from"
          name="balanceMin"
          inputMode="numeric"
          filters={filters}
          size={8}
        />
        <FilterText
          label="Balance to"
          name="balanceMax"
          inputMode="numeric"
          filters={filters}
          size={8}
        />
        <SelectField
          label="Sort"
          name="sort"
          defaultValue={values.sort ?? "newest"}
          error={errors.sort}
          options={USER_SORTS.map((s) => ({ value: s, label: USER_SORT_LABELS[s] }))}
        />
      </FilterForm>

      <FilteredRows
        page={page}
        what="search"
        filtered={filtered}
        empty={{
          filtered: [
            "No users match.",
            values.q
              ? `No email, id, name or Stripe customer id starts with “${values.q}”. Check the spelling or widen the filters.`
              : "Widen the filters to see more users.",
          ],
          none: [
            "No users yet.",
            "Users are created by the main app through the Credits API (PUT /api/v1/users/{id}).",
          ],
        }}
      >
        {(page) => (
          <>
            <DataTable
              rows={page.rows}
              rowKey={(u) => u.id}
              caption="Users"
              columns={[
                {
                  header: "Email",
                  cell: (u) => <Link to={`/users/${encodeURIComponent(u.id)}`}>{u.email}</Link>,
                },
                { header: "Name", cell: (u) => u.name ?? <None /> },
                { header: "User id", className: "mono", cell: (u) => u.id },
                { header: "Tier", cell: (u) => u.tierCode },
                { header: "Balance", num: true, cell: (u) => formatCredits(u.balance) },
                {
                  header: "Stripe customer",
                  className: "mono",
                  cell: (u) => u.stripeCustomerId ?? <None />,
                },
                { header: "Created", cell: (u) => <Time value={u.createdAt} /> },
              ]}
            />
            <Pager next={page.next} prev={page.prev} label="User pages" />
          </>
        )}
      </FilteredRows>
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";
