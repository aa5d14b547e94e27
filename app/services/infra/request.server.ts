import type { AppLoadContext } from "@remix-run/node";

declare module "@remix-run/node" {
  interface AppLoadContext {
    /**
     * Client address as seen by the server: the connection's peer, or the X-Forwarded-For entry
     * chosen by TRUST_PROXY when the server is behind trusted proxies (server.ts).
     */
    ip?: string;
    /** This response's Content-Security-Policy nonce, for inline scripts (app/entry.server.tsx). */
    cspNonce?: string;
  }
}

export function clientIp(context: AppLoadContext | undefined): string {
  return context?.ip || "unknown";
}
