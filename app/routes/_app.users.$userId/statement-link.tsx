import { Link } from "@remix-run/react";

/** The way from the user page to the user's statement for a period (and its CSV). */
export function StatementLink({ userId }: { userId: string }) {
  return (
    <p>
      <Link to={`/users/${encodeURIComponent(userId)}/statement`} data-testid="statement-link">
        Statement for a period (opening and closing balance, CSV) →
      </Link>
    </p>
  );
}
