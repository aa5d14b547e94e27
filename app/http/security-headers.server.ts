import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import helmet from "helmet";

/**
 * Security headers on every response, set by helmet (a maintained library, not hand-written
 * strings). The Content-Security-Policy admits scripts from this site and inline scripts that
 * carry this response's nonce — Remix's hydration and streaming scripts get it through
 * getLoadContext → app/entry.server.tsx → `<Scripts nonce>` in app/root.tsx — and nothing else.
 *
 * Styles: stylesheets and `<style>` elements only from this site, but `style` *attributes* are
 * allowed (`style-src-attr 'unsafe-inline'`). The server-rendered overview carries one on each
 * chart frame (its fixed height, app/components/charts.tsx) and recharts gives its SVG inline
 * styles; a nonce cannot be put on an attribute. The risk is small: a style attribute cannot run
 * script or select other elements (so it cannot read the page the way an injected stylesheet
 * can), and any url() in it is held to img-src/font-src 'self'. Scripts stay nonce-only.
 */

export interface NonceLocals {
  cspNonce?: string;
}

/** The nonce of this response, made by `securityHeaders` (undefined before it ran). */
export function cspNonceOf(res: ServerResponse): string | undefined {
  return ((res as ServerResponse & { locals?: NonceLocals }).locals ?? {}).cspNonce;
}

export function contentSecurityPolicyDirectives(opts: { nonce: boolean } = { nonce: true }) {
  return {
    "default-src": ["'self'"],
    "script-src": [
      "'self'",
      ...(opts.nonce
        ? [(_req: IncomingMessage, res: ServerResponse) => `'nonce-${cspNonceOf(res) ?? ""}'`]
        : []),
    ],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
  };
}

export function securityHeaders(opts: { production: boolean }): RequestHandler[] {
  return [
    (_req, res, next) => {
      (res.locals as NonceLocals).cspNonce = randomBytes(16).toString("base64");
      next();
    },
    helmetWith(opts, { nonce: true }),
  ];
}

/**
 * The same headers, computed once, for answers that are JSON and never run a script (the
 * Express-level Credits API endpoint, app/http/credits-api.server.ts): the policy's script-src
 * has no nonce — stricter, and no nonce or header text to build on every debit.
 */
export function jsonSecurityHeaders(opts: { production: boolean }): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: unknown) => (headers[name] = String(value)),
    removeHeader: (name: string) => delete headers[name],
  };
  helmetWith(opts, { nonce: false })(
    {} as Parameters<RequestHandler>[0],
    res as unknown as Parameters<RequestHandler>[1],
    () => undefined,
  );
  return headers;
}

function helmetWith(opts: { production: boolean }, csp: { nonce: boolean }): RequestHandler {
  return helmet({
    // No upgrade-insecure-requests: a local `NODE_ENV=production` start over plain http would
    // lose its scripts and styles. HSTS (production only) keeps browsers on https instead.
    contentSecurityPolicy: { useDefaults: false, directives: contentSecurityPolicyDirectives(csp) },
    referrerPolicy: { policy: "same-origin" },
    // Only a production deployment is behind TLS (docs/deploy.md); a development browser that
    // saw HSTS for localhost would refuse plain http there for a year.
    strictTransportSecurity: opts.production ? { maxAge: 31_536_000 } : false,
    xFrameOptions: { action: "deny" },
  });
}
