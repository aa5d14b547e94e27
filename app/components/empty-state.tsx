import type { ReactNode } from "react";

/** What an empty list means and what to do next, instead of a bare "no rows". */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty-state">
      <strong>{title}</strong>
      {children ? <div className="muted">{children}</div> : null}
    </div>
  );
}
