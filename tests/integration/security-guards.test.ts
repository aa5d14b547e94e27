import type { Server } from "node:http";
import net from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_FORM_BODY_LIMIT,
  dashboardGuards,
  formBodyLimit,
  type FormBodyLocals,
} from "../../app/http/dashboard-guards.server";

/**
 * Issue 15, items 2, 6 and 8: the checks server.ts puts in front of every dashboard route, here
 * in front of a handler that reports what reached it (the body the guard read and handed on).
 * The whole server is exercised in tests/e2e/security.test.ts; this covers each rule.
 */
let server: Server;
let base: string;
const reached: string[] = [];

beforeAll(async () => {
  const app = express();
  app.use(dashboardGuards());
  app.all("*", (req, res) => {
    reached.push(`${req.method} ${req.originalUrl}`);
    const body = (res.locals as FormBodyLocals).formBody;
    res.json({ body: body ? body.toString("utf8") : null });
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

async function post(
  path: string,
  body: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = FORM,
) {
  const res = await fetch(`${base}${path}`, { method: "POST", body, headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe("dashboard request guards", () => {
  it("a same-site form within its limit reaches the route with its body intact", async () => {
    const r = await post("/users/usr_1", "intent=adjust&amount=5&reason=caf%C3%A9", {
      ...FORM,
      Origin: base,
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).body).toBe("intent=adjust&amount=5&reason=caf%C3%A9");
  });

  it("each route's limit is stated: 16 KB for the sign-in pages, 1 MB for the rest", () => {
    expect(formBodyLimit("/login")).toBe(16 * 1024);
    expect(formBodyLimit("/login.data")).toBe(16 * 1024);
    expect(formBodyLimit("/account/password")).toBe(16 * 1024);
    expect(formBodyLimit("/users/usr_1")).toBe(DEFAULT_FORM_BODY_LIMIT);
    expect(formBodyLimit("/_root.data")).toBe(DEFAULT_FORM_BODY_LIMIT);
    expect(DEFAULT_FORM_BODY_LIMIT).toBe(1024 * 1024);
  });

  it("a body over the limit is 413 with Connection: close and never reaches the route", async () => {
    const before = reached.length;
    const exactly = await post("/login", `a=${"x".repeat(16 * 1024 - 2)}`);
    expect(exactly.status).toBe(200);
    const over = await post("/login", `a=${"x".repeat(16 * 1024 - 1)}`);
    expect(over.status).toBe(413);
    expect(over.text).toBe("This form is too large: the limit is 16 KB.\n");
    expect(over.headers.get("connection")).toBe("close");
    const big = await post("/users", new Uint8Array(DEFAULT_FORM_BODY_LIMIT + 1).fill(97));
    expect(big.status).toBe(413);
    expect(big.text).toContain("the limit is 1 MB");
    expect(reached.length - before).toBe(1);
  });

  it("a chunked body (no Content-Length) is counted as it arrives", async () => {
    const url = new URL(base);
    const { text, ending } = await new Promise<{ text: string; ending: string }>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname);
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString("latin1")));
      socket.on("error", (e: NodeJS.ErrnoException) =>
        resolve({ text, ending: e.code ?? "error" }),
      );
      socket.on("end", () => {
        resolve({ text, ending: "end" });
        socket.destroy();
      });
      socket.write(
        `POST /account/password HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n`,
      );
      for (let i = 0; i < 8; i++) socket.write(`1000\r\n${"b".repeat(0x1000)}\r\n`);
      socket.write("0\r\n\r\n");
    });
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    expect(text).not.toContain('"body"');
    expect(ending).toBe("end");
  });

  it("posts that are not urlencoded forms are 415 naming the type", async () => {
    const plain = await post("/users", "a=1", { "Content-Type": "text/plain" });
    expect(plain.status).toBe(415);
    expect(plain.text).toMatch(/this request was sent as text\/plain\./);
    const json = await post("/staff", "{}", { "Content-Type": "application/json; charset=utf-8" });
    expect(json.status).toBe(415);
    expect(json.text).toMatch(/sent as application\/json\./);
    const none = await fetch(`${base}/logout`, { method: "POST", body: new Uint8Array(0) });
    expect(none.status).toBe(415);
    expect(await none.text()).toMatch(/without a Content-Type/);
  });

  it("cross-origin posts are 403, as Remix's own check would refuse them (without its 500)", async () => {
    const host = new URL(base).host;
    const cases: [Record<string, string>, number][] = [
      [{ Origin: "https://evil.example" }, 403],
      [{ Origin: "null" }, 403],
      [{ Origin: "not a url" }, 403],
      [{ Origin: `http://${host}` }, 200],
      // Remix compares with X-Forwarded-Host when present: a proxy that sets it is followed.
      [{ Origin: "https://dash.example", "X-Forwarded-Host": "dash.example" }, 200],
      [{ Origin: `http://${host}`, "X-Forwarded-Host": "dash.example" }, 403],
      // No Origin header (an old client, curl): nothing to compare, as in Remix.
      [{}, 200],
    ];
    for (const [headers, status] of cases) {
      const r = await post("/staff", "intent=create", { ...FORM, ...headers });
      expect(r.status, JSON.stringify(headers)).toBe(status);
      if (status === 403) expect(r.text).toMatch(/^Forbidden: this form post is refused because/);
    }
  });

  it("NUL characters in the address, the query or a form field are 400 naming where", async () => {
    const path = await fetch(`${base}/users/%00`);
    expect(path.status).toBe(400);
    expect(await path.text()).toMatch(/the address contains a NUL character/);
    const query = await fetch(`${base}/purchases?from=2026-01-01&user=a%00b`);
    expect(query.status).toBe(400);
    expect(await query.text()).toMatch(/the query parameter “user” contains a NUL character/);
    const form = await post("/users/usr_1", "intent=adjust&reason=a%00b");
    expect(form.status).toBe(400);
    expect(form.text).toMatch(/the form field “reason” contains a NUL character/);
  });

  it("leaves /api/ and /webhooks/ to their own checks", async () => {
    const api = await post("/api/v1/users/x", "\u0000 not a form", {
      "Content-Type": "text/plain",
    });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.text).body).toBeNull();
    const hook = await post("/webhooks/stripe", "{}", {
      "Content-Type": "application/json",
      Origin: "https://evil.example",
    });
    expect(hook.status).toBe(200);
  });
});
