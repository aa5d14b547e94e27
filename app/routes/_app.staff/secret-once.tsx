export interface OneTimeSecret {
  email: string;
  password: string;
  reason: "created" | "reset";
}

/** The password made for a new account or by a reset, shown in this response only. */
export function SecretOnce({ secret }: { secret: OneTimeSecret }) {
  return (
    <div className="alert success secret-once" role="alert" data-testid="secret-once">
      <p>
        {secret.reason === "created" ? "Account created for" : "New password for"}{" "}
        <strong>{secret.email}</strong>. Give them this password through a safe channel; it is shown
        only now and must be changed at their next sign-in:
      </p>
      <code className="secret" data-testid="one-time-password">
        {secret.password}
      </code>
    </div>
  );
}
