import { useLocation } from "@remix-run/react";
import { useEffect, useState } from "react";

export interface ToastMessage {
  id: string;
  kind: "success" | "info" | "error";
  message: string;
}

const VISIBLE_MS = 8000;

/**
 * Success / info messages after an action. The live region is always in the page so screen
 * readers announce a message when it appears; the message stays 8 s or until dismissed, and only
 * on the page it was about (navigating elsewhere drops it).
 */
export function Toaster({ toast }: { toast: ToastMessage | null }) {
  const { pathname } = useLocation();
  const [shown, setShown] = useState<{ toast: ToastMessage; path: string } | null>(
    toast ? { toast, path: pathname } : null,
  );
  useEffect(() => {
    if (!toast) return;
    setShown({ toast, path: pathname });
    const timer = setTimeout(
      () => setShown((current) => (current?.toast.id === toast.id ? null : current)),
      VISIBLE_MS,
    );
    return () => clearTimeout(timer);
    // A new toast has a new id; re-running on the same id would restart the timer needlessly.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [toast?.id]);
  const visible = shown && shown.path === pathname ? shown.toast : null;
  return (
    <div className="toast-region" role="status" aria-live="polite">
      {visible ? (
        <div className={`toast ${visible.kind}`} data-testid="toast">
          <span>{visible.message}</span>
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
