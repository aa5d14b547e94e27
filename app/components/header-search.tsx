import { Form, useLocation } from "@remix-run/react";
import { useEffect, useRef } from "react";
import { SEARCH_HINT } from "~/shared/search";

/**
 * The header's global search (GET /search?q=…). "/" anywhere on the page (outside a field)
 * focuses it, as on GitHub or Stripe's dashboard.
 */
export function HeaderSearch() {
  const input = useRef<HTMLInputElement>(null);
  const location = useLocation();
  const current =
    location.pathname === "/search" ? new URLSearchParams(location.search).get("q") : null;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target as HTMLElement | null;
      if (
        target &&
        (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))
      ) {
        return;
      }
      if (document.querySelector("dialog[open]")) return;
      event.preventDefault();
      input.current?.focus();
      input.current?.select();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
  return (
    <Form method="get" action="/search" role="search" className="header-search">
      <input
        ref={input}
        type="search"
        name="q"
        key={current ?? ""}
        defaultValue={current ?? ""}
        placeholder="Search users, payments, ids…  ( / )"
        aria-label="Search users, payments and Stripe ids"
        title={SEARCH_HINT}
        aria-keyshortcuts="/"
        autoComplete="off"
        maxLength={200}
      />
      <button type="submit" className="secondary">
        Search
      </button>
    </Form>
  );
}
