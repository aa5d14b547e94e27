import { Form, useNavigation } from "@remix-run/react";
import { ConfirmButton } from "~/components/confirm-button";

/** The actions cell of one account: enable a disabled one, or reset / disable an active one. */
export function StaffRowActions({
  staff,
  isMe,
}: {
  staff: { id: string; email: string; disabledAt: string | Date | null };
  isMe: boolean;
}) {
  const navigation = useNavigation();
  const busy = (intent: string) =>
    navigation.state === "submitting" &&
    navigation.formData?.get("intent") === intent &&
    navigation.formData?.get("staffId") === staff.id;
  if (isMe) return <a href="/account/password">Change your password</a>;
  if (staff.disabledAt)
    return (
      <Form method="post">
        <input type="hidden" name="staffId" value={staff.id} />
        <button
          type="submit"
          name="intent"
          value="enable"
          className="secondary"
          disabled={busy("enable")}
        >
          {busy("enable") ? "Enabling…" : "Enable"}
        </button>
      </Form>
    );
  return (
    <div className="row-actions">
      <Form method="post">
        <input type="hidden" name="staffId" value={staff.id} />
        <ConfirmButton
          intent="reset"
          title={`Reset the password of ${staff.email}?`}
          confirmLabel="Reset password"
          className="secondary"
          pending={busy("reset")}
          pendingLabel="Resetting…"
          describe={() => (
            <p>
              A new password is generated and shown once. Their sessions end now and they must
              choose a new password at next sign-in.
            </p>
          )}
        >
          Reset password
        </ConfirmButton>
      </Form>
      <Form method="post">
        <input type="hidden" name="staffId" value={staff.id} />
        <ConfirmButton
          intent="disable"
          title={`Disable ${staff.email}?`}
          confirmLabel="Disable account"
          danger
          pending={busy("disable")}
          pendingLabel="Disabling…"
          describe={() => (
            <p>
              They are signed out at once (every session ends) and cannot sign in until an admin
              enables the account again.
            </p>
          )}
        >
          Disable
        </ConfirmButton>
      </Form>
    </div>
  );
}
