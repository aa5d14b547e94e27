import { createHash, createHmac } from "node:crypto";

/** `Stripe-Signature` exactly as Stripe builds it: HMAC-SHA256 of "<t>.<body>" with the secret. */
export function signatureHeader(payload: string, secret: string, timestamp: number): string {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`).digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

/** A well-formed secret that is not the endpoint's: what a misconfigured sender would use. */
export function wrongSecretFor(secret: string): string {
  return `whsec_${createHash("sha256").update(`wrong:${secret}`).digest("base64url").slice(0, 32)}`;
}
