import { Time } from "./time";

/** An outbound endpoint's state: enabled, or disabled with the reason and when. */
export function EndpointStatus({
  e,
}: {
  e: { enabled: boolean; disabledReason: string | null; disabledAt: string | null };
}) {
  if (e.enabled) return <span className="badge ok">Enabled</span>;
  return (
    <>
      <span className="badge danger">Disabled</span>
      {e.disabledReason ? <div className="muted small">{e.disabledReason}</div> : null}
      {e.disabledAt ? (
        <div className="muted small">
          <Time value={e.disabledAt} />
        </div>
      ) : null}
    </>
  );
}
