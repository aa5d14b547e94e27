export type StripeErrorType =
  "invalid_request_error" | "api_error" | "card_error" | "idempotency_error";

export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  doc_url?: string;
  decline_code?: string;
}

/** Thrown anywhere in request handling; the server turns it into Stripe's `{ error: … }` body. */
export class StripeApiError extends Error {
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    headers: Record<string, string> = {},
  ) {
    super(body.message);
    this.headers = headers;
  }

  toJSON(): { error: StripeErrorBody } {
    return { error: this.body };
  }
}

function withDocs(body: StripeErrorBody): StripeErrorBody {
  return body.code
    ? { ...body, doc_url: `https://stripe.com/docs/error-codes/${body.code.replace(/_/g, "-")}` }
    : body;
}

export function invalidRequest(message: string, param?: string, code?: string): StripeApiError {
  return new StripeApiError(
    400,
    withDocs({
      type: "invalid_request_error",
      message,
      ...(code && { code }),
      ...(param && { param }),
    }),
  );
}

/**
 * `No such …`: 404 for the object the URL names (`param: "id"`); 400 with `param` set when the
 * unknown id was passed as a parameter (a price in `line_items`, a cursor), as Stripe answers.
 */
export function resourceMissing(label: string, id: string, param?: string): StripeApiError {
  return new StripeApiError(
    param === undefined ? 404 : 400,
    withDocs({
      type: "invalid_request_error",
      code: "resource_missing",
      message: `No such ${label}: '${id}'`,
      param: param ?? "id",
    }),
  );
}

export function parameterMissing(param: string): StripeApiError {
  return invalidRequest(`Missing required param: ${param}.`, param, "parameter_missing");
}

export function parameterUnknown(param: string): StripeApiError {
  return invalidRequest(`Received unknown parameter: ${param}`, param, "parameter_unknown");
}

export function authenticationError(message: string): StripeApiError {
  return new StripeApiError(401, { type: "invalid_request_error", message });
}
