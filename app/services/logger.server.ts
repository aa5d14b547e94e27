import pino from "pino";

/**
 * Structured JSON logs. Secrets never reach a log line: known secret-bearing keys are redacted
 * wherever they appear, and callers log ids and outcomes rather than payloads.
 */
export const redactedKeys = [
  "password",
  "passwordHash",
  "password_hash",
  "secret",
  "token",
  "apiKey",
  "authorization",
  "cookie",
  "stripeSecretKey",
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "SESSION_SECRET",
  "DATABASE_URL",
];

export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "silent" : "info"),
  base: { service: "creditdesk" },
  redact: {
    paths: [
      ...redactedKeys,
      ...redactedKeys.map((k) => `*.${k}`),
      'req.headers["stripe-signature"]',
    ],
    censor: "[redacted]",
  },
});

/** Remove anything that looks like a credential from a message before it is logged or shown. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]+/g, "$1_$2_[redacted]")
    .replace(/\bwhsec_[A-Za-z0-9]+/g, "whsec_[redacted]")
    .replace(/\bcdk_[A-Za-z0-9_]+/g, "cdk_[redacted]")
    .replace(/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/g, "$1[redacted]@");
}
