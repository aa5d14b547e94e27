import { Link } from "@remix-run/react";
import type { DoctorEndpoint, DoctorFinding } from "~/shared/webhook-doctor";
import { Time } from "./time";

export interface DoctorViewProps {
  expectedUrl: string;
  listenCommand: string;
  handledTypes: readonly string[];
  checkedAt: string | Date | null;
  source: "live" | "last_run" | "none";
  endpoints: DoctorEndpoint[];
  findings: DoctorFinding[];
  error: string | null;
}

const severityLabel = { info: "Note", warning: "Check", error: "Fix" } as const;
const severityTone = { info: "", warning: "warn", error: "danger" } as const;

/** The webhook doctor's findings, each with what to change, plus the local-development command. */
export function WebhookDoctorPanel({ doctor }: { doctor: DoctorViewProps }) {
  const problems = doctor.findings.filter((f) => f.severity !== "info");
  return (
    <section className="card doctor" aria-labelledby="doctor-heading" data-testid="webhook-doctor">
      <h2 id="doctor-heading">Webhook checks</h2>
      <p className="muted small">
        {doctor.source === "live" ? (
          <>
            Checked against Stripe just now (<Time value={doctor.checkedAt} />
            ).
          </>
        ) : doctor.source === "last_run" ? (
          <>
            From the last reconciliation run (<Time value={doctor.checkedAt} />
            ).
          </>
        ) : (
          "Stripe's endpoint configuration has not been checked yet."
        )}{" "}
        <Link to="?doctor=now" preventScrollReset>
          Check Stripe now
        </Link>
      </p>
      {doctor.error ? (
        <div className="alert error" role="alert">
          The check could not reach Stripe: {doctor.error}
        </div>
      ) : null}
      {doctor.findings.length > 0 ? (
        <ul className="findings">
          {doctor.findings.map((f, i) => (
            <li key={i} className={`finding ${f.severity}`}>
              <span className={`badge ${severityTone[f.severity]}`}>
                {severityLabel[f.severity]}
              </span>{" "}
              <strong>{f.title}</strong>
              {f.detail ? <div>{f.detail}</div> : null}
              {f.fix ? <div className="finding-fix">{f.fix}</div> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {problems.length === 0 && !doctor.error && doctor.source !== "none" ? (
        <p>No problems found.</p>
      ) : null}
      {doctor.endpoints.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption>Webhook endpoints in Stripe</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">URL</th>
                <th scope="col">Status</th>
                <th scope="col">Events</th>
              </tr>
            </thead>
            <tbody>
              {doctor.endpoints.map((e) => (
                <tr key={e.id}>
                  <td className="mono">{e.id}</td>
                  <td className="mono wrap">
                    {e.url}{" "}
                    {e.matchesAppUrl ? (
                      <span className="badge ok">this app</span>
                    ) : (
                      <span className="badge">elsewhere</span>
                    )}
                  </td>
                  <td>{e.status}</td>
                  <td className="mono wrap">
                    {e.enabledEvents.includes("*") ? "all events (*)" : e.enabledEvents.join(", ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <details>
        <summary>What Stripe must be set up with</summary>
        <dl className="facts">
          <dt>Endpoint URL</dt>
          <dd className="mono">{doctor.expectedUrl}</dd>
          <dt>Events to enable</dt>
          <dd className="mono">{doctor.handledTypes.join(", ")}</dd>
          <dt>Signing secret</dt>
          <dd>
            Put the endpoint&apos;s signing secret (<span className="mono">whsec_…</span>) in{" "}
            <span className="mono">STRIPE_WEBHOOK_SECRET</span>. To rotate it without losing events,
            list the old and the new secret comma-separated, roll the secret in Stripe, then remove
            the old one once deliveries verify with the new one.
          </dd>
          <dt>Local development</dt>
          <dd>
            <code className="copyable">{doctor.listenCommand}</code>
            <div className="muted small">
              The CLI prints its own signing secret; add it to{" "}
              <span className="mono">STRIPE_WEBHOOK_SECRET</span> (comma-separated with any other).
            </div>
          </dd>
        </dl>
      </details>
    </section>
  );
}
