import { useEffect, useId, useRef, useState, type ReactNode } from "react";

/**
 * A submit that asks first. The button opens a modal <dialog> (focus is kept inside, Esc cancels)
 * describing what will happen with the values currently in the form; "Confirm" submits the form
 * with this button's intent. Place it inside the <Form> it submits.
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
  const [description, setDescription] = useState<ReactNode>(null);
  const titleId = useId();

  useEffect(() => {
    if (pending) dialogRef.current?.close();
  }, [pending]);

  function open() {
    const form = triggerRef.current?.form;
    if (!form) return;
    setDescription(describe(new FormData(form)));
    dialogRef.current?.showModal();
  }

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
      <dialog ref={dialogRef} className="confirm-dialog" aria-labelledby={titleId}>
        <h2 id={titleId}>{title}</h2>
        <div className="confirm-body">{description}</div>
        <div className="confirm-actions">
          <button type="button" className="secondary" onClick={() => dialogRef.current?.close()}>
            Cancel
          </button>
          <button
            type="submit"
            name="intent"
            value={intent}
            className={danger ? "danger" : undefined}
          >
            {confirmLabel}
          </button>
        </div>
      </dialog>
    </>
  );
}
