import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../app/services/api-keys.server";
import { createStaff } from "../../app/services/auth/staff.server";
import { getDb } from "../../app/services/infra/db.server";
import { parseCsv } from "../support/csv-parse";
import {
  launchBrowser,
  login,
  newPage,
  screenshot,
  startE2eApp,
  type E2eApp,
} from "../support/e2e-app";
import { waitFor } from "../support/processes";

/**
 * Dashboard part 1 in a real browser against the built app: support finds a user and adjusts
 * credits, a large adjustment goes through a second person's approval, finance exports purchases
 * and the file matches the database. Purchases are made the way customers make them: a Checkout
 * Session paid in the Stripe emulator, whose webhook credits it.
 */

const PASSWORD = "e2e correct horse battery";
const STAFF = {
  alice: { email: "alice.support@e2e.test", role: "support", name: "Alice Support" },
  bob: { email: "bob.support@e2e.test", role: "support", name: "Bob Support" },
  fiona: { email: "fiona.finance@e2e.test", role: "finance", name: "Fiona Finance" },
  ada: { email: "ada.admin@e2e.test", role: "admin", name: "Ada Admin" },
} as const;

let app: E2eApp;
let browser: Browser;
const users = {
  jane: { id: "e2e_user_jane", email: "Jane.Doe@e2e-customer.test", name: "Jane Doe" },
  john: { id: "e2e_user_john", email: "john.smith@e2e-customer.test", name: "John Smith" },
  // A customer whose email would run as a formula in a spreadsheet.
  eve: { id: "e2e_user_eve", email: "+eve@e2e-customer.test", name: 'Eve, "the" tester' },
};

