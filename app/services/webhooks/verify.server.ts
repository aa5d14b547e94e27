import Stripe from "stripe";
import { checkSignedBody, type ParsedBody } from "./payload.server";

/** Stripe's own default: a signed request older than five minutes is a possible replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type VerifyFailure = {
  ok: false;
  signatureStatus: "missing" | "invalid" | "stale" | "valid";
  outcome: "invalid_signature" | "stale" | "malformed";
  code: string;
  message: string;
};
export type VerifyResult = { ok: true; event: Stripe.Event } | VerifyFailure;

interface ParsedHeader {
  timestamp: number | null;
  signatures: number;
}

function parseHeader(header: string): ParsedHeader {
  let timestamp: number | null = null;
  let signatures = 0;
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t" && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === "v1" && value) signatures += 1;
  }
  return { timestamp, signatures };
}

const fail = (
  signatureStatus: VerifyFailure["signatureStatus"],
  outcome: VerifyFailure["outcome"],
  code: string,
  message: string,
): VerifyFailure => ({
  ok: false,
  signatureStatus,
  outcome,
  code,
  message,
});

/**
 * Check the Stripe-Signature header against every configured secret with the SDK's
 * constructEvent. There is deliberately no way to skip this. Classifies the failure so the
 * delivery log says what went wrong: no header, unreadable header, no secret matched, a valid
 * signature on a request outside the tolerance window (replay / clock skew), or a correctly
 * signed body that is not a Stripe event the database can store (payload.server.ts).
 */
export function verifyStripeSignature(
  body: Buffer,
  header: string | null,
  secrets: readonly string[],
  nowMs = Date.now(),
): VerifyResult {
  if (!header || header.trim() === "") {
    return fail(
      "missing",
      "invalid_signature",
      "missing_signature",
      "Missing Stripe-Signature header.",
    );
  }
  const parsed = parseHeader(header);
  if (parsed.timestamp === null || parsed.signatures === 0) {
    return fail(
      "invalid",
      "invalid_signature",
      "invalid_signature",
      "Stripe-Signature header is malformed: expected t=<timestamp>,v1=<signature>.",
    );
  }
  const ageSeconds = Math.floor(nowMs / 1000) - parsed.timestamp;
  let staleMatch = false;
  for (const secret of secrets) {
    let read: ParsedBody;
    try {
      const value: unknown = Stripe.webhooks.constructEvent(
        body,
        header,
        secret,
        SIGNATURE_TOLERANCE_SECONDS,
        undefined,
        nowMs,
      );
      read = { ok: true, value };
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
        // The SDK checks the signature before the timestamp, so this message means "signed with this secret, but too old".
        if (/tolerance/i.test(error.message)) staleMatch = true;
        continue;
      }
      // The signature matched and JSON.parse failed: not JSON (SyntaxError), or nested so deep
      // that the parser ran out of stack (RangeError).
      if (!(error instanceof SyntaxError || error instanceof RangeError)) throw error;
      read = { ok: false, error };
    }
    // The SDK only rejects old timestamps; one far in the future is as suspicious.
    if (-ageSeconds > SIGNATURE_TOLERANCE_SECONDS) {
      staleMatch = true;
      continue;
    }
    const checked = checkSignedBody(body, read);
    if (!checked.ok) return fail("valid", "malformed", checked.code, checked.message);
    return checked;
  }
  if (staleMatch) {
    return fail(
      "stale",
      "stale",
      "stale_timestamp",
      `Stripe-Signature timestamp is ${Math.abs(ageSeconds)} s ${ageSeconds >= 0 ? "old" : "in the future"}; the tolerance is ${SIGNATURE_TOLERANCE_SECONDS} s.`,
    );
  }
  return fail(
    "invalid",
    "invalid_signature",
    "invalid_signature",
    `No signature in the Stripe-Signature header matches the body for any of the ${secrets.length} configured webhook secret(s).`,
  );
}
