import { DataTable } from "~/components/data-table";
import { humanize } from "~/components/format";
import { StatusBadge } from "~/components/status-badge";
import { Time } from "~/components/time";
import { StaffRowActions } from "./staff-row-actions";

interface StaffRow {
  id: string;
  email: string;
  name: string | null;
  role: string;
  disabledAt: string | Date | null;
  mustChangePassword: boolean;
  lastLoginAt: string | Date | null;
  sessions: number;
}

/** Staff accounts, active first, each with what an admin may do to it. */
export function StaffTable({ staff, me }: { staff: readonly StaffRow[]; me: string }) {
  return (
    <DataTable
      rows={staff}
      rowKey={(s) => s.id}
      rowId={(s) => `staff-${s.id}`}
      caption="Staff accounts"
      rowProps={(s) => ({
        "data-testid": "staff-row",
        "data-email": s.email,
        className: s.disabledAt ? "inactive" : undefined,
      })}
      columns={[
        {
          header: "Staff member",
          cell: (s) => (
            <>
              {s.email}
              {s.name ? <div className="muted small">{s.name}</div> : null}
              {s.id === me ? <div className="muted small">(you)</div> : null}
            </>
          ),
        },
        { header: "Role", cell: (s) => humanize(s.role) },
        {
          header: "Status",
          cell: (s) => (
            <>
              {s.disabledAt ? (
                <>
                  <StatusBadge status="disabled" /> <Time value={s.disabledAt} />
                </>
              ) : (
                <>
                  <span className="badge ok">Active</span>{" "}
                  {s.sessions > 0 ? (
                    <span className="muted small">{s.sessions} session(s)</span>
                  ) : null}
                </>
              )}
              {s.mustChangePassword && !s.disabledAt ? (
                <div className="muted small">Must set a new password</div>
              ) : null}
            </>
          ),
        },
        { header: "Last sign-in", cell: (s) => <Time value={s.lastLoginAt} /> },
        { header: "Actions", cell: (s) => <StaffRowActions staff={s} isMe={s.id === me} /> },
      ]}
    />
  );
}
