import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  action as approvalsAction,
  loader as approvalsLoader,
} from "../../app/routes/_app.approvals/route";
import {
  action as userAction,
  loader as userLoader,
} from "../../app/routes/_app.users.$userId/route";
import { loader as layoutLoader } from "../../app/routes/_app/route";
import {
  approveAdjustment,
  FourEyesError,
  issueFormNonce,
  signFormNonce,
  rejectAdjustment,
} from "../../app/services/admin/adjustments.server";
import { getDb } from "../../app/services/infra/db.server";
import { parseEnv, setEnv } from "../../app/services/infra/env.server";
import { postLedgerEntry } from "../../app/services/ledger.server";
import { callAction, callLoader, makeUser } from "../support/admin";
import { createStaffWithSession } from "../support/staff";
import { useTestDatabase } from "../support/test-database";

useTestDatabase();

type StaffSession = Awaited<ReturnType<typeof createStaffWithSession>>;
let alice: StaffSession; // support, makes requests
let bob: StaffSession; // support, approves
let admin: StaffSession;

interface AdjustData {
  intent: string;
  fieldErrors: Record<string, string>;
  values: Record<string, string>;
}

beforeAll(async () => {
  setEnv(parseEnv({ ...process.env, ADJUSTMENT_APPROVAL_THRESHOLD: "1000", NODE_ENV: "test" }));
  alice = await createStaffWithSession("support");
  bob = await createStaffWithSession("support");
  admin = await createStaffWithSession("admin");
});

async function userWithBalance(balance: number) {
  const user = await makeUser();
  if (balance > 0)
    await postLedgerEntry({
      userId: user.id,
      delta: balance,
      kind: "grant",
      idempotencyKey: `seed:${user.id}`,
    });
  return user;
}

function adjust(userId: string, form: Record<string, string>, who: StaffSession = alice) {
  return callAction<AdjustData>(
    userAction,
    `/users/${userId}`,
    {
      intent: "adjust",
      ...form,
      // Tests name the request id; the server-signed nonce wraps it (a raw value stays raw).
      nonce: /^[0-9a-f-]{36}$/.test(form.nonce ?? "")
        ? signFormNonce(form.nonce!, who.staff.id, userId)
        : (form.nonce ?? issueFormNonce(who.staff.id, userId)),
    },
    { cookie: who.cookie, params: { userId } },
  );
}

const balanceOf = async (userId: string) =>
  (await getDb().user.findUniqueOrThrow({ where: { id: userId } })).balance;
const entriesOf = (userId: string) =>
  getDb().ledgerEntry.findMany({ where: { userId }, orderBy: { seq: "asc" } });

describe("adjust credits: validation", () => {
  const cases: [string, Record<string, string>, string, RegExp][] = [
    [
      "a missing amount",
      { amount: "", reason: "Customer goodwill credit" },
      "amount",
      /Enter an amount/,
    ],
    [
      "a zero amount",
      { amount: "0", reason: "Customer goodwill credit" },
      "amount",
      /cannot be zero/,
    ],
    ["a fraction", { amount: "1.5", reason: "Customer goodwill credit" }, "amount", /whole number/],
    ["text", { amount: "ten", reason: "Customer goodwill credit" }, "amount", /whole number/],
    [
      "more than ten million",
      { amount: "10000001", reason: "Customer goodwill credit" },
      "amount",
      /At most 10,000,000/,
    ],
    ["a short reason", { amount: "5", reason: "because" }, "reason", /at least 10 characters/],
    ["a blank reason", { amount: "5", reason: "          " }, "reason", /at least 10 characters/],
    [
      "a too long ticket reference",
      { amount: "5", reason: "Customer goodwill credit", ticketRef: "x".repeat(101) },
      "ticketRef",
      /at most 100/,
    ],
  ];
  for (const [what, form, field, message] of cases) {
    it(`rejects ${what} with a message beside the ${field} field and keeps the values`, async () => {
      const user = await userWithBalance(0);
      const result = await adjust(user.id, form);
      expect(result.status).toBe(400);
      expect(result.data?.fieldErrors[field]).toMatch(message);
      expect(result.data?.values.reason).toBe(form.reason);
      expect(result.data?.values.amount).toBe(form.amount);
      expect(await entriesOf(user.id)).toHaveLength(0);
    });
  }

  it("rejects a form without a valid nonce (expired or tampered form)", async () => {
    const user = await userWithBalance(0);
    const result = await adjust(user.id, {
      amount: "5",
      reason: "Customer goodwill credit",
      nonce: "not-a-uuid",
    });
    expect(result.status).toBe(400);
    expect(result.data?.fieldErrors.nonce).toMatch(/expired/);
  });

  it('accepts separators and a plus sign ("+1,000")', async () => {
    const user = await userWithBalance(0);
    const result = await adjust(user.id, { amount: "+1,000", reason: "Customer goodwill credit" });
    expect(result.status).toBe(302);
    expect(await balanceOf(user.id)).toBe(1000);
  });
});

