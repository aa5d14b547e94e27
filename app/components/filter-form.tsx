import { Form, Link, useNavigation } from "@remix-run/react";
import type { ReactNode } from "react";
import { TextField } from "./field";

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
