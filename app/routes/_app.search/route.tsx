import { redirect, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { EmptyState } from "~/components/empty-state";
import { formatMoney } from "~/components/format";
import { StripeLink } from "~/components/stripe-link";
import { Time } from "~/components/time";
import { staffLoader } from "~/lib/route-builders";
import { globalSearch, globalSearchSchema } from "~/services/admin/global-search.server";
import { ACCESS } from "~/shared/permissions";
import { SEARCH_HINT, SEARCH_KIND_LABELS, type SearchKind } from "~/shared/search";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.q ? `“${data.q}”` : "Search"} · creditdesk` },
];

// The header search: one match goes straight to its page, several are listed by kind.
export const loader = staffLoader(
  { roles: ACCESS.users, search: globalSearchSchema, searchError: "The search is not valid." },
  async ({ search }) => {
    const result = await globalSearch(search.q);
    if (result.kind === "redirect") throw redirect(result.to);
    return { q: search.q, result };
  },
);

export default function SearchPage() {
  const { q, result } = useLoaderData<typeof loader>();
  return (
    <>
      <h1>Search</h1>
      <Form method="get" role="search" className="header-search" aria-label="Search again">
        <input
          type="search"
          name="q"
          defaultValue={q}
          aria-label="Search"
          aria-invalid={result.kind === "field_error" ? true : undefined}
          aria-describedby="search-page-hint"
        />
        <button type="submit">Search</button>
      </Form>
      <p id="search-page-hint" className="muted small">
        {SEARCH_HINT}
      </p>
      {result.kind === "empty" ? <EmptyState title="Type something to search for." /> : null}
      {result.kind === "field_error" ? (
        <p className="alert error" role="alert" data-testid="search-error">
          {result.message}
        </p>
      ) : null}
      {result.kind === "results" ? (
        <>
          {result.note ? (
            <p className="alert info" role="status">
              {result.note}
            </p>
          ) : null}
          {result.stripeError ? (
            <p className="alert error" role="alert">
              {result.stripeError}
            </p>
          ) : null}
          {result.notFound ? (
            <p className="alert warn" role="status" data-testid="search-not-found">
              “{q}” was not found in creditdesk or Stripe.
            </p>
          ) : null}
          {result.stripe ? (
            <section className="card" data-testid="stripe-only" aria-labelledby="stripe-only-h">
              <h2 id="stripe-only-h">
                <span className="mono">{result.stripe.id}</span>: not in creditdesk yet
              </h2>
              <p>
                {result.stripe.summary}
                {result.stripe.amount !== null && result.stripe.currency ? (
                  <> · {formatMoney(result.stripe.amount, result.stripe.currency)}</>
                ) : null}
                {result.stripe.email ? <> · {result.stripe.email}</> : null}
                {result.stripe.created ? (
                  <>
                    {" "}
                    · <Time value={result.stripe.created} />
                  </>
                ) : null}
                {result.stripe.livemode ? " · live mode" : " · test mode"}{" "}
                <StripeLink id={result.stripe.id} livemode={result.stripe.livemode} />
              </p>
              {result.stripe.user ? (
                <p>
                  It points to{" "}
                  <Link to={`/users/${encodeURIComponent(result.stripe.user.id)}`}>
                    {result.stripe.user.email}
                  </Link>
                  .
                </p>
              ) : (
                <p className="muted">It points to no creditdesk user.</p>
              )}
              {result.stripe.actions.length > 0 ? (
                <ul className="plain-list">
                  {result.stripe.actions.map((a) => (
                    <li key={a.to}>
                      <Link to={a.to}>{a.label}</Link>
                    </li>
                  ))}
                </ul>
              ) : null}
            </section>
          ) : null}
          {groupByKind(result.hits).map(([kind, hits]) => (
            <section key={kind} aria-labelledby={`hits-${kind}`}>
              <h2 id={`hits-${kind}`}>
                {SEARCH_KIND_LABELS[kind]} ({hits.length})
              </h2>
              <ul className="plain-list" data-testid={`hits-${kind}`}>
                {hits.map((h) => (
                  <li key={h.id}>
                    <Link to={h.to}>{h.label}</Link>
                    {h.detail ? <div className="muted small">{h.detail}</div> : null}
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </>
      ) : null}
    </>
  );
}

function groupByKind<H extends { kind: SearchKind }>(hits: H[]): [SearchKind, H[]][] {
  const groups = new Map<SearchKind, H[]>();
  for (const h of hits) groups.set(h.kind, [...(groups.get(h.kind) ?? []), h]);
  return [...groups.entries()];
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";
