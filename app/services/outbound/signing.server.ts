import { createHmac, randomBytes } from "node:crypto";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, the format `standardwebhooks`
 * verifies): the signed content is `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 with
 * the secret's base64-decoded bytes, sent as `v1,<base64>`. Several valid secrets (a rotation's
 * old and new) give several signatures separated by spaces; a receiver accepts any one.
 */

const PREFIX = "whsec_";

/** A new signing secret: 32 random bytes, base64, with the whsec_ prefix. */
export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString("base64");
}

/** What pages show of a secret: never more than its last four characters. */
export function secretHint(secret: string): string {
  return `${PREFIX}…${secret.slice(-4)}`;
}

function keyBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64");
}

export function signatureFor(
  secret: string,
  msgId: string,
  timestampSeconds: number,
  body: string,
): string {
  const mac = createHmac("sha256", keyBytes(secret))
    .update(`${msgId}.${timestampSeconds}.${body}`)
    .digest("base64");
  return `v1,${mac}`;
}

export interface SignedHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

export function signedHeaders(
  secrets: readonly string[],
  msgId: string,
  timestampSeconds: number,
  body: string,
): SignedHeaders {
  return {
    "webhook-id": msgId,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": secrets
      .map((s) => signatureFor(s, msgId, timestampSeconds, body))
      .join(" "),
  };
}

/** The event id receivers deduplicate on: the same for every attempt and replay of an event. */
export function messageId(eventId: bigint | string | number): string {
  return `msg_${eventId.toString()}`;
}
