import type { AppLoadContext } from "@remix-run/node";

declare module "@remix-run/node" {
  interface AppLoadContext {
    /** Client address as seen by the server (honours X-Forwarded-For only behind a trusted proxy). */
    ip?: string;
  }
}

export function clientIp(context: AppLoadContext | undefined): string {
  return context?.ip || "unknown";
}
