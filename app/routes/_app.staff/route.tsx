import type { HeadersFunction, MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import { FormError } from "~/components/field";
import { intent, staffAction, staffLoader, type IntentOk } from "~/lib/route-builders";
import { presentStaff } from "~/presenters/staff.server";
import {
  createStaffMember,
  disableStaffMember,
  enableStaffMember,
  resetStaffPassword,
  type CreatedStaff,
} from "~/services/admin/staff-admin.server";
import { OPS_ACCESS } from "~/shared/ops-permissions";
import { createStaffSchema, disableStaffSchema, staffTargetSchema } from "~/shared/schemas/staff";
import { CreateStaffForm } from "./create-staff-form";
import { SecretOnce, type OneTimeSecret } from "./secret-once";
import { StaffTable } from "./staff-table";

export const meta: MetaFunction = () => [{ title: "Staff · creditdesk" }];

// A response may carry a password shown once: never store it in any cache.
const noStore = { "Cache-Control": "no-store" };
export const headers: HeadersFunction = () => noStore;

export const loader = staffLoader({ roles: OPS_ACCESS.staff }, async ({ staff }) =>
  presentStaff(staff.id),
);

type Shown = IntentOk<{ secret: OneTimeSecret }>;
// Errors about the account acted on belong to the form: the row's own form has no staffId field.
const fieldMap = { staffId: "form" };

export const action = staffAction({
  roles: OPS_ACCESS.staff,
  headers: noStore,
  // Never echo a typed password back into the page.
  omitValues: ["password"],
  notFound: "form",
  intents: {
    create: intent({
      schema: createStaffSchema,
      run: (input, { actor }) => createStaffMember(input, actor),
      ok: (created: CreatedStaff): Shown => {
        const toast = `Created ${created.role} ${created.email}.`;
        if (!created.generatedPassword) return { toast };
        const secret = { email: created.email, password: created.generatedPassword };
        return { outcome: { secret: { ...secret, reason: "created" } }, toast };
      },
      fieldMap,
    }),
    disable: intent({
      schema: disableStaffSchema,
      run: (input, { actor }) => disableStaffMember(input, actor),
      ok: (r) => ({ toast: `Disabled ${r.email}; their sessions have ended.` }),
      fieldMap,
    }),
    enable: intent({
      schema: staffTargetSchema,
      run: (input, { actor }) => enableStaffMember(input, actor),
      ok: (r) => ({ toast: `Enabled ${r.email}. They can sign in again.` }),
      fieldMap,
    }),
    reset: intent({
      schema: staffTargetSchema,
      run: (input, { actor }) => resetStaffPassword(input, actor),
      ok: (r): Shown => ({
        outcome: { secret: { email: r.email, password: r.password, reason: "reset" } },
        toast: `New password set for ${r.email}; their sessions have ended.`,
      }),
      fieldMap,
    }),
  },
});

export default function StaffPage() {
  const { staff, more, me, roles } = useLoaderData<typeof loader>();
  const reply = useActionData<typeof action>();
  return (
    <>
      <h1>Staff</h1>
      {reply?.outcome ? <SecretOnce secret={reply.outcome.secret} /> : null}
      <CreateStaffForm roles={roles} reply={reply} />

      <h2>Accounts</h2>
      {reply && reply.intent !== "create" && reply.fieldErrors.form ? (
        <FormError message={reply.fieldErrors.form} />
      ) : null}
      <StaffTable staff={staff} me={me} />
      {more > 0 ? <p className="muted small">{more} more accounts are not shown.</p> : null}
    </>
  );
}

export { RouteErrorBoundary as ErrorBoundary } from "~/components/route-error-boundary";
