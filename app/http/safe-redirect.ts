/**
 * Where to send someone after signing in (or changing a password): only a path on this site.
 *
 * Browsers are lenient with what follows a leading slash: `/\t/evil.example` and `/\evil.example`
 * both take them to another host, so besides "one leading slash, not `//`" this refuses
 * backslashes and any control or whitespace character, both as given and once more
 * percent-decoded (a redirect target may be encoded twice on its way through a query string).
 * A small function rather than a library: the rules fit in a dozen lines, and
 * safe-redirect.test.ts beside it pins each one.
 */
const UNSAFE_CHAR = /[\\\p{Cc}\p{Z}\s]/u;
const MAX_LENGTH = 2000;

function isSafePath(path: string): boolean {
  return path.startsWith("/") && !path.startsWith("//") && !UNSAFE_CHAR.test(path);
}

export function safeRedirect(to: unknown, fallback = "/"): string {
  if (typeof to !== "string" || to.length === 0 || to.length > MAX_LENGTH) return fallback;
  let decoded: string;
  try {
    decoded = decodeURIComponent(to);
  } catch {
    return fallback;
  }
  if (!isSafePath(to) || !isSafePath(decoded)) return fallback;
  // Belt and braces: resolved against a placeholder origin, the target must stay on it.
  const base = "http://creditdesk.invalid";
  try {
    if (new URL(to, base).origin !== base) return fallback;
  } catch {
    return fallback;
  }
  return to;
}
