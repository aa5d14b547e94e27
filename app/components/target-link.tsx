import { Link } from "@remix-run/react";

/** Where the dashboard shows a thing an audit row (or any record) points at; null when nowhere. */
export function targetHref(type: string | null, id: string | null): string | null {
  if (!type) return null;
  const enc = id ? encodeURIComponent(id) : "";
  switch (type) {
    case "user":
      return id ? `/users/${enc}` : null;
    case "purchase":
      return id ? `/purchases/${enc}` : null;
    case "attention_item":
      return id ? `/attention/${enc}` : null;
    case "stripe_event":
      return id ? `/webhooks/events/${enc}` : null;
    case "reconciliation_run":
      return id ? `/reconciliation/${enc}` : null;
    case "staff":
      return id ? `/staff#staff-${enc}` : "/staff";
    case "api_key":
      return id ? `/api-keys#key-${enc}` : "/api-keys";
    case "adjustment_request":
      return "/approvals";
    case "credit_packs":
    case "credit_pack":
      return "/packs";
    case "purchases":
      return "/purchases";
    case "ledger":
      return "/ledger";
    default:
      return null;
  }
}

export function TargetLink({ type, id }: { type: string | null; id: string | null }) {
  if (!type) return <span className="muted">–</span>;
  const href = targetHref(type, id);
  const text = (
    <>
      {type.replace(/_/g, " ")}
      {id ? <span className="mono"> {id}</span> : null}
    </>
  );
  return href ? <Link to={href}>{text}</Link> : <span>{text}</span>;
}
