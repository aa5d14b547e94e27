import { useEffect, useState } from "react";

export interface ToastMessage {
  id: string;
  kind: "success" | "info" | "error";
  message: string;
}

const VISIBLE_MS = 8000;

/**
 * Success / info messages after an action. The live region is always in the page so screen
 * readers announce a message when it appears; the message stays 8 s or until dismissed.
 */
export function Toaster({ toast }: { toast: ToastMessage | null }) {
  const [shown, setShown] = useState<ToastMessage | null>(toast);
  useEffect(() => {
    if (!toast) return;
    setShown(toast);
    const timer = setTimeout(
      () => setShown((current) => (current?.id === toast.id ? null : current)),
      VISIBLE_MS,
    );
    return () => clearTimeout(timer);
    // A new toast has a new id; re-running on the same id would restart the timer needlessly.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [toast?.id]);
  return (
    <div className="toast-region" role="status" aria-live="polite">
      {shown ? (
        <div className={`toast ${shown.kind}`} data-testid="toast">
          <span>{shown.message}</span>
          <button
            type="button"
            className="toast-close"
            aria-label="Dismiss message"
            onClick={() => setShown(null)}
          >
            ×
          </button>
        </div>
      ) : null}
    </div>
  );
}
