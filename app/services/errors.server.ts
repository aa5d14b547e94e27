/**
 * Domain errors carry an HTTP status, a stable code and, where one input is to blame, the field.
 * Routes and the API turn them into responses; nothing here knows about HTTP beyond the number.
 */
export class DomainError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, id: string, field?: string) {
    super(404, "not_found", `${what} ${id} was not found.`, field);
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, field?: string) {
    super(400, "invalid_request", message, field);
  }
}

export class InsufficientCreditsError extends DomainError {
  constructor(
    public readonly balance: number,
    public readonly requested: number,
  ) {
    super(
      402,
      "insufficient_credits",
      `Insufficient credits: the balance is ${balance} and ${requested} were requested.`,
      "amount",
    );
  }
}

export class IdempotencyConflictError extends DomainError {
  constructor(key: string) {
    super(
      409,
      "idempotency_conflict",
      `Idempotency key "${key}" was already used with a different request.`,
      "idempotencyKey",
    );
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, field?: string) {
    super(409, "conflict", message, field);
  }
}

/** Postgres unique violation, surfaced by Prisma as P2002 or raw as SQLSTATE 23505. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string }; message?: string } | null;
  if (!e) return false;
  if (e.code === "P2002" || e.code === "23505") return true;
  if (e.cause?.code === "23505") return true;
  return typeof e.message === "string" && /unique constraint|duplicate key value/i.test(e.message);
}
