import type {
  InputHTMLAttributes,
  ReactNode,
  SelectHTMLAttributes,
  TextareaHTMLAttributes,
} from "react";

interface FieldShell {
  label: string;
  name: string;
  /** Prefix for the element id when the same field name appears in several forms on a page. */
  idPrefix?: string;
  error?: string;
  hint?: ReactNode;
  className?: string;
}

function ids(p: FieldShell) {
  const id = `${p.idPrefix ?? ""}${p.name}`;
  const describedBy = [p.error ? `${id}-error` : null, p.hint ? `${id}-hint` : null]
    .filter(Boolean)
    .join(" ");
  return { id, describedBy: describedBy || undefined };
}

function Shell({ p, id, children }: { p: FieldShell; id: string; children: ReactNode }) {
  return (
    <div className={`field ${p.className ?? ""}`}>
      <label htmlFor={id}>{p.label}</label>
      {children}
      {p.hint ? (
        <div id={`${id}-hint`} className="field-hint">
          {p.hint}
        </div>
      ) : null}
      {p.error ? (
        <div id={`${id}-error`} className="field-error" role="alert">
          {p.error}
        </div>
      ) : null}
    </div>
  );
}

/** A labelled input with its hint and error beside it, wired up with aria attributes. */
export function TextField(
  props: FieldShell & Omit<InputHTMLAttributes<HTMLInputElement>, "name" | "id">,
) {
  const { label: _l, name, idPrefix: _p, error, hint: _h, className: _c, ...input } = props;
  const { id, describedBy } = ids(props);
  return (
    <Shell p={props} id={id}>
      <input
        id={id}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        {...input}
      />
    </Shell>
  );
}

export function TextAreaField(
  props: FieldShell & Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, "name" | "id">,
) {
  const { label: _l, name, idPrefix: _p, error, hint: _h, className: _c, ...input } = props;
  const { id, describedBy } = ids(props);
  return (
    <Shell p={props} id={id}>
      <textarea
        id={id}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        {...input}
      />
    </Shell>
  );
}

export function SelectField(
  props: FieldShell &
    Omit<SelectHTMLAttributes<HTMLSelectElement>, "name" | "id"> & {
      options: { value: string; label: string }[];
    },
) {
  const {
    label: _l,
    name,
    idPrefix: _p,
    error,
    hint: _h,
    className: _c,
    options,
    ...select
  } = props;
  const { id, describedBy } = ids(props);
  return (
    <Shell p={props} id={id}>
      <select
        id={id}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        {...select}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Shell>
  );
}

export function FormError({ message }: { message?: string }) {
  if (!message) return null;
  return (
    <div className="alert error" role="alert">
      {message}
    </div>
  );
}
