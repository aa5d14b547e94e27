import { isRouteErrorResponse, useRouteError } from "@remix-run/react";

/** Shared error boundary: says what went wrong in words a support agent can act on. */
export function RouteErrorBoundary() {
  const error = useRouteError();
  if (isRouteErrorResponse(error)) {
    const detail = typeof error.data === "string" ? error.data : error.statusText;
    const title =
      error.status === 403
        ? "You do not have access to this page"
        : error.status === 404
          ? "Not found"
          : error.status === 400
            ? "That request was not valid"
            : `Error ${error.status}`;
    return (
      <div className="alert error" role="alert">
        <strong>{title}.</strong> {detail}
      </div>
    );
  }
  return (
    <div className="alert error" role="alert">
      <strong>Something went wrong loading this page.</strong> The error was logged; try again, and
      if it persists check the server log.
    </div>
  );
}
