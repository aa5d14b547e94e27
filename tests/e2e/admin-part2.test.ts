import Stripe from "stripe";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { raiseAttention } from "../../app/services/attention.server";
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
 * Dashboard part 2 (operations) in a real browser against the built app and the Stripe emulator:
 * a purchase whose webhooks the emulator dropped is credited by "Run now"; support assigns an
 * unmatched session to the right user; an admin replays an event that failed; a badly signed POST
 * is listed as an invalid signature; a disabled staff member is signed out on their next request;
 * a revoked API key is refused; someone given a password must choose their own first.
 */

const PASSWORD = "e2e ops correct horse battery";
const STAFF = {
  ada: { email: "ada.ops-admin@e2e.test", role: "admin", name: "Ada Admin" },
  sam: { email: "sam.ops-support@e2e.test", role: "support", name: "Sam Support" },
  fay: { email: "fay.ops-finance@e2e.test", role: "finance", name: "Fay Finance" },
  vic: { email: "vic.leaving@e2e.test", role: "support", name: "Vic Leaving" },
} as const;

let app: E2eApp;
let browser: Browser;
let priceId = "";

const balanceOf = async (userId: string) =>
  (await getDb().user.findUniqueOrThrow({ where: { id: userId } })).balance;

async function makeUser(id: string, email: string) {
  await getDb().user.create({
    data: { id, email, emailNormalized: email.toLowerCase(), name: id },
  });
  return { id, email };
}

async function session(opts: { clientReferenceId?: string; email?: string }) {
  return app.stripe.checkout.sessions.create({
    mode: "payment",
    line_items: [{ price: priceId, quantity: 1 }],
    success_url: "https://app.example/success",
    cancel_url: "https://app.example/cancel",
    ...(opts.clientReferenceId ? { client_reference_id: opts.clientReferenceId } : {}),
    ...(opts.email ? { customer_email: opts.email } : {}),
  });
}

async function completedEvent(sessionId: string): Promise<Stripe.Event> {
  for await (const e of app.stripe.events.list({
    type: "checkout.session.completed",
    limit: 100,
  })) {
    if ((e.data.object as { id: string }).id === sessionId) return e;
  }
  throw new Error(`no checkout.session.completed event for ${sessionId}`);
}

async function postWebhook(body: string, secret: string) {
  const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
  return fetch(`${app.baseUrl}/webhooks/stripe`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Stripe-Signature": header },
    body,
  });
}

