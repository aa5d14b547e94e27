import { Form } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { DataTable } from "~/components/data-table";
import { TextField } from "~/components/field";
import { Time } from "~/components/time";
import type { KeyView } from "./route";

/** The keys, active first; a key not yet revoked has its revoke form in the row. */
export function KeysTable({
  keys,
  revoking,
}: {
  keys: readonly KeyView[];
  /** The id of the key being revoked right now, if any. */
  revoking: string | null;
}) {
  return (
    <DataTable
      rows={keys}
      rowKey={(k) => k.id}
      rowId={(k) => `key-${k.id}`}
      rowProps={(k) => ({
        "data-testid": "api-key-row",
        "data-name": k.name,
        className: k.status !== "active" ? "inactive" : undefined,
      })}
      caption="API keys, active first"
      columns={[
        { header: "Name", cell: (k) => k.name },
        { header: "Key starts with", className: "mono", cell: (k) => `${k.prefix}…` },
        {
          header: "Scopes",
          cell: (k) =>
            k.scopes.length > 0 ? (
              k.scopes.map((scope) => (
                <div key={scope} className="mono small">
                  {scope}
                </div>
              ))
            ) : (
              <span className="muted">none</span>
            ),
        },
        {
          header: "Rate limit",
          className: "small",
          cell: (k) => (
            <>
              {k.rateLimit.perSecond}/s, burst {k.rateLimit.burst}
              {k.customRateLimit ? null : <div className="muted">default</div>}
            </>
          ),
        },
        {
          header: "Created",
          cell: (k) => (
            <>
              <Time value={k.createdAt} />
              {k.createdBy ? <div className="muted small">by {k.createdBy.email}</div> : null}
            </>
          ),
        },
        {
          header: "Last used",
          cell: (k) =>
            k.lastUsedAt ? <Time value={k.lastUsedAt} /> : <span className="muted">never</span>,
        },
        { header: "Status", cell: (k) => <KeyStatus k={k} /> },
        {
          header: "Actions",
          cell: (k) => (k.revokedAt ? null : <RevokeForm k={k} pending={revoking === k.id} />),
        },
      ]}
    />
  );
}

function KeyStatus({ k }: { k: KeyView }) {
  if (k.revokedAt) {
    return (
      <>
        <span className="badge danger">Revoked</span> <Time value={k.revokedAt} />
      </>
    );
  }
  if (k.status === "expired" && k.expiresAt) {
    return (
      <>
        <span className="badge warn">Expired</span> <Time value={k.expiresAt} />
      </>
    );
  }
  return (
    <>
      <span className="badge ok">Active</span>
      {k.expiresAt ? (
        <div className="muted small">
          until <Time value={k.expiresAt} />
        </div>
      ) : null}
    </>
  );
}

function RevokeForm({ k, pending }: { k: KeyView; pending: boolean }) {
  return (
    <Form method="post" className="revoke-form">
      <input type="hidden" name="keyId" value={k.id} />
      <TextField
        label="Reason (optional)"
        name="reason"
        idPrefix={`revoke-${k.id}-`}
        maxLength={500}
      />
      <ConfirmButton
        intent="revoke"
        title={`Revoke ${k.name}?`}
        confirmLabel="Revoke key"
        danger
        pending={pending}
        pendingLabel="Revoking…"
        describe={() => (
          <p>
            Every request with <span className="mono">{k.prefix}…</span> is refused (403) from now
            on. The main app stops working until it has a new key.
          </p>
        )}
      >
        Revoke
      </ConfirmButton>
    </Form>
  );
}