describe("adjust credits: at or below the threshold posts a ledger entry", () => {
  it("credits, writes the entry with the staff member and reason, an audit row, and a toast", async () => {
    const user = await userWithBalance(200);
    const nonce = randomUUID();
    const result = await adjust(user.id, {
      amount: "500",
      reason: "Refund for outage on 12 Nov",
      ticketRef: "T-1",
      nonce,
    });
    expect(result.status).toBe(302);
    expect(result.location).toBe(`/users/${user.id}`);
    expect(result.headers.get("Set-Cookie")).toMatch(/^cd_flash=/);
    expect(await balanceOf(user.id)).toBe(700);
    const entries = await entriesOf(user.id);
    const entry = entries[entries.length - 1];
    expect(entry).toMatchObject({
      delta: 500,
      balanceAfter: 700,
      kind: "manual_credit",
      staffId: alice.staff.id,
      reason: "Refund for outage on 12 Nov",
      idempotencyKey: `adjust:${nonce}`,
    });
    const audit = await getDb().auditLog.findFirstOrThrow({
      where: { action: "credits.adjust", targetId: user.id },
    });
    expect(audit).toMatchObject({
      actorType: "staff",
      actorId: alice.staff.id,
      reason: "Refund for outage on 12 Nov",
    });

    // The toast rides on the redirect and is shown (then cleared) by the layout.
    const cookie = `${alice.cookie}; ${result.headers.get("Set-Cookie")!.split(";")[0]}`;
    const layout = await callLoader<{ toast: { message: string } | null }>(
      layoutLoader,
      `/users/${user.id}`,
      { cookie },
    );
    expect(layout.data?.toast?.message).toBe("Added 500 credits. New balance: 700.");
    expect(layout.headers.get("Set-Cookie")).toMatch(/cd_flash=;.*Max-Age=0/);
  });

  it("debits with kind manual_debit", async () => {
    const user = await userWithBalance(300);
    const result = await adjust(user.id, { amount: "-300", reason: "Duplicate grant reversed" });
    expect(result.status).toBe(302);
    expect(await balanceOf(user.id)).toBe(0);
    const entries = await entriesOf(user.id);
    expect(entries[entries.length - 1]).toMatchObject({
      delta: -300,
      kind: "manual_debit",
      balanceAfter: 0,
    });
  });

  it("refuses a debit below zero with the message beside the amount field", async () => {
    const user = await userWithBalance(100);
    const result = await adjust(user.id, { amount: "-101", reason: "Duplicate grant reversed" });
    expect(result.status).toBe(400);
    expect(result.data?.fieldErrors.amount).toBe(
      "Not enough credits: the balance is 100, so at most 100 can be removed.",
    );
    expect(result.data?.values.amount).toBe("-101");
    expect(await balanceOf(user.id)).toBe(100);
  });

  it("treats exactly the threshold as below it", async () => {
    const user = await userWithBalance(0);
    expect(
      (await adjust(user.id, { amount: "1000", reason: "Threshold boundary credit" })).status,
    ).toBe(302);
    expect(await balanceOf(user.id)).toBe(1000);
    expect(await getDb().adjustmentRequest.count({ where: { userId: user.id } })).toBe(0);
  });

  it("a double submit of the same form credits once", async () => {
    const user = await userWithBalance(0);
    const nonce = randomUUID();
    const form = { amount: "250", reason: "Goodwill after support call", nonce };
    const [a, b] = await Promise.all([adjust(user.id, form), adjust(user.id, form)]);
    expect([a.status, b.status]).toEqual([302, 302]);
    const again = await adjust(user.id, form);
    expect(again.status).toBe(302);
    expect(await balanceOf(user.id)).toBe(250);
    expect(await entriesOf(user.id)).toHaveLength(1);
    expect(
      await getDb().auditLog.count({ where: { action: "credits.adjust", targetId: user.id } }),
    ).toBe(1);
  });
});

