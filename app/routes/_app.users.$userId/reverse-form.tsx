import { Form } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";
import { FormError, SelectField, TextAreaField } from "~/components/field";
import { formatCredits, formatDelta } from "~/components/format";
import { useIntentForm } from "~/components/intent-form";
import type { ActionReply } from "~/shared/action-reply";
import { kindLabel } from "~/shared/labels";

export interface ReversibleEntry {
  id: string;
  seq: number;
  kind: string;
  delta: number;
  reason: string | null;
}

/**
 * Reverse a manual entry: posts a linked `reversal` entry of the opposite sign. Purchases are not
 * offered (a refund in Stripe takes their credits back). The ledger's "Reverse…" links preselect.
 */
export function ReverseForm({
  entries,
  selected,
  balance,
  reply,
}: {
  entries: readonly ReversibleEntry[];
  selected: string | null;
  balance: number;
  reply: ActionReply<string, unknown> | undefined;
}) {
  const f = useIntentForm("reverse", reply);
  const initial = f.value("entryId", selected ?? "");
  return (
    <Form
      method="post"
      className="card"
      noValidate
      aria-labelledby="reverse-heading"
      id="reverse-form"
    >
      <h3 id="reverse-heading">Reverse a manual entry</h3>
      <FormError message={f.error("form")} />
      {entries.length === 0 ? (
        <p className="muted small">
          No manual credit or debit on this ledger page can be reversed (already reversed ones are
          not offered).
        </p>
      ) : null}
      <SelectField
        idPrefix="reverse-"
        label="Entry"
        name="entryId"
        key={initial}
        defaultValue={initial}
        error={f.error("entryId")}
        options={[
          { value: "", label: "Choose an entry…" },
          ...entries.map((e) => ({
            value: e.id,
            label: `#${e.seq} ${kindLabel(e.kind)} ${formatDelta(e.delta)}${e.reason ? ` — ${e.reason.slice(0, 40)}` : ""}`,
          })),
        ]}
      />
      <TextAreaField
        idPrefix="reverse-"
        label="Reason"
        name="reason"
        rows={2}
        defaultValue={f.value("reason")}
        error={f.error("reason")}
        hint="Required, at least 10 characters; shown on the reversal entry."
        required
      />
      <ConfirmButton
        intent="reverse"
        title="Reverse this entry?"
        pending={f.pending}
        pendingLabel="Reversing…"
        describe={(form) => {
          const entry = entries.find((e) => e.id === form.get("entryId"));
          if (!entry) return <p>Choose the entry to reverse first; confirming will say so.</p>;
          return (
            <>
              <p>
                Post a reversal of entry <strong>#{entry.seq}</strong> ({kindLabel(entry.kind)}{" "}
                {formatDelta(entry.delta)}): <strong>{formatDelta(-entry.delta)}</strong> credits.
              </p>
              <p>
                Balance {formatCredits(balance)} →{" "}
                <strong>{formatCredits(balance - entry.delta)}</strong>
                {balance - entry.delta < 0 ? " (not allowed: a balance cannot go below zero)" : ""}.
                An entry can be reversed once.
              </p>
            </>
          );
        }}
      >
        Reverse…
      </ConfirmButton>
    </Form>
  );
}
