import { Form, Link, useNavigation } from "@remix-run/react";
import type { ComponentProps, ReactNode } from "react";
import { EmptyState } from "./empty-state";
import { SelectField, TextField } from "./field";
import { humanize } from "./format";

/**
 * A list page's filter bar: a GET form (the filters live in the URL, so a filtered view can be
 * shared and the CSV export gets the same query), "Apply" that says "Loading…" while this page
 * loads, and "Reset" back to the bare path. Field errors come from the loader's `filters` parse.
 */
export function FilterForm({
  path,
  label,
  children,
  note,
  search = false,
}: {
  /** The page's own path ("/ledger"): Reset links here, and loading is shown only for it. */
  path: string;
  /** The form's accessible name ("Filter ledger entries"). */
  label: string;
  children: ReactNode;
  note?: ReactNode;
  /** A search box rather than filters: role="search", "Search"/"Searching…", no Reset. */
  search?: boolean;
}) {
  const navigation = useNavigation();
  const loading = navigation.state === "loading" && navigation.location.pathname === path;
  return (
    <Form
      method="get"
      className="card filters"
      role={search ? "search" : undefined}
      aria-label={label}
    >
      <div className="inline-form">
        {children}
        {search ? (
          <div className="field">
            <button type="submit" disabled={loading}>
              {loading ? "Searching…" : "Search"}
            </button>
          </div>
        ) : (
          <div className="field button-row">
            <button type="submit" disabled={loading}>
              {loading ? "Loading…" : "Apply"}
            </button>
            <Link className="button secondary" to={path}>
              Reset
            </Link>
          </div>
        )}
      </div>
      {note ? <p className="muted small">{note}</p> : null}
    </Form>
  );
}

/**
 * "From" and "To" as UTC calendar days. The rule they obey (both optional, To not before From,
 * one wording) is ~/shared/date-range; the loader parses with `dateRangeFields()` from there.
 */
export function DateRangeFields({
  values,
  errors,
}: {
  values: Record<string, string | undefined>;
  errors: Record<string, string | undefined>;
}) {
  return (
    <>
      <TextField
        label="From (UTC day)"
        name="from"
        type="date"
        defaultValue={values.from ?? ""}
        error={errors.from}
      />
      <TextField
        label="To (UTC day)"
        name="to"
        type="date"
        defaultValue={values.to ?? ""}
        error={errors.to}
      />
    </>
  );
}

/** "Export CSV" and "CSV for Excel" (with a byte-order mark) for the current filters. */
export function ExportButtons({
  href,
  query,
  testId,
}: {
  /** The export's path ("/ledger/export.csv"). */
  href: string;
  query: string;
  testId?: string;
}) {
  return (
    <div className="button-row">
      <a
        className="button"
        href={`${href}${query ? `?${query}` : ""}`}
        download
        data-testid={testId}
      >
        Export CSV
      </a>
      <a className="button secondary" href={`${href}?${query}${query ? "&" : ""}bom=1`} download>
        CSV for Excel
      </a>
    </div>
  );
}

/** The alert a list shows instead of rows while its filters do not parse. */
export function FixFilters({ what }: { what: string }) {
  return (
    <div className="alert error" role="alert">
      Fix the highlighted filters to {what === "search" ? "search" : `see ${what}`}.
    </div>
  );
}

/** What a list page's loader answers about its filters: the values as typed and the errors. */
export interface FilterState {
  values: Record<string, string | undefined>;
  errors: Record<string, string | undefined>;
}

/**
 * A select filter: "" is "any" (labelled `any`), then the choices — strings are shown humanized,
 * or give `{ value, label }`. Its value and error come from the filter state by `name`.
 */
export function FilterSelect({
  name,
  label,
  any,
  choices,
  filters,
}: {
  name: string;
  label: string;
  any: string;
  choices: readonly (string | { value: string; label: string })[];
  filters: FilterState;
}) {
  return (
    <SelectField
      label={label}
      name={name}
      defaultValue={filters.values[name] ?? ""}
      error={filters.errors[name]}
      options={[
        { value: "", label: any },
        ...choices.map((c) => (typeof c === "string" ? { value: c, label: humanize(c) } : c)),
      ]}
    />
  );
}

/** A text filter whose value and error come from the filter state by `name`. */
export function FilterText({
  filters,
  ...field
}: { name: string; label: string; filters: FilterState } & Omit<
  ComponentProps<typeof TextField>,
  "defaultValue" | "error"
>) {
  return (
    <TextField
      {...field}
      defaultValue={filters.values[field.name] ?? ""}
      error={filters.errors[field.name]}
    />
  );
}

/**
 * A filtered list's body: the "fix the filters" alert while they do not parse (`page` null), the
 * empty state (its wording depends on whether filters are applied), or the page of rows.
 */
export function FilteredRows<Page extends { rows: readonly unknown[] }>({
  page,
  what,
  filtered,
  empty,
  children,
}: {
  page: Page | null;
  /** What the list holds, for the alert ("closed items"). */
  what: string;
  filtered: boolean;
  /** Title and text when nothing matches the filters, and when there is nothing at all. */
  empty: { filtered: [string, ReactNode]; none: [string, ReactNode] };
  children: (page: Page) => ReactNode;
}) {
  if (page === null) return <FixFilters what={what} />;
  if (page.rows.length === 0) {
    const [title, text] = filtered ? empty.filtered : empty.none;
    return <EmptyState title={title}>{text}</EmptyState>;
  }
  return <>{children(page)}</>;
}