describe("adjust credits: above the threshold files an approval request", () => {
  it("creates a pending request and no ledger entry", async () => {
    const user = await userWithBalance(0);
    const nonce = randomUUID();
    const result = await adjust(user.id, {
      amount: "1001",
      reason: "Enterprise migration credit",
      ticketRef: "T-9",
      nonce,
    });
    expect(result.status).toBe(302);
    expect(await entriesOf(user.id)).toHaveLength(0);
    expect(await balanceOf(user.id)).toBe(0);
    const request = await getDb().adjustmentRequest.findUniqueOrThrow({ where: { id: nonce } });
    expect(request).toMatchObject({
      userId: user.id,
      amount: 1001,
      status: "pending",
      requestedById: alice.staff.id,
      ticketRef: "T-9",
    });
    expect(
      await getDb().auditLog.count({ where: { action: "adjustment.request", targetId: user.id } }),
    ).toBe(1);
    // Submitting the same form again does not file a second request.
    expect(
      (
        await adjust(user.id, {
          amount: "1001",
          reason: "Enterprise migration credit",
          ticketRef: "T-9",
          nonce,
        })
      ).status,
    ).toBe(302);
    expect(await getDb().adjustmentRequest.count({ where: { userId: user.id } })).toBe(1);
  });

  it("counts large debits too (absolute value)", async () => {
    const user = await userWithBalance(5000);
    await adjust(user.id, { amount: "-2000", reason: "Chargeback recovery" });
    expect(await balanceOf(user.id)).toBe(5000);
    expect(
      await getDb().adjustmentRequest.count({ where: { userId: user.id, amount: -2000 } }),
    ).toBe(1);
  });

  it("the requester cannot approve or reject their own request", async () => {
    const user = await userWithBalance(0);
    const nonce = randomUUID();
    await adjust(user.id, { amount: "5000", reason: "Enterprise migration credit", nonce });
    const approve = await callAction<{ fieldErrors: Record<string, string> }>(
      approvalsAction,
      "/approvals",
      { intent: "approve", requestId: nonce, note: "looks fine" },
      { cookie: alice.cookie },
    );
    expect(approve.status).toBe(403);
    expect(approve.data?.fieldErrors.form).toMatch(/someone else has to approve/);
    await expect(
      rejectAdjustment(nonce, "no", { id: alice.staff.id, email: alice.email }),
    ).rejects.toBeInstanceOf(FourEyesError);
    expect(await balanceOf(user.id)).toBe(0);
    expect(
      (await getDb().adjustmentRequest.findUniqueOrThrow({ where: { id: nonce } })).status,
    ).toBe("pending");
    // The approvals page does not offer the requester buttons for it (the page knows who is looking).
    const page = await callLoader<{
      me: string;
      pending: { id: string; requestedBy: { id: string } }[];
    }>(approvalsLoader, "/approvals", { cookie: alice.cookie });
    const mine = page.data!.pending.find((r) => r.id === nonce)!;
    expect(mine.requestedBy.id).toBe(page.data!.me);
  });

  it("another staff member approves: the entry is written with key approval:<id>, the request is closed, both audited", async () => {
    const user = await userWithBalance(100);
    const nonce = randomUUID();
    await adjust(user.id, {
      amount: "2500",
      reason: "Enterprise migration credit",
      ticketRef: "T-77",
      nonce,
    });
    const note = await callAction<{ fieldErrors: Record<string, string> }>(
      approvalsAction,
      "/approvals",
      { intent: "approve", requestId: nonce, note: "" },
      { cookie: bob.cookie },
    );
    expect(note.status).toBe(400);
    expect(note.data?.fieldErrors.note).toMatch(/at least 3 characters/);

    const result = await callAction(
      approvalsAction,
      "/approvals",
      { intent: "approve", requestId: nonce, note: "Checked T-77" },
      { cookie: bob.cookie },
    );
    expect(result.status).toBe(302);
    expect(await balanceOf(user.id)).toBe(2600);
    const entry = await getDb().ledgerEntry.findUniqueOrThrow({
      where: { idempotencyKey: `approval:${nonce}` },
    });
    expect(entry).toMatchObject({
      userId: user.id,
      delta: 2500,
      kind: "manual_credit",
      staffId: alice.staff.id,
      balanceAfter: 2600,
    });
    const request = await getDb().adjustmentRequest.findUniqueOrThrow({ where: { id: nonce } });
    expect(request).toMatchObject({
      status: "approved",
      decidedById: bob.staff.id,
      decisionNote: "Checked T-77",
      ledgerEntryId: entry.id,
    });
    expect(
      await getDb().auditLog.count({
        where: { action: "adjustment.approve", targetId: nonce, actorId: bob.staff.id },
      }),
    ).toBe(1);

    // A second decision is refused: the request is no longer pending.
    const twice = await callAction<{ fieldErrors: Record<string, string> }>(
      approvalsAction,
      "/approvals",
      { intent: "approve", requestId: nonce, note: "again" },
      { cookie: admin.cookie },
    );
    expect(twice.status).toBe(409);
    expect(twice.data?.fieldErrors.form).toMatch(/already approved/);
    expect(await balanceOf(user.id)).toBe(2600);
  });

  it("two approvers at once post one entry", async () => {
    const user = await userWithBalance(0);
    const nonce = randomUUID();
    await adjust(user.id, { amount: "3000", reason: "Enterprise migration credit", nonce });
    const results = await Promise.allSettled([
      approveAdjustment(nonce, "ok by bob", { id: bob.staff.id, email: bob.email }),
      approveAdjustment(nonce, "ok by admin", { id: admin.staff.id, email: admin.email }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await balanceOf(user.id)).toBe(3000);
    expect(await getDb().ledgerEntry.count({ where: { userId: user.id } })).toBe(1);
  });

  it("rejecting closes the request without touching the balance", async () => {
    const user = await userWithBalance(0);
    const nonce = randomUUID();
    await adjust(user.id, { amount: "4000", reason: "Enterprise migration credit", nonce });
    const result = await callAction(
      approvalsAction,
      "/approvals",
      { intent: "reject", requestId: nonce, note: "No ticket for this" },
      { cookie: bob.cookie },
    );
    expect(result.status).toBe(302);
    expect(await balanceOf(user.id)).toBe(0);
    expect(await getDb().ledgerEntry.count({ where: { userId: user.id } })).toBe(0);
    expect(
      await getDb().adjustmentRequest.findUniqueOrThrow({ where: { id: nonce } }),
    ).toMatchObject({ status: "rejected", decidedById: bob.staff.id });
    expect(
      await getDb().auditLog.count({ where: { action: "adjustment.reject", targetId: nonce } }),
    ).toBe(1);
  });

  it("an approved debit that no longer fits the balance is refused and stays pending", async () => {
    const user = await userWithBalance(3000);
    const nonce = randomUUID();
    await adjust(user.id, { amount: "-2500", reason: "Chargeback recovery", nonce });
    await adjust(user.id, { amount: "-1000", reason: "Manual correction of usage" });
    const result = await callAction<{ fieldErrors: Record<string, string> }>(
      approvalsAction,
      "/approvals",
      { intent: "approve", requestId: nonce, note: "Checked the chargeback" },
      { cookie: bob.cookie },
    );
    expect(result.status).toBe(400);
    expect(result.data?.fieldErrors.form).toMatch(/below zero/);
    expect(await balanceOf(user.id)).toBe(2000);
    expect(
      (await getDb().adjustmentRequest.findUniqueOrThrow({ where: { id: nonce } })).status,
    ).toBe("pending");
  });

  it("the user page lists pending requests and a fresh nonce per rendering", async () => {
    const user = await userWithBalance(0);
    await adjust(user.id, { amount: "7000", reason: "Enterprise migration credit" });
    const a = await callLoader<{ nonce: string; detail: { pendingRequests: unknown[] } }>(
      userLoader,
      `/users/${user.id}`,
      { cookie: alice.cookie, params: { userId: user.id } },
    );
    const b = await callLoader<{ nonce: string }>(userLoader, `/users/${user.id}`, {
      cookie: alice.cookie,
      params: { userId: user.id },
    });
    expect(a.data?.detail.pendingRequests).toHaveLength(1);
    expect(a.data?.nonce).not.toBe(b.data?.nonce);
  });
});

describe("change tier", () => {
  it("requires a reason, changes the tier, records the change and an audit row", async () => {
    const user = await userWithBalance(0);
    const path = `/users/${user.id}`;
    const opts = { cookie: alice.cookie, params: { userId: user.id } };
    const short = await callAction<AdjustData>(
      userAction,
      path,
      { intent: "tier", tier: "pro", reason: "vip" },
      opts,
    );
    expect(short.status).toBe(400);
    expect(short.data?.fieldErrors.reason).toMatch(/at least 10/);
    const same = await callAction<AdjustData>(
      userAction,
      path,
      { intent: "tier", tier: "free", reason: "Keep them on free" },
      opts,
    );
    expect(same.status).toBe(400);
    expect(same.data?.fieldErrors.tier).toMatch(/already on the free tier/);
    const unknown = await callAction<AdjustData>(
      userAction,
      path,
      { intent: "tier", tier: "platinum", reason: "Upgrade for a partner" },
      opts,
    );
    expect(unknown.status).toBe(400);
    expect(unknown.data?.fieldErrors.tier).toMatch(/does not exist/);

    const ok = await callAction(
      userAction,
      path,
      { intent: "tier", tier: "pro", reason: "Partner programme upgrade" },
      opts,
    );
    expect(ok.status).toBe(302);
    expect((await getDb().user.findUniqueOrThrow({ where: { id: user.id } })).tierCode).toBe("pro");
    expect(await getDb().tierChange.findFirstOrThrow({ where: { userId: user.id } })).toMatchObject(
      {
        fromTier: "free",
        toTier: "pro",
        source: "manual",
        staffId: alice.staff.id,
        reason: "Partner programme upgrade",
      },
    );
    expect(
      await getDb().auditLog.count({ where: { action: "user.tier_change", targetId: user.id } }),
    ).toBe(1);
  });
});

describe("unknown users and intents", () => {
  it("answers 404 for a user that does not exist", async () => {
    const result = await callLoader(userLoader, "/users/nobody", {
      cookie: alice.cookie,
      params: { userId: "nobody" },
    });
    expect(result.status).toBe(404);
    expect(await result.response!.text()).toBe("User nobody was not found.");
    const post = await callAction(
      userAction,
      "/users/nobody",
      {
        intent: "adjust",
        nonce: issueFormNonce(alice.staff.id, "nobody"),
        amount: "5",
        reason: "Goodwill credit",
      },
      { cookie: alice.cookie, params: { userId: "nobody" } },
    );
    expect(post.status).toBe(404);
  });
});
