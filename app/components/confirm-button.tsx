import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useId,
  useRef,
  useState,
  type ReactNode,
} from "react";

/**
 * Lets what the dialog shows hold "Confirm" back until it is ready (a preview still asking Stripe,
 * or one that found nothing to confirm). Outside a ConfirmButton it does nothing.
 */
const ConfirmGate = createContext<(blocked: boolean) => void>(() => {});

/** Hold the dialog's "Confirm" while `blocked` is true. */
export function useConfirmGate(blocked: boolean) {
  const setBlocked = useContext(ConfirmGate);
  useEffect(() => {
    setBlocked(blocked);
    return () => setBlocked(false);
  }, [blocked, setBlocked]);
}

/**
 * A submit that asks first. The button opens a modal <dialog> (focus is kept inside, Esc cancels)
 * describing what will happen with the values currently in the form; "Confirm" submits the form
 * with this button's intent. Place it inside the <Form> it submits.
 *
 * Enter in a field submits a form "implicitly" by pressing its first submit button, and in these
 * forms that is the dialog's own Confirm, present even while the dialog is closed. So the form's
 * submit event is checked here: a submission by this Confirm while its dialog is closed (Enter,
 * or a script) is stopped and opens the dialog instead. Every guarded form gets this by using
 * ConfirmButton; none can be submitted without its dialog.
 */
export function ConfirmButton({
  children,
  title,
  describe,
  intent,
  confirmLabel = "Confirm",
  pending = false,
  pendingLabel = "Working…",
  danger = false,
  className,
}: {
  children: ReactNode;
  title: string;
  /** What will happen, computed from the form's current values when the dialog opens. */
  describe: (form: FormData) => ReactNode;
  intent: string;
  confirmLabel?: string;
  pending?: boolean;
  pendingLabel?: string;
  danger?: boolean;
  className?: string;
}) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const triggerRef = useRef<HTMLButtonElement>(null);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const [description, setDescription] = useState<ReactNode>(null);
  const [blocked, setBlocked] = useState(false);
  const titleId = useId();
  const describeRef = useRef(describe);
  describeRef.current = describe;

  useEffect(() => {
    if (pending) dialogRef.current?.close();
  }, [pending]);

  const open = useCallback(() => {
    const form = triggerRef.current?.form;
    if (!form || !dialogRef.current) return;
    setDescription(describeRef.current(new FormData(form)));
    if (!dialogRef.current.open) dialogRef.current.showModal();
  }, []);

  useEffect(() => {
    const form = triggerRef.current?.form;
    if (!form) return;
    const onSubmit = (event: SubmitEvent) => {
      const submitter = event.submitter;
      // Another button's submission (e.g. a second ConfirmButton in the same form) is its own.
      if (submitter !== null && submitter !== confirmRef.current) return;
      // Confirmed in the open dialog: let it through.
      if (submitter === confirmRef.current && dialogRef.current?.open) return;
      // A native listener on the form runs before React's (delegated at the root), so Remix's
      // <Form> sees defaultPrevented and does not submit.
      event.preventDefault();
      event.stopImmediatePropagation();
      open();
    };
    form.addEventListener("submit", onSubmit);
    return () => form.removeEventListener("submit", onSubmit);
  }, [open]);

  return (
    <>
      <button
        ref={triggerRef}
        type="button"
        onClick={open}
        disabled={pending}
        className={className}
      >
        {pending ? pendingLabel : children}
      </button>
      <dialog
        ref={dialogRef}
        className="confirm-dialog"
        aria-labelledby={titleId}
        onClose={() => setDescription(null)}
      >
        <h2 id={titleId}>{title}</h2>
        <ConfirmGate.Provider value={setBlocked}>
          <div className="confirm-body">{description}</div>
        </ConfirmGate.Provider>
        <div className="confirm-actions">
          <button type="button" className="secondary" onClick={() => dialogRef.current?.close()}>
            Cancel
          </button>
          <button
            ref={confirmRef}
            type="submit"
            name="intent"
            value={intent}
            disabled={blocked}
            className={danger ? "danger" : undefined}
          >
            {confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}
