import { humanize } from "./format";

const tone: Record<string, "ok" | "warn" | "danger" | undefined> = {
  paid: "ok",
  accepted: "ok",
  processed: "ok",
  received: "warn",
  approved: "ok",
  completed: "ok",
  resolved: "ok",
  credited: "ok",
  partially_refunded: "warn",
  refunded: "warn",
  disputed: "warn",
  pending: "warn",
  running: "warn",
  partial: "warn",
  open: "warn",
  needs_attention: "warn",
  duplicate: undefined,
  ignored: undefined,
  dispute_lost: "danger",
  rejected: "danger",
  failed: "danger",
  invalid_signature: "danger",
  stale: "danger",
  livemode_mismatch: "danger",
};

export function StatusBadge({ status }: { status: string }) {
  const t = tone[status];
  return <span className={`badge${t ? ` ${t}` : ""}`}>{humanize(status)}</span>;
}
