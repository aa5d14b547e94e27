import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../app/services/api-keys.server";
import { createStaff } from "../../app/services/auth/staff.server";
import { getDb } from "../../app/services/infra/db.server";
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
 * Issue 20 in a real browser: the 2 a.m. scenario (a payment whose webhooks were dropped is found
 * by the customer's surname, seen in "Check Stripe", credited with the preview, once), and Enter
 * in a field of each guarded form opening its confirmation instead of submitting.
 */

const PASSWORD = "e2e correct horse battery";
const STAFF = {
  sam: { email: "sam.support@e2e.test", role: "support", name: "Sam Support" },
  ada: { email: "ada.admin@e2e.test", role: "admin", name: "Ada Admin" },
} as const;
const grace = {
  id: "e2e_user_grace",
  email: "grace.hopper@e2e-customer.test",
  name: "Grace Hopper",
};

let app: E2eApp;
let browser: Browser;
let priceId = "";

beforeAll(async () => {
  app = await startE2eApp();
  for (const s of Object.values(STAFF)) {
    await createStaff(
      { email: s.email, role: s.role, name: s.name, password: PASSWORD },
      { type: "system", label: "e2e" },
    );
  }
  const { key } = await createApiKey({ name: "e2e main app" }, { type: "system", label: "e2e" });
  const res = await fetch(`${app.baseUrl}/api/v1/users/${grace.id}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: JSON.stringify({ email: grace.email, name: grace.name }),
  });
  expect(res.status).toBeLessThan(300);
  const product = await app.stripe.products.create({ name: "Big pack" });
  const price = await app.stripe.prices.create({
    product: product.id,
    unit_amount: 1499,
    currency: "usd",
    metadata: { credits: "1500" },
  });
  priceId = price.id;
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

async function signIn(who: keyof typeof STAFF) {
  const session = await newPage(browser);
  await login(session.page, app.baseUrl, STAFF[who].email, PASSWORD);
  return session;
}

/** Wait until React has hydrated (the confirm buttons only work with JavaScript). */
async function expectHydrated(page: Page) {
  await page.waitForFunction(
    () =>
      document.querySelector("time")?.textContent?.includes("UTC") === false ||
      !document.querySelector("time"),
  );
}

const balanceOf = async (userId: string) =>
  (await getDb().user.findUniqueOrThrow({ where: { id: userId } })).balance;

describe("support desk at 2 a.m.", () => {
  it("webhooks dropped for one payment: found by surname, seen in Check Stripe, credited once with the preview", async () => {
    const session = await app.stripe.checkout.sessions.create({
      mode: "payment",
      client_reference_id: grace.id,
      customer_email: grace.email,
      line_items: [{ price: priceId, quantity: 1 }],
      success_url: "https://app.example/success",
      cancel_url: "https://app.example/cancel",
    });
    app.emulator.control.dropEventsFor(session.id);
    await app.emulator.control.paySession(session.id);
    expect(await getDb().purchase.count({ where: { checkoutSessionId: session.id } })).toBe(0);

    const { page, context, problems } = await signIn("sam");
    await expectHydrated(page);
    // "/" focuses the header search; the surname alone finds her (one match → her page).
    await page.keyboard.press("/");
    await page.keyboard.type("hopper");
    await Promise.all([
      page.waitForURL(new RegExp(`/users/${grace.id}$`)),
      page.keyboard.press("Enter"),
    ]);
    await expectHydrated(page);
    await expect(page.getByTestId("balance").textContent()).resolves.toBe("0");

    const panel = page.getByTestId("check-stripe");
    await panel.getByRole("button", { name: "Check Stripe" }).click();
    const row = panel.getByTestId("stripe-session-row").filter({ hasText: session.id });
    await row.waitFor();
    await expect(row.textContent()).resolves.toMatch(/\$14\.99.*the webhook never arrived/);
    await screenshot(page, "support-check-stripe");

    await row.getByRole("button", { name: "Credit this purchase…" }).click();
    const dialog = page.getByRole("dialog", { name: "Credit this purchase?" });
    await dialog.getByTestId("session-preview").waitFor();
    await expect(dialog.textContent()).resolves.toMatch(
      /\$14\.99.*Credit 1,500 credits to grace\.hopper@e2e-customer\.test/,
    );
    await screenshot(page, "support-credit-preview");
    await dialog.getByRole("button", { name: "Credit" }).click();
    await page.getByText("Credited 1,500 credits").first().waitFor();
    expect(await balanceOf(grace.id)).toBe(1500);
    // The page's data is read again after the action (the balance card and the ledger).
    await page.waitForFunction(
      () => document.querySelector('[data-testid="balance"]')?.textContent === "1,500",
      undefined,
      { timeout: 15_000 },
    );
    await screenshot(page, "support-credited");
    // The panel asks Stripe again after the action: now it says where the credits went.
    await row.getByText("Credited").waitFor();
    const ledgerRows = page.getByTestId("ledger").locator("tbody tr");
    await expect(ledgerRows.count()).resolves.toBe(1);
    await expect(ledgerRows.first().textContent()).resolves.toMatch(/Purchase.*\+1,500/);

    expect(await balanceOf(grace.id)).toBe(1500);
    expect(await getDb().ledgerEntry.count({ where: { userId: grace.id, kind: "purchase" } })).toBe(
      1,
    );
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: session.id },
    });
    expect(purchase).toMatchObject({ userId: grace.id, creditedVia: "manual", credits: 1500 });
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe("Enter in a field of a guarded form opens its confirmation", () => {
  it("adjust credits, credit a session, run reconciliation and assign: Enter opens the dialog and nothing is submitted", async () => {
    const { page, context, problems } = await signIn("ada");
    await page.goto(`${app.baseUrl}/users/${grace.id}`);
    await expectHydrated(page);
    const before = await balanceOf(grace.id);
    const entriesBefore = await getDb().ledgerEntry.count({ where: { userId: grace.id } });

    // Adjust credits: Enter in the amount field.
    await page.getByLabel("Amount (credits)").fill("100");
    await page.getByLabel("Reason").first().fill("Goodwill after the outage");
    await page.getByLabel("Amount (credits)").press("Enter");
    const adjust = page.getByRole("dialog", { name: "Adjust credits?" });
    await adjust.waitFor();
    await expect(adjust.textContent()).resolves.toContain("Add 100 credits");
    await page.keyboard.press("Escape");
    await expect(adjust.isVisible()).resolves.toBe(false);

    // Credit a Checkout Session: Enter in the id field.
    await page.getByLabel("Checkout Session, payment intent or charge id").fill("cs_test_enter");
    await page.getByLabel("Checkout Session, payment intent or charge id").press("Enter");
    const credit = page.getByRole("dialog", { name: "Credit this Checkout Session?" });
    await credit.waitFor();
    // The preview answers; "Credit" stays disabled because there is nothing to credit.
    await credit.getByTestId("preview-error").waitFor();
    await expect(credit.getByRole("button", { name: "Credit" }).isDisabled()).resolves.toBe(true);
    await page.keyboard.press("Escape");

    expect(await balanceOf(grace.id)).toBe(before);
    expect(await getDb().ledgerEntry.count({ where: { userId: grace.id } })).toBe(entriesBefore);

    // Run reconciliation: Enter in the "From" field.
    const runsBefore = await getDb().reconciliationRun.count();
    await page.goto(`${app.baseUrl}/reconciliation`);
    await expectHydrated(page);
    await page.getByLabel("From (optional)").press("Enter");
    await page.getByRole("dialog", { name: "Run reconciliation now?" }).waitFor();
    await page.keyboard.press("Escape");
    expect(await getDb().reconciliationRun.count()).toBe(runsBefore);

    // Assign (attention queue): Enter in the user search box of an unmatched session.
    const stray = await app.stripe.checkout.sessions.create({
      mode: "payment",
      customer_email: "nobody-we-know@e2e-customer.test",
      line_items: [{ price: priceId, quantity: 1 }],
      success_url: "https://app.example/success",
      cancel_url: "https://app.example/cancel",
    });
    await app.emulator.control.paySession(stray.id);
    await waitFor(
      "the unmatched-user item",
      async () =>
        (await getDb().attentionItem.count({
          where: { checkoutSessionId: stray.id, status: "open" },
        })) === 1,
      60_000,
    );
    await page.goto(`${app.baseUrl}/attention`);
    await expectHydrated(page);
    const card = page.getByTestId("attention-item").filter({ hasText: stray.id });
    const box = card.getByRole("searchbox", { name: /Find the user/ });
    await box.fill("grace.hop");
    await card.getByRole("radio", { name: /grace\.hopper@e2e-customer\.test/ }).waitFor();
    await card.getByRole("radio", { name: /grace\.hopper@e2e-customer\.test/ }).press("Enter");
    await page.getByRole("dialog", { name: "Credit this session to the chosen user?" }).waitFor();
    await page.keyboard.press("Escape");
    expect(await getDb().purchase.count({ where: { checkoutSessionId: stray.id } })).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });
});