beforeAll(async () => {
  app = await startE2eApp();
  for (const s of Object.values(STAFF)) {
    await createStaff(
      { email: s.email, role: s.role, name: s.name, password: PASSWORD },
      { type: "system", label: "e2e" },
    );
  }
  const product = await app.stripe.products.create({ name: "Ops pack" });
  priceId = (
    await app.stripe.prices.create({
      product: product.id,
      unit_amount: 1500,
      currency: "usd",
      metadata: { credits: "300" },
    })
  ).id;
  // Something on every page from the start: a purchase the webhook credited, an open item, a finished run.
  const regular = await makeUser("e2e_ops_regular", "regular@e2e-customer.test");
  const paid = await session({ clientReferenceId: regular.id });
  await app.emulator.control.paySession(paid.id);
  await waitFor(
    "the regular purchase",
    async () => (await getDb().purchase.count({ where: { checkoutSessionId: paid.id } })) === 1,
  );
  await raiseAttention({
    kind: "dispute_lost",
    dedupeKey: "dispute_lost:dp_e2e",
    title: "Dispute dp_e2e was lost",
    detail: "300 credits stay removed.",
    userId: regular.id,
  });
  const now = new Date();
  await getDb().reconciliationRun.create({
    data: {
      trigger: "schedule",
      status: "completed",
      windowSince: new Date(now.getTime() - 86_400_000),
      windowUntil: now,
      finishedAt: now,
      scanned: 1,
      alreadyCredited: 1,
    },
  });
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

async function signIn(who: keyof typeof STAFF, opts: { width?: number } = {}) {
  const s = await newPage(browser, opts);
  await login(s.page, app.baseUrl, STAFF[who].email, PASSWORD);
  return s;
}

/** The layout's time-zone note switches after mount: the page is hydrated and buttons work. */
async function hydrated(page: Page) {
  await page.getByText(/Times are in your time zone/).waitFor();
}

async function open(page: Page, path: string) {
  const response = await page.goto(`${app.baseUrl}${path}`);
  expect(response?.status(), path).toBe(200);
  try {
    await hydrated(page);
  } catch (error) {
    // Keep what the browser showed, so a failure here can be read from the artifacts.
    await screenshot(page, `failed-${path.replace(/[^a-z0-9]+/gi, "-")}`);
    throw new Error(
      `${path} did not hydrate: ${(error as Error).message}\n${await page
        .locator("main")
        .innerText()
        .catch(() => "")}`,
    );
  }
}

async function confirm(
  page: Page,
  trigger: string,
  dialogTitle: string,
  confirmLabel: string,
  scope: Page | ReturnType<Page["locator"]> = page,
) {
  await scope.getByRole("button", { name: trigger }).first().click();
  await page
    .getByRole("dialog", { name: dialogTitle })
    .getByRole("button", { name: confirmLabel })
    .click();
}

describe("dashboard part 2 in the browser", () => {
  it("webhooks dropped for a purchase: Run now credits it and the run detail shows credited_now", async () => {
    const user = await makeUser("e2e_ops_dropped", "dropped@e2e-customer.test");
    const s = await session({ clientReferenceId: user.id });
    app.emulator.control.dropEventsFor(s.id);
    await app.emulator.control.paySession(s.id);
    await app.emulator.control.waitForDeliveries();
    expect(await getDb().purchase.count({ where: { checkoutSessionId: s.id } })).toBe(0);
    expect(await balanceOf(user.id)).toBe(0);

    const { page, context, problems } = await signIn("ada");
    await open(page, "/reconciliation");
    await screenshot(page, "reconciliation-before");
    await confirm(page, "Run now", "Run reconciliation now?", "Run now");
    await page.waitForURL(/\/reconciliation\/[0-9a-f-]{36}$/);
    const row = page.locator(`[data-testid="run-item"][data-session="${s.id}"]`);
    // The page polls the progress while the run goes and reloads its items when it is done.
    await row.waitFor({ timeout: 60_000 });
    // The result panel once the run has finished (not the live counters of a run still going).
    await page.locator('section.run-progress[aria-busy="false"]').waitFor({ timeout: 60_000 });
    await expect(row.getAttribute("data-outcome")).resolves.toBe("credited_now");
    await expect(row.getByTestId("user-balance").textContent()).resolves.toBe("balance 300");
    await expect(page.getByTestId("count-credited-now").textContent()).resolves.toContain("1");
    expect(await balanceOf(user.id)).toBe(300);
    const purchase = await getDb().purchase.findUniqueOrThrow({
      where: { checkoutSessionId: s.id },
    });
    expect(purchase.creditedVia).toBe("reconciliation");
    await screenshot(page, "reconciliation-run");

    await open(page, "/reconciliation");
    await expect(page.getByTestId("run-row").count()).resolves.toBe(2);
    await screenshot(page, "reconciliation");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("support assigns an unmatched session in the attention queue to a user and credits it", async () => {
    const owner = await makeUser("e2e_ops_owner", "real.owner@e2e-customer.test");
    const s = await session({ email: "paid-with-another-address@e2e-customer.test" });
    await app.emulator.control.paySession(s.id);
    const item = await waitFor(
      "the unmatched-user item",
      async () =>
        (await getDb().attentionItem.findFirst({
          where: { checkoutSessionId: s.id, kind: "unmatched_user", status: "open" },
        })) ?? undefined,
    );

    const { page, context, problems } = await signIn("sam");
    await open(page, "/attention");
    const card = page.getByTestId("attention-item").filter({ hasText: s.id });
    await card.getByRole("searchbox", { name: /Find the user/ }).fill("real.own");
    await card.getByRole("radio", { name: /real\.owner@e2e-customer\.test/ }).waitFor();
    await screenshot(page, "attention");
    await confirm(
      page,
      "Assign and credit",
      "Credit this session to the chosen user?",
      "Assign and credit",
      card,
    );
    await page.getByTestId("toast").waitFor();
    await expect(page.getByTestId("toast").textContent()).resolves.toContain(
      `Credited 300 credits for ${s.id} to user ${owner.id}`,
    );
    expect(await balanceOf(owner.id)).toBe(300);
    const closed = await getDb().attentionItem.findUniqueOrThrow({
      where: { id: item.id },
      include: { resolvedBy: true },
    });
    expect(closed.status).toBe("resolved");
    expect(closed.resolvedBy?.email).toBe(STAFF.sam.email);

    await open(page, "/attention/history");
    await expect(
      page.getByTestId("closed-item").filter({ hasText: s.id }).textContent(),
    ).resolves.toContain(STAFF.sam.email);
    await screenshot(page, "attention-history");
    await open(page, `/attention/${item.id}`);
    await expect(page.getByTestId("resolution").textContent()).resolves.toContain(
      `Credited via manual to user ${owner.id}`,
    );
    await screenshot(page, "attention-item");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("an admin replays an event that failed; a badly signed POST is listed as an invalid signature", async () => {
    const user = await makeUser("e2e_ops_replay", "replay@e2e-customer.test");
    const s = await session({ clientReferenceId: user.id });
    // The emulator keeps this purchase's webhooks; the test delivers the event itself while Stripe is down.
    app.emulator.control.dropEventsFor(s.id);
    await app.emulator.control.paySession(s.id);
    const event = await completedEvent(s.id);
    app.emulator.control.setFaults({ api500Rate: 1 });
    try {
      // Stored and acknowledged; the queue's first attempt then fails against the unavailable Stripe.
      expect((await postWebhook(JSON.stringify(event), app.webhookSecret)).status).toBe(200);
      await waitFor("the first, failed attempt", async () =>
        (await getDb().stripeEvent.findUnique({ where: { id: event.id } }))?.lastError?.startsWith(
          "transient",
        ),
      );
    } finally {
      app.emulator.control.setFaults({ api500Rate: 0 });
    }
    // Push the automatic retry out of the way: the admin replays it by hand below.
    await getDb().stripeEvent.update({
      where: { id: event.id },
      data: { availableAt: new Date(Date.now() + 3_600_000) },
    });
    expect((await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).status).toBe(
      "received",
    );
    expect(await balanceOf(user.id)).toBe(0);
    const bad = await postWebhook(
      JSON.stringify({ id: "evt_forged", type: "checkout.session.completed" }),
      "whsec_someone_else",
    );
    expect(bad.status).toBe(400);

    const support = await signIn("sam");
    await open(support.page, "/webhooks?outcome=invalid_signature");
    const invalid = support.page.getByTestId("delivery-row");
    await expect(invalid.count()).resolves.toBe(1);
    await expect(invalid.first().getAttribute("data-outcome")).resolves.toBe("invalid_signature");
    await expect(invalid.first().textContent()).resolves.toMatch(
      /Invalid signature.*not stored.*Invalid.*400/,
    );
    await screenshot(support.page, "webhooks-invalid-signature");
    // Support reads events but cannot replay them.
    await open(support.page, `/webhooks/events/${event.id}`);
    await expect(support.page.getByRole("button", { name: "Replay event" }).count()).resolves.toBe(
      0,
    );
    expect(support.problems).toEqual([]);
    await support.context.close();

    const { page, context, problems } = await signIn("ada");
    await open(page, "/webhooks?outcome=accepted&type=checkout.session.completed");
    await page.getByTestId("webhook-doctor").waitFor();
    await screenshot(page, "webhooks");
    await page.getByRole("link", { name: event.id }).click();
    await page.waitForURL(`**/webhooks/events/${event.id}`);
    await hydrated(page);
    await expect(page.getByTestId("processing-error").textContent()).resolves.toMatch(/transient/);
    await expect(page.getByTestId("next-attempt").textContent()).resolves.toMatch(/next attempt/);
    await confirm(page, "Replay event", "Replay this event?", "Replay event");
    await page.getByTestId("replay-result").waitFor();
    await expect(page.getByTestId("replay-result").textContent()).resolves.toMatch(
      /Processed.*credited 300 credits/,
    );
    expect(await balanceOf(user.id)).toBe(300);
    expect((await getDb().stripeEvent.findUniqueOrThrow({ where: { id: event.id } })).status).toBe(
      "processed",
    );
    await screenshot(page, "webhook-event");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("a disabled staff member is signed out on their next request", async () => {
    const vic = await signIn("vic");
    await open(vic.page, "/attention");

    const { page, context, problems } = await signIn("ada");
    await open(page, "/staff");
    const row = page.locator(`[data-testid="staff-row"][data-email="${STAFF.vic.email}"]`);
    await confirm(page, "Disable", `Disable ${STAFF.vic.email}?`, "Disable account", row);
    await page.getByTestId("toast").waitFor();
    await expect(page.getByTestId("toast").textContent()).resolves.toContain(
      `Disabled ${STAFF.vic.email}`,
    );
    await screenshot(page, "staff");

    await vic.page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Webhooks" })
      .click();
    await vic.page.waitForURL(/\/login\?/);
    await vic.page.getByRole("button", { name: "Sign in" }).waitFor();
    await vic.context.close();
    expect(problems).toEqual([]);
    await context.close();
  });

  it("an API key created in the dashboard works until it is revoked, then the API refuses it", async () => {
    const { page, context, problems } = await signIn("ada");
    await open(page, "/api-keys");
    await page.getByLabel("Name (what uses it)").fill("E2E main app");
    await page.getByLabel("packs:read").check();
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.getByTestId("new-api-key").textContent())!.trim();
    expect(key).toMatch(/^cdk_[0-9A-Za-z]{43}$/);
    const call = () =>
      fetch(`${app.baseUrl}/api/v1/packs`, { headers: { Authorization: `Bearer ${key}` } });
    expect((await call()).status).toBe(200);

    await open(page, "/api-keys");
    await expect(page.content()).resolves.not.toContain(key);
    const row = page.locator(`[data-testid="api-key-row"][data-name="E2E main app"]`);
    await row.getByLabel("Reason (optional)").fill("rotated in e2e");
    await confirm(page, "Revoke", "Revoke E2E main app?", "Revoke key", row);
    await page.getByTestId("toast").waitFor();
    const refused = await call();
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
      "api_key_revoked",
    );
    await screenshot(page, "api-keys");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("someone created with a generated password must choose their own before anything else", async () => {
    const admin = await signIn("ada");
    await open(admin.page, "/staff");
    await admin.page.getByLabel("Email").fill("newcomer@e2e.test");
    await admin.page.getByLabel("Role").selectOption("finance");
    await admin.page.getByRole("button", { name: "Create staff member" }).click();
    const password = (await admin.page.getByTestId("one-time-password").textContent())!.trim();
    expect(admin.problems).toEqual([]);
    await admin.context.close();

    const { page, context, problems } = await newPage(browser);
    await page.goto(`${app.baseUrl}/login?redirectTo=%2Freconciliation`);
    await page.getByLabel("Email").fill("newcomer@e2e.test");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/account\/password\?redirectTo=%2Freconciliation/);
    await screenshot(page, "account-password");
    await page.getByLabel("Current password").fill(password);
    await page.getByLabel("New password", { exact: true }).fill("newcomer picked this one");
    await page.getByLabel("New password again").fill("newcomer picked this one");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.waitForURL(/\/reconciliation$/);
    await page.getByTestId("toast").waitFor();
    expect(
      (await getDb().staffUser.findUniqueOrThrow({ where: { email: "newcomer@e2e.test" } }))
        .mustChangePassword,
    ).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("keeps a screenshot of every operations page at 1280 px and 390 px, without browser errors", async () => {
    const item = await getDb().attentionItem.findFirstOrThrow({
      where: { dedupeKey: "dispute_lost:dp_e2e" },
    });
    const run = await getDb().reconciliationRun.findFirstOrThrow({
      where: { trigger: "schedule" },
    });
    const event = await getDb().stripeEvent.findFirstOrThrow({ where: { status: "processed" } });
    const pages: [keyof typeof STAFF, string, string][] = [
      ["ada", "/webhooks", "webhooks"],
      ["ada", `/webhooks/events/${event.id}`, "webhook-event"],
      ["ada", "/reconciliation", "reconciliation"],
      ["ada", `/reconciliation/${run.id}`, "reconciliation-run"],
      ["ada", "/attention", "attention"],
      ["ada", `/attention/${item.id}`, "attention-item"],
      ["ada", "/attention/history", "attention-history"],
      ["ada", "/packs", "packs"],
      ["ada", "/audit", "audit"],
      ["ada", "/staff", "staff"],
      ["ada", "/api-keys", "api-keys"],
      ["fay", "/audit?action=staff.", "audit-finance"],
      ["fay", "/reconciliation", "reconciliation-finance"],
      ["sam", "/webhooks", "webhooks-support"],
    ];
    for (const width of [1280, 390]) {
      const sessions = new Map<string, Awaited<ReturnType<typeof signIn>>>();
      for (const [who, path, name] of pages) {
        if (!sessions.has(who)) sessions.set(who, await signIn(who, { width }));
        const { page } = sessions.get(who)!;
        await open(page, path);
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - window.innerWidth,
        );
        expect(overflow, `${path} at ${width}px scrolls sideways`).toBeLessThanOrEqual(0);
        await screenshot(page, `ops-${name}-${width}`);
      }
      for (const s of sessions.values()) {
        expect(s.problems).toEqual([]);
        await s.context.close();
      }
    }
    // Roles the page is not for get the error boundary's explanation, not the page.
    const fay = await signIn("fay");
    const res = await fay.page.goto(`${app.baseUrl}/staff`);
    expect(res?.status()).toBe(403);
    await expect(fay.page.getByRole("alert").textContent()).resolves.toMatch(
      /You do not have access to this page/,
    );
    await fay.context.close();
  });
});