async function api(method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status}: ${await res.text()}`);
  return res.json();
}

async function buy(userId: string, priceId: string, quantity = 1) {
  const session = await app.stripe.checkout.sessions.create({
    mode: "payment",
    client_reference_id: userId,
    line_items: [{ price: priceId, quantity }],
    success_url: "https://app.example/success",
    cancel_url: "https://app.example/cancel",
  });
  await app.emulator.control.paySession(session.id);
  return session.id;
}

const balanceOf = async (userId: string) =>
  (await getDb().user.findUniqueOrThrow({ where: { id: userId } })).balance;

beforeAll(async () => {
  app = await startE2eApp();
  for (const s of Object.values(STAFF)) {
    await createStaff(
      { email: s.email, role: s.role, name: s.name, password: PASSWORD },
      { type: "system", label: "e2e" },
    );
  }
  const { key } = await createApiKey({ name: "e2e main app" }, { type: "system", label: "e2e" });
  for (const u of Object.values(users))
    await api("PUT", `/api/v1/users/${u.id}`, key, { email: u.email, name: u.name });

  const product = await app.stripe.products.create({ name: "Starter pack" });
  const starter = await app.stripe.prices.create({
    product: product.id,
    unit_amount: 1999,
    currency: "usd",
    metadata: { credits: "500" },
  });
  const bigProduct = await app.stripe.products.create({ name: "Team pack" });
  const team = await app.stripe.prices.create({
    product: bigProduct.id,
    unit_amount: 4900,
    currency: "eur",
    metadata: { credits: "2000" },
  });
  const sessions = [
    await buy(users.jane.id, starter.id),
    await buy(users.jane.id, team.id),
    await buy(users.john.id, starter.id, 2),
    await buy(users.eve.id, team.id),
  ];
  // The webhooks arrive asynchronously; wait until every session is a purchase.
  await waitFor(
    "webhook-credited purchases",
    async () =>
      (await getDb().purchase.count({ where: { checkoutSessionId: { in: sessions } } })) ===
      sessions.length,
    60_000,
  );
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

async function signIn(who: keyof typeof STAFF, opts: { width?: number } = {}) {
  const session = await newPage(browser, opts);
  await login(session.page, app.baseUrl, STAFF[who].email, PASSWORD);
  return session;
}

async function openJane(page: Page) {
  await page.goto(`${app.baseUrl}/users/${users.jane.id}`);
  await expectHydrated(page);
}

/** Wait until React has hydrated (the confirm buttons only work with JavaScript). */
async function expectHydrated(page: Page) {
  await page.waitForFunction(
    () =>
      document.querySelector("time")?.textContent?.includes("UTC") === false ||
      !document.querySelector("time"),
  );
}

describe("dashboard part 1 in the browser", () => {
  it("support logs in, lands on Users and finds a user by email prefix", async () => {
    const { page, context, problems } = await signIn("alice");
    expect(new URL(page.url()).pathname).toBe("/users");
    const nav = page.getByRole("navigation", { name: "Main" });
    const links = await nav.getByRole("link").allTextContents();
    expect(links).toEqual(expect.arrayContaining(["Users", "Approvals", "Ledger"]));
    expect(links).not.toContain("Overview");
    expect(links).not.toContain("Purchases");

    await page.getByLabel("Email, id, name or Stripe customer").fill("JANE.D");
    await Promise.all([
      page.waitForURL(/q=JANE\.D/),
      // The page's own search box, not the header's global search.
      page
        .getByRole("search", { name: "Find users" })
        .getByRole("button", { name: "Search" })
        .click(),
    ]);
    // Wait for the search results (the list of every user is on screen until they arrive).
    await page.waitForFunction(() => document.querySelectorAll("table tbody tr").length === 1);
    const rows = page.locator("table tbody tr");
    await expect(rows.first().textContent()).resolves.toContain(users.jane.email);
    await screenshot(page, "users-search");

    await page.getByRole("link", { name: users.jane.email }).click();
    await page.waitForURL(`**/users/${users.jane.id}`);
    // The URL can change before the new page has rendered: wait for the page itself.
    await page.getByRole("heading", { level: 1, name: users.jane.email }).waitFor();
    await expect(page.getByTestId("balance").textContent()).resolves.toBe("2,500");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("support adjusts credits: a bad form keeps its values, a good one adds a ledger row and updates the balance", async () => {
    const { page, context, problems } = await signIn("alice");
    await openJane(page);
    const before = await balanceOf(users.jane.id);

    await page.getByLabel("Amount (credits)").fill("250");
    await page.getByLabel("Reason").first().fill("too short");
    await page.getByRole("button", { name: "Adjust credits…" }).click();
    const dialog = page.getByRole("dialog", { name: "Adjust credits?" });
    await expect(dialog.textContent()).resolves.toContain(
      `Balance ${before.toLocaleString("en-US")} → ${(before + 250).toLocaleString("en-US")}`,
    );
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await expect(page.locator("#adjust-reason-error").textContent()).resolves.toMatch(
      /at least 10 characters/,
    );
    await expect(page.getByLabel("Amount (credits)").inputValue()).resolves.toBe("250");
    await screenshot(page, "user-detail-adjust-error");
    expect(await balanceOf(users.jane.id)).toBe(before);

    await page.getByLabel("Reason").first().fill("Goodwill after the outage, ticket 4411");
    await page.getByLabel("Ticket reference (optional)").fill("T-4411");
    await page.getByRole("button", { name: "Adjust credits…" }).click();
    await page
      .getByRole("dialog", { name: "Adjust credits?" })
      .getByRole("button", { name: "Confirm" })
      .click();
    await page.getByTestId("toast").waitFor();
    await expect(page.getByTestId("toast").textContent()).resolves.toContain(
      `Added 250 credits. New balance: ${(before + 250).toLocaleString("en-US")}.`,
    );
    await expect(page.getByTestId("balance").textContent()).resolves.toBe(
      (before + 250).toLocaleString("en-US"),
    );
    const firstRow = page.getByTestId("ledger").locator("tbody tr").first();
    await expect(firstRow.textContent()).resolves.toMatch(
      /Manual credit.*\+250.*Goodwill after the outage, ticket 4411.*Alice Support/,
    );
    // The form was reset for the next adjustment (a new nonce, empty fields).
    await expect(page.getByLabel("Amount (credits)").inputValue()).resolves.toBe("");
    expect(await balanceOf(users.jane.id)).toBe(before + 250);
    await screenshot(page, "user-detail");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("a large adjustment needs a second person: the requester cannot approve it, another staff member can", async () => {
    const alice = await signIn("alice");
    await openJane(alice.page);
    const before = await balanceOf(users.jane.id);
    await alice.page.getByLabel("Amount (credits)").fill("5000");
    await alice.page.getByLabel("Reason").first().fill("Enterprise migration credit, contract 88");
    await alice.page.getByRole("button", { name: "Adjust credits…" }).click();
    const dialog = alice.page.getByRole("dialog", { name: "Adjust credits?" });
    await expect(dialog.textContent()).resolves.toContain("approval request");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await alice.page.getByTestId("toast").waitFor();
    await expect(alice.page.getByTestId("toast").textContent()).resolves.toContain(
      "Approval requested",
    );
    expect(await balanceOf(users.jane.id)).toBe(before);

    await alice.page.goto(`${app.baseUrl}/approvals`);
    const mine = alice.page
      .getByTestId("approval-request")
      .filter({ hasText: "Enterprise migration credit, contract 88" });
    await expect(mine.textContent()).resolves.toContain("You requested this");
    await expect(mine.getByRole("button", { name: "Approve…" }).count()).resolves.toBe(0);
    expect(alice.problems).toEqual([]);
    await alice.context.close();

    const bob = await signIn("bob");
    await bob.page.goto(`${app.baseUrl}/approvals`);
    await expectHydrated(bob.page);
    const request = bob.page
      .getByTestId("approval-request")
      .filter({ hasText: "Enterprise migration credit, contract 88" });
    await screenshot(bob.page, "approvals");
    await request.getByLabel("Note").fill("Checked contract 88 with sales");
    await request.getByRole("button", { name: "Approve…" }).click();
    await bob.page
      .getByRole("dialog", { name: "Approve this adjustment?" })
      .getByRole("button", { name: "Confirm" })
      .click();
    await bob.page.getByTestId("toast").waitFor();
    await expect(bob.page.getByTestId("toast").textContent()).resolves.toContain(
      `balance is now ${(before + 5000).toLocaleString("en-US")}`,
    );
    expect(await balanceOf(users.jane.id)).toBe(before + 5000);
    const decided = await getDb().adjustmentRequest.findFirstOrThrow({
      where: { reason: "Enterprise migration credit, contract 88" },
      include: { decidedBy: true },
    });
    expect(decided.status).toBe("approved");
    expect(decided.decidedBy?.email).toBe(STAFF.bob.email);

    await openJane(bob.page);
    await expect(bob.page.getByTestId("balance").textContent()).resolves.toBe(
      (before + 5000).toLocaleString("en-US"),
    );
    await expect(
      bob.page.getByTestId("ledger").locator("tbody tr").first().textContent(),
    ).resolves.toMatch(/\+5,000.*Alice Support/);
    expect(bob.problems).toEqual([]);
    await bob.context.close();
  });

  it("finance exports the purchases CSV and every row matches the database", async () => {
    const { page, context, problems } = await signIn("fiona");
    expect(new URL(page.url()).pathname).toBe("/");
    await page.goto(`${app.baseUrl}/purchases`);
    await expect(page.getByTestId("purchases").locator("tbody tr").count()).resolves.toBe(4);
    await screenshot(page, "purchases");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("export-purchases").click(),
    ]);
    // Named after its filter (the page's default range, from a date to now) and the report time
    // zone, which its first line states.
    expect(download.suggestedFilename()).toMatch(/^purchases-\d{4}-\d{2}-\d{2}_now-utc\.csv$/);
    const text = readFileSync((await download.path())!, "utf8");
    const [zone, header, ...rows] = parseCsv(text);
    expect(zone[0]).toMatch(/report time zone: UTC/);
    const col = (name: string) => header.indexOf(name);
    // Finance exports are in paid order (when Stripe took the money).
    const db = await getDb().purchase.findMany({
      orderBy: [{ paidAt: "asc" }, { id: "asc" }],
      include: { user: true },
    });
    expect(rows.map((r) => r[col("purchase_id")])).toEqual(db.map((p) => p.id));
    for (const [i, p] of db.entries()) {
      const r = rows[i];
      expect(r[col("checkout_session_id")]).toBe(p.checkoutSessionId);
      expect(r[col("payment_intent_id")]).toBe(p.paymentIntentId ?? "");
      expect(r[col("user_id")]).toBe(p.userId);
      expect(r[col("user_email")]).toBe(
        p.user.email.startsWith("+") ? `'${p.user.email}` : p.user.email,
      );
      expect(Number(r[col("credits")])).toBe(p.credits);
      expect(Number(r[col("amount_total_minor")])).toBe(p.amountTotal);
      expect(r[col("currency")]).toBe(p.currency);
      expect(r[col("status")]).toBe(p.status);
      expect(r[col("credited_via")]).toBe("webhook");
      expect(r[col("paid_at_utc")]).toBe(p.paidAt.toISOString());
      expect(r[col("credited_at_utc")]).toBe(p.createdAt.toISOString());
    }
    expect(rows.find((r) => r[col("user_id")] === users.eve.id)?.[col("user_email")]).toBe(
      "'+eve@e2e-customer.test",
    );

    await page.getByTestId("purchases").locator("tbody tr a").first().click();
    await page.waitForURL(/\/purchases\/[0-9a-f-]{36}$/);
    await screenshot(page, "purchase-detail");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("keeps a screenshot of every page at 1280 px and 390 px, without browser errors", async () => {
    const jane = `/users/${users.jane.id}`;
    const pages: [keyof typeof STAFF, string, string][] = [
      ["ada", "/", "overview"],
      ["ada", "/?range=90", "overview-90-days"],
      ["ada", "/users", "users"],
      ["ada", jane, "user-detail-admin"],
      ["ada", "/approvals", "approvals-admin"],
      ["ada", "/purchases", "purchases-admin"],
      ["ada", "/ledger", "ledger"],
      ["alice", "/ledger", "ledger-support"],
    ];
    for (const width of [1280, 390]) {
      const sessions = new Map<string, Awaited<ReturnType<typeof signIn>>>();
      for (const [who, path, name] of pages) {
        if (!sessions.has(who)) sessions.set(who, await signIn(who, { width }));
        const { page } = sessions.get(who)!;
        const response = await page.goto(`${app.baseUrl}${path}`);
        expect(response?.status(), path).toBe(200);
        await expectHydrated(page);
        if (path.startsWith("/?") || path === "/")
          await page.locator(".recharts-surface").first().waitFor();
        // Nothing may be wider than the screen except inside the scrolling table wrappers.
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - window.innerWidth,
        );
        expect(overflow, `${path} at ${width}px scrolls sideways`).toBeLessThanOrEqual(0);
        const rows = await page.evaluate(() => document.querySelectorAll("tbody tr").length);
        expect(rows, `${path} renders ${rows} rows`).toBeLessThanOrEqual(100);
        await screenshot(page, `${name}-${width}`);
      }
      for (const s of sessions.values()) {
        expect(s.problems).toEqual([]);
        await s.context.close();
      }
    }
  });

  it("finance cannot open support's pages and support cannot export", async () => {
    const fiona = await signIn("fiona");
    const res = await fiona.page.goto(`${app.baseUrl}/users`);
    expect(res?.status()).toBe(403);
    await expect(fiona.page.getByRole("alert").textContent()).resolves.toMatch(
      /You do not have access to this page/,
    );
    await fiona.context.close();
    const alice = await signIn("alice");
    await alice.page.goto(`${app.baseUrl}/ledger`);
    await expect(alice.page.getByRole("link", { name: "Export CSV" }).count()).resolves.toBe(0);
    const csv = await alice.page.goto(`${app.baseUrl}/ledger/export.csv`);
    expect(csv?.status()).toBe(403);
    await alice.context.close();
  });
});
