import net from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaff } from "../../app/services/auth/staff.server";
import { getDb } from "../../app/services/infra/db.server";
import { launchBrowser, login, newPage, startE2eApp, type E2eApp } from "../support/e2e-app";
import { waitFor } from "../support/processes";

/**
 * Issue 15's web items against the built server as `npm start` runs it: security headers and a
 * Content-Security-Policy the dashboard satisfies in Chromium (charts included), the request
 * guards (413 with Connection: close on a keep-alive socket, 415, 403, NUL → 400), the redirect
 * after sign-in, no-store on staff pages and exports, and TRUST_PROXY's default (off).
 */

const PASSWORD = "e2e security passphrase";
const ADMIN = "sec.admin@e2e.test";
let app: E2eApp;
let browser: Browser;

beforeAll(async () => {
  app = await startE2eApp();
  await createStaff(
    { email: ADMIN, role: "admin", name: "Sec Admin", password: PASSWORD },
    { type: "system", label: "e2e" },
  );
  // One paid purchase, so the overview's charts have a line to draw.
  const product = await app.stripe.products.create({ name: "Starter pack" });
  const price = await app.stripe.prices.create({
    product: product.id,
    unit_amount: 499,
    currency: "usd",
    metadata: { credits: "500" },
  });
  const session = await app.stripe.checkout.sessions.create({
    mode: "payment",
    line_items: [{ price: price.id, quantity: 1 }],
    customer_email: "chart.buyer@e2e-customer.test",
    success_url: "https://app.example/success",
    cancel_url: "https://app.example/cancel",
  });
  await app.emulator.control.paySession(session.id);
  await waitFor(
    "the webhook delivery",
    async () => (await getDb().webhookDelivery.count()) > 0,
    60_000,
  );
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

async function signInCookie(): Promise<string> {
  const res = await fetch(`${app.baseUrl}/login`, {
    method: "POST",
    body: new URLSearchParams({ email: ADMIN, password: PASSWORD }),
    redirect: "manual",
  });
  expect(res.status).toBe(302);
  return (res.headers.get("set-cookie") ?? "").split(";")[0];
}

/** One raw HTTP exchange on a keep-alive socket: what came back and how the socket ended. */
function rawExchange(request: Buffer | string, more: (socket: net.Socket) => void = () => {}) {
  const url = new URL(app.baseUrl);
  return new Promise<{ text: string; ending: "end" | string }>((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", (e: NodeJS.ErrnoException) =>
      resolve({ text: Buffer.concat(chunks).toString("latin1"), ending: e.code ?? e.message }),
    );
    socket.on("end", () => {
      resolve({ text: Buffer.concat(chunks).toString("latin1"), ending: "end" });
      socket.destroy();
    });
    socket.write(request);
    more(socket);
  });
}

describe("security headers", () => {
  it("every kind of response carries them; the CSP nonce is on every inline script of the page", async () => {
    const page = await fetch(`${app.baseUrl}/login`);
    const csp = page.headers.get("content-security-policy") ?? "";
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    // 128 random bits in base64 (app/http/security-headers.server.ts), not just any string.
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}={0,2}$/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'nonce-/);
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("referrer-policy")).toBe("same-origin");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    // Not production (NODE_ENV=test): no HSTS for a development host.
    expect(page.headers.get("strict-transport-security")).toBeNull();
    const html = await page.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const attrs of scripts) {
      if (/\bsrc=/.test(attrs)) continue;
      expect(attrs).toContain(`nonce="${nonce}"`);
    }
    // A new nonce for each response.
    const again = (await fetch(`${app.baseUrl}/login`)).headers.get("content-security-policy");
    expect(again).not.toBe(csp);

    for (const path of ["/healthz", "/api/v1/packs", "/build/does-not-exist.js"]) {
      const res = await fetch(`${app.baseUrl}${path}`);
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(res.headers.get("content-security-policy"), path).toContain("frame-ancestors 'none'");
    }
  });

  it("staff pages, their data requests and CSV exports are Cache-Control: no-store", async () => {
    const cookie = await signInCookie();
    for (const path of ["/", "/users", "/purchases", "/purchases/export.csv", "/users.data"]) {
      const res = await fetch(`${app.baseUrl}${path}`, { headers: { Cookie: cookie } });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("cache-control"), path).toMatch(/no-store/);
      await res.arrayBuffer();
    }
  });

  it("Chromium shows the dashboard, overview charts included, without a CSP violation", async () => {
    const { page, context, problems } = await newPage(browser);
    await context.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { __csp: string[] }).__csp = seen;
      document.addEventListener("securitypolicyviolation", (e) =>
        seen.push(`${e.violatedDirective}: ${e.blockedURI}`),
      );
    });
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await login(page, app.baseUrl, ADMIN, PASSWORD, "/");
    // The three charts are drawn by recharts after hydration (inline styles, SVG).
    await page.waitForFunction(
      () => document.querySelectorAll("svg.recharts-surface").length >= 3,
      null,
      {
        timeout: 30_000,
      },
    );
    const seen: string[] = [];
    seen.push(...(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)));
    for (const path of [
      "/users",
      "/purchases",
      "/ledger",
      "/webhooks",
      "/reconciliation",
      "/attention",
      "/audit",
      "/staff",
    ]) {
      await page.goto(`${app.baseUrl}${path}`);
      await page.getByRole("heading", { level: 1 }).first().waitFor();
      seen.push(...(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)));
    }
    // A client-side navigation (scripts running, data fetched with the nonce-less fetch API).
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Overview" })
      .click();
    await page.waitForFunction(() => document.querySelectorAll("svg.recharts-surface").length >= 3);
    seen.push(...(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)));
    expect(violations).toEqual([]);
    expect(seen).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe("request guards on dashboard routes", () => {
  it("an oversized form (Content-Length) is 413 with Connection: close, and the socket ends cleanly", async () => {
    const size = 2 * 1024 * 1024;
    const head =
      `POST /users HTTP/1.1\r\nHost: ${new URL(app.baseUrl).host}\r\n` +
      `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${size}\r\n` +
      `Connection: keep-alive\r\n\r\n`;
    const { text, ending } = await rawExchange(head, (s) => {
      s.write("a".repeat(size));
      // A second request on the same connection: the server said close, so it is not answered.
      s.write(`GET /login HTTP/1.1\r\nHost: ${new URL(app.baseUrl).host}\r\n\r\n`);
    });
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    expect(text).toContain("This form is too large: the limit is 1 MB.");
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(ending).toBe("end");
    // A new connection is served as usual.
    expect((await fetch(`${app.baseUrl}/login`)).status).toBe(200);
  });

  it("an oversized chunked form is counted as it streams: 413, Connection: close, clean end", async () => {
    const head =
      `POST /login HTTP/1.1\r\nHost: ${new URL(app.baseUrl).host}\r\n` +
      `Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n` +
      `Connection: keep-alive\r\n\r\n`;
    const chunk = `4000\r\n${"a".repeat(0x4000)}\r\n`;
    const attemptsBefore = await getDb().loginAttempt.count();
    const { text, ending } = await rawExchange(head, (s) => {
      for (let i = 0; i < 64; i++) s.write(chunk);
      s.write("0\r\n\r\n");
    });
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    // /login states its own, smaller limit.
    expect(text).toContain("the limit is 16 KB");
    expect(ending).toBe("end");
    // Refused before the sign-in action ran: no password was checked.
    expect(await getDb().loginAttempt.count()).toBe(attemptsBefore);
  });

  it("text/plain is 415, a cross-origin post 403, NUL characters 400 — never 500", async () => {
    const cookie = await signInCookie();
    const post = (path: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${app.baseUrl}${path}`, {
        method: "POST",
        body,
        redirect: "manual",
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          Cookie: cookie,
          ...headers,
        },
      });
    const plain = await post("/login", "email=a@b.c&password=x", { "Content-Type": "text/plain" });
    expect(plain.status).toBe(415);
    expect(await plain.text()).toMatch(
      /sent as application\/x-www-form-urlencoded; this request was sent as text\/plain/,
    );
    for (const origin of ["https://evil.example", "null"]) {
      const cross = await post("/staff", "intent=create&email=x@evil.example&role=admin", {
        Origin: origin,
      });
      expect(cross.status, origin).toBe(403);
      expect(await cross.text()).toMatch(/Forbidden: this form post is refused/);
    }
    expect(await getDb().staffUser.count({ where: { email: "x@evil.example" } })).toBe(0);
    // The same check passes a form from the dashboard's own origin (anonymous here: for a
    // signed-in person the sign-in page redirects).
    const same = await fetch(`${app.baseUrl}/login`, {
      method: "POST",
      body: new URLSearchParams({ email: "a", password: "x" }),
      headers: { Origin: app.baseUrl },
      redirect: "manual",
    });
    expect(same.status).toBe(400);

    const nulForm = await post("/login", "email=a%00b@example.com&password=x");
    expect(nulForm.status).toBe(400);
    expect(await nulForm.text()).toContain("the form field “email” contains a NUL character");
    for (const path of [
      "/users/%00",
      "/purchases/abc%00",
      "/users?q=%00",
      "/purchases/export.csv?user=%00",
    ]) {
      const res = await fetch(`${app.baseUrl}${path}`, { headers: { Cookie: cookie } });
      expect(res.status, path).toBe(400);
      expect(await res.text(), path).toMatch(/NUL character/);
    }
  });

  it("the redirect after sign-in never leaves the site", async () => {
    const res = await fetch(`${app.baseUrl}/login?redirectTo=%2F%09%2Fevil.example`, {
      method: "POST",
      body: new URLSearchParams({
        email: ADMIN,
        password: PASSWORD,
        redirectTo: "/\t/evil.example",
      }),
      redirect: "manual",
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/");
  });

  it("TRUST_PROXY unset: X-Forwarded-For is ignored for the throttle and the audit address", async () => {
    const res = await fetch(`${app.baseUrl}/login`, {
      method: "POST",
      body: new URLSearchParams({ email: ADMIN, password: "not the password" }),
      headers: { "X-Forwarded-For": "203.0.113.50" },
      redirect: "manual",
    });
    expect(res.status).toBe(401);
    const attempt = await getDb().loginAttempt.findFirstOrThrow({
      where: { email: ADMIN, success: false },
      orderBy: { id: "desc" },
    });
    expect(attempt.ip).not.toBe("203.0.113.50");
    expect(attempt.ip).toMatch(/127\.0\.0\.1$/);
  });
});
