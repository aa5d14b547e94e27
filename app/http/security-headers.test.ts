import type { Server } from "node:http";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { cspNonceOf, securityHeaders } from "./security-headers.server";

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function headersFor(production: boolean) {
  const app = express();
  app.use(securityHeaders({ production }));
  app.get("/", (_req, res) => res.send(cspNonceOf(res) ?? ""));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
  return { headers: res.headers, nonce: await res.text() };
}

describe("securityHeaders", () => {
  it("HSTS only in production; the other headers always", async () => {
    const prod = await headersFor(true);
    expect(prod.headers.get("strict-transport-security")).toMatch(/^max-age=31536000\b/);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const dev = await headersFor(false);
    expect(dev.headers.get("strict-transport-security")).toBeNull();
    for (const { headers } of [prod, dev]) {
      expect(headers.get("x-content-type-options")).toBe("nosniff");
      expect(headers.get("referrer-policy")).toBe("same-origin");
      expect(headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(headers.get("content-security-policy")).not.toContain("upgrade-insecure-requests");
    }
  });

  it("the CSP's script nonce is the one the response hands to the page", async () => {
    const { headers, nonce } = await headersFor(false);
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(headers.get("content-security-policy")).toContain(`script-src 'self' 'nonce-${nonce}'`);
  });
});
