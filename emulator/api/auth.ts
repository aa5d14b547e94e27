import type { Mode } from "../ids";
import { authenticationError } from "./stripe-error";

const NO_KEY =
  "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";

const SECRET_KEY = /^(sk|rk)_(test|live)_[A-Za-z0-9_]+$/;

function redact(key: string): string {
  if (key.length <= 12) return "*".repeat(key.length);
  return `${key.slice(0, 8)}${"*".repeat(key.length - 12)}${key.slice(-4)}`;
}

/** Any well-formed secret or restricted key is accepted; its mode decides test or live data. */
export function authenticate(authorization: string | undefined): Mode {
  if (!authorization) throw authenticationError(NO_KEY);
  let key: string;
  if (/^bearer\s/i.test(authorization)) {
    key = authorization.slice(authorization.indexOf(" ") + 1).trim();
  } else if (/^basic\s/i.test(authorization)) {
    key = Buffer.from(authorization.slice(6).trim(), "base64").toString("utf8").split(":")[0];
  } else {
    throw authenticationError(`Invalid API Key provided: ${redact(authorization)}`);
  }
  if (!key) throw authenticationError(NO_KEY);
  if (/^pk_(test|live)_/.test(key)) {
    throw authenticationError(
      "This API call cannot be made with a publishable API key. Please use a secret API key.",
    );
  }
  const match = SECRET_KEY.exec(key);
  if (!match) throw authenticationError(`Invalid API Key provided: ${redact(key)}`);
  return match[2] as Mode;
}
