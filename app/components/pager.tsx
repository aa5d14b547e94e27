import { Link, useLocation } from "@remix-run/react";

/**
 * Keyset pagination links: "Newer"/"Older" (or "Previous"/"Next") carry an opaque cursor; the
 * other query parameters (filters, sort) are kept. "First page" drops the cursor.
 */
export function Pager({
  next,
  prev,
  nextParam = "after",
  prevParam = "before",
  nextLabel = "Next page",
  prevLabel = "Previous page",
  label = "Pages",
  hash = "",
}: {
  next: string | number | null;
  prev: string | number | null;
  nextParam?: string;
  prevParam?: string;
  nextLabel?: string;
  prevLabel?: string;
  label?: string;
  hash?: string;
}) {
  const location = useLocation();
  const href = (set?: [string, string | number]) => {
    const params = new URLSearchParams(location.search);
    params.delete(nextParam);
    params.delete(prevParam);
    if (set) params.set(set[0], String(set[1]));
    const qs = params.toString();
    return `${location.pathname}${qs ? `?${qs}` : ""}${hash}`;
  };
  if (next === null && prev === null) return null;
  return (
    <nav className="pager" aria-label={label}>
      {prev !== null ? (
        <>
          <Link to={href()} prefetch="intent">
            First page
          </Link>
          <Link to={href([prevParam, prev])} rel="prev" prefetch="intent">
            ← {prevLabel}
          </Link>
        </>
      ) : null}
      {next !== null ? (
        <Link to={href([nextParam, next])} rel="next" prefetch="intent">
          {nextLabel} →
        </Link>
      ) : null}
    </nav>
  );
}
